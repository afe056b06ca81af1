// Package evidence makes the entries of a tenant's compliance history tamper-evident: each entry
// is an in-toto v1 Statement whose predicate holds the report, the specs of the policies it was
// built from and the time, signed by the operator as a DSSE envelope, and names the digest of
// the envelope before it, so an auditor with the public key alone can check every signature and
// the chain offline, and is told which entry was altered, removed or moved. Pure: no client, no
// clock; the operator writes the envelopes somewhere the platform team cannot quietly rewrite.
package evidence
