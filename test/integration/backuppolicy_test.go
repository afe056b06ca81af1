package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// The API server here runs no Velero: these tests play Velero's part by writing the status Velero
// would write, and check what the operator does with it. The e2e tests run the real Velero.

const veleroNS = "velero"

func velero(kind, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("velero.io/v1")
	u.SetKind(kind)
	u.SetNamespace(veleroNS)
	u.SetName(name)
	return u
}

func ensureVeleroNamespace(t *testing.T) {
	t.Helper()
	err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: veleroNS}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// storageLocation creates an Available BackupStorageLocation on an S3-compatible store in region.
func storageLocation(t *testing.T, name, region string, config map[string]any) {
	t.Helper()
	ensureVeleroNamespace(t)
	cfg := map[string]any{"region": region, "s3Url": "http://s3.example", "s3ForcePathStyle": "true"}
	for k, v := range config {
		cfg[k] = v
	}
	bsl := velero("BackupStorageLocation", name)
	bsl.Object["spec"] = map[string]any{"provider": "aws", "objectStorage": map[string]any{"bucket": "backups"}, "config": cfg}
	create(t, bsl)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), bsl) })
	bsl.Object["status"] = map[string]any{"phase": "Available"}
	if err := env.Client.Update(context.Background(), bsl); err != nil {
		t.Fatal(err)
	}
}

func newBackupPolicy(name, tenant, location, region string) *rempartv1.BackupPolicy {
	return &rempartv1.BackupPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rempartv1.BackupPolicySpec{
			Tenant:          rempartv1.TenantName(tenant),
			StorageLocation: rempartv1.BackupStorageLocationRef{Name: location, Region: rempartv1.RegionCode(region)},
		},
	}
}

func deleteBackupPolicy(name string) {
	_ = env.Client.Delete(context.Background(), &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

func waitBackupPolicy(t *testing.T, name string, check func(*rempartv1.BackupPolicy) error) *rempartv1.BackupPolicy {
	t.Helper()
	var bp rempartv1.BackupPolicy
	eventually(t, "BackupPolicy "+name, func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &bp); err != nil {
			return err
		}
		ready := meta.FindStatusCondition(bp.Status.Conditions, rempartv1.ConditionReady)
		if ready == nil || ready.ObservedGeneration != bp.Generation {
			return fmt.Errorf("not evaluated at generation %d", bp.Generation)
		}
		return check(&bp)
	})
	return &bp
}

func controlIs(bp *rempartv1.BackupPolicy, id rempartv1.ControlID, state rempartv1.ControlState, reason string) error {
	c := bp.Status.Control(id)
	if c.State != state || (reason != "" && c.Reason != reason) {
		return fmt.Errorf("control %s is %s/%s (%s), want %s/%s", id, c.State, c.Reason, c.Message, state, reason)
	}
	return nil
}

// finishBackup writes the status Velero writes when a backup ends (Backups have no status
// subresource).
func finishBackup(t *testing.T, name, phase string, completed time.Time, errors int) {
	t.Helper()
	finishBackupWith(t, name, phase, completed, errors, 3)
}

// finishBackupWith is finishBackup with the number of objects the backup holds.
func finishBackupWith(t *testing.T, name, phase string, completed time.Time, errors, items int) {
	t.Helper()
	eventually(t, "backup "+name+" "+phase, func(ctx context.Context) error {
		b := velero("Backup", name)
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		b.Object["status"] = map[string]any{"phase": phase, "startTimestamp": completed.Add(-time.Minute).UTC().Format(time.RFC3339),
			"completionTimestamp": completed.UTC().Format(time.RFC3339), "errors": int64(errors),
			"progress": map[string]any{"itemsBackedUp": int64(items), "totalItems": int64(items)}}
		return env.Client.Update(ctx, b)
	})
}

// policyBackup creates a backup of the policy as its Schedule would, already finished.
func policyBackup(t *testing.T, policy, name, namespace, phase string, completed time.Time) {
	t.Helper()
	b := velero("Backup", name)
	b.SetLabels(map[string]string{rempartv1.LabelBackupPolicy: policy, "velero.io/schedule-name": "rempart-" + policy})
	b.Object["spec"] = map[string]any{"includedNamespaces": []any{namespace}, "storageLocation": "default"}
	create(t, b)
	finishBackup(t, name, phase, completed, 0)
}

func enableSchedule(t *testing.T, policy string) {
	t.Helper()
	eventually(t, "schedule of "+policy+" enabled", func(ctx context.Context) error {
		s := velero("Schedule", "rempart-"+policy)
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		s.Object["status"] = map[string]any{"phase": "Enabled"}
		return env.Client.Update(ctx, s)
	})
}

func eventsOf(ctx context.Context, name, reason string) ([]eventsv1.Event, error) {
	var list eventsv1.EventList
	if err := env.Client.List(ctx, &list); err != nil {
		return nil, err
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "BackupPolicy" && e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out, nil
}

func TestBackupPolicySchedulesPrunesAndReports(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "bk-sched")
	storageLocation(t, "bk-sched", "gra", nil)
	bp := newBackupPolicy("bk-sched", "bk-sched", "bk-sched", "gra")
	bp.Spec.Versions = 2
	create(t, bp)
	t.Cleanup(func() { deleteBackupPolicy("bk-sched") })

	// One Velero Schedule, owned and labelled, backing up the tenant's namespace; and a first
	// backup at once, so the RPO clock starts from a real one.
	sched := velero("Schedule", "rempart-bk-sched")
	eventually(t, "the Velero Schedule", func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(sched), sched); err != nil {
			return err
		}
		included, _, _ := unstructured.NestedStringSlice(sched.Object, "spec", "template", "includedNamespaces")
		loc, _, _ := unstructured.NestedString(sched.Object, "spec", "template", "storageLocation")
		cron, _, _ := unstructured.NestedString(sched.Object, "spec", "schedule")
		if !slices.Equal(included, []string{ns}) || loc != "bk-sched" || cron != "0 2 * * *" {
			return fmt.Errorf("schedule spec %v", sched.Object["spec"])
		}
		return nil
	})
	if refs := sched.GetOwnerReferences(); len(refs) != 1 || refs[0].Kind != "BackupPolicy" || refs[0].Name != "bk-sched" {
		t.Errorf("schedule owners %+v", refs)
	}
	if owned, _, _ := unstructured.NestedBool(sched.Object, "spec", "useOwnerReferencesInBackup"); owned {
		t.Error("backups would be owned by the schedule, and deleted with the policy")
	}
	got := waitBackupPolicy(t, "bk-sched", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.FirstBackup == "" {
			return fmt.Errorf("no first backup")
		}
		return nil
	})
	first := got.Status.FirstBackup
	enableSchedule(t, "bk-sched")

	// Three good versions, a partial and a failed one: the oldest good one goes, through Velero.
	now := time.Now()
	finishBackup(t, first, "Completed", now.Add(-72*time.Hour), 0)
	policyBackup(t, "bk-sched", "bk-sched-2", ns, "Completed", now.Add(-48*time.Hour))
	policyBackup(t, "bk-sched", "bk-sched-3", ns, "PartiallyFailed", now.Add(-36*time.Hour))
	policyBackup(t, "bk-sched", "bk-sched-4", ns, "Completed", now.Add(-24*time.Hour))
	policyBackup(t, "bk-sched", "bk-sched-5", ns, "Failed", now.Add(-time.Hour))
	eventually(t, "a DeleteBackupRequest for the oldest version only", func(ctx context.Context) error {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("velero.io/v1")
		list.SetKind("DeleteBackupRequestList")
		if err := env.Client.List(ctx, list, client.InNamespace(veleroNS), client.MatchingLabels{rempartv1.LabelBackupPolicy: "bk-sched"}); err != nil {
			return err
		}
		var names []string
		for _, d := range list.Items {
			n, _, _ := unstructured.NestedString(d.Object, "spec", "backupName")
			names = append(names, n)
		}
		if !slices.Equal(names, []string{first}) {
			return fmt.Errorf("deletion requested for %v, want [%s]", names, first)
		}
		return nil
	})
	got = waitBackupPolicy(t, "bk-sched", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.VersionCount != 3 || bp.Status.RPOMet != "False" {
			return fmt.Errorf("versions %d, rpo met %q", bp.Status.VersionCount, bp.Status.RPOMet)
		}
		for _, want := range []struct {
			id     rempartv1.ControlID
			state  rempartv1.ControlState
			reason string
		}{
			{"backup.versions", rempartv1.ControlNonCompliant, "PruningPending"},
			{"backup.last-run", rempartv1.ControlNonCompliant, "LastBackupFailed"},
			{"backup.rpo", rempartv1.ControlNonCompliant, "RPOBreached"},
			{"backup.schedule", rempartv1.ControlCompliant, "ScheduleEnabled"},
			{"backup.location", rempartv1.ControlCompliant, "LocationOffsiteAndAllowed"},
			{"backup.encryption", rempartv1.ControlNonCompliant, "EncryptionNotShown"},
			{"backup.restore-test", rempartv1.ControlUnknown, "NotTestedYet"},
		} {
			if err := controlIs(bp, want.id, want.state, want.reason); err != nil {
				return err
			}
		}
		return nil
	})
	if got.Status.LastBackup == nil || got.Status.LastBackup.Name != "bk-sched-5" || got.Status.LastBackup.Phase != "Failed" {
		t.Errorf("last backup %+v", got.Status.LastBackup)
	}
	if got.Status.LastGoodBackup == nil || got.Status.Versions[0].Name != "bk-sched-4" {
		t.Errorf("last good backup %v, versions %+v", got.Status.LastGoodBackup, got.Status.Versions)
	}
	if msg := got.Status.Control("backup.rpo").Message; !strings.Contains(msg, "FT-CLD-26") {
		t.Errorf("RPO message does not name the requirement: %s", msg)
	}
	eventually(t, "BackupFailed and RPOBreached events", func(ctx context.Context) error {
		for _, reason := range []string{"BackupFailed", "RPOBreached", "VersionPruned", "BackupStarted"} {
			if evs, err := eventsOf(ctx, "bk-sched", reason); err != nil || len(evs) == 0 {
				return fmt.Errorf("no %s event (%v)", reason, err)
			}
		}
		return nil
	})

	// Encryption is claimed only once the location shows it.
	bsl := velero("BackupStorageLocation", "bk-sched")
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bsl), bsl); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(bsl.Object, "AES256", "spec", "config", "serverSideEncryption"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Update(ctx, bsl); err != nil {
		t.Fatal(err)
	}
	waitBackupPolicy(t, "bk-sched", func(bp *rempartv1.BackupPolicy) error {
		return controlIs(bp, "backup.encryption", rempartv1.ControlCompliant, "EncryptedAtRest")
	})

	// Changing the policy updates the Schedule.
	eventually(t, "policy updated", func(ctx context.Context) error {
		var bp rempartv1.BackupPolicy
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "bk-sched"}, &bp); err != nil {
			return err
		}
		bp.Spec.Schedule = "30 1 * * *"
		return env.Client.Update(ctx, &bp)
	})
	eventually(t, "the Schedule follows the policy", func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(sched), sched); err != nil {
			return err
		}
		if cron, _, _ := unstructured.NestedString(sched.Object, "spec", "schedule"); cron != "30 1 * * *" {
			return fmt.Errorf("schedule %q", cron)
		}
		return nil
	})

	// Deleting the policy keeps every backup.
	deleteBackupPolicy("bk-sched")
	time.Sleep(time.Second)
	for _, name := range []string{"bk-sched-2", "bk-sched-4", "bk-sched-5"} {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(velero("Backup", name)), velero("Backup", name)); err != nil {
			t.Errorf("backup %s after the policy was deleted: %v", name, err)
		}
	}
}

func TestBackupPolicyRPOTurnsAtTheDeadline(t *testing.T) {
	ns := residencyTenant(t, "bk-rpo")
	storageLocation(t, "bk-rpo", "gra", nil)
	bp := newBackupPolicy("bk-rpo", "bk-rpo", "bk-rpo", "gra")
	bp.Spec.RPO = &metav1.Duration{Duration: time.Minute}
	create(t, bp)
	t.Cleanup(func() { deleteBackupPolicy("bk-rpo") })
	got := waitBackupPolicy(t, "bk-rpo", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.FirstBackup == "" {
			return fmt.Errorf("no first backup")
		}
		return nil
	})
	_ = ns
	// A backup that completed 45 s ago: the RPO holds for 15 s more, then breaks by itself.
	finishBackup(t, got.Status.FirstBackup, "Completed", time.Now().Add(-45*time.Second), 0)
	got = waitBackupPolicy(t, "bk-rpo", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.RPOMet != "True" || bp.Status.RPODeadline == nil {
			return fmt.Errorf("RPO met %q (%s)", bp.Status.RPOMet, bp.Status.Control("backup.rpo").Message)
		}
		return nil
	})
	deadline := got.Status.RPODeadline.Time
	waitBackupPolicy(t, "bk-rpo", func(bp *rempartv1.BackupPolicy) error {
		return controlIs(bp, "backup.rpo", rempartv1.ControlNonCompliant, "RPOBreached")
	})
	// Turned by the requeue at the deadline, not by a resync ten minutes later.
	if late := time.Since(deadline); late > 20*time.Second {
		t.Errorf("the RPO turned %s after its deadline", late)
	}
	eventually(t, "RPOBreached event", func(ctx context.Context) error {
		evs, err := eventsOf(ctx, "bk-rpo", "RPOBreached")
		if err != nil || len(evs) != 1 {
			return fmt.Errorf("%d RPOBreached events (%v)", len(evs), err)
		}
		return nil
	})
}

// archive builds a Velero backup archive holding the given objects (resource, namespace, name,
// labels).
func archive(t *testing.T, objects [][3]string, labels map[string]map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, o := range objects {
		body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"name": o[2], "namespace": o[1], "labels": labels[o[2]]}})
		for _, p := range []string{
			fmt.Sprintf("resources/%s/namespaces/%s/%s.json", o[0], o[1], o[2]),
			fmt.Sprintf("resources/%s/v1-preferredversion/namespaces/%s/%s.json", o[0], o[1], o[2]),
		} {
			if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBackupPolicyRestoreTestIntoAnIsolatedSandbox(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "bk-restore")
	storageLocation(t, "bk-restore", "gra", nil)
	bp := newBackupPolicy("bk-restore", "bk-restore", "bk-restore", "gra")
	create(t, bp)
	t.Cleanup(func() { deleteBackupPolicy("bk-restore") })
	got := waitBackupPolicy(t, "bk-restore", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.FirstBackup == "" {
			return fmt.Errorf("no first backup")
		}
		return nil
	})
	backupName := got.Status.FirstBackup
	finishBackup(t, backupName, "Completed", time.Now().Add(-time.Minute), 0)

	runTest := func(token string) *rempartv1.RestoreTestRecord {
		t.Helper()
		eventually(t, "restore test requested", func(ctx context.Context) error {
			var bp rempartv1.BackupPolicy
			if err := env.Client.Get(ctx, client.ObjectKey{Name: "bk-restore"}, &bp); err != nil {
				return err
			}
			bp.Spec.RestoreTestNow = token
			return env.Client.Update(ctx, &bp)
		})
		return waitBackupPolicy(t, "bk-restore", func(bp *rempartv1.BackupPolicy) error {
			if bp.Status.RestoreTestNowHandled != token || bp.Status.LastRestoreTest == nil || bp.Status.LastRestoreTest.Result != rempartv1.RestoreTestRunning {
				return fmt.Errorf("restore test %+v", bp.Status.LastRestoreTest)
			}
			return nil
		}).Status.LastRestoreTest
	}

	// A restore test that Velero fails.
	rec := runTest("first")
	src, sandbox, _ := strings.Cut(rec.Sandboxes[0], "=")
	if src != ns || !strings.HasPrefix(sandbox, "restore-test-") {
		t.Fatalf("sandboxes %v", rec.Sandboxes)
	}
	restore := velero("Restore", rec.Restore)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(restore), restore); err != nil {
		t.Fatal(err)
	}
	mapping, _, _ := unstructured.NestedStringMap(restore.Object, "spec", "namespaceMapping")
	included, _, _ := unstructured.NestedStringSlice(restore.Object, "spec", "includedResources")
	modifiers, _, _ := unstructured.NestedString(restore.Object, "spec", "resourceModifier", "name")
	if mapping[ns] != sandbox || !slices.Contains(included, "configmaps") || modifiers != "rempart-restore-sandbox" {
		t.Errorf("restore spec %v", restore.Object["spec"])
	}
	// Nothing that makes a controller outside the sandbox act comes back (sandbox.go).
	for _, outside := range []string{"pods", "ingresses.networking.k8s.io", "certificates.cert-manager.io", "persistentvolumeclaims", "rolebindings.rbac.authorization.k8s.io"} {
		if slices.Contains(included, outside) {
			t.Errorf("the restore test restores %s: %v", outside, included)
		}
	}
	var mods corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: veleroNS, Name: "rempart-restore-sandbox"}, &mods); err != nil || !strings.Contains(mods.Data["modifiers.yaml"], "LoadBalancer") {
		t.Errorf("resource modifiers %v (%v)", mods.Data, err)
	}
	if b, _, _ := unstructured.NestedString(restore.Object, "spec", "backupName"); b != backupName {
		t.Errorf("restores %q, want the newest good backup %q", b, backupName)
	}
	// The sandbox is isolated while it exists: no traffic in or out, no pod.
	var np networkingv1.NetworkPolicy
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sandbox, Name: "rempart-sandbox-isolation"}, &np); err != nil {
		t.Fatal(err)
	}
	if len(np.Spec.PolicyTypes) != 2 || len(np.Spec.Ingress) != 0 || len(np.Spec.Egress) != 0 || len(np.Spec.PodSelector.MatchLabels) != 0 {
		t.Errorf("sandbox network policy %+v", np.Spec)
	}
	var quota corev1.ResourceQuota
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sandbox, Name: "rempart-sandbox-no-pods"}, &quota); err != nil {
		t.Fatal(err)
	}
	if pods := quota.Spec.Hard[corev1.ResourcePods]; !pods.IsZero() {
		t.Errorf("sandbox quota allows %s pods", pods.String())
	}
	// The operator may list what came back there, and only there.
	var verifier rbacv1.RoleBinding
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sandbox, Name: "rempart-restore-verifier"}, &verifier); err != nil {
		t.Fatal(err)
	}
	if verifier.RoleRef.Name != "rempart-restore-verifier" || len(verifier.Subjects) != 1 || verifier.Subjects[0].Name != "rempart" || verifier.Subjects[0].Namespace != operatorNamespace {
		t.Errorf("verifier binding %+v", verifier)
	}
	restore.Object["status"] = map[string]any{"phase": "Failed", "failureReason": "the backup's archive is unreadable"}
	if err := env.Client.Update(ctx, restore); err != nil {
		t.Fatal(err)
	}
	got = waitBackupPolicy(t, "bk-restore", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.LastRestoreTest.Result != rempartv1.RestoreTestFailed {
			return fmt.Errorf("restore test %+v", bp.Status.LastRestoreTest)
		}
		return controlIs(bp, "backup.restore-test", rempartv1.ControlNonCompliant, "RestoreTestFailed")
	})
	if !strings.Contains(got.Status.LastRestoreTest.Message, "the backup's archive is unreadable") {
		t.Errorf("failure message %q", got.Status.LastRestoreTest.Message)
	}
	finishSandboxDeletion(t, sandbox)

	// A restore test that passes only if what the backup holds is back: the operator reads the
	// archive through a Velero DownloadRequest and looks for each object in the sandbox.
	store := archive(t, [][3]string{
		{"configmaps", ns, "settings"}, {"secrets", ns, "db"}, {"pods", ns, "web-1"},
		{"networkpolicies.networking.k8s.io", ns, "rempart-default-deny"}, {"configmaps", "elsewhere", "other"},
		{"ingresses.networking.k8s.io", ns, "web"},
	}, map[string]map[string]string{"rempart-default-deny": {rempartv1.LabelManagedBy: rempartv1.ManagedByValue}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(store) }))
	defer srv.Close()
	rec = runTest("second")
	_, sandbox, _ = strings.Cut(rec.Sandboxes[0], "=")
	// Velero restores the ConfigMap only: the Secret is missing, the pod is not expected, the
	// generated NetworkPolicy is not restored and not expected.
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: sandbox, Name: "settings"}})
	restore = velero("Restore", rec.Restore)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(restore), restore); err != nil {
		t.Fatal(err)
	}
	restore.Object["status"] = map[string]any{"phase": "Completed"}
	if err := env.Client.Update(ctx, restore); err != nil {
		t.Fatal(err)
	}
	processDownload(t, rec.Restore+"-contents", srv.URL)
	got = waitBackupPolicy(t, "bk-restore", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.LastRestoreTest.Result != rempartv1.RestoreTestFailed || bp.Status.LastRestoreTest.Restore != rec.Restore {
			return fmt.Errorf("restore test %+v", bp.Status.LastRestoreTest)
		}
		return nil
	})
	checks := got.Status.LastRestoreTest.Checks
	if len(checks) != 3 || checks[0].Resource != "configmaps" || checks[0].Restored != 1 || checks[0].VerifiedIn != "Sandbox" ||
		checks[1].Resource != "ingresses.networking.k8s.io" || checks[1].InBackup != 1 || checks[1].VerifiedIn != "Backup" ||
		checks[2].Resource != "secrets" || checks[2].Restored != 0 || !slices.Equal(checks[2].Missing, []string{ns + "/db"}) {
		t.Errorf("checks %+v", checks)
	}
	if !strings.Contains(got.Status.LastRestoreTest.Message, "1 objects of the backup did not come back") {
		t.Errorf("message %q", got.Status.LastRestoreTest.Message)
	}
	finishSandboxDeletion(t, sandbox)

	// The Secret comes back too: the next test passes, within the RTO. Its status write is
	// lost once (the record and the request it handled vanish): the running Restore is adopted,
	// not started a second time.
	rec = runTest("third")
	_, sandbox, _ = strings.Cut(rec.Sandboxes[0], "=")
	eventually(t, "the status write lost", func(ctx context.Context) error {
		var bp rempartv1.BackupPolicy
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "bk-restore"}, &bp); err != nil {
			return err
		}
		bp.Status.LastRestoreTest, bp.Status.RestoreTestNowHandled = nil, ""
		return env.Client.Status().Update(ctx, &bp)
	})
	pokeThroughVelero(t, rec.Restore) // Velero reports progress: the operator looks again
	adopted := waitBackupPolicy(t, "bk-restore", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.RestoreTestNowHandled != "third" || bp.Status.LastRestoreTest == nil {
			return fmt.Errorf("restore test %+v", bp.Status.LastRestoreTest)
		}
		return nil
	}).Status.LastRestoreTest
	if adopted.Restore != rec.Restore || !slices.Equal(adopted.Sandboxes, rec.Sandboxes) || adopted.Result != rempartv1.RestoreTestRunning {
		t.Errorf("after a lost write the test is %+v, want the running %s adopted", adopted, rec.Restore)
	}
	restores := &unstructured.UnstructuredList{}
	restores.SetAPIVersion("velero.io/v1")
	restores.SetKind("RestoreList")
	if err := env.Client.List(ctx, restores, client.InNamespace(veleroNS), client.MatchingLabels{rempartv1.LabelBackupPolicy: "bk-restore"}); err != nil || len(restores.Items) != 3 {
		t.Errorf("%d restores for three tests (%v)", len(restores.Items), err)
	}
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: sandbox, Name: "settings"}})
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: sandbox, Name: "db"}})
	restore = velero("Restore", rec.Restore)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(restore), restore); err != nil {
		t.Fatal(err)
	}
	restore.Object["status"] = map[string]any{"phase": "Completed"}
	if err := env.Client.Update(ctx, restore); err != nil {
		t.Fatal(err)
	}
	processDownload(t, rec.Restore+"-contents", srv.URL)
	got = waitBackupPolicy(t, "bk-restore", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.LastRestoreTest.Result != rempartv1.RestoreTestPassed {
			return fmt.Errorf("restore test %+v", bp.Status.LastRestoreTest)
		}
		return controlIs(bp, "backup.restore-test", rempartv1.ControlCompliant, "RestoreTestPassed")
	})
	if got.Status.LastPassedRestoreTest == nil || got.Status.LastRestoreTest.Duration == nil {
		t.Errorf("passed test not recorded: %+v", got.Status)
	}
	finishSandboxDeletion(t, sandbox)

	// A sandbox no record names (its test's status was never written, its Restore is gone) is
	// swept at the next look.
	stray := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "restore-test-stray", Labels: map[string]string{
		rempartv1.LabelBackupPolicy: "bk-restore", rempartv1.LabelRestoreSandbox: "rempart-bk-restore-test-gone", rempartv1.LabelManagedBy: rempartv1.ManagedByValue}}}
	create(t, stray)
	pokeThroughVelero(t, rec.Restore)
	finishSandboxDeletion(t, stray.Name)
}

// pokeThroughVelero updates one of the policy's Velero Restores, as Velero does when it reports
// progress, so that the operator looks at the policy again.
func pokeThroughVelero(t *testing.T, restoreName string) {
	t.Helper()
	eventually(t, "poke restore "+restoreName, func(ctx context.Context) error {
		restore := velero("Restore", restoreName)
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(restore), restore); err != nil {
			return err
		}
		annotations := restore.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations["it.rempart.io/poked"] = time.Now().Format(time.RFC3339Nano)
		restore.SetAnnotations(annotations)
		return env.Client.Update(ctx, restore)
	})
}

// finishSandboxDeletion waits for the operator to delete a sandbox and finishes the deletion as
// the namespace controller would: envtest runs none.
func finishSandboxDeletion(t *testing.T, name string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "sandbox "+name+" deleted", func(ctx context.Context) error {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if ns.DeletionTimestamp.IsZero() {
			return fmt.Errorf("sandbox %s not being deleted", name)
		}
		ns.Spec.Finalizers = nil
		if _, err := cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
			return err
		}
		return fmt.Errorf("finalized, not yet gone")
	})
}

// processDownload plays Velero's part for a DownloadRequest: a signed URL to the archive.
func processDownload(t *testing.T, name, url string) {
	t.Helper()
	eventually(t, "download request "+name, func(ctx context.Context) error {
		d := velero("DownloadRequest", name)
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			return err
		}
		d.Object["status"] = map[string]any{"phase": "Processed", "downloadURL": url}
		return env.Client.Update(ctx, d)
	})
}

func TestBackupPolicyLocationOutsideResidencyIsRefused(t *testing.T) {
	ctx := context.Background()
	residencyTenant(t, "bk-fr")
	create(t, newResidency("bk-fr", []rempartv1.TenantName{"bk-fr"}, nil, "FR"))
	t.Cleanup(func() { deleteResidency(t, "bk-fr") })
	waitResidency(t, "bk-fr", func(dr *rempartv1.DataResidency) error {
		if !slices.Contains(dr.Status.Tenants, "bk-fr") {
			return fmt.Errorf("tenants %v", dr.Status.Tenants)
		}
		return nil
	})
	for _, region := range []string{"us-east-1", "eu-central-1"} {
		bp := newBackupPolicy("bk-fr-"+region, "bk-fr", "default", region)
		eventuallyRefused(t, env.Client, bp, "outside the regions where DataResidency bk-fr lets the data be (FT-CLD-74)", region)
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bp), bp); !apierrors.IsNotFound(err) {
			t.Errorf("a refused policy exists: %v", err)
		}
	}
	// A French location is accepted; moving it to Frankfurt later is refused too.
	storageLocation(t, "bk-fr-gra", "gra", nil)
	bp := newBackupPolicy("bk-fr", "bk-fr", "bk-fr-gra", "gra")
	create(t, bp)
	t.Cleanup(func() { deleteBackupPolicy("bk-fr") })
	bp.Spec.StorageLocation.Region = "eu-central-1"
	if err := env.Client.Update(ctx, bp); err == nil || !strings.Contains(err.Error(), "FT-CLD-74") {
		t.Errorf("moving the location to Frankfurt: %v", err)
	}
	// A location that says another region than the policy declares is caught by the control,
	// and one outside the countries pauses the Schedule in Enforce mode.
	storageLocation(t, "bk-fr-lie", "eu-central-1", nil)
	eventually(t, "policy pointed at a location in Frankfurt that it declares in Gravelines", func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bp), bp); err != nil {
			return err
		}
		bp.Spec.StorageLocation.Name = "bk-fr-lie"
		return env.Client.Update(ctx, bp)
	})
	waitBackupPolicy(t, "bk-fr", func(bp *rempartv1.BackupPolicy) error {
		return controlIs(bp, "backup.location", rempartv1.ControlNonCompliant, "RegionMismatch")
	})

	// Audit mode: accepted, reported, and the Schedule keeps running.
	audit := newBackupPolicy("bk-fr-audit", "bk-fr", "bk-fr-lie", "eu-central-1")
	audit.Spec.Enforcement = rempartv1.EnforcementAudit
	create(t, audit)
	t.Cleanup(func() { deleteBackupPolicy("bk-fr-audit") })
	waitBackupPolicy(t, "bk-fr-audit", func(bp *rempartv1.BackupPolicy) error {
		return controlIs(bp, "backup.location", rempartv1.ControlNonCompliant, "LocationNotAllowed")
	})
}

func TestBackupPolicyPausesBackupsToAForbiddenCountry(t *testing.T) {
	ctx := context.Background()
	residencyTenant(t, "bk-late")
	storageLocation(t, "bk-late", "eu-central-1", nil)
	create(t, newBackupPolicy("bk-late", "bk-late", "bk-late", "eu-central-1"))
	t.Cleanup(func() { deleteBackupPolicy("bk-late") })
	waitBackupPolicy(t, "bk-late", func(bp *rempartv1.BackupPolicy) error {
		return controlIs(bp, "backup.location", rempartv1.ControlCompliant, "LocationOffsiteAndAllowed")
	})
	// The tenant's data is then held to France: backups stop going to Frankfurt.
	create(t, newResidency("bk-late", []rempartv1.TenantName{"bk-late"}, nil, "FR"))
	t.Cleanup(func() { deleteResidency(t, "bk-late") })
	got := waitBackupPolicy(t, "bk-late", func(bp *rempartv1.BackupPolicy) error {
		ready := meta.FindStatusCondition(bp.Status.Conditions, rempartv1.ConditionReady)
		if ready.Reason != "LocationForbidden" {
			return fmt.Errorf("ready %s: %s", ready.Reason, ready.Message)
		}
		return controlIs(bp, "backup.location", rempartv1.ControlNonCompliant, "LocationNotAllowed")
	})
	if msg := got.Status.Control("backup.location").Message; !strings.Contains(msg, "FT-CLD-74") || !strings.Contains(msg, "DE") {
		t.Errorf("location message %q", msg)
	}
	sched := velero("Schedule", "rempart-bk-late")
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(sched), sched); err != nil {
		t.Fatal(err)
	}
	if paused, _, _ := unstructured.NestedBool(sched.Object, "spec", "paused"); !paused {
		t.Error("the Schedule still sends backups to Frankfurt")
	}
	if err := controlIs(got, "backup.schedule", rempartv1.ControlNonCompliant, "SchedulePaused"); err != nil {
		t.Error(err)
	}
	// The residency policy sees it too, from its side.
	waitResidency(t, "bk-late", func(dr *rempartv1.DataResidency) error {
		c := dr.Status.Control("residency.backup-locations")
		if c.State != rempartv1.ControlNonCompliant || c.Evidence == nil || c.Evidence.Objects[0].Name != "bk-late" {
			return fmt.Errorf("backup locations control %+v", c)
		}
		return nil
	})
}

// A backup that completed holding nothing of the tenant is a placeholder, not a version: the
// policy reads NonCompliant until a backup with the tenant's objects completes.
func TestBackupPolicyEmptyBackupIsNoVersion(t *testing.T) {
	residencyTenant(t, "bk-empty")
	storageLocation(t, "bk-empty", "gra", nil)
	create(t, newBackupPolicy("bk-empty", "bk-empty", "bk-empty", "gra"))
	t.Cleanup(func() { deleteBackupPolicy("bk-empty") })
	got := waitBackupPolicy(t, "bk-empty", func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.FirstBackup == "" {
			return fmt.Errorf("no first backup")
		}
		return nil
	})
	finishBackupWith(t, got.Status.FirstBackup, "Completed", time.Now().Add(-time.Minute), 0, 0)
	waitBackupPolicy(t, "bk-empty", func(bp *rempartv1.BackupPolicy) error {
		return controlIs(bp, "backup.rpo", rempartv1.ControlNonCompliant, "EmptyBackups")
	})
	finishBackupWith(t, got.Status.FirstBackup, "Completed", time.Now().Add(-time.Minute), 0, 5)
	waitBackupPolicy(t, "bk-empty", func(bp *rempartv1.BackupPolicy) error {
		return controlIs(bp, "backup.rpo", rempartv1.ControlCompliant, "WithinRPO")
	})
}
