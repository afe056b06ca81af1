package requirements

import "sort"

// ID is a stable requirement identifier such as "FT-CLD-20".
type ID string

// Requirement IDs that a cluster can enforce or evidence.
const (
	FTCLD14     ID = "FT-CLD-14"
	FTCLD16     ID = "FT-CLD-16"
	FTCLD17     ID = "FT-CLD-17"
	FTCLD18     ID = "FT-CLD-18"
	FTCLD19     ID = "FT-CLD-19"
	FTCLD20     ID = "FT-CLD-20"
	FTCLD21     ID = "FT-CLD-21"
	FTCLD25     ID = "FT-CLD-25"
	FTCLD26     ID = "FT-CLD-26"
	FTCLD28     ID = "FT-CLD-28"
	FTCLD36     ID = "FT-CLD-36"
	FTCLD38     ID = "FT-CLD-38"
	FTCLD40     ID = "FT-CLD-40"
	FTCLD73     ID = "FT-CLD-73"
	FTCLD74     ID = "FT-CLD-74"
	FTCLD76     ID = "FT-CLD-76"
	ALM54       ID = "ALM-5.4"
	ALM55       ID = "ALM-5.5"
	ALM568      ID = "ALM-5.6.8"
	ALM573      ID = "ALM-5.7.3"
	ALM591      ID = "ALM-5.9.1"
	ALM5101     ID = "ALM-5.10.1"
	FLX36       ID = "FLX-3.6"
	PAS11       ID = "PAS-11"
	PAS122      ID = "PAS-12.2"
	SISBackup   ID = "SIS-BACKUP"
	SISLocation ID = "SIS-LOCATION"
	SISTLS      ID = "SIS-TLS"
)

// Source is one of the contractual documents the rules come from.
type Source string

// The source documents, as named in the requirement catalog.
const (
	SourceFranceTravail Source = "FT"  // France Travail, hosting and cloud security rules CLD-01..CLD-76
	SourceAlmavia       Source = "ALM" // Almavia CX, ISO 27001 general IS security policy (PGSSI v2.3)
	SourcePAS           Source = "PAS" // Security assurance plan between a provider and its client
	SourceFlexEnergie   Source = "FLX" // Flex Energie, data security and protection policy
	SourceSISTEC        Source = "SIS" // SISTEC, security and confidentiality statement for SaaS
)

// Requirement is one technically enforceable rule.
type Requirement struct {
	ID ID
	// Source document and the section the rule comes from.
	Source  Source
	Section string
	// Rule is the rule, paraphrased in English.
	Rule string
	// ISO27001 lists the ISO/IEC 27001:2022 Annex A controls the rule maps to.
	ISO27001 []string
	// EnforcedBy names the Rempart kinds (or parts of them) that enforce or evidence the rule.
	EnforcedBy string
}

var catalog = []Requirement{
	{FTCLD20, SourceFranceTravail, "2.5", "Partition clients from each other, and the service from the provider's other systems.", []string{"A.8.22", "A.8.3"}, "TenantIsolation"},
	{FTCLD36, SourceFranceTravail, "2.8", "Separate network flows by sensitivity, by nature (production, administration, supervision) and by client; only flows in the authorised flow matrix reach admin and supervision interfaces.", []string{"A.8.20", "A.8.22"}, "TenantIsolation (network)"},
	{ALM591, SourceAlmavia, "5.9.1", "Segmented networks, filtering rules, internet-exposed services isolated, flow matrices documented and reviewed.", []string{"A.8.22"}, "TenantIsolation (network, flow matrix in status)"},
	{ALM5101, SourceAlmavia, "5.10.1", "Internet-exposed applications: storage encrypted, communications encrypted, tiers in separate zones with filtered flows.", []string{"A.8.24", "A.8.22"}, "TenantIsolation, CertificatePolicy"},
	{FLX36, SourceFlexEnergie, "3.6", "Sensitive systems isolated physically or logically; least privilege.", []string{"A.8.3"}, "TenantIsolation (dedicated nodes, RBAC)"},
	{FTCLD25, SourceFranceTravail, "2.7", "Production physically separated from development and test environments.", []string{"A.8.31"}, "TenantIsolation (environment, node pools, no prod/non-prod flows)"},
	{FTCLD21, SourceFranceTravail, "2.6", "Stored data encrypted so it cannot be recovered after reallocation of a resource or recovery of a physical medium, with ANSSI-compliant methods.", []string{"A.8.24"}, "TenantIsolation (storage)"},
	{FTCLD19, SourceFranceTravail, "2.5", "Administration interfaces distinct from user interfaces, never reachable from a public network for the provider's own, authenticated and encrypted when exposed to the client.", []string{"A.8.2", "A.8.5"}, "TenantIsolation (admin interfaces), AdminAccess"},
	{FTCLD14, SourceFranceTravail, "2.5", "Deregistering a user removes all of their accesses.", []string{"A.5.16", "A.5.18"}, "AdminAccess"},
	{FTCLD16, SourceFranceTravail, "2.5", "Grant, change and withdraw access rights by procedure; role differentiation; up-to-date inventory of users holding admin rights; revocation and suspension.", []string{"A.5.18", "A.8.2"}, "AdminAccess, ComplianceReport (inventory)"},
	{FTCLD17, SourceFranceTravail, "2.5", "Review users' access rights at least annually.", []string{"A.5.18"}, "AdminAccess (review date, maximum validity)"},
	{FTCLD18, SourceFranceTravail, "2.5", "Technical (non-nominative) accounts only reachable after nominative authentication.", []string{"A.5.16", "A.8.5"}, "AdminAccess (nominative subjects only)"},
	{ALM54, SourceAlmavia, "5.4.1-5.4.2", "Access follows a profile matrix; visitors get time-limited logical access; on departure access is removed the same day; accounts are reviewed several times a month.", []string{"A.5.15", "A.5.18"}, "AdminAccess"},
	{PAS122, SourcePAS, "12.2", "Remote maintenance access only with the client's explicit authorisation, temporary or permanent, nominative, logged, reported on request.", []string{"A.5.15", "A.8.15"}, "AdminAccess (approval, validity window, audit trail)"},
	{PAS11, SourcePAS, "10-11", "A derogation is exceptional, time-bounded, recorded, reviewed at least annually, never permanent; a departure without derogation is a deviation.", []string{"A.5.36"}, "spec.exceptions of every policy"},
	{FTCLD26, SourceFranceTravail, "2.7", "Backup and restore policy; protected backups; regularly tested restores; backups far enough from the main site.", []string{"A.8.13"}, "BackupPolicy"},
	{SISBackup, SourceSISTEC, "La sauvegarde des données", "Daily backups to a geographically different site, 7 versions kept, compressed then encrypted, RPO 8 h and RTO 8 h, failures alerted.", []string{"A.8.13"}, "BackupPolicy"},
	{ALM573, SourceAlmavia, "5.7.3", "Backups monitored; viability checked regularly by restore tests.", []string{"A.8.13"}, "BackupPolicy"},
	{FTCLD74, SourceFranceTravail, "2.15", "Storage, processing, administration and supervision of personal data only in the EU or in countries with an EU adequacy decision; location documented and communicated.", []string{"A.5.34"}, "DataResidency"},
	{SISLocation, SourceSISTEC, "Éléments de sécurité; Protection des DCP", "Hosted in (metropolitan) France; no transfer outside EU/EEA/adequacy countries without safeguards.", []string{"A.5.34"}, "DataResidency (country allow-list)"},
	{ALM568, SourceAlmavia, "5.6.8", "Production client data on servers in ISO 27001-certified datacentres located in France.", []string{"A.5.23"}, "DataResidency"},
	{FTCLD38, SourceFranceTravail, "2.9", "Network flows encrypted per ANSSI rules.", []string{"A.8.24"}, "CertificatePolicy"},
	{FTCLD40, SourceFranceTravail, "2.9", "Cryptographic keys per ANSSI rules; keys and secrets protected.", []string{"A.8.24"}, "CertificatePolicy (key algorithm and size, rotation)"},
	{ALM55, SourceAlmavia, "5.5", "TLS certificates and their private keys are managed, whoever issues them.", []string{"A.8.24"}, "CertificatePolicy"},
	{SISTLS, SourceSISTEC, "Sécurisation de l'accès", "All client traffic over TLS (HTTPS).", []string{"A.8.24"}, "CertificatePolicy (every Ingress host has TLS)"},
	{FTCLD76, SourceFranceTravail, "2.15", "End of contract: secure erasure of all client data and deletion of technical data (directory, certificates, access configuration).", []string{"A.8.10"}, OutsidePrefix + "TenantIsolation offboarding (deletionPolicy) deletes the namespaces Rempart created, but no control proves the erasure, nor keeps the record once the TenantIsolation is gone."},
	{FTCLD73, SourceFranceTravail, "2.15", "Reversibility: the client can get all its data back in documented formats.", []string{"A.5.23"}, OutsidePrefix + "an export of the client's data is a procedure (a Velero backup of its namespaces, downloaded from the store); no control checks it."},
	{FTCLD28, SourceFranceTravail, "2.7", "Log security events (including access right changes), keep them 12 months, provide them on request.", []string{"A.8.15"}, "the evidence log (evidence.log): the reports' history, administrator access and exceptions, signed and locked 12 months; other security events stay in the API server's audit log"},
}

var byID = func() map[ID]Requirement {
	m := make(map[ID]Requirement, len(catalog))
	for _, r := range catalog {
		m[r.ID] = r
	}
	return m
}()

// Lookup returns the requirement with the given ID.
func Lookup(id ID) (Requirement, bool) {
	r, ok := byID[id]
	return r, ok
}

// All returns every requirement, sorted by ID.
func All() []Requirement {
	out := make([]Requirement, len(catalog))
	copy(out, catalog)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Strings converts IDs to the strings stored in a control result's status.
func Strings(ids ...ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// Boundary is a group of organisational rules that no cluster can enforce or evidence
// (committees, training, contracts with third parties, physical security, password rules for
// people, incident procedures). Reports list them so an auditor sees the boundary; they are never
// counted as compliant.
type Boundary struct {
	IDs  string
	Rule string
}

// OutsidePrefix starts the EnforcedBy of a requirement no control of Rempart evidences yet.
const OutsidePrefix = "Outside the cluster: "

// OutsideCluster lists the rules of the source documents evidenced outside the cluster: the
// organisational ones, by range, and those no control of Rempart evidences yet, with the reason.
func OutsideCluster() []Boundary {
	const org = "Organisational rules (governance, training, third-party contracts, physical security, people's passwords, incident procedures): evidenced outside the cluster."
	return []Boundary{
		{"FT-CLD-01 to FT-CLD-13", org},
		{"FT-CLD-22 to FT-CLD-24", org},
		{"FT-CLD-27", org},
		{"FT-CLD-31 to FT-CLD-35", org},
		{"FT-CLD-37", org},
		{"FT-CLD-39", org},
		{"FT-CLD-41 to FT-CLD-72", org},
		{"FT-CLD-73", "Reversibility: exporting a client's data in documented formats is a procedure (a Velero backup of its namespaces, downloaded from the store); no control checks it."},
		{"FT-CLD-76", "End of contract: offboarding deletes the namespaces Rempart created, but the erasure of the storage and a record kept after the TenantIsolation is gone are not proven by a control."},
		{"ALM (sections other than 5.4, 5.5, 5.6.8, 5.7.3, 5.9.1, 5.10.1)", org},
		{"FLX (sections other than 3.6)", org},
	}
}
