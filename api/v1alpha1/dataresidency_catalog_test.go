package v1alpha1_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/rempart-io/rempart/internal/regions"
)

// The CRD carries a copy of the built-in region catalog in its CEL rule, so the API server
// refuses an extension that moves a built-in region; the copy must be the catalog's.
func TestDataResidencyCRDCarriesTheCatalog(t *testing.T) {
	raw, err := os.ReadFile("../../config/crd/bases/rempart.io_dataresidencies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprint(crd)
	byProvider, byCode := regions.CELCatalog()
	for name, literal := range map[string]string{"by provider": byProvider, "by code": byCode} {
		if n := strings.Count(text, literal); n < 2 {
			t.Errorf("the DataResidency CRD carries the catalog %s %d times, want 2 or more: copy regions.CELCatalog() into the RegionExtension marker of dataresidency_types.go and run make manifests", name, n)
		}
	}
}
