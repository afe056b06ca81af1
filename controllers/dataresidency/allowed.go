package dataresidency

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/regions"
)

// allowSet is what one DataResidency allows, resolved against the region catalog.
type allowSet struct {
	catalog   *regions.Catalog
	countries map[string]bool
	// regions are the label values that resolve to an allowed country, sorted.
	regions  []string
	provider regions.Provider
	// summary is the allow-list in words, such as "EU, Adequacy" or "FR".
	summary     string
	regionLabel string
	zoneLabel   string
}

// resolveAllowSet turns a spec into the countries and region codes it allows. The API server
// has already refused malformed input; an error here means the catalog refused an extension.
func resolveAllowSet(spec rempartv1.DataResidencySpec) (allowSet, error) {
	var exts []regions.Region
	for _, r := range spec.Regions {
		exts = append(exts, regions.Region{Code: string(r.Region), Country: string(r.Country), Provider: regions.Provider(r.Provider)})
	}
	cat, err := regions.NewCatalog(exts)
	if err != nil {
		return allowSet{}, fmt.Errorf("region catalog: %w", err)
	}
	var jurisdictions []regions.Jurisdiction
	var words []string
	for _, j := range spec.AllowedJurisdictions {
		jurisdictions = append(jurisdictions, regions.Jurisdiction(j))
		words = append(words, string(j))
	}
	var countries []string
	for _, c := range spec.AllowedCountries {
		countries = append(countries, string(c))
		words = append(words, string(c))
	}
	allowed, err := regions.AllowedCountries(jurisdictions, countries)
	if err != nil {
		return allowSet{}, err
	}
	provider := regions.Provider(spec.Provider)
	label := string(spec.RegionLabel)
	if label == "" {
		label = rempartv1.DefaultRegionLabel
	}
	return allowSet{
		catalog:     cat,
		countries:   allowed,
		regions:     cat.AllowedRegions(allowed, provider),
		provider:    provider,
		summary:     strings.Join(words, ", "),
		regionLabel: label,
		zoneLabel:   string(spec.ZoneLabel),
	}, nil
}

// sortedCountries lists the allowed countries, sorted.
func (a allowSet) sortedCountries() []string {
	out := make([]string, 0, len(a.countries))
	for c := range a.countries {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// location is where a node is, as far as its labels and provider say.
type location struct {
	// code is the region or zone value read from the node's labels; empty when it has none.
	code       string
	resolution regions.Resolution
}

func (l location) allowed(a allowSet) bool { return regions.Allowed(l.resolution, a.countries) }

// describe says where a location is in words, such as "us-east-1, US".
func (l location) describe() string {
	switch {
	case l.code == "":
		return "no region label"
	case !l.resolution.Known:
		return l.code + ", unknown region"
	}
	return l.code + ", " + l.resolution.Region.Country
}

// nodeLocation reads a node's region from the region label, or from the zone label when it has
// none; the node's providerID, or the policy's provider, decides codes several providers share.
func (a allowSet) nodeLocation(node *corev1.Node) location {
	code := node.Labels[a.regionLabel]
	if code == "" && a.zoneLabel != "" {
		code = node.Labels[a.zoneLabel]
	}
	if code == "" {
		return location{resolution: regions.Resolution{Reason: fmt.Sprintf("node %s has no %s label", node.Name, a.regionLabel)}}
	}
	provider := regions.ProviderFromID(node.Spec.ProviderID)
	if provider == "" {
		provider = a.provider
	}
	return location{code: code, resolution: a.catalog.Resolve(code, provider)}
}

// codeLocation resolves a region code read from a volume or a storage class.
func (a allowSet) codeLocation(code string) location {
	return location{code: code, resolution: a.catalog.Resolve(code, a.provider)}
}

// intersect returns the countries in both sets, sorted.
func intersect(a []string, b map[string]bool) []string {
	var out []string
	for _, c := range a {
		if b[c] {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}
