// kubectl-rempart is the auditor's kubectl plugin: `kubectl rempart report` exports the
// ComplianceReports as evidence, `explain` says what a control checks, `grant` requests,
// approves and revokes AdminAccess grants. It uses the caller's kubeconfig, as kubectl does.
package main
