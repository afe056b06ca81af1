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
	controlStateDesc = prometheus.NewDesc("rempart_control_state",
		"State of one control of one policy for one tenant: 0 Compliant, 1 Waived, 2 Unknown, 3 NonCompliant. requirement lists the requirement IDs it serves.",
		[]string{"tenant", "kind", "policy", "control", "requirement"}, nil)
	reportScoreDesc = prometheus.NewDesc("rempart_compliance_score",
		"Share of the requirement catalog that is Compliant or Waived for the tenant, in percent.", []string{"tenant"}, nil)
	requirementsDesc = prometheus.NewDesc("rempart_requirements",
		"Requirements of the catalog for the tenant, by state (Compliant, NonCompliant, Waived, Unknown, NotCovered).", []string{"tenant", "state"}, nil)
	adminGrantsDesc = prometheus.NewDesc("rempart_admin_grants_active",
		"AdminAccess grants in force on the tenant's namespaces.", []string{"tenant"}, nil)
)

// requirementStates are the states rempart_requirements counts, in the order tenantSeries keeps them.
var requirementStates = [...]string{"Compliant", "NonCompliant", "Waived", "Unknown", rempartv1.RequirementNotCovered}

// controlValue is one rempart_control_state series of a tenant: kind, policy, control and
// requirements, and the state's value.
type controlValue struct {
	labels [4]string
	value  float64
}

// tenantSeries is what one tenant's report exports.
type tenantSeries struct {
	controls     []controlValue
	score        float64
	requirements [len(requirementStates)]float64
	grantsActive float64
}

// reportMetrics keeps every tenant's series as plain values and renders them at scrape time: a
// registered gauge costs about a kilobyte of labels and bookkeeping per series, and a thousand
// tenants export tens of thousands of them.
type reportMetrics struct {
	mu sync.RWMutex
	of map[string]*tenantSeries
}

var metrics = &reportMetrics{of: map[string]*tenantSeries{}}

func init() {
	ctrlmetrics.Registry.MustRegister(metrics)
}

// Describe implements prometheus.Collector.
func (m *reportMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{controlStateDesc, reportScoreDesc, requirementsDesc, adminGrantsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *reportMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for tenant, s := range m.of {
		for _, c := range s.controls {
			ch <- prometheus.MustNewConstMetric(controlStateDesc, prometheus.GaugeValue, c.value, tenant, c.labels[0], c.labels[1], c.labels[2], c.labels[3])
		}
		ch <- prometheus.MustNewConstMetric(reportScoreDesc, prometheus.GaugeValue, s.score, tenant)
		for i, state := range requirementStates {
			ch <- prometheus.MustNewConstMetric(requirementsDesc, prometheus.GaugeValue, s.requirements[i], tenant, state)
		}
		ch <- prometheus.MustNewConstMetric(adminGrantsDesc, prometheus.GaugeValue, s.grantsActive, tenant)
	}
}

// recordMetrics replaces the tenant's series with the report's.
func recordMetrics(tenant string, src sources, status rempartv1.ComplianceReportStatus) {
	s := &tenantSeries{score: float64(status.Summary.Score)}
	for _, p := range src.Policies {
		for _, c := range p.Controls {
			s.controls = append(s.controls, controlValue{labels: [4]string{p.Kind, p.Name, string(c.ID), strings.Join(c.Requirements, ",")}, value: StateValue[c.State]})
		}
	}
	sum := status.Summary
	s.requirements = [len(requirementStates)]float64{float64(sum.Compliant), float64(sum.NonCompliant), float64(sum.Waived), float64(sum.Unknown), float64(sum.NotCovered)}
	for _, g := range status.Inventory.AdminGrants {
		if g.Phase == string(rempartv1.AdminAccessActive) {
			s.grantsActive++
		}
	}
	metrics.mu.Lock()
	metrics.of[tenant] = s
	metrics.mu.Unlock()
}

func forgetMetrics(tenant string) {
	metrics.mu.Lock()
	delete(metrics.of, tenant)
	metrics.mu.Unlock()
}
