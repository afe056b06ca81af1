package controlcatalog

import (
	"strings"
	"testing"

	"github.com/rempart-io/rempart/internal/requirements"
)

func TestEveryControlCitesKnownRequirements(t *testing.T) {
	for _, id := range IDs() {
		c, _ := Lookup(id)
		if c.Checks == "" || c.Kind == "" || len(c.Requirements) == 0 {
			t.Errorf("%s is not described", id)
		}
		for _, r := range c.Requirements {
			if _, ok := requirements.Lookup(r); !ok {
				t.Errorf("%s cites %s, which the requirement catalog does not have", id, r)
			}
		}
	}
	if _, ok := Lookup("backup.rpo"); !ok {
		t.Error("backup.rpo missing")
	}
}

// A requirement the catalog says Rempart enforces is cited by a control; the others say they are
// evidenced outside the cluster and are listed there, with the reason.
func TestEveryEnforcedRequirementHasAControl(t *testing.T) {
	cited := map[requirements.ID]bool{}
	for _, id := range IDs() {
		c, _ := Lookup(id)
		for _, r := range c.Requirements {
			cited[r] = true
		}
	}
	outside := map[string]bool{}
	for _, b := range requirements.OutsideCluster() {
		outside[b.IDs] = true
	}
	for _, r := range requirements.All() {
		claimsOutside := strings.HasPrefix(r.EnforcedBy, requirements.OutsidePrefix)
		switch {
		case !cited[r.ID] && !claimsOutside:
			t.Errorf("%s says it is enforced by %q, but no control cites it", r.ID, r.EnforcedBy)
		case claimsOutside && cited[r.ID]:
			t.Errorf("%s is cited by a control but says it is evidenced outside the cluster", r.ID)
		case claimsOutside && !outside[string(r.ID)]:
			t.Errorf("%s is evidenced outside the cluster but not listed in OutsideCluster", r.ID)
		}
	}
}
