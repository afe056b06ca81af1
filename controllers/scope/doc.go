// Package scope resolves what a policy covers: the TenantIsolations it selects by name or label,
// and the namespaces they hold plus those it lists.
package scope
