package compliancereport

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// A report updates its tenant's series in place and deletes only those of controls that are gone.
func TestControlSeriesFollowTheReport(t *testing.T) {
	src := func(states ...rempartv1.ControlState) sources {
		var controls []rempartv1.ControlResult
		for i, s := range states {
			controls = append(controls, rempartv1.ControlResult{ID: rempartv1.ControlID([]string{"network.default-deny", "quota.in-place"}[i]), State: s, Requirements: []string{"FT-CLD-20"}})
		}
		return sources{Tenant: "metrics-acme", Policies: []policyResults{{Kind: "TenantIsolation", Name: "metrics-acme", Controls: controls}}}
	}
	recordMetrics("metrics-acme", src(rempartv1.ControlCompliant, rempartv1.ControlNonCompliant), rempartv1.ComplianceReportStatus{})
	if got := testutil.ToFloat64(controlState.WithLabelValues("metrics-acme", "TenantIsolation", "metrics-acme", "quota.in-place", "FT-CLD-20")); got != 3 {
		t.Errorf("quota.in-place = %v, want 3 (NonCompliant)", got)
	}
	recordMetrics("metrics-acme", src(rempartv1.ControlNonCompliant), rempartv1.ComplianceReportStatus{})
	if got := testutil.ToFloat64(controlState.WithLabelValues("metrics-acme", "TenantIsolation", "metrics-acme", "network.default-deny", "FT-CLD-20")); got != 3 {
		t.Errorf("network.default-deny = %v after it turned, want 3", got)
	}
	// quota.in-place is gone from the report: its series must be gone too. WithLabelValues above
	// would recreate it, so count the series instead.
	n := 0
	for _, labels := range []string{"network.default-deny", "quota.in-place"} {
		if controlState.DeleteLabelValues("metrics-acme", "TenantIsolation", "metrics-acme", labels, "FT-CLD-20") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d series left for two controls of which one is gone, want 1", n)
	}
	forgetMetrics("metrics-acme")
}
