package adminaccess

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// breakGlassActive lets alerting see every break-glass access while it is open (FT-CLD-16,
// PAS-12.2): 1 while the grant's cluster-wide binding exists.
var breakGlassActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "rempart_adminaccess_break_glass_active",
	Help: "1 while a break-glass AdminAccess grants its role on the whole cluster, else 0.",
}, []string{"adminaccess", "subject", "approved_by"})

func init() { ctrlmetrics.Registry.MustRegister(breakGlassActive) }

// recordBreakGlass sets the gauge of a break-glass grant; ordinary grants have none.
func recordBreakGlass(name, subject, approvedBy string, active bool) {
	breakGlassActive.DeletePartialMatch(prometheus.Labels{"adminaccess": name})
	if !active {
		// Kept at 0 rather than dropped, so that a scrape sees the access close.
		breakGlassActive.WithLabelValues(name, subject, approvedBy).Set(0)
		return
	}
	breakGlassActive.WithLabelValues(name, subject, approvedBy).Set(1)
}

// forgetBreakGlass drops a deleted grant's series.
func forgetBreakGlass(name string) {
	breakGlassActive.DeletePartialMatch(prometheus.Labels{"adminaccess": name})
}
