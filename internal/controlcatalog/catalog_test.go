package controlcatalog

import (
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
