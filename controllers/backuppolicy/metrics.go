package backuppolicy

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// Metrics on the manager's endpoint, one series per policy, so that alerting can fire on a
// breached RPO or a failed restore test without reading status.
var (
	metricLabels    = []string{"policy", "tenant"}
	lastGoodBackup  = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rempart_backup_last_success_timestamp_seconds", Help: "When the newest Completed backup of the policy completed (Unix time); absent when there is none."}, metricLabels)
	rpoDeadline     = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rempart_backup_rpo_deadline_timestamp_seconds", Help: "When the newest good backup becomes older than the policy's RPO (Unix time)."}, metricLabels)
	rpoBreached     = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rempart_backup_rpo_breached", Help: "1 while no good backup younger than the RPO exists (FT-CLD-26, SIS-BACKUP), else 0."}, metricLabels)
	versionsKept    = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rempart_backup_versions", Help: "Good backups kept for the policy."}, metricLabels)
	restoreTestOK   = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rempart_restore_test_passed", Help: "1 when the newest finished restore test passed, 0 when it failed (ALM-5.7.3)."}, metricLabels)
	restoreTestDue  = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rempart_restore_test_due_timestamp_seconds", Help: "When the last passed restore test stops proving the backups restorable: two test periods and the RTO after it (Unix time); absent while none passed."}, metricLabels)
	restoreTestTime = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rempart_restore_test_duration_seconds", Help: "Duration of the newest finished restore test, to compare with the RTO."}, metricLabels)
)

func init() {
	ctrlmetrics.Registry.MustRegister(lastGoodBackup, rpoDeadline, rpoBreached, versionsKept, restoreTestOK, restoreTestTime, restoreTestDue)
}

func recordMetrics(bp *rempartv1.BackupPolicy, ev evaluation, status *rempartv1.BackupPolicyStatus, testPeriod time.Duration) {
	l := prometheus.Labels{"policy": bp.Name, "tenant": string(bp.Spec.Tenant)}
	if len(ev.versions) > 0 {
		lastGoodBackup.With(l).Set(float64(ev.versions[0].Completed.Unix()))
		rpoDeadline.With(l).Set(float64(ev.deadline.Unix()))
	} else {
		lastGoodBackup.Delete(l)
		rpoDeadline.Delete(l)
	}
	breached := 1.0
	if ev.rpoMet {
		breached = 0
	}
	rpoBreached.With(l).Set(breached)
	versionsKept.With(l).Set(float64(len(ev.versions)))
	if t := status.LastRestoreTest; t != nil && t.Result != rempartv1.RestoreTestRunning {
		passed := 0.0
		if t.Result == rempartv1.RestoreTestPassed {
			passed = 1
		}
		restoreTestOK.With(l).Set(passed)
		if t.Duration != nil {
			restoreTestTime.With(l).Set(t.Duration.Seconds())
		}
	}
	if due, ok := restoreTestDueAt(bp, status, testPeriod); ok {
		restoreTestDue.With(l).Set(float64(due.Unix()))
	} else {
		restoreTestDue.Delete(l)
	}
}

// restoreTestDueAt is when the last passed restore test stops proving anything: two test periods
// and the RTO after it, as the backup.restore-test control judges. ok is false while no test
// passed (the control says so) or tests are disabled.
func restoreTestDueAt(bp *rempartv1.BackupPolicy, status *rempartv1.BackupPolicyStatus, period time.Duration) (time.Time, bool) {
	if !bp.Spec.RestoreTest.TestsEnabled() || status.LastPassedRestoreTest == nil || period <= 0 {
		return time.Time{}, false
	}
	return status.LastPassedRestoreTest.Add(2*period + bp.Spec.RTODuration()), true
}

func forgetMetrics(policy string) {
	for _, g := range []*prometheus.GaugeVec{lastGoodBackup, rpoDeadline, rpoBreached, versionsKept, restoreTestOK, restoreTestTime, restoreTestDue} {
		g.DeletePartialMatch(prometheus.Labels{"policy": policy})
	}
}
