package restoretest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/backuppolicy/velero"
)

// The kinds that make controllers outside the sandbox act are never restored.
func TestRestoreScopeLeavesOutKindsThatActOutside(t *testing.T) {
	for _, includeVolumes := range []bool{false, true} {
		got := restoredResources(includeVolumes)
		for _, outside := range []string{"ingresses.networking.k8s.io", "httproutes.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io",
			"certificates.cert-manager.io", "issuers.cert-manager.io", "orders.acme.cert-manager.io", "pods", "replicasets.apps",
			"horizontalpodautoscalers.autoscaling", "rolebindings.rbac.authorization.k8s.io", "backuppolicies.rempart.io"} {
			if slices.Contains(got, outside) || restoresInSandbox(outside, includeVolumes) {
				t.Errorf("%s is restored into the sandbox (volumes %v)", outside, includeVolumes)
			}
		}
		if !slices.Contains(got, "services") || !slices.Contains(got, "configmaps") {
			t.Errorf("restored %v lacks services or configmaps", got)
		}
		if slices.Contains(got, "persistentvolumeclaims") != includeVolumes {
			t.Errorf("claims restored = %v with includeVolumes %v: a claim alone would provision a disk", !includeVolumes, includeVolumes)
		}
	}
	expected := map[string][]item{
		"configmaps":                  {{Resource: "configmaps", Namespace: "shop", Name: "settings"}},
		"ingresses.networking.k8s.io": {{Resource: "ingresses.networking.k8s.io", Namespace: "shop", Name: "web"}},
	}
	inSandbox, backupOnly := splitBySandbox(expected, false)
	if len(inSandbox) != 1 || inSandbox["configmaps"] == nil {
		t.Errorf("verified in the sandbox: %v", inSandbox)
	}
	if len(backupOnly) != 1 || backupOnly[0].Resource != "ingresses.networking.k8s.io" || backupOnly[0].InBackup != 1 || backupOnly[0].VerifiedIn != verifiedInBackup {
		t.Errorf("verified in the backup: %+v", backupOnly)
	}
}

// The resource modifiers parse as Velero reads them and neutralise what they must.
func TestSandboxModifiersMakeRestoredObjectsInert(t *testing.T) {
	var doc struct {
		Version string `json:"version"`
		Rules   []struct {
			Conditions struct {
				GroupResource string `json:"groupResource"`
				Matches       []struct {
					Path  string `json:"path"`
					Value string `json:"value"`
				} `json:"matches"`
			} `json:"conditions"`
			MergePatches []struct {
				PatchData string `json:"patchData"`
			} `json:"mergePatches"`
		} `json:"resourceModifierRules"`
	}
	if err := yaml.UnmarshalStrict([]byte(sandboxModifiers()), &doc); err != nil {
		t.Fatalf("modifiers do not parse: %v\n%s", err, sandboxModifiers())
	}
	if doc.Version != "v1" {
		t.Errorf("version %q", doc.Version)
	}
	patchesOf := map[string]string{}
	for _, r := range doc.Rules {
		key := r.Conditions.GroupResource
		for _, m := range r.Conditions.Matches {
			key += " " + m.Path + "=" + m.Value
		}
		if len(r.MergePatches) != 1 {
			t.Fatalf("rule %s has %d patches", key, len(r.MergePatches))
		}
		var patch map[string]any
		if err := yaml.Unmarshal([]byte(r.MergePatches[0].PatchData), &patch); err != nil {
			t.Fatalf("rule %s: patch is not JSON: %v", key, err)
		}
		patchesOf[key] += r.MergePatches[0].PatchData
	}
	for key, want := range map[string]string{
		"**":                               `"finalizers":null`,
		"services":                         `"externalIPs":null`,
		"services /spec/type=LoadBalancer": `"type":"ClusterIP","clusterIP":"None"`,
		"services /spec/type=NodePort":     `"ports":null`,
		"services /spec/type=ExternalName": `"externalName":null`,
		"deployments.apps":                 `"replicas":0`,
		"statefulsets.apps":                `"replicas":0`,
		"cronjobs.batch":                   `"suspend":true`,
		"jobs.batch":                       `"suspend":true`,
		"daemonsets.apps":                  `"nodeSelector"`,
	} {
		if !strings.Contains(patchesOf[key], want) {
			t.Errorf("rule %s patches %q, want it to contain %s", key, patchesOf[key], want)
		}
	}
}

// The sweep takes the sandboxes no record names, and those of a cleaned-up record.
func TestStrayedSandboxes(t *testing.T) {
	rec := &rempartv1.RestoreTestRecord{Sandboxes: []string{"shop=sb-1-0"}}
	if got := strayedSandboxes([]string{"sb-1-0", "sb-0-0"}, rec); !slices.Equal(got, []string{"=sb-0-0"}) {
		t.Errorf("strayed %v, want [=sb-0-0]", got)
	}
	rec.CleanedUp = true
	if got := strayedSandboxes([]string{"sb-1-0"}, rec); !slices.Equal(got, []string{"=sb-1-0"}) {
		t.Errorf("strayed %v of a cleaned-up record", got)
	}
	if got := strayedSandboxes([]string{"sb-2-0"}, nil); len(got) != 1 {
		t.Errorf("without a record: %v", got)
	}
}

func sandboxNamespace(name, restore string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		rempartv1.LabelBackupPolicy: "acme", rempartv1.LabelRestoreSandbox: restore}}}
}

func veleroRestore(name, phase string) *unstructured.Unstructured {
	u := velero.NewObject(velero.RestoreGVK, "velero", name)
	u.Object["status"] = map[string]any{"phase": phase}
	return u
}

// A restore still running when its test is judged (the RTO ran out) is stopped, and its sandbox
// waits: deleted under a running restore, Velero would recreate it without isolation.
func TestCleanUpStopsARunningRestoreBeforeTheSandbox(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithObjects(sandboxNamespace("sb-1-0", "rt-1"), veleroRestore("rt-1", "InProgress")).Build()
	r := &Tester{Client: c, APIReader: c, Recorder: events.NewFakeRecorder(10), VeleroNamespace: "velero"}
	bp := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}
	rec := &rempartv1.RestoreTestRecord{Restore: "rt-1", Sandboxes: []string{"shop=sb-1-0"}}
	gone, err := r.cleanUp(ctx, bp, rec)
	if err != nil || gone {
		t.Fatalf("cleanUp under a running restore: gone %v, %v", gone, err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "velero", Name: "rt-1"}, velero.NewObject(velero.RestoreGVK, "", "")); !apierrors.IsNotFound(err) {
		t.Errorf("the running restore was not stopped: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "sb-1-0"}, &corev1.Namespace{}); err != nil {
		t.Errorf("the sandbox went while its restore ran: %v", err)
	}
	// Once the restore is gone, the sandbox goes.
	if _, err := r.cleanUp(ctx, bp, rec); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "sb-1-0"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("the sandbox outlived its stopped restore: %v", err)
	}
}

// The sweep deletes sandboxes no record names once their restore is over, and never one a
// restore still writes into.
func TestSweepSparesSandboxesOfRunningRestores(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithObjects(
		sandboxNamespace("sb-recorded", "rt-1"), sandboxNamespace("sb-running", "rt-2"), sandboxNamespace("sb-done", "rt-3"), sandboxNamespace("sb-orphan", "rt-4"),
		veleroRestore("rt-2", "InProgress"), veleroRestore("rt-3", "Completed"),
	).Build()
	r := &Tester{Client: c, APIReader: c, Recorder: events.NewFakeRecorder(10), VeleroNamespace: "velero"}
	bp := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}
	if err := r.sweep(ctx, bp, &rempartv1.RestoreTestRecord{Restore: "rt-1", Sandboxes: []string{"shop=sb-recorded"}}); err != nil {
		t.Fatal(err)
	}
	for name, kept := range map[string]bool{"sb-recorded": true, "sb-running": true, "sb-done": false, "sb-orphan": false} {
		err := c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
		if kept != (err == nil) {
			t.Errorf("sandbox %s: kept %v, want %v (%v)", name, err == nil, kept, err)
		}
	}
}

func TestSandboxNames(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	bp := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}
	a, b := sandboxName(bp, testRunID("", now), 0), sandboxName(bp, testRunID("", now.Add(time.Hour)), 0)
	if a == b {
		t.Errorf("tests of two slots share the sandbox %s", a)
	}
	if again := sandboxName(bp, testRunID("", now), 0); again != a {
		t.Errorf("the same slot names its sandbox %s, then %s: an interrupted test would start twice", a, again)
	}
	if r1, r2 := testRunID("2026-12-01", now), testRunID("2026-12-02", now); r1 == r2 || r1 == testRunID("", now) {
		t.Errorf("requested runs %s and %s are not told apart from each other or from the slot", r1, r2)
	}
	if len(a) > 63 || !strings.HasPrefix(a, "restore-test-") {
		t.Errorf("sandbox name %q", a)
	}
}
