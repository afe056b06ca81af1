package evidencelog

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	entriesWritten = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rempart_evidence_entries_written_total",
		Help: "Evidence entries written, by reason (ReportChanged, DailySnapshot, RecordingResumed).",
	}, []string{"reason"})
	entryBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rempart_evidence_written_bytes_total",
		Help: "Bytes of evidence entries written to the store.",
	})
	writeFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rempart_evidence_write_failures_total",
		Help: "Evidence entries that could not be written, or logs whose head could not be read.",
	})
	checkFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rempart_evidence_check_failures_total",
		Help: "Periodic checks of a tenant's evidence log that could not read the store.",
	})
	verifiedEntries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rempart_evidence_verified_entries_total",
		Help: "Stored evidence entries read back and verified by the periodic check.",
	})
	lastEntry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rempart_evidence_last_entry_timestamp_seconds",
		Help: "Time of the tenant's newest evidence entry written by this process, in Unix seconds.",
	}, []string{"tenant"})
	chainProblems = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rempart_evidence_chain_problems",
		Help: "Problems the last periodic check found in the tenant's stored evidence chain (altered, missing or foreign-signed entries); 0 when it verifies.",
	}, []string{"tenant"})
	storeLocked = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rempart_evidence_store_locked",
		Help: "1 when the evidence store has Object Lock, so entries cannot be rewritten or deleted during their retention; 0 otherwise.",
	})
)

func init() {
	ctrlmetrics.Registry.MustRegister(entriesWritten, entryBytes, writeFailures, checkFailures, verifiedEntries, lastEntry, chainProblems, storeLocked)
}

func forgetMetrics(tenant string) {
	lastEntry.DeleteLabelValues(tenant)
	chainProblems.DeleteLabelValues(tenant)
}
