package integration

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func backupPolicyManifest(name string, mutate func(spec map[string]any)) *unstructured.Unstructured {
	spec := map[string]any{
		"tenant":          "acme-production",
		"storageLocation": map[string]any{"name": "default", "region": "gra"},
	}
	if mutate != nil {
		mutate(spec)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(rempartv1.GroupVersion.String())
	u.SetKind("BackupPolicy")
	u.SetName(name)
	return u
}

func TestBackupPolicyRefusesBadInput(t *testing.T) {
	restoreTest := func(k string, v any) func(map[string]any) {
		return func(s map[string]any) { s["restoreTest"] = map[string]any{k: v} }
	}
	tests := []badInput{
		{"bad cron", func(s map[string]any) { s["schedule"] = "every day at two" }, "must be a five-field cron expression"},
		{"cron with four fields", func(s map[string]any) { s["schedule"] = "0 2 * *" }, "must be a five-field cron expression"},
		{"cron minute out of range", func(s map[string]any) { s["schedule"] = "61 2 * * *" }, "must be a five-field cron expression"},
		{"cron hour out of range", func(s map[string]any) { s["schedule"] = "0 24 * * *" }, "must be a five-field cron expression"},
		{"zero versions", func(s map[string]any) { s["versions"] = 0 }, "spec.versions: Invalid value: 0"},
		{"negative versions", func(s map[string]any) { s["versions"] = -3 }, "spec.versions"},
		{"too many versions", func(s map[string]any) { s["versions"] = 5000 }, "spec.versions"},
		{"zero RPO", func(s map[string]any) { s["rpo"] = "0s" }, "rpo must be at least one minute"},
		{"negative RPO", func(s map[string]any) { s["rpo"] = "-8h" }, "rpo must be at least one minute"},
		{"RPO not a duration", func(s map[string]any) { s["rpo"] = "eight hours" }, "spec.rpo"},
		{"zero RTO", func(s map[string]any) { s["rto"] = "0s" }, "rto must be at least one minute"},
		{"maxAge below an hour", func(s map[string]any) { s["maxAge"] = "10m" }, "maxAge must be at least an hour"},
		{"maxAge shorter than the RPO", func(s map[string]any) { s["maxAge"] = "2h"; s["rpo"] = "8h" }, "maxAge must be at least the RPO"},
		{"covers nothing", func(s map[string]any) { delete(s, "tenant") }, "say what to back up"},
		{"empty tenant name", func(s map[string]any) { s["tenant"] = "" }, "spec.tenant"},
		{"bad namespace", func(s map[string]any) { s["namespaces"] = []any{"Not A Namespace"} }, "spec.namespaces[0]"},
		{"no storage location", func(s map[string]any) { delete(s, "storageLocation") }, "spec.storageLocation: Required value"},
		{"location without region", func(s map[string]any) { s["storageLocation"] = map[string]any{"name": "default"} }, "spec.storageLocation.region: Required value"},
		{"bad location name", func(s map[string]any) { s["storageLocation"] = map[string]any{"name": "Paris S3", "region": "gra"} }, "spec.storageLocation.name"},
		{"bad region", func(s map[string]any) {
			s["storageLocation"] = map[string]any{"name": "default", "region": "eu west 3"}
		}, "spec.storageLocation.region"},
		{"offsite not a boolean", func(s map[string]any) { s["requireOffsite"] = "yes" }, "spec.requireOffsite"},
		{"encryption not a boolean", func(s map[string]any) { s["encryption"] = map[string]any{"required": "always"} }, "spec.encryption.required"},
		{"bad restore test cron", restoreTest("schedule", "weekly"), "must be a five-field cron expression"},
		{"bad sandbox prefix", restoreTest("sandboxPrefix", "Restore_Test"), "spec.restoreTest.sandboxPrefix"},
		{"sandbox prefix too long", restoreTest("sandboxPrefix", "restore-test-sandbox-for-acme"), "spec.restoreTest.sandboxPrefix"},
		{"bad verified resource", restoreTest("verify", map[string]any{"resources": []any{"Config Maps"}}), "spec.restoreTest.verify.resources[0]"},
		{"cleanup not a boolean", restoreTest("cleanup", "after"), "spec.restoreTest.cleanup"},
		{"backupNow too long", func(s map[string]any) { s["backupNow"] = string(make([]byte, 200)) }, "spec.backupNow"},
		{"restoreTestNow too long", func(s map[string]any) { s["restoreTestNow"] = string(make([]byte, 200)) }, "spec.restoreTestNow"},
		{"includeVolumes not a boolean", func(s map[string]any) { s["includeVolumes"] = "no" }, "spec.includeVolumes"},
		{"unknown enforcement", func(s map[string]any) { s["enforcement"] = "Block" }, `Unsupported value: "Block"`},
	}
	expectRefused(t, tests, backupPolicyManifest)
}
