package regions

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

var (
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	// zoneSuffix matches the zone of a region whose zones are <region>-<n>, such as fr-par-1.
	zoneSuffix = regexp.MustCompile(`^(.+)-[0-9]$`)
)

// NormalizeCountry returns the ISO 3166-1 alpha-2 form of a country code: upper case, and GR for
// the EU's EL.
func NormalizeCountry(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if c == "EL" {
		c = "GR"
	}
	if !countryPattern.MatchString(c) {
		return "", fmt.Errorf("country %q is not an ISO 3166-1 alpha-2 code such as FR", code)
	}
	return c, nil
}

// Catalog resolves region codes to countries: the built-in regions plus a cluster's own.
type Catalog struct {
	byCode map[string][]Region
}

func codeKey(code string) string { return strings.ToLower(strings.TrimSpace(code)) }

// NewCatalog returns the built-in catalog extended with a cluster's own regions. An extension
// that gives a built-in region another country is refused: the catalog can be extended, never
// contradicted.
func NewCatalog(extensions []Region) (*Catalog, error) {
	c := &Catalog{byCode: map[string][]Region{}}
	for _, r := range builtin {
		c.byCode[codeKey(r.Code)] = append(c.byCode[codeKey(r.Code)], r)
	}
	for _, ext := range extensions {
		country, err := NormalizeCountry(ext.Country)
		if err != nil {
			return nil, fmt.Errorf("region %s: %w", ext.Code, err)
		}
		if codeKey(ext.Code) == "" {
			return nil, fmt.Errorf("a region extension has no code")
		}
		if ext.Provider == "" {
			ext.Provider = Custom
		}
		ext.Country = country
		for _, known := range c.byCode[codeKey(ext.Code)] {
			if (ext.Provider == Custom || known.Provider == ext.Provider) && known.Country != country {
				return nil, fmt.Errorf("region %s is in %s at %s in the built-in catalog, not in %s: an extension may add regions, not move them",
					ext.Code, known.Country, known.Provider, country)
			}
		}
		c.byCode[codeKey(ext.Code)] = append(c.byCode[codeKey(ext.Code)], ext)
	}
	return c, nil
}

// Resolution is where a region code places a node, a volume or a backup.
type Resolution struct {
	Region Region
	// Known is false when the code is not in the catalog or is ambiguous: such a region is never
	// allowed, and Reason says what to do.
	Known  bool
	Reason string
}

// Resolve finds the country of a region code. provider narrows codes that several providers use
// with different countries (eu-west-2 is Great Britain at AWS, France at Outscale); empty when
// unknown. A zone code such as fr-par-1 resolves through its region.
func (c *Catalog) Resolve(code string, provider Provider) Resolution {
	candidates := c.candidates(code, provider)
	if len(candidates) == 0 {
		if m := zoneSuffix.FindStringSubmatch(strings.TrimSpace(code)); m != nil {
			candidates = c.candidates(m[1], provider)
		}
	}
	if len(candidates) == 0 {
		return Resolution{Region: Region{Code: code, Provider: provider},
			Reason: fmt.Sprintf("region %q is not in the catalog: declare it with its country in spec.regions", code)}
	}
	countries := map[string][]string{}
	for _, r := range candidates {
		countries[r.Country] = append(countries[r.Country], string(r.Provider))
	}
	if len(countries) > 1 {
		var parts []string
		for country, providers := range countries {
			parts = append(parts, fmt.Sprintf("%s at %s", country, strings.Join(providers, ", ")))
		}
		sort.Strings(parts)
		return Resolution{Region: Region{Code: code, Provider: provider},
			Reason: fmt.Sprintf("region %q is ambiguous (%s): its provider must be known", code, strings.Join(parts, "; "))}
	}
	return Resolution{Region: candidates[0], Known: true}
}

func (c *Catalog) candidates(code string, provider Provider) []Region {
	var out []Region
	for _, r := range c.byCode[codeKey(code)] {
		if provider == "" || r.Provider == provider || r.Provider == Custom {
			out = append(out, r)
		}
	}
	return out
}

// AllowedCountries is the union of the jurisdictions' members and the listed countries.
func AllowedCountries(jurisdictions []Jurisdiction, countries []string) (map[string]bool, error) {
	allowed := map[string]bool{}
	for _, j := range jurisdictions {
		members, ok := Members(j)
		if !ok {
			return nil, fmt.Errorf("jurisdiction %q is unknown: use EU, EEA or Adequacy", j)
		}
		for _, m := range members {
			allowed[m] = true
		}
	}
	for _, c := range countries {
		n, err := NormalizeCountry(c)
		if err != nil {
			return nil, err
		}
		allowed[n] = true
	}
	return allowed, nil
}

// Allowed reports whether a resolved region lies in the allowed countries. An unknown region is
// never allowed.
func Allowed(r Resolution, countries map[string]bool) bool {
	return r.Known && countries[r.Region.Country]
}

// ProviderFromID reads the provider from a node's spec.providerID, or "" when it does not say.
func ProviderFromID(providerID string) Provider {
	scheme, _, found := strings.Cut(providerID, "://")
	if !found {
		return ""
	}
	known := map[string]Provider{"aws": AWS, "gce": GCP, "azure": Azure, "scaleway": Scaleway, "outscale": Outscale, "ovhcloud": OVHcloud}
	if p, ok := known[strings.ToLower(scheme)]; ok {
		return p
	}
	return ""
}

// Regions lists the built-in regions of a provider, sorted by code, for documentation.
func Regions(p Provider) []Region {
	var out []Region
	for _, r := range builtin {
		if r.Provider == p {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Region) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// AllowedRegions lists, sorted, the region codes of the catalog that resolve to an allowed
// country: the label values admission pins pods to. provider decides codes several providers
// share; without it such a code is ambiguous and left out.
func (c *Catalog) AllowedRegions(countries map[string]bool, provider Provider) []string {
	seen := map[string]bool{}
	var out []string
	for _, regs := range c.byCode {
		for _, r := range regs {
			if seen[r.Code] {
				continue
			}
			seen[r.Code] = true
			if Allowed(c.Resolve(r.Code, provider), countries) {
				out = append(out, r.Code)
			}
		}
	}
	sort.Strings(out)
	return out
}
