// Package compliance declares every control Rempart reports (the catalog: ID, kind, what it
// checks, requirements, the words of its results) and judges them: pure functions that turn the
// objects breaking a control into a result, honour exceptions (PAS-11), count results and derive
// the shared conditions. Nothing here calls the API server or reads the clock; controllers gather
// what a control reads and call these.
package compliance
