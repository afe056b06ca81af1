// Package enqueue maps watched objects to the policies to reconcile.
package enqueue
