package tenantisolation

import (
	"testing"
	"time"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func TestRecentAppliesHoldsOnlyTheSameObjectWithinTheWindow(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	r := recentApplies{now: func() time.Time { return now }}
	ti := tenant("acme", rempartv1.EnvironmentProduction, "acme-web")
	deny := networkPolicies(ti, "acme-web")[0]
	if _, recent := r.pending(deny, clientgoscheme.Scheme); recent {
		t.Fatal("an object never applied is pending")
	}
	r.record(deny, clientgoscheme.Scheme)
	now = now.Add(500 * time.Millisecond)
	if wait, recent := r.pending(deny, clientgoscheme.Scheme); !recent || wait != 1500*time.Millisecond {
		t.Errorf("pending = %v %v, want 1.5s", wait, recent)
	}
	changed := deny.DeepCopy()
	changed.Labels["extra"] = "x"
	if _, recent := r.pending(changed, clientgoscheme.Scheme); recent {
		t.Error("a different desired object is held back")
	}
	now = now.Add(2 * time.Second)
	if _, recent := r.pending(deny, clientgoscheme.Scheme); recent {
		t.Error("an object is held back after the window")
	}
}
