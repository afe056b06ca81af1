package compliancereport

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// A report replaces its tenant's series: a control that turned shows its new state, one that is
// gone leaves no series, and a forgotten tenant none at all.
func TestControlSeriesFollowTheReport(t *testing.T) {
	src := func(states ...rempartv1.ControlState) sources {
		var controls []rempartv1.ControlResult
		for i, s := range states {
			controls = append(controls, rempartv1.ControlResult{ID: rempartv1.ControlID([]string{"network.default-deny", "quota.in-place"}[i]), State: s, Requirements: []string{"FT-CLD-20", "FT-CLD-25"}})
		}
		return sources{Tenant: "metrics-acme", Policies: []policyResults{{Kind: "TenantIsolation", Name: "metrics-acme", Controls: controls}}}
	}
	collected := func(t *testing.T, want string) {
		t.Helper()
		header := "# HELP rempart_control_state State of one control of one policy for one tenant: 0 Compliant, 1 Waived, 2 Unknown, 3 NonCompliant. requirement lists the requirement IDs it serves.\n# TYPE rempart_control_state gauge\n"
		if want != "" {
			want = header + want
		}
		if err := testutil.CollectAndCompare(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) { metrics.Collect(ch) }), strings.NewReader(want), "rempart_control_state"); err != nil {
			t.Error(err)
		}
	}
	recordMetrics("metrics-acme", src(rempartv1.ControlCompliant, rempartv1.ControlNonCompliant), rempartv1.ComplianceReportStatus{Summary: rempartv1.ReportSummary{Score: 50, NonCompliant: 2}})
	collected(t, `rempart_control_state{control="network.default-deny",kind="TenantIsolation",policy="metrics-acme",requirement="FT-CLD-20,FT-CLD-25",tenant="metrics-acme"} 0
rempart_control_state{control="quota.in-place",kind="TenantIsolation",policy="metrics-acme",requirement="FT-CLD-20,FT-CLD-25",tenant="metrics-acme"} 3
`)
	if err := testutil.CollectAndCompare(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) { metrics.Collect(ch) }), strings.NewReader(`# HELP rempart_requirements Requirements of the catalog for the tenant, by state (Compliant, NonCompliant, Waived, Unknown, NotCovered).
# TYPE rempart_requirements gauge
rempart_requirements{state="Compliant",tenant="metrics-acme"} 0
rempart_requirements{state="NonCompliant",tenant="metrics-acme"} 2
rempart_requirements{state="NotCovered",tenant="metrics-acme"} 0
rempart_requirements{state="Unknown",tenant="metrics-acme"} 0
rempart_requirements{state="Waived",tenant="metrics-acme"} 0
`), "rempart_requirements"); err != nil {
		t.Error(err)
	}
	recordMetrics("metrics-acme", src(rempartv1.ControlNonCompliant), rempartv1.ComplianceReportStatus{})
	collected(t, `rempart_control_state{control="network.default-deny",kind="TenantIsolation",policy="metrics-acme",requirement="FT-CLD-20,FT-CLD-25",tenant="metrics-acme"} 3
`)
	forgetMetrics("metrics-acme")
	collected(t, "")
}
