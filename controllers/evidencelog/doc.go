// Package evidencelog keeps each tenant's compliance history: it turns every change of a
// ComplianceReport, a daily snapshot, and each administrator access and exception into a signed,
// hash-chained entry (internal/evidence) written once to a store the platform team cannot quietly
// rewrite, holds the signing key in a Secret of the operator's namespace and publishes its public
// key, and checks periodically that the log can be written and that its chain read back verifies,
// reporting the evidence.log control, metrics and what the alerts read.
package evidencelog
