// Package withoutvelero runs the operator against an API server that serves neither Velero's nor
// cert-manager's kinds, in its own test binary since a controller registers once per process.
package withoutvelero
