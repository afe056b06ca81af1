// Package compliancereport writes one ComplianceReport per tenant: every control of every policy
// covering it, by requirement, with an inventory, so an auditor reads one object.
package compliancereport
