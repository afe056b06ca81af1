package certificatepolicy

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// certificateExpiry lets alerting see a certificate run out before its renewal (ALM-5.5).
var certificateExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "rempart_certificate_expiry_timestamp_seconds",
	Help: "When a certificate covered by the policy expires (Unix time), from the issued certificate.",
}, []string{"policy", "namespace", "certificate"})

// renewalWindow is the policy's renewal window for each certificate: one whose remaining life
// is shorter should have been renewed already (alert RempartCertificateInRenewalWindow).
var renewalWindow = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "rempart_certificate_renewal_window_seconds",
	Help: "How long before its expiry the policy has a covered certificate renewed (spec.renewBeforeAtLeast), in seconds.",
}, []string{"policy", "namespace", "certificate"})

func init() { ctrlmetrics.Registry.MustRegister(certificateExpiry, renewalWindow) }

func recordMetrics(policy string, renewBefore time.Duration, certs []rempartv1.CertificateSummary) {
	certificateExpiry.DeletePartialMatch(prometheus.Labels{"policy": policy})
	renewalWindow.DeletePartialMatch(prometheus.Labels{"policy": policy})
	for _, c := range certs {
		if c.NotAfter != nil {
			certificateExpiry.WithLabelValues(policy, c.Namespace, c.Name).Set(float64(c.NotAfter.Unix()))
			renewalWindow.WithLabelValues(policy, c.Namespace, c.Name).Set(renewBefore.Seconds())
		}
	}
}
