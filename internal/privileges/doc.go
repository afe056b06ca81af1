// Package privileges lists who holds write or administration rights on a set of namespaces,
// resolving RoleBindings and ClusterRoleBindings through the rules of their roles (FT-CLD-16,
// FT-CLD-17). It is pure: callers pass the RBAC objects they read, so a controller and a report
// can share it.
package privileges
