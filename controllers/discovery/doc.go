// Package discovery asks the API server, at start-up, which optional kinds it serves, so a
// controller enables what the cluster offers and says what it does without.
package discovery
