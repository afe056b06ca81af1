// Package repo tests the repository's own checks, run by make lint, on scratch repositories.
package repo
