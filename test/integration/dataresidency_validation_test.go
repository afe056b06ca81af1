package integration

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func residencyManifest(name string, mutate func(spec map[string]any)) *unstructured.Unstructured {
	spec := map[string]any{"tenants": map[string]any{"names": []any{"acme"}}, "allowedJurisdictions": []any{"EU"}}
	if mutate != nil {
		mutate(spec)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(rempartv1.GroupVersion.String())
	u.SetKind("DataResidency")
	u.SetName(name)
	return u
}

func TestDataResidencyRefusesBadInput(t *testing.T) {
	ext := func(region, country, provider string) map[string]any {
		e := map[string]any{"region": region, "country": country}
		if provider != "" {
			e["provider"] = provider
		}
		return e
	}
	tests := []badInput{
		{"unknown jurisdiction", func(s map[string]any) { s["allowedJurisdictions"] = []any{"Schengen"} }, `Unsupported value: "Schengen"`},
		{"lower-case country", func(s map[string]any) { s["allowedCountries"] = []any{"fr"} }, "spec.allowedCountries[0]: Invalid value"},
		{"three-letter country", func(s map[string]any) { s["allowedCountries"] = []any{"FRA"} }, "spec.allowedCountries[0]: Invalid value"},
		{"EL for Greece", func(s map[string]any) { s["allowedCountries"] = []any{"EL"} }, "Greece is GR in ISO 3166-1"},
		{"empty allow-lists", func(s map[string]any) {
			s["allowedJurisdictions"] = []any{}
			s["allowedCountries"] = []any{}
		}, "give allowedJurisdictions or allowedCountries"},
		{"no allow-list", func(s map[string]any) { delete(s, "allowedJurisdictions") }, "give allowedJurisdictions or allowedCountries"},
		{"covers nothing", func(s map[string]any) { delete(s, "tenants") }, "say which data the rule covers"},
		{"tenants without names or selector", func(s map[string]any) { s["tenants"] = map[string]any{} }, "tenants must list names or give a selector"},
		{"bad tenant name", func(s map[string]any) { s["tenants"] = map[string]any{"names": []any{"Acme Corp"}} }, "spec.tenants.names[0]: Invalid value"},
		{"selector with an unknown operator", func(s map[string]any) {
			s["tenants"] = map[string]any{"selector": map[string]any{"matchExpressions": []any{map[string]any{"key": "tier", "operator": "Near", "values": []any{"gold"}}}}}
		}, "a selector expression's operator is In or NotIn with values"},
		{"selector In without values", func(s map[string]any) {
			s["tenants"] = map[string]any{"selector": map[string]any{"matchExpressions": []any{map[string]any{"key": "tier", "operator": "In"}}}}
		}, "a selector expression's operator is In or NotIn with values"},
		{"exception without expiry", func(s map[string]any) {
			s["exceptions"] = []any{map[string]any{"control": "residency.pods", "reason": "migration planned in OPS-42", "approvedBy": "dpo@acme.example"}}
		}, "spec.exceptions[0].expires: Required value"},
		{"bad namespace", func(s map[string]any) { s["namespaces"] = []any{"Team_A"} }, "spec.namespaces[0]: Invalid value"},
		{"bad region label", func(s map[string]any) { s["regionLabel"] = "region label" }, "spec.regionLabel: Invalid value"},
		{"bad zone label", func(s map[string]any) { s["zoneLabel"] = "/zone" }, "spec.zoneLabel: Invalid value"},
		{"unknown provider", func(s map[string]any) { s["provider"] = "digitalocean" }, `Unsupported value: "digitalocean"`},
		{"extension with a bad country", func(s map[string]any) { s["regions"] = []any{ext("dc-lyon", "France", "")} }, "spec.regions[0].country: Invalid value"},
		{"extension with a bad code", func(s map[string]any) { s["regions"] = []any{ext("dc lyon", "FR", "")} }, "spec.regions[0].region: Invalid value"},
		{"extension moves an AWS region", func(s map[string]any) { s["regions"] = []any{ext("us-east-1", "FR", "")} }, "region us-east-1 is in US in the built-in catalog, not in FR"},
		{"extension moves a region of its provider", func(s map[string]any) { s["regions"] = []any{ext("eu-west-2", "FR", "aws")} }, "an extension may add regions, not move them"},
		{"extension moves a region, whatever its case", func(s map[string]any) { s["regions"] = []any{ext("GRA", "DE", "ovhcloud")} }, "region GRA at ovhcloud is in FR in the built-in catalog, not in DE"},
		{"evict not a boolean", func(s map[string]any) { s["evictNonCompliant"] = "yes" }, "spec.evictNonCompliant: Invalid value"},
		{"unknown enforcement", func(s map[string]any) { s["enforcement"] = "Block" }, `Unsupported value: "Block"`},
	}
	expectRefused(t, tests, residencyManifest)
}

// Extensions that add a region, or restate a built-in one, are accepted: only moving one is refused.
func TestDataResidencyAcceptsConsistentExtensions(t *testing.T) {
	ctx := context.Background()
	dr := residencyManifest("valid-extensions", func(s map[string]any) {
		s["tenants"] = map[string]any{"names": []any{"nobody-valid-ext"}}
		s["regions"] = []any{
			map[string]any{"region": "dc-lyon-1", "country": "FR"},
			map[string]any{"region": "eu-west-2", "country": "FR", "provider": "outscale"},
			map[string]any{"region": "francecentral", "country": "FR", "provider": "azure"},
		}
	})
	if err := env.Client.Create(ctx, dr, client.DryRunAll); err != nil {
		t.Fatalf("consistent extensions were refused: %v", err)
	}
}

func TestDataResidencyNameMustFitItsBindings(t *testing.T) {
	err := env.Client.Create(context.Background(), residencyManifest(strings.Repeat("a", 201), nil))
	if err == nil || !strings.Contains(err.Error(), "at most 200 characters") {
		t.Fatalf("a 201-character policy name: %v, want a refusal", err)
	}
}
