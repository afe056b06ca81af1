package restoretest

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/backuppolicy/velero"
	"github.com/rempart-io/rempart/internal/backups"
)

// Tester runs a BackupPolicy's restore tests: it restores the newest good backup into sandbox
// namespaces that are inert by construction, compares what came back with what the backup holds,
// records the outcome in the policy's status and removes the sandboxes.
type Tester struct {
	Client client.Client
	// APIReader lists the objects restored into a sandbox, of any kind, without caching them.
	APIReader client.Reader
	Mapper    meta.RESTMapper
	Recorder  events.EventRecorder
	// VeleroNamespace is where Velero runs and keeps its objects.
	VeleroNamespace string
	// HTTP downloads backup archives from the signed URLs Velero hands out.
	HTTP *http.Client
	// OperatorUser is the operator's own username, bound the verifier role in sandboxes.
	OperatorUser string
}

// cronParser reads schedules as Velero does: five fields or a descriptor.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Period is the time between two runs of a schedule, seen from now; 0 when it does not parse.
func Period(spec string, now time.Time) time.Duration {
	s, err := cronParser.Parse(spec)
	if err != nil {
		return 0
	}
	first := s.Next(now.UTC())
	return s.Next(first).Sub(first)
}

// Next is when the next scheduled test starts: the first run of the schedule after the
// last test started, or after the policy was created.
func (rt *Tester) Next(bp *rempartv1.BackupPolicy, status *rempartv1.BackupPolicyStatus, now time.Time) time.Time {
	if !bp.Spec.RestoreTest.TestsEnabled() {
		return time.Time{}
	}
	s, err := cronParser.Parse(bp.Spec.RestoreTest.TestSchedule())
	if err != nil {
		return time.Time{}
	}
	base := bp.CreationTimestamp.Time
	if status.LastRestoreTest != nil {
		base = status.LastRestoreTest.Started.Time
	}
	return s.Next(base.UTC())
}

// Restore phases after which Velero does nothing more.
var restoreDone = map[string]bool{"Completed": true, "PartiallyFailed": true, "Failed": true, "FailedValidation": true}

// Run moves the restore test along: checks a running one, cleans up a judged one, starts
// (or adopts) a new one when due, and sweeps sandboxes no record names. poll asks for a prompt new
// look, for waits no watch reports.
func (rt *Tester) Run(ctx context.Context, bp *rempartv1.BackupPolicy, status *rempartv1.BackupPolicyStatus, versions []backups.Backup, now time.Time) (poll bool, err error) {
	rec := status.LastRestoreTest
	if rec != nil && rec.Result == rempartv1.RestoreTestRunning {
		poll, err := rt.checkRestore(ctx, bp, status, now)
		if err != nil || rec.Result == rempartv1.RestoreTestRunning {
			return poll, err
		}
		// Judged. The verdict is written before the sandbox goes: were that write lost, the
		// test would be judged again on an intact sandbox, not on an empty one.
		return true, nil
	}
	if rec != nil && bp.Spec.RestoreTest.CleansUp() && !rec.CleanedUp {
		gone, err := rt.cleanUp(ctx, bp, rec)
		if err != nil || !gone {
			return true, err
		}
		rec.CleanedUp = true
	}
	requested := bp.Spec.RestoreTestNow != "" && bp.Spec.RestoreTestNow != status.RestoreTestNowHandled
	next := rt.Next(bp, status, now)
	due := requested || (!next.IsZero() && !now.Before(next))
	if due && len(versions) > 0 {
		if rec != nil && !rec.CleanedUp {
			// Kept for inspection until now: the new test replaces it.
			if gone, err := rt.cleanUp(ctx, bp, rec); err != nil || !gone {
				return true, err
			}
			rec.CleanedUp = true
		}
		token := ""
		if requested {
			status.RestoreTestNowHandled = bp.Spec.RestoreTestNow
			token = bp.Spec.RestoreTestNow
		}
		if err := rt.startRestore(ctx, bp, status, versions[0].Name, testRunID(token, next), now); err != nil {
			return false, err
		}
	}
	return false, rt.sweep(ctx, bp, status.LastRestoreTest)
}

// RestoreVerifierRole is the ClusterRole the operator binds itself in a sandbox, to list what
// came back.
const RestoreVerifierRole = "rempart-restore-verifier"

// sandboxObjects are a sandbox namespace, its isolation (no traffic in or out, no pod may run)
// and the operator's right to list what Velero restored there.
func sandboxObjects(bp *rempartv1.BackupPolicy, name, source, restore string, operator rbacv1.Subject) []client.Object {
	labels := velero.PolicyLabels(bp, rempartv1.LabelRestoreSandbox, restore)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels:      velero.PolicyLabels(bp, rempartv1.LabelRestoreSandbox, restore, "pod-security.kubernetes.io/enforce", "restricted"),
		Annotations: map[string]string{"rempart.io/restored-from": source}}}
	deny := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "rempart-sandbox-isolation", Namespace: name, Labels: labels},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}},
	}
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "rempart-sandbox-no-pods", Namespace: name, Labels: labels},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}},
	}
	verifier := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: RestoreVerifierRole, Namespace: name, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RestoreVerifierRole},
		Subjects:   []rbacv1.Subject{operator},
	}
	return []client.Object{ns, deny, quota, verifier}
}

// subjectOf turns a username into an RBAC subject: a service account when it names one.
func subjectOf(user string) rbacv1.Subject {
	if rest, ok := strings.CutPrefix(user, "system:serviceaccount:"); ok {
		if ns, name, ok := strings.Cut(rest, ":"); ok {
			return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
		}
	}
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}
}

func (rt *Tester) startRestore(ctx context.Context, bp *rempartv1.BackupPolicy, status *rempartv1.BackupPolicyStatus, backupName, run string, now time.Time) error {
	restoreName := velero.ScheduleName(bp) + "-test-" + run
	existing := velero.NewObject(velero.RestoreGVK, "", "")
	err := rt.APIReader.Get(ctx, client.ObjectKey{Namespace: rt.VeleroNamespace, Name: restoreName}, existing)
	if err == nil {
		return rt.adopt(bp, status, existing)
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get restore %s: %w", restoreName, err)
	}
	backup := velero.NewObject(velero.BackupGVK, "", "")
	if err := rt.Client.Get(ctx, client.ObjectKey{Namespace: rt.VeleroNamespace, Name: backupName}, backup); err != nil {
		return fmt.Errorf("get backup %s: %w", backupName, err)
	}
	if err := rt.ensureSandboxModifiers(ctx); err != nil {
		return err
	}
	sources, _, _ := unstructured.NestedStringSlice(backup.Object, "spec", "includedNamespaces")
	mapping := map[string]any{}
	var sandboxes []string
	for i, src := range sources {
		name := sandboxName(bp, run, i)
		if err := rt.createSandbox(ctx, bp, name, src, restoreName); err != nil {
			return err
		}
		mapping[src] = name
		sandboxes = append(sandboxes, src+"="+name)
	}
	included := make([]any, 0, len(sources))
	for _, s := range sources {
		included = append(included, s)
	}
	var resources []any
	for _, res := range restoredResources(bp.Spec.IncludeVolumes) {
		resources = append(resources, res)
	}
	restore := velero.NewObject(velero.RestoreGVK, rt.VeleroNamespace, restoreName)
	restore.SetLabels(velero.PolicyLabels(bp))
	restore.Object["spec"] = map[string]any{
		"backupName":         backupName,
		"includedNamespaces": included,
		"namespaceMapping":   mapping,
		// Only kinds that make no outside controller act come back; the others are checked in
		// the backup's contents (sandbox.go).
		"includedResources": resources,
		"resourceModifier":  map[string]any{"kind": "ConfigMap", "name": SandboxModifiersName},
		// What Rempart generates in the tenant's namespaces is not restored: the sandbox has
		// its own isolation, and copies of the tenant's would be refused as protected objects.
		"labelSelector": map[string]any{"matchExpressions": []any{map[string]any{
			"key": rempartv1.LabelManagedBy, "operator": "NotIn", "values": []any{rempartv1.ManagedByValue},
		}}},
		"restorePVs": bp.Spec.IncludeVolumes,
	}
	if err := apply.Create(ctx, rt.Client, restore, "restore test"); err != nil {
		return fmt.Errorf("create restore %s: %w", restoreName, err)
	}
	status.LastRestoreTest = &rempartv1.RestoreTestRecord{
		Restore: restoreName, Backup: backupName, Sandboxes: sandboxes, Started: metav1.NewTime(now), Result: rempartv1.RestoreTestRunning,
		Message: fmt.Sprintf("Velero is restoring backup %s into %s.", backupName, strings.Join(sandboxes, ", ")),
	}
	rt.Recorder.Eventf(bp, restore, corev1.EventTypeNormal, "RestoreTestStarted", "RestoreTest",
		"Restore test started: backup %s into the sandbox %s (ALM-5.7.3).", backupName, strings.Join(sandboxes, ", "))
	return nil
}

// adopt records a test whose Restore exists but whose status was never written (the operator
// restarted, or the write was lost): it is judged, not started twice.
func (rt *Tester) adopt(bp *rempartv1.BackupPolicy, status *rempartv1.BackupPolicyStatus, restore *unstructured.Unstructured) error {
	if restore.GetLabels()[rempartv1.LabelBackupPolicy] != bp.Name {
		return fmt.Errorf("restore %s exists and is not this policy's: the restore test cannot start", restore.GetName())
	}
	mapping, _, _ := unstructured.NestedStringMap(restore.Object, "spec", "namespaceMapping")
	var sandboxes []string
	for src, sandbox := range mapping {
		sandboxes = append(sandboxes, src+"="+sandbox)
	}
	sort.Strings(sandboxes)
	backupName := velero.StringField(restore, "spec", "backupName")
	status.LastRestoreTest = &rempartv1.RestoreTestRecord{
		Restore: restore.GetName(), Backup: backupName, Sandboxes: sandboxes, Started: restore.GetCreationTimestamp(), Result: rempartv1.RestoreTestRunning,
		Message: fmt.Sprintf("Velero is restoring backup %s into %s (test resumed after an interruption).", backupName, strings.Join(sandboxes, ", ")),
	}
	return nil
}

// createSandbox creates a sandbox namespace and its isolation. A namespace of that name that
// Rempart did not make for this restore (someone created it first, with their own bindings) is
// never restored into.
func (rt *Tester) createSandbox(ctx context.Context, bp *rempartv1.BackupPolicy, name, source, restoreName string) error {
	for _, obj := range sandboxObjects(bp, name, source, restoreName, subjectOf(rt.OperatorUser)) {
		err := apply.Create(ctx, rt.Client, obj, "restore test sandbox")
		if err == nil {
			continue
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create sandbox %s: %w", name, err)
		}
		if _, isNamespace := obj.(*corev1.Namespace); isNamespace {
			if err := rt.checkSandboxIsOurs(ctx, bp, name, restoreName); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rt *Tester) checkSandboxIsOurs(ctx context.Context, bp *rempartv1.BackupPolicy, name, restoreName string) error {
	var ns corev1.Namespace
	if err := rt.APIReader.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
		return fmt.Errorf("get sandbox %s: %w", name, err)
	}
	if ns.Labels[rempartv1.LabelRestoreSandbox] != restoreName || ns.Labels[rempartv1.LabelBackupPolicy] != bp.Name || !ns.DeletionTimestamp.IsZero() {
		return fmt.Errorf("namespace %s already exists and is not the sandbox of restore %s: the restore test does not restore into it", name, restoreName)
	}
	var bindings rbacv1.RoleBindingList
	if err := rt.APIReader.List(ctx, &bindings, client.InNamespace(name)); err != nil {
		return fmt.Errorf("list bindings of sandbox %s: %w", name, err)
	}
	for _, b := range bindings.Items {
		if b.Name != RestoreVerifierRole || b.RoleRef.Name != RestoreVerifierRole {
			return fmt.Errorf("sandbox %s holds RoleBinding %s that Rempart did not write: the restore test does not restore into it", name, b.Name)
		}
	}
	return nil
}

// ensureSandboxModifiers writes the resource modifiers every restore test names.
func (rt *Tester) ensureSandboxModifiers(ctx context.Context) error {
	want := map[string]string{"modifiers.yaml": sandboxModifiers()}
	var cm corev1.ConfigMap
	err := rt.APIReader.Get(ctx, client.ObjectKey{Namespace: rt.VeleroNamespace, Name: SandboxModifiersName}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: rt.VeleroNamespace, Name: SandboxModifiersName,
			Labels: apply.ManagedLabels()}, Data: want}
		if err := apply.Create(ctx, rt.Client, &cm, "restore sandbox modifiers absent"); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create restore modifiers: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("get restore modifiers: %w", err)
	case !maps.Equal(cm.Data, want) || len(cm.BinaryData) > 0:
		cm.Data, cm.BinaryData = want, nil
		if err := apply.Update(ctx, rt.Client, &cm, "restore sandbox modifiers changed"); err != nil {
			return fmt.Errorf("repair restore modifiers: %w", err)
		}
	}
	return nil
}

// cleanUp deletes a judged test's sandboxes once Velero no longer writes into them. A Restore
// still running (the RTO ran out) is deleted first and its sandboxes wait until Velero lets it
// go: deleting them under a running restore would let Velero recreate them without isolation.
func (rt *Tester) cleanUp(ctx context.Context, bp *rempartv1.BackupPolicy, rec *rempartv1.RestoreTestRecord) (gone bool, err error) {
	restore := velero.NewObject(velero.RestoreGVK, "", "")
	err = rt.APIReader.Get(ctx, client.ObjectKey{Namespace: rt.VeleroNamespace, Name: rec.Restore}, restore)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return false, fmt.Errorf("get restore %s: %w", rec.Restore, err)
	case !restoreDone[velero.StringField(restore, "status", "phase")]:
		if restore.GetDeletionTimestamp() == nil {
			if err := apply.Delete(ctx, rt.Client, restore, "restore test judged while the restore still ran"); err != nil {
				return false, fmt.Errorf("stop restore %s: %w", rec.Restore, err)
			}
			rt.Recorder.Eventf(bp, restore, corev1.EventTypeWarning, "RestoreTestStopped", "RestoreTest",
				"Restore %s was still running when its test was judged: it is stopped before its sandbox %s is deleted (ALM-5.7.3).", rec.Restore, strings.Join(rec.Sandboxes, ", "))
		}
		return false, nil
	}
	return rt.deleteSandboxes(ctx, rec.Sandboxes)
}

// sweep deletes the policy's sandboxes that no record names and whose Restore is over.
func (rt *Tester) sweep(ctx context.Context, bp *rempartv1.BackupPolicy, rec *rempartv1.RestoreTestRecord) error {
	var list corev1.NamespaceList
	if err := rt.Client.List(ctx, &list, client.MatchingLabels{rempartv1.LabelBackupPolicy: bp.Name}, client.HasLabels{rempartv1.LabelRestoreSandbox}); err != nil {
		return fmt.Errorf("list sandboxes: %w", err)
	}
	restoreOf := map[string]string{}
	var names []string
	for _, ns := range list.Items {
		if ns.DeletionTimestamp.IsZero() {
			names = append(names, ns.Name)
			restoreOf[ns.Name] = ns.Labels[rempartv1.LabelRestoreSandbox]
		}
	}
	var stray []string
	for _, pair := range strayedSandboxes(names, rec) {
		_, name, _ := strings.Cut(pair, "=")
		restore := velero.NewObject(velero.RestoreGVK, "", "")
		err := rt.APIReader.Get(ctx, client.ObjectKey{Namespace: rt.VeleroNamespace, Name: restoreOf[name]}, restore)
		if err == nil && !restoreDone[velero.StringField(restore, "status", "phase")] {
			continue // Velero still writes there
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("get restore %s: %w", restoreOf[name], err)
		}
		stray = append(stray, pair)
	}
	if len(stray) == 0 {
		return nil
	}
	rt.Recorder.Eventf(bp, nil, corev1.EventTypeNormal, "RestoreSandboxSwept", "RestoreTest",
		"Deleting restore sandboxes no test record names: %s.", strings.Join(stray, ", "))
	_, err := rt.deleteSandboxes(ctx, stray)
	return err
}

// checkRestore judges a running test once Velero has finished the restore.
func (rt *Tester) checkRestore(ctx context.Context, bp *rempartv1.BackupPolicy, status *rempartv1.BackupPolicyStatus, now time.Time) (bool, error) {
	rec := status.LastRestoreTest
	rto := bp.Spec.RTODuration()
	restore := velero.NewObject(velero.RestoreGVK, "", "")
	err := rt.Client.Get(ctx, client.ObjectKey{Namespace: rt.VeleroNamespace, Name: rec.Restore}, restore)
	if apierrors.IsNotFound(err) {
		rt.finish(bp, status, now, false, fmt.Sprintf("the Velero Restore %s disappeared before it finished", rec.Restore), nil)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get restore %s: %w", rec.Restore, err)
	}
	phase := velero.StringField(restore, "status", "phase")
	if !restoreDone[phase] {
		if now.Sub(rec.Started.Time) > rto {
			rt.finish(bp, status, now, false, fmt.Sprintf("Velero's restore %s was still %q after the RTO of %s", rec.Restore, phase, rto), nil)
		}
		return false, nil
	}
	if phase == "Failed" || phase == "FailedValidation" {
		why := strings.Join(validationErrors(restore), "; ")
		if why == "" {
			why = fmt.Sprintf("see `velero restore logs %s`", rec.Restore)
		}
		rt.finish(bp, status, now, false, fmt.Sprintf("Velero ended the restore %s: %s", phase, why), nil)
		return false, nil
	}
	items, ready, err := rt.backupContents(ctx, bp, rec)
	if err != nil {
		rt.finish(bp, status, now, false, "what the backup holds could not be read: "+err.Error(), nil)
		return false, nil
	}
	if !ready {
		return true, nil
	}
	sandboxOf := map[string]string{}
	var sources []string
	for _, pair := range rec.Sandboxes {
		src, sandbox, _ := strings.Cut(pair, "=")
		sandboxOf[src] = sandbox
		sources = append(sources, src)
	}
	expected, backupOnly := splitBySandbox(expectedBack(items, sources, bp.Spec.RestoreTest.Verify.Resources), bp.Spec.IncludeVolumes)
	present, err := rt.sandboxContents(ctx, expected, sandboxOf)
	if err != nil {
		return false, err
	}
	checks, missing := compareRestored(expected, sandboxOf, present)
	checks = append(checks, backupOnly...)
	sort.Slice(checks, func(i, j int) bool { return checks[i].Resource < checks[j].Resource })
	duration := now.Sub(rec.Started.Time)
	var problems []string
	if phase != "Completed" {
		problems = append(problems, fmt.Sprintf("Velero ended the restore %s with %d errors (`velero restore logs %s`)", phase, velero.IntField(restore, "status", "errors"), rec.Restore))
	}
	if missing > 0 {
		problems = append(problems, fmt.Sprintf("%d objects of the backup did not come back (see checks)", missing))
	}
	if duration > rto {
		problems = append(problems, fmt.Sprintf("it took %s, beyond the RTO of %s", duration.Round(time.Second), rto))
	}
	total := 0
	for _, c := range checks {
		total += int(c.InBackup)
	}
	if total == 0 {
		problems = append(problems, fmt.Sprintf("backup %s holds no object of the tested namespaces to verify, so the test proves nothing: check the backup's included namespaces and spec.restoreTest.verify", rec.Backup))
	}
	if len(problems) > 0 {
		rt.finish(bp, status, now, false, strings.Join(problems, "; "), checks)
		return false, nil
	}
	inBackup := 0
	for _, c := range backupOnly {
		inBackup += int(c.InBackup)
	}
	rt.finish(bp, status, now, true, fmt.Sprintf("Velero restored backup %s; all %d verified objects of %d kinds are back in the sandbox, in %s (RTO %s); %d objects of kinds that would act outside the sandbox were verified in the backup only.",
		rec.Backup, total-inBackup, len(checks)-len(backupOnly), duration.Round(time.Second), rto, inBackup), checks)
	return false, nil
}

func (rt *Tester) finish(bp *rempartv1.BackupPolicy, status *rempartv1.BackupPolicyStatus, now time.Time, passed bool, message string, checks []rempartv1.ResourceCheck) {
	rec := status.LastRestoreTest
	rec.Finished = &metav1.Time{Time: now}
	rec.Duration = &metav1.Duration{Duration: now.Sub(rec.Started.Time).Round(time.Second)}
	rec.Checks = checks
	if len(rec.Checks) > 64 {
		rec.Checks = rec.Checks[:64]
	}
	rec.Message = message
	if passed {
		rec.Result = rempartv1.RestoreTestPassed
		status.LastPassedRestoreTest = &metav1.Time{Time: rec.Started.Time}
		rt.Recorder.Eventf(bp, nil, corev1.EventTypeNormal, "RestoreTestPassed", "RestoreTest", "Restore test passed: %s (ALM-5.7.3).", message)
		return
	}
	rec.Result = rempartv1.RestoreTestFailed
	rt.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, "RestoreTestFailed", "RestoreTest", "Restore test of backup %s failed: %s (ALM-5.7.3).", rec.Backup, message)
}

// backupContents asks Velero for a signed URL to the backup's archive, as `velero backup
// download` does, and reads the objects it holds. ready is false while Velero prepares the URL.
func (rt *Tester) backupContents(ctx context.Context, bp *rempartv1.BackupPolicy, rec *rempartv1.RestoreTestRecord) ([]item, bool, error) {
	name := rec.Restore + "-contents"
	dr := velero.NewObject(velero.DownloadRequestGVK, "", "")
	err := rt.Client.Get(ctx, client.ObjectKey{Namespace: rt.VeleroNamespace, Name: name}, dr)
	if apierrors.IsNotFound(err) {
		dr = velero.NewObject(velero.DownloadRequestGVK, rt.VeleroNamespace, name)
		dr.SetLabels(velero.PolicyLabels(bp))
		dr.Object["spec"] = map[string]any{"target": map[string]any{"kind": "BackupContents", "name": rec.Backup}}
		if err := apply.Create(ctx, rt.Client, dr, "read the backup's contents"); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, false, fmt.Errorf("create download request: %w", err)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get download request: %w", err)
	}
	url := velero.StringField(dr, "status", "downloadURL")
	if velero.StringField(dr, "status", "phase") != "Processed" || url == "" {
		return nil, false, nil
	}
	items, err := rt.download(ctx, bp, url)
	if err != nil {
		return nil, false, err
	}
	// Served its purpose; Velero would expire it anyway, so a failed deletion is only logged.
	if err := apply.Delete(ctx, rt.Client, dr, "backup contents read"); err != nil {
		log.FromContext(ctx).Info("download request left for Velero to expire", "error", err.Error())
	}
	return items, true, nil
}

func (rt *Tester) download(ctx context.Context, bp *rempartv1.BackupPolicy, url string) ([]item, error) {
	hc := rt.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	// A location with its own CA (a private S3 store) signs URLs the default roots do not trust.
	loc := velero.NewObject(velero.LocationGVK, "", "")
	if err := rt.Client.Get(ctx, client.ObjectKey{Namespace: rt.VeleroNamespace, Name: bp.Spec.StorageLocation.Name}, loc); err == nil {
		if ca := velero.StringField(loc, "spec", "objectStorage", "caCert"); ca != "" {
			pool := x509.NewCertPool()
			if pem, err := base64.StdEncoding.DecodeString(ca); err == nil && pool.AppendCertsFromPEM(pem) {
				hc = clientWithRoots(hc, pool)
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("download request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download backup archive: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download backup archive: the store answered %s", resp.Status)
	}
	return readContents(resp.Body)
}

// sandboxContents lists, metadata only, the objects of each expected kind in the sandboxes.
func (rt *Tester) sandboxContents(ctx context.Context, expected map[string][]item, sandboxOf map[string]string) (map[string]bool, error) {
	present := map[string]bool{}
	for res := range expected {
		gr := schema.ParseGroupResource(res)
		gvk, err := rt.Mapper.KindFor(gr.WithVersion(""))
		if err != nil {
			// A kind the cluster no longer serves cannot have come back.
			continue
		}
		for _, sandbox := range sandboxOf {
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := rt.APIReader.List(ctx, list, client.InNamespace(sandbox)); err != nil {
				return nil, fmt.Errorf("list %s in sandbox %s: %w", res, sandbox, err)
			}
			for _, o := range list.Items {
				present[res+"/"+sandbox+"/"+o.Name] = true
			}
		}
	}
	return present, nil
}

// deleteSandboxes deletes the sandbox namespaces of a test; gone is true once none is left.
func (rt *Tester) deleteSandboxes(ctx context.Context, pairs []string) (gone bool, err error) {
	gone = true
	var errs []error
	for _, pair := range pairs {
		_, name, _ := strings.Cut(pair, "=")
		var ns corev1.Namespace
		err := rt.Client.Get(ctx, client.ObjectKey{Name: name}, &ns)
		if apierrors.IsNotFound(err) {
			continue
		}
		gone = false
		if err != nil {
			errs = append(errs, fmt.Errorf("get sandbox %s: %w", name, err))
			continue
		}
		if ns.Labels[rempartv1.LabelRestoreSandbox] == "" {
			errs = append(errs, fmt.Errorf("namespace %s is not a restore sandbox: left alone", name))
			continue
		}
		if ns.DeletionTimestamp.IsZero() {
			errs = append(errs, apply.Delete(ctx, rt.Client, &ns, "restore test over"))
		}
	}
	return gone, errors.Join(errs...)
}

func validationErrors(u *unstructured.Unstructured) []string {
	errs, _, _ := unstructured.NestedStringSlice(u.Object, "status", "validationErrors")
	if reason := velero.StringField(u, "status", "failureReason"); reason != "" {
		errs = append(errs, reason)
	}
	return errs
}
