// Package adminaccess will reconcile AdminAccess grants. lifecycle.go is its pure core: the phase
// of a grant at an instant, the next instant that phase changes, and the duration rules
// (FT-CLD-14, FT-CLD-17). The reconciler requeues at that instant, so activation and expiry happen
// to the second and survive a restart: the phase is computed from the spec and the clock, never
// from memory.
package adminaccess
