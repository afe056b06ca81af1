package compliancereport

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/evidencelog"
	"github.com/rempart-io/rempart/controllers/policystatus"
	"github.com/rempart-io/rempart/internal/compliance"
)

// Reconciler writes the ComplianceReport of each TenantIsolation.
type Reconciler struct {
	Client client.Client
	Clock  clock.PassiveClock
	Resync time.Duration
	// PolicyReports: also write a report of the controls in each tenant namespace, of ReportKind
	// (an openreports.io Report or a wgpolicyk8s.io PolicyReport).
	PolicyReports bool
	ReportKind    schema.GroupVersionKind
	// Evidence records each tenant's history; nil when no evidence log is kept.
	Evidence *evidencelog.Recorder

	written  writtenReports
	statuses writtenStatuses
}

// +kubebuilder:rbac:groups=rempart.io,resources=compliancereports,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rempart.io,resources=compliancereports/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rempart.io,resources=tenantisolations;dataresidencies;certificatepolicies;adminaccesses;backuppolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=wgpolicyk8s.io,resources=policyreports,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=openreports.io,resources=reports,verbs=get;list;watch;create;update;patch;delete

// Reconcile gathers the tenant's policies' results into its report.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ti rempartv1.TenantIsolation
	if err := r.Client.Get(ctx, req.NamespacedName, &ti); err != nil {
		// The report is owned by the tenant and goes with it.
		if apierrors.IsNotFound(err) {
			forgetMetrics(req.Name)
			if r.Evidence != nil {
				r.Evidence.Forget(req.Name)
			}
			r.written.forget(req.Name)
			r.statuses.forget(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ti.DeletionTimestamp.IsZero() {
		forgetMetrics(ti.Name)
		return ctrl.Result{}, nil
	}
	if ti.Status.ObservedGeneration != ti.Generation {
		// The tenant's own controls are not judged for its spec yet: a report now would be
		// written again as soon as they are. Their status write brings the tenant back here.
		return ctrl.Result{}, nil
	}
	src, err := r.gather(ctx, &ti)
	if err != nil {
		return ctrl.Result{}, err
	}
	report := &rempartv1.ComplianceReport{
		TypeMeta:   metav1.TypeMeta{APIVersion: rempartv1.GroupVersion.String(), Kind: "ComplianceReport"},
		ObjectMeta: apply.Generated("TenantIsolation", &ti, "", ti.Name, rempartv1.LabelTenant, ti.Name),
		Spec:       rempartv1.ComplianceReportSpec{Tenant: rempartv1.TenantName(ti.Name)},
	}
	if err := apply.IfChanged(ctx, r.Client, report, nil); err != nil {
		return ctrl.Result{}, err
	}
	// Read again, as a copy: its status is written below.
	var existing rempartv1.ComplianceReport
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(report), &existing); err != nil {
		if apierrors.IsNotFound(err) {
			// Just created: the cache shows it in a moment, and its watch brings it back here.
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, fmt.Errorf("read report %s: %w", report.Name, err)
	}
	if r.Evidence != nil {
		src.Policies = append(src.Policies, policyResults{Kind: compliance.KindEvidenceLog, Name: ti.Name,
			Controls: []rempartv1.ControlResult{r.Evidence.Control(ctx, ti.Name)}})
	}
	status := build(src, metav1.NewTime(r.Clock.Now()))
	recordMetrics(ti.Name, src, status)
	requeue := r.Resync
	if r.Evidence != nil {
		var next time.Duration
		status.Evidence, next = r.Evidence.Record(ctx, ti.Name, status, src.evidenceSources())
		requeue = min(requeue, max(next, time.Second))
	}
	if r.PolicyReports {
		if err := r.writePolicyReports(ctx, &existing, src); err != nil {
			return ctrl.Result{}, err
		}
	}
	// The cache keeps reports without their status: what was written is remembered, and a
	// report is written again when its content changes or someone else wrote it since.
	if r.statuses.unchanged(existing.Name, existing.ResourceVersion, status) {
		return ctrl.Result{RequeueAfter: requeue}, nil
	}
	before := existing.ResourceVersion
	existing.Status = status
	if err := r.Client.Status().Update(ctx, &existing); err != nil {
		return policystatus.WriteOutcome(fmt.Errorf("write report %s: %w", report.Name, err))
	}
	r.statuses.record(existing.Name, before, existing.ResourceVersion, status)
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// recentGrants is how long an ended grant stays listed in its tenants' reports; after that it
// is counted, so that a report does not grow with every grant ever made.
const recentGrants = 30 * 24 * time.Hour

// endedBefore says whether a grant ended (expired or revoked) before t.
func endedBefore(aa *rempartv1.AdminAccess, t time.Time) bool {
	switch aa.Status.Phase {
	case rempartv1.AdminAccessExpired:
		end := aa.Spec.Expires.Time
		if aa.Status.ExpiredAt != nil {
			end = aa.Status.ExpiredAt.Time
		}
		return end.Before(t)
	case rempartv1.AdminAccessRevoked:
		return aa.Status.RevokedAt != nil && aa.Status.RevokedAt.Before(&metav1.Time{Time: t})
	}
	return false
}

func (r *Reconciler) gather(ctx context.Context, ti *rempartv1.TenantIsolation) (sources, error) {
	s := sources{Tenant: ti.Name}
	namespaces := map[string]bool{}
	for _, ns := range ti.Status.Namespaces {
		s.Namespaces = append(s.Namespaces, ns.Name)
		namespaces[ns.Name] = true
	}
	s.Policies = append(s.Policies, policyResults{Kind: "TenantIsolation", Name: ti.Name, Controls: ti.Status.Controls, Evaluated: ti.Status.LastEvaluated,
		BehindSpec: ti.Status.ObservedGeneration != ti.Generation, Object: ti, Spec: &ti.Spec})
	inv := &s.Inventory
	inv.PrivilegedSubjects = capped(ti.Status.PrivilegedSubjects, 200)

	var drs rempartv1.DataResidencyList
	if err := r.Client.List(ctx, &drs); err != nil {
		return s, fmt.Errorf("list data residencies: %w", err)
	}
	for _, dr := range drs.Items {
		if !covers(ti.Name, namespaces, dr.Status.Tenants, dr.Status.Namespaces) {
			continue
		}
		s.Policies = append(s.Policies, policyResults{Kind: "DataResidency", Name: dr.Name, Controls: dr.Status.Controls, Evaluated: dr.Status.LastEvaluated,
			BehindSpec: dr.Status.ObservedGeneration != dr.Generation, Object: &dr, Spec: &dr.Spec})
		for _, r := range dr.Status.RegionsInUse {
			if r.Pods > 0 && len(inv.Regions) < 100 {
				inv.Regions = append(inv.Regions, rempartv1.RegionEntry{Region: r.Region, Country: r.Country, Allowed: r.Allowed, Pods: r.Pods, Policy: dr.Name})
			}
		}
	}

	var cps rempartv1.CertificatePolicyList
	if err := r.Client.List(ctx, &cps); err != nil {
		return s, fmt.Errorf("list certificate policies: %w", err)
	}
	for _, cp := range cps.Items {
		if !covers(ti.Name, namespaces, selectedTenants(cp.Spec.Tenants, ti), names(cp.Spec.Namespaces)) {
			continue
		}
		s.Policies = append(s.Policies, policyResults{Kind: "CertificatePolicy", Name: cp.Name, Controls: cp.Status.Controls, Evaluated: cp.Status.LastEvaluated,
			BehindSpec: cp.Status.ObservedGeneration != cp.Generation, Object: &cp, Spec: &cp.Spec})
		for _, c := range cp.Status.Certificates {
			if namespaces[c.Namespace] && len(inv.Certificates) < 200 {
				inv.Certificates = append(inv.Certificates, rempartv1.CertificateEntry{CertificateSummary: c, Policy: cp.Name})
			}
		}
	}

	var aas rempartv1.AdminAccessList
	if err := r.Client.List(ctx, &aas); err != nil {
		return s, fmt.Errorf("list admin accesses: %w", err)
	}
	recentCutoff := r.Clock.Now().Add(-recentGrants)
	for _, aa := range aas.Items {
		if !covers(ti.Name, namespaces, names(aa.Spec.Tenants), names(aa.Spec.Namespaces)) {
			continue
		}
		// An expired or revoked grant is the record of a past access, listed below; its controls
		// say nothing of the tenant now, and must not make FT-CLD-16 or PAS-12.2 read Compliant.
		if p := aa.Status.Phase; p != rempartv1.AdminAccessExpired && p != rempartv1.AdminAccessRevoked {
			s.Policies = append(s.Policies, policyResults{Kind: "AdminAccess", Name: aa.Name, Controls: aa.Status.Controls, Evaluated: aa.Status.LastEvaluated,
				BehindSpec: aa.Status.ObservedGeneration != aa.Generation, Object: &aa, Spec: &aa.Spec})
		}
		if len(inv.AdminGrants) >= 200 || endedBefore(&aa, recentCutoff) {
			inv.EarlierEndedGrants++
			continue
		}
		inv.AdminGrants = append(inv.AdminGrants, rempartv1.AdminGrantEntry{Name: aa.Name, Subject: subjectText(string(aa.Spec.Subject.Kind), aa.Spec.Subject.Name),
			Role: aa.Spec.Role, Phase: string(aa.Status.Phase), ApprovedBy: aa.Spec.ApprovedBy, Reason: aa.Spec.Reason, Expires: ptr.To(aa.Spec.Expires)})
	}

	var bps rempartv1.BackupPolicyList
	if err := r.Client.List(ctx, &bps); err != nil {
		return s, fmt.Errorf("list backup policies: %w", err)
	}
	for _, bp := range bps.Items {
		if !covers(ti.Name, namespaces, []string{string(bp.Spec.Tenant)}, names(bp.Spec.Namespaces)) {
			continue
		}
		s.Policies = append(s.Policies, policyResults{Kind: "BackupPolicy", Name: bp.Name, Controls: bp.Status.Controls, Evaluated: bp.Status.LastEvaluated,
			BehindSpec: bp.Status.ObservedGeneration != bp.Generation, Object: &bp, Spec: &bp.Spec})
		entry := rempartv1.BackupEntry{Policy: bp.Name, LastGoodBackup: bp.Status.LastGoodBackup, Versions: bp.Status.VersionCount, RPOMet: bp.Status.RPOMet}
		if t := bp.Status.LastRestoreTest; t != nil {
			entry.LastRestoreTest, entry.TestedAt = t.Result, ptr.To(t.Started)
		}
		if l := bp.Status.Location; l != nil {
			entry.Location = fmt.Sprintf("%s (%s, %s)", l.Name, l.Region, l.Country)
		}
		if len(inv.Backups) < 50 {
			inv.Backups = append(inv.Backups, entry)
		}
	}
	return s, nil
}

// selectedTenants is the tenant's name when a selection names it or its labels match.
func selectedTenants(sel *rempartv1.TenantSelection, ti *rempartv1.TenantIsolation) []string {
	if sel == nil {
		return nil
	}
	out := names(sel.Names)
	if sel.Selector != nil {
		if s, err := metav1.LabelSelectorAsSelector(sel.Selector); err == nil && s.Matches(labels.Set(ti.Labels)) {
			out = append(out, ti.Name)
		}
	}
	return out
}

func capped[T any](in []T, n int) []T {
	if len(in) > n {
		return in[:n]
	}
	return in
}

// writePolicyReports puts the tenant's PolicyReports in place and removes those of namespaces
// that left the tenant.
func (r *Reconciler) writePolicyReports(ctx context.Context, report *rempartv1.ComplianceReport, src sources) error {
	desired := policyReports(report, src, r.ReportKind)
	now := r.Clock.Now()
	state, stale := r.written.state(report.Name, desired, now, r.Resync)
	if state == reportsCurrent {
		return nil
	}
	// What is in place: known from this process's last write, or, for a tenant not written yet,
	// from the reports read once at start.
	var inPlace map[string]*unstructured.Unstructured
	if state == reportsUnknown {
		if r.written.needsSeed() {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(r.ReportKind.GroupVersion().WithKind(r.ReportKind.Kind + "List"))
			if err := r.Client.List(ctx, list, client.MatchingLabels(apply.ManagedLabels())); err != nil {
				return fmt.Errorf("list PolicyReports: %w", err)
			}
			r.written.seed(list.Items, rempartv1.LabelTenant)
		}
		inPlace = r.written.inPlace(report.Name)
	}
	keep := map[string]bool{}
	for _, pr := range desired {
		keep[pr.GetNamespace()] = true
		if existing := inPlace[pr.GetNamespace()]; existing != nil {
			if upToDate, err := apply.UpToDate(pr, existing, r.Client.Scheme()); err != nil || upToDate {
				if err != nil {
					return err
				}
				continue
			}
		}
		if err := apply.Apply(ctx, r.Client, pr); err != nil {
			return fmt.Errorf("write the PolicyReport of %s: %w", pr.GetNamespace(), err)
		}
	}
	if stale {
		for _, ns := range r.written.staleNamespaces(report.Name, inPlace, keep) {
			stale := &unstructured.Unstructured{}
			stale.SetGroupVersionKind(r.ReportKind)
			stale.SetNamespace(ns)
			stale.SetName(policyReportName)
			if err := apply.Delete(ctx, r.Client, stale, "namespace left tenant "+report.Name); err != nil {
				return err
			}
		}
	}
	r.written.record(report.Name, desired, now)
	return nil
}
