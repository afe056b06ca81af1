// Package tenantisolation reconciles TenantIsolation: it sets up the tenant's namespaces, renders
// its NetworkPolicies, quota and limits, binds the admission policies that keep tenants apart, and
// evaluates the isolation controls into status.
package tenantisolation
