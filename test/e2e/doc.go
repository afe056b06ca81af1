// Package e2e tests Rempart end to end on the local control plane (API server, scheduler,
// controller-manager, kwok nodes, cert-manager and Velero, all built from their modules), with the
// operator running as its own process under its own RBAC, and tenants' refusals met through
// impersonation.
package e2e
