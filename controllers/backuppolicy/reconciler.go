package backuppolicy

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/backuppolicy/restoretest"
	"github.com/rempart-io/rempart/controllers/backuppolicy/velero"
	"github.com/rempart-io/rempart/controllers/policystatus"
	"github.com/rempart-io/rempart/controllers/scope"
	"github.com/rempart-io/rempart/internal/backups"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/regions"
)

// Condition reasons of BackupPolicy.
const (
	// ReasonVeleroNotInstalled: the API server does not serve Velero's kinds.
	ReasonVeleroNotInstalled = "VeleroNotInstalled"
	// ReasonLocationForbidden: the Schedule is paused, the location being outside the allowed countries.
	ReasonLocationForbidden = "LocationForbidden"
)

// Reconciler reconciles BackupPolicy objects.
type Reconciler struct {
	Client client.Client
	// APIReader lists the objects restored into a sandbox, of any kind, without caching them.
	APIReader client.Reader
	Mapper    meta.RESTMapper
	Clock     clock.PassiveClock
	Recorder  events.EventRecorder
	Resync    time.Duration
	// VeleroNamespace is where Velero runs and keeps its objects.
	VeleroNamespace string
	// Velero is true when the API server served Velero's kinds at start-up.
	Velero bool
	// HTTP downloads backup archives from the signed URLs Velero hands out.
	HTTP *http.Client
	// OperatorUser is the operator's own username, bound the verifier role in sandboxes.
	OperatorUser string
}

// +kubebuilder:rbac:groups=rempart.io,resources=backuppolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=rempart.io,resources=backuppolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rempart.io,resources=dataresidencies;tenantisolations,verbs=get;list;watch
// +kubebuilder:rbac:groups=velero.io,resources=schedules,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=velero.io,resources=backups;deletebackuprequests,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=velero.io,resources=restores,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=create
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;update,resourceNames=rempart-restore-sandbox
// +kubebuilder:rbac:groups=velero.io,resources=downloadrequests,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=velero.io,resources=backupstoragelocations,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes;pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create
// A restore test compares what came back, of any kind, with what the backup holds: it binds
// itself the rempart-restore-verifier role (list, any kind) in each sandbox it creates, and holds
// it nowhere else.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=rempart-restore-verifier

// restoreTester runs the policy's restore tests with the reconciler's clients.
func (r *Reconciler) restoreTester() *restoretest.Tester {
	return &restoretest.Tester{Client: r.Client, APIReader: r.APIReader, Mapper: r.Mapper, Recorder: r.Recorder,
		VeleroNamespace: r.VeleroNamespace, HTTP: r.HTTP, OperatorUser: r.OperatorUser}
}

// Reconcile keeps the Velero Schedule in place, starts the first and requested backups, prunes
// versions beyond the count, runs the restore tests and records the proof in status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var bp rempartv1.BackupPolicy
	if err := r.Client.Get(ctx, req.NamespacedName, &bp); err != nil {
		if apierrors.IsNotFound(err) {
			forgetMetrics(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !bp.DeletionTimestamp.IsZero() {
		// The Schedule is owned and goes with the policy; backups are not owned and stay.
		forgetMetrics(bp.Name)
		return ctrl.Result{}, nil
	}
	now := r.Clock.Now()
	if !r.Velero {
		return r.writeVeleroMissing(ctx, &bp, now)
	}
	var tenants *rempartv1.TenantSelection
	if bp.Spec.Tenant != "" {
		tenants = &rempartv1.TenantSelection{Names: []rempartv1.TenantName{bp.Spec.Tenant}}
	}
	s, err := scope.Resolve(ctx, r.Client, tenants, bp.Spec.Namespaces)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.gather(ctx, &bp, s.Namespaces, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	paused := forbiddenReason(obs) != "" && bp.Spec.Enforcement != rempartv1.EnforcementAudit
	// The restore test and the backups started record their steps in the status computed here.
	computed := bp.DeepCopy()
	status := &computed.Status

	var errs []error
	errs = append(errs, apply.IfChanged(ctx, r.Client, desiredSchedule(&bp, r.VeleroNamespace, s.Namespaces, paused), velero.NewObject(velero.ScheduleGVK, "", "")))
	if !paused {
		errs = append(errs, r.startBackups(ctx, &bp, status, obs, s.Namespaces))
	}
	errs = append(errs, r.prune(ctx, &bp, obs, now))
	tester := r.restoreTester()
	poll, err := tester.Run(ctx, &bp, status, backups.Versions(obs.backups), now)
	errs = append(errs, err)
	applyErr := errors.Join(errs...)

	// Judged once the restore test has moved on, with its record.
	obs.lastTest, obs.lastPassed = status.LastRestoreTest, status.LastPassedRestoreTest
	ev := evaluate(obs, r.VeleroNamespace, now)
	next := tester.Next(&bp, status, now)
	r.announce(&bp, ev)
	recordMetrics(&bp, ev, status, obs.testPeriod)
	r.fillStatus(status, &bp, obs, ev, next)
	boundaries := []time.Time{next}
	if ev.rpoMet {
		boundaries = append(boundaries, ev.deadline)
	}
	if poll {
		boundaries = append(boundaries, now.Add(2*time.Second))
	}
	return policystatus.Write(ctx, r.Client, &bp, computed, policystatus.Report{
		Results: ev.results, Ready: readyCondition(ev, paused), ApplyErr: applyErr,
		Exceptions: ev.exceptions, Boundaries: boundaries, Resync: r.Resync,
	}, now)
}

func (r *Reconciler) gather(ctx context.Context, bp *rempartv1.BackupPolicy, namespaces []string, now time.Time) (observed, error) {
	o := observed{policy: bp, namespaces: namespaces, errorsOf: map[string][2]int32{}, lastTest: bp.Status.LastRestoreTest, lastPassed: bp.Status.LastPassedRestoreTest}
	o.testPeriod = restoretest.Period(bp.Spec.RestoreTest.TestSchedule(), now)

	res, catalog, regionLabel, err := r.residencyOf(ctx, namespaces)
	if err != nil {
		return o, err
	}
	o.residency, o.catalog = res, catalog

	sched := velero.NewObject(velero.ScheduleGVK, "", "")
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.VeleroNamespace, Name: velero.ScheduleName(bp)}, sched); err == nil {
		o.schedule = scheduleFacts{Found: true, Phase: velero.StringField(sched, "status", "phase")}
		o.schedule.Paused, _, _ = unstructured.NestedBool(sched.Object, "spec", "paused")
		o.schedule.ValidationErrors, _, _ = unstructured.NestedStringSlice(sched.Object, "status", "validationErrors")
	} else if !apierrors.IsNotFound(err) {
		return o, fmt.Errorf("get schedule: %w", err)
	}

	loc := velero.NewObject(velero.LocationGVK, "", "")
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.VeleroNamespace, Name: bp.Spec.StorageLocation.Name}, loc); err == nil {
		facts, provider := locationFacts(loc, catalog)
		o.location, o.provider = &facts, provider
	} else if !apierrors.IsNotFound(err) {
		return o, fmt.Errorf("get backup storage location: %w", err)
	}

	list := velero.NewList(velero.BackupGVK)
	if err := r.Client.List(ctx, list, client.InNamespace(r.VeleroNamespace), client.MatchingLabels{rempartv1.LabelBackupPolicy: bp.Name}); err != nil {
		return o, fmt.Errorf("list backups: %w", err)
	}
	for i := range list.Items {
		b := &list.Items[i]
		if !backupOfPolicy(b, bp, namespaces) {
			continue
		}
		o.backups = append(o.backups, backupFacts(b))
		o.errorsOf[b.GetName()] = [2]int32{velero.IntField(b, "status", "errors"), velero.IntField(b, "status", "warnings")}
	}

	o.nodeRegions, err = r.nodeRegions(ctx, namespaces, regionLabel)
	return o, err
}

// residencyOf finds the DataResidency policies that cover any of the namespaces: the countries
// all of them allow, the catalog with their extensions, and the node label carrying regions.
func (r *Reconciler) residencyOf(ctx context.Context, namespaces []string) (*residency, *regions.Catalog, string, error) {
	var list rempartv1.DataResidencyList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil, nil, "", fmt.Errorf("list data residencies: %w", err)
	}
	ours := map[string]bool{}
	for _, ns := range namespaces {
		ours[ns] = true
	}
	var res *residency
	var exts []regions.Region
	label := rempartv1.DefaultRegionLabel
	for _, dr := range list.Items {
		covers := false
		for _, ns := range dr.Status.Namespaces {
			covers = covers || ours[ns]
		}
		if !covers || len(dr.Status.AllowedCountries) == 0 {
			continue
		}
		allowed := map[string]bool{}
		for _, c := range dr.Status.AllowedCountries {
			allowed[c] = true
		}
		if res == nil {
			res = &residency{Countries: allowed}
		} else {
			for c := range res.Countries {
				if !allowed[c] {
					delete(res.Countries, c)
				}
			}
		}
		res.Policies = append(res.Policies, dr.Name)
		for _, e := range dr.Spec.Regions {
			exts = append(exts, regions.Region{Code: string(e.Region), Country: string(e.Country), Provider: regions.Provider(e.Provider)})
		}
		if dr.Spec.RegionLabel != "" {
			label = string(dr.Spec.RegionLabel)
		}
	}
	catalog, err := regions.NewCatalog(exts)
	if err != nil {
		// Two policies disagree on an extension; the built-in catalog alone stays truthful.
		catalog, _ = regions.NewCatalog(nil)
	}
	if res != nil {
		sort.Strings(res.Policies)
	}
	return res, catalog, label, nil
}

// nodeRegions are the regions of the nodes the namespaces' pods run on.
func (r *Reconciler) nodeRegions(ctx context.Context, namespaces []string, label string) ([]string, error) {
	nodes := map[string]bool{}
	for _, ns := range namespaces {
		var pods corev1.PodList
		if err := r.Client.List(ctx, &pods, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("list pods in %s: %w", ns, err)
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				nodes[p.Spec.NodeName] = true
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for name := range nodes {
		var node corev1.Node
		if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, &node); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("get node %s: %w", name, err)
		}
		if region := node.Labels[label]; region != "" && !seen[region] {
			seen[region] = true
			out = append(out, region)
		}
	}
	sort.Strings(out)
	return out, nil
}

// startBackups starts the policy's first backup, so the RPO clock starts from a real one, and
// one backup per new spec.backupNow.
func (r *Reconciler) startBackups(ctx context.Context, bp *rempartv1.BackupPolicy, status *rempartv1.BackupPolicyStatus, o observed, namespaces []string) error {
	if !o.schedule.Found {
		return nil
	}
	if status.FirstBackup == "" && len(o.backups) > 0 {
		// Started by an earlier reconcile whose status write was lost.
		oldest := o.backups[0]
		for _, b := range o.backups {
			if b.Started.Before(oldest.Started) || (b.Started.Equal(oldest.Started) && b.Name < oldest.Name) {
				oldest = b
			}
		}
		status.FirstBackup = oldest.Name
	}
	first := status.FirstBackup == "" && len(o.backups) == 0
	requested := bp.Spec.BackupNow != "" && bp.Spec.BackupNow != status.BackupNowHandled
	if !first && !requested {
		return nil
	}
	suffix := "first"
	why := "the policy's first backup"
	if requested {
		h := fnv.New32a()
		_, _ = h.Write([]byte(bp.Spec.BackupNow))
		suffix = fmt.Sprintf("now-%08x", h.Sum32())
		why = fmt.Sprintf("spec.backupNow %q", bp.Spec.BackupNow)
	}
	b := backupFromSchedule(bp, r.VeleroNamespace, namespaces, suffix)
	if err := apply.Create(ctx, r.Client, b, "first or requested backup"); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("start backup %s: %w", b.GetName(), err)
	}
	if requested {
		status.BackupNowHandled = bp.Spec.BackupNow
	}
	if status.FirstBackup == "" {
		status.FirstBackup = b.GetName()
	}
	r.Recorder.Eventf(bp, b, corev1.EventTypeNormal, "BackupStarted", "Backup", "Backup %s started: %s (SIS-BACKUP).", b.GetName(), why)
	return nil
}

// pruneRetry is how long a DeleteBackupRequest is given before another is sent for a backup
// that is still there.
const pruneRetry = 10 * time.Minute

// prune removes the versions beyond the count, and those older than maxAge, through Velero's
// DeleteBackupRequest, which deletes the backup's data in the store too.
func (r *Reconciler) prune(ctx context.Context, bp *rempartv1.BackupPolicy, o observed, now time.Time) error {
	var maxAge time.Duration
	if bp.Spec.MaxAge != nil {
		maxAge = bp.Spec.MaxAge.Duration
	}
	victims := backups.ToPrune(o.backups, bp.Spec.KeptVersions(), maxAge, now)
	if len(victims) == 0 {
		return nil
	}
	requests := velero.NewList(velero.DeleteBackupRequestGVK)
	if err := r.Client.List(ctx, requests, client.InNamespace(r.VeleroNamespace), client.MatchingLabels{rempartv1.LabelBackupPolicy: bp.Name}); err != nil {
		return fmt.Errorf("list delete backup requests: %w", err)
	}
	pending := map[string]bool{}
	for _, d := range requests.Items {
		if now.Sub(d.GetCreationTimestamp().Time) < pruneRetry {
			pending[velero.StringField(&d, "spec", "backupName")] = true
		}
	}
	var errs []error
	for _, v := range victims {
		if pending[v.Name] {
			continue
		}
		d := deleteRequest(bp, v.Name, r.VeleroNamespace)
		if err := apply.Create(ctx, r.Client, d, "version beyond the promised count"); err != nil {
			errs = append(errs, fmt.Errorf("request deletion of backup %s: %w", v.Name, err))
			continue
		}
		r.Recorder.Eventf(bp, d, corev1.EventTypeNormal, "VersionPruned", "Prune",
			"Backup %s (completed %s) is beyond the %d versions kept: deletion requested from Velero (SIS-BACKUP).", v.Name, stamp(v.Completed), bp.Spec.KeptVersions())
	}
	return errors.Join(errs...)
}

// announce records an Event when the RPO is breached or the newest backup failed, once per
// occurrence: the status still holds the previous state.
func (r *Reconciler) announce(bp *rempartv1.BackupPolicy, ev evaluation) {
	evaluated := rempartv1.PolicyStatus{Controls: ev.results}
	if evaluated.Control(compliance.BackupRPO.ID).Reason == "RPOBreached" && bp.Status.Control(compliance.BackupRPO.ID).Reason != "RPOBreached" {
		r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, "RPOBreached", "Evaluate",
			"No good backup younger than the RPO of %s: the newest completed at %s (FT-CLD-26, SIS-BACKUP).", bp.Spec.RPODuration(), newestStamp(ev.versions))
	}
	if res := evaluated.Control(compliance.BackupLastRun.ID); res.State == rempartv1.ControlNonCompliant && res.Evidence != nil && len(res.Evidence.Objects) > 0 {
		name := res.Evidence.Objects[0].Name
		if bp.Status.LastBackup == nil || bp.Status.LastBackup.Name != name || bp.Status.LastBackup.Phase == string(backups.Completed) || bp.Status.LastBackup.Phase == "" || bp.Status.LastBackup.Phase == string(backups.InProgress) {
			r.Recorder.Eventf(bp, nil, corev1.EventTypeWarning, "BackupFailed", "Evaluate", "%s", res.Message)
		}
	}
}

func newestStamp(versions []backups.Backup) string {
	if len(versions) == 0 {
		return "never"
	}
	return stamp(versions[0].Completed)
}

func (r *Reconciler) writeVeleroMissing(ctx context.Context, bp *rempartv1.BackupPolicy, now time.Time) (ctrl.Result, error) {
	msg := "Velero's kinds (velero.io/v1 Schedule, Backup, Restore) are not served by this cluster: install Velero, then restart the operator. Nothing is backed up (SIS-BACKUP)."
	return policystatus.Write(ctx, r.Client, bp, bp.DeepCopy(), policystatus.Report{
		Results: compliance.AllUnknown(compliance.KindBackupPolicy, ReasonVeleroNotInstalled, msg),
		Ready:   metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonVeleroNotInstalled, Message: msg},
		Resync:  r.Resync,
	}, now)
}

// fillStatus sets the status fields of the kind from what was observed and judged.
func (r *Reconciler) fillStatus(status *rempartv1.BackupPolicyStatus, bp *rempartv1.BackupPolicy, o observed, ev evaluation, next time.Time) {
	status.Namespaces = o.namespaces
	status.Schedule = r.VeleroNamespace + "/" + velero.ScheduleName(bp)
	status.Location = o.location
	status.LastBackup = newestRun(o)
	status.VersionCount = int32(len(ev.versions))
	status.Versions = nil
	status.LastGoodBackup = nil
	for i, v := range ev.versions {
		if i == 0 {
			status.LastGoodBackup = &metav1.Time{Time: v.Completed}
		}
		if i < 100 {
			status.Versions = append(status.Versions, rempartv1.BackupVersion{Name: v.Name, Completed: metav1.NewTime(v.Completed)})
		}
	}
	status.RPODeadline = nil
	if !ev.deadline.IsZero() {
		status.RPODeadline = &metav1.Time{Time: ev.deadline}
	}
	status.RPOMet = "False"
	if ev.rpoMet {
		status.RPOMet = "True"
	}
	status.NextRestoreTest = nil
	if !next.IsZero() {
		status.NextRestoreTest = &metav1.Time{Time: next}
	}
}

// readyCondition says whether the Schedule runs, or why not.
func readyCondition(ev evaluation, paused bool) metav1.Condition {
	ready := metav1.Condition{Status: metav1.ConditionTrue, Reason: rempartv1.ReasonApplied,
		Message: "The Velero Schedule is in place; versions are pruned and restore tests run on schedule."}
	if paused {
		ready.Status, ready.Reason = metav1.ConditionFalse, ReasonLocationForbidden
		ready.Message = "The Velero Schedule is paused and no backup is started: " + ev.forbidden + ". Name a location in an allowed region (FT-CLD-74)."
	}
	return ready
}

// newestRun is the most recently started backup, whatever its outcome.
func newestRun(o observed) *rempartv1.BackupRun {
	var newest *backups.Backup
	for i := range o.backups {
		b := &o.backups[i]
		if newest == nil || b.Started.After(newest.Started) || (b.Started.Equal(newest.Started) && b.Name > newest.Name) {
			newest = b
		}
	}
	if newest == nil {
		return nil
	}
	run := &rempartv1.BackupRun{Name: newest.Name, Phase: string(newest.Phase)}
	if run.Phase == "" {
		run.Phase = "New"
	}
	if !newest.Started.IsZero() {
		run.Started = &metav1.Time{Time: newest.Started}
	}
	if !newest.Completed.IsZero() {
		run.Completed = &metav1.Time{Time: newest.Completed}
	}
	counts := o.errorsOf[newest.Name]
	run.Errors, run.Warnings = counts[0], counts[1]
	return run
}
