package v1alpha1

// SharedStatus returns the status every policy kind embeds: controls, summary, conditions and
// the evaluation stamps. The operator writes it through one path for every kind.
func (t *TenantIsolation) SharedStatus() *PolicyStatus { return &t.Status.PolicyStatus }

// SharedStatus returns the status every policy kind embeds.
func (d *DataResidency) SharedStatus() *PolicyStatus { return &d.Status.PolicyStatus }

// SharedStatus returns the status every policy kind embeds.
func (b *BackupPolicy) SharedStatus() *PolicyStatus { return &b.Status.PolicyStatus }

// SharedStatus returns the status every policy kind embeds.
func (a *AdminAccess) SharedStatus() *PolicyStatus { return &a.Status.PolicyStatus }

// SharedStatus returns the status every policy kind embeds.
func (c *CertificatePolicy) SharedStatus() *PolicyStatus { return &c.Status.PolicyStatus }
