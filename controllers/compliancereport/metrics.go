package compliancereport

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// StateValue is the value of rempart_control_state for each state: the higher, the worse, so an
// alert reads `== 3` and a dashboard can take the max.
var StateValue = map[rempartv1.ControlState]float64{
	rempartv1.ControlCompliant: 0, rempartv1.ControlWaived: 1, rempartv1.ControlUnknown: 2, rempartv1.ControlNonCompliant: 3,
}

var (
	controlState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rempart_control_state",
		Help: "State of one control of one policy for one tenant: 0 Compliant, 1 Waived, 2 Unknown, 3 NonCompliant. requirement lists the requirement IDs it serves.",
	}, []string{"tenant", "kind", "policy", "control", "requirement"})
	reportScore = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rempart_compliance_score",
		Help: "Share of the requirement catalog that is Compliant or Waived for the tenant, in percent.",
	}, []string{"tenant"})
	requirementsByState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rempart_requirements",
		Help: "Requirements of the catalog for the tenant, by state (Compliant, NonCompliant, Waived, Unknown, NotCovered).",
	}, []string{"tenant", "state"})
	adminGrantsActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rempart_admin_grants_active",
		Help: "AdminAccess grants in force on the tenant's namespaces.",
	}, []string{"tenant"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(controlState, reportScore, requirementsByState, adminGrantsActive)
}

// recordMetrics replaces the tenant's series with the report's.
func recordMetrics(tenant string, src sources, status rempartv1.ComplianceReportStatus) {
	// The tenant's control series are updated in place, and only those of controls that are
	// gone are deleted: dropping and recreating thousands of series at every report costs
	// memory and time for nothing.
	current := map[[4]string]bool{}
	for _, p := range src.Policies {
		for _, c := range p.Controls {
			labels := [4]string{p.Kind, p.Name, string(c.ID), strings.Join(c.Requirements, ",")}
			current[labels] = true
			controlState.WithLabelValues(tenant, labels[0], labels[1], labels[2], labels[3]).Set(StateValue[c.State])
		}
	}
	controlSeries.mu.Lock()
	for labels := range controlSeries.of[tenant] {
		if !current[labels] {
			controlState.DeleteLabelValues(tenant, labels[0], labels[1], labels[2], labels[3])
		}
	}
	if controlSeries.of == nil {
		controlSeries.of = map[string]map[[4]string]bool{}
	}
	controlSeries.of[tenant] = current
	controlSeries.mu.Unlock()
	s := status.Summary
	reportScore.WithLabelValues(tenant).Set(float64(s.Score))
	for state, n := range map[string]int32{"Compliant": s.Compliant, "NonCompliant": s.NonCompliant, "Waived": s.Waived, "Unknown": s.Unknown, rempartv1.RequirementNotCovered: s.NotCovered} {
		requirementsByState.WithLabelValues(tenant, state).Set(float64(n))
	}
	active := 0
	for _, g := range status.Inventory.AdminGrants {
		if g.Phase == string(rempartv1.AdminAccessActive) {
			active++
		}
	}
	adminGrantsActive.WithLabelValues(tenant).Set(float64(active))
}

// controlSeries remembers, per tenant, the label values of its rempart_control_state series.
var controlSeries struct {
	mu sync.Mutex
	of map[string]map[[4]string]bool
}

func forgetMetrics(tenant string) {
	controlSeries.mu.Lock()
	delete(controlSeries.of, tenant)
	controlSeries.mu.Unlock()
	for _, g := range []*prometheus.GaugeVec{controlState, reportScore, requirementsByState, adminGrantsActive} {
		g.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
	}
}
