// Command demo starts the local control plane, installs Rempart's CRDs and RBAC, runs the
// operator, applies the sample policies and prints every Rempart kind with its compliance columns.
// It then stays up until interrupted, or exits at once when DEMO_ONESHOT=1.
package main
