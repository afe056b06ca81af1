package regions

import (
	"slices"
	"strings"
	"testing"
)

func TestEveryRegionOfAProviderIsInExactlyOneCountry(t *testing.T) {
	seen := map[string]string{}
	for _, r := range builtin {
		key := string(r.Provider) + "/" + codeKey(r.Code)
		if prev, dup := seen[key]; dup {
			t.Errorf("%s is listed twice (%s and %s)", key, prev, r.Country)
		}
		seen[key] = r.Country
		if n, err := NormalizeCountry(r.Country); err != nil || n != r.Country {
			t.Errorf("%s has country %q, not a normalized ISO code", key, r.Country)
		}
	}
}

func TestJurisdictions(t *testing.T) {
	eu, _ := Members(EU)
	eea, _ := Members(EEA)
	adequacy, _ := Members(Adequacy)
	if len(eu) != 27 || len(eea) != 30 {
		t.Errorf("EU has %d members, EEA %d; want 27 and 30", len(eu), len(eea))
	}
	in := func(list []string, c string) bool {
		for _, x := range list {
			if x == c {
				return true
			}
		}
		return false
	}
	for c, want := range map[string][3]bool{
		"FR": {true, true, true}, "GR": {true, true, true}, "NO": {false, true, true},
		"CH": {false, false, true}, "GB": {false, false, true}, "JP": {false, false, true},
		"US": {false, false, false}, "CN": {false, false, false},
	} {
		got := [3]bool{in(eu, c), in(eea, c), in(adequacy, c)}
		if got != want {
			t.Errorf("%s membership (EU, EEA, Adequacy) = %v, want %v", c, got, want)
		}
	}
	if _, ok := Members("ASEAN"); ok {
		t.Error("an unknown jurisdiction has members")
	}
	for c := range AdequacyScope {
		if !in(adequacy, c) {
			t.Errorf("scope note for %s, which has no adequacy decision", c)
		}
	}
}

func TestResolve(t *testing.T) {
	c, err := NewCatalog([]Region{{Code: "paris-dc2", Country: "fr"}, {Provider: OVHcloud, Code: "LIM", Country: "FR"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		code     string
		provider Provider
		known    bool
		country  string
		reason   string
	}{
		{"eu-west-3", "", true, "FR", ""},
		{"EU-WEST-3", "", true, "FR", ""},
		{"europe-west9", GCP, true, "FR", ""},
		{"francecentral", "", true, "FR", ""},
		{"us-east-1", "", true, "US", ""},
		{"fr-par-2", "", true, "FR", ""},
		{"gra", "", true, "FR", ""},
		{"paris-dc2", "", true, "FR", ""},
		{"lim", OVHcloud, true, "FR", ""},
		{"eu-west-2", AWS, true, "GB", ""},
		{"eu-west-2", Outscale, true, "FR", ""},
		{"eu-west-2", "", false, "", "ambiguous"},
		{"mars-north-1", "", false, "", "not in the catalog"},
		{"", "", false, "", "not in the catalog"},
		{"europe-west9", AWS, false, "", "not in the catalog"},
	}
	for _, tt := range tests {
		r := c.Resolve(tt.code, tt.provider)
		if r.Known != tt.known || r.Region.Country != tt.country || !strings.Contains(r.Reason, tt.reason) {
			t.Errorf("Resolve(%q, %q) = %+v, want known=%v country=%q reason~%q", tt.code, tt.provider, r, tt.known, tt.country, tt.reason)
		}
	}
	eu, _ := AllowedCountries([]Jurisdiction{EU}, nil)
	if !Allowed(c.Resolve("eu-west-3", ""), eu) || Allowed(c.Resolve("us-east-1", ""), eu) || Allowed(c.Resolve("eu-west-2", ""), eu) {
		t.Error("EU allowance wrong for eu-west-3, us-east-1 or the ambiguous eu-west-2")
	}
	franceOnly, _ := AllowedCountries(nil, []string{"FR"})
	if Allowed(c.Resolve("eu-central-1", ""), franceOnly) || !Allowed(c.Resolve("francecentral", ""), franceOnly) {
		t.Error("France-only allowance wrong")
	}
}

func TestCatalogExtensionsCannotContradict(t *testing.T) {
	for _, ext := range []Region{
		{Provider: AWS, Code: "eu-west-3", Country: "DE"},
		{Code: "eu-west-3", Country: "US"},
		{Code: "lab", Country: "France"},
		{Code: "", Country: "FR"},
	} {
		if _, err := NewCatalog([]Region{ext}); err == nil {
			t.Errorf("extension %+v was accepted", ext)
		}
	}
	if _, err := NewCatalog([]Region{{Provider: AWS, Code: "eu-west-3", Country: "FR"}}); err != nil {
		t.Errorf("an extension agreeing with the catalog was refused: %v", err)
	}
}

func TestNormalizeCountryAndProviders(t *testing.T) {
	if c, err := NormalizeCountry("el"); err != nil || c != "GR" {
		t.Errorf("EL normalizes to %q, %v", c, err)
	}
	for _, bad := range []string{"FRA", "F", "1A", ""} {
		if _, err := NormalizeCountry(bad); err == nil {
			t.Errorf("%q accepted as a country", bad)
		}
	}
	if _, err := AllowedCountries([]Jurisdiction{"Schengen"}, nil); err == nil {
		t.Error("an unknown jurisdiction is accepted")
	}
	for id, want := range map[string]Provider{"aws:///eu-west-3a/i-0abc": AWS, "gce://project/europe-west9-a/vm": GCP,
		"azure:///subscriptions/s/vm": Azure, "kwok://node": "", "i-0abc": ""} {
		if got := ProviderFromID(id); got != want {
			t.Errorf("ProviderFromID(%q) = %q, want %q", id, got, want)
		}
	}
	if len(Regions(Scaleway)) != 3 {
		t.Errorf("Scaleway regions = %v", Regions(Scaleway))
	}
}

// FuzzResolve: whatever the label value, resolution never panics, a known region always has a
// normalized country, and nothing unknown is ever allowed.
func FuzzResolve(f *testing.F) {
	for _, seed := range []string{"eu-west-3", "fr-par-1", "eu-west-2", "GRA", "", "-1", "europe-west9-a", "ü-west-3", "a-0-0"} {
		f.Add(seed, "")
		f.Add(seed, string(Outscale))
	}
	c, err := NewCatalog(nil)
	if err != nil {
		f.Fatal(err)
	}
	all, _ := AllowedCountries([]Jurisdiction{Adequacy}, nil)
	f.Fuzz(func(t *testing.T, code, provider string) {
		r := c.Resolve(code, Provider(provider))
		if r.Known {
			if n, err := NormalizeCountry(r.Region.Country); err != nil || n != r.Region.Country {
				t.Fatalf("known region %q has country %q", code, r.Region.Country)
			}
		} else {
			if r.Reason == "" {
				t.Fatalf("unknown region %q without a reason", code)
			}
			if Allowed(r, all) {
				t.Fatalf("unknown region %q allowed", code)
			}
		}
	})
}

func TestAllowedRegions(t *testing.T) {
	cat, err := NewCatalog([]Region{{Code: "dc-lyon-1", Country: "FR"}})
	if err != nil {
		t.Fatal(err)
	}
	fr := map[string]bool{"FR": true}
	got := cat.AllowedRegions(fr, "")
	for _, want := range []string{"eu-west-3", "europe-west9", "francecentral", "fr-par", "GRA", "dc-lyon-1", "cloudgouv-eu-west-1"} {
		if !slices.Contains(got, want) {
			t.Errorf("France-only allowed regions %v lack %s", got, want)
		}
	}
	for _, refused := range []string{"us-east-1", "eu-central-1", "eu-west-2"} {
		if slices.Contains(got, refused) {
			t.Errorf("France-only allowed regions contain %s", refused)
		}
	}
	// eu-west-2 is in France only at Outscale: the provider decides.
	if !slices.Contains(cat.AllowedRegions(fr, Outscale), "eu-west-2") {
		t.Error("with provider outscale, eu-west-2 (France) is not allowed for France")
	}
	if slices.Contains(cat.AllowedRegions(fr, AWS), "eu-west-2") {
		t.Error("with provider aws, eu-west-2 (Great Britain) is allowed for France")
	}
	if !slices.IsSorted(got) {
		t.Errorf("allowed regions are not sorted: %v", got)
	}
}
