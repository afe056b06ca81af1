package regions

// Jurisdiction is a named set of countries a contract may allow.
type Jurisdiction string

// The jurisdictions the operator knows.
const (
	// EU is the 27 member states of the European Union.
	EU Jurisdiction = "EU"
	// EEA is the EU plus Iceland, Liechtenstein and Norway.
	EEA Jurisdiction = "EEA"
	// Adequacy is the EEA plus the countries with an EU adequacy decision. Where a decision is
	// partial in scope, AdequacyScope says so; the United States is not included, since its
	// decision covers only organisations certified under the EU-US Data Privacy Framework, which a
	// cluster cannot check: a contract that accepts it lists US in allowedCountries.
	Adequacy Jurisdiction = "Adequacy"
)

// euMembers: Treaty on European Union art. 52 and the accession treaties; ISO 3166-1 alpha-2 codes
// (Greece is GR in ISO 3166-1, EL in EU style guides: NormalizeCountry accepts both).
var euMembers = []string{
	"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
	"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}

// eeaOnly: EEA Agreement, the three EFTA states that are parties to it.
var eeaOnly = []string{"IS", "LI", "NO"}

// adequacyDecisions: European Commission, "Adequacy decisions" list and its review of
// 15 January 2024; GB renewed on 19 December 2025 until 27 December 2031; BR by Implementing
// Decision (EU) 2026/179 of 26 January 2026 (secondary sources, see REFERENCE-DATA.md).
var adequacyDecisions = []string{"AD", "AR", "BR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "UY"}

// AdequacyScope notes the decisions that are partial in scope.
var AdequacyScope = map[string]string{
	"CA": "commercial organisations subject to PIPEDA only",
	"JP": "private-sector operators under the APPI only",
	"KR": "entities subject to the PIPA (private sector) only",
}

// Members returns the countries of a jurisdiction, and false for an unknown jurisdiction.
func Members(j Jurisdiction) ([]string, bool) {
	switch j {
	case EU:
		return append([]string(nil), euMembers...), true
	case EEA:
		return append(append([]string(nil), euMembers...), eeaOnly...), true
	case Adequacy:
		out := append(append([]string(nil), euMembers...), eeaOnly...)
		return append(out, adequacyDecisions...), true
	}
	return nil, false
}
