package compliancereport

import (
	"context"
	"errors"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/discovery"
	"github.com/rempart-io/rempart/controllers/enqueue"
	"github.com/rempart-io/rempart/controllers/evidencelog"
)

// Settings are what the manager passes to this controller.
type Settings struct {
	MaxConcurrentReconciles int
	Resync                  time.Duration
	Clock                   clock.PassiveClock
	// OperatorUser is the only identity, with administrators, that may write reports.
	OperatorUser string
	// BreakGlassGroup may write reports too, in an emergency.
	BreakGlassGroup string
	// PolicyReports is auto (write openreports.io Reports where served, else wgpolicyk8s.io
	// PolicyReports where served), on (fail without either) or off.
	PolicyReports string
	// Evidence records each tenant's history; nil when no evidence log is kept.
	Evidence *evidencelog.Recorder
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete

// Setup registers the controller, and the admission policy that keeps reports as it writes them.
func Setup(mgr ctrl.Manager, s Settings) error {
	gvk, writeReports, err := ReportKindServed(mgr.GetRESTMapper(), s.PolicyReports)
	if err != nil {
		return err
	}
	r := &Reconciler{Client: mgr.GetClient(), Clock: s.Clock, Resync: s.Resync, PolicyReports: writeReports, ReportKind: gvk, Evidence: s.Evidence}
	c := mgr.GetClient()
	tenants := handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.TenantIsolationList{}))
	err = ctrl.NewControllerManagedBy(mgr).
		Named("compliancereport").
		For(&rempartv1.TenantIsolation{}).
		Owns(&rempartv1.ComplianceReport{}).
		Watches(&rempartv1.DataResidency{}, tenants).
		Watches(&rempartv1.CertificatePolicy{}, tenants).
		// A grant concerns the tenants it names or holds bindings in, not every report.
		Watches(&rempartv1.AdminAccess{}, enqueue.Debounced(enqueue.TenantsOfGrant(c), enqueue.SettleDelay)).
		Watches(&rempartv1.BackupPolicy{}, tenants).
		WithOptions(controller.Options{MaxConcurrentReconciles: s.MaxConcurrentReconciles}).
		Complete(r)
	if err != nil {
		return err
	}
	// The leader puts the admission policies in place once, at start.
	return mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		p, b := reportPolicy(s.OperatorUser, s.BreakGlassGroup)
		sp, sb := statusPolicy(s.OperatorUser, s.BreakGlassGroup)
		return errors.Join(
			apply.IfChanged(ctx, c, p, &admissionv1.ValidatingAdmissionPolicy{}),
			apply.IfChanged(ctx, c, b, &admissionv1.ValidatingAdmissionPolicyBinding{}),
			apply.IfChanged(ctx, c, sp, &admissionv1.ValidatingAdmissionPolicy{}),
			apply.IfChanged(ctx, c, sb, &admissionv1.ValidatingAdmissionPolicyBinding{}))
	}))
}

// ReportKindServed is ReportKind for what the API server behind mapper serves.
func ReportKindServed(mapper meta.RESTMapper, mode string) (schema.GroupVersionKind, bool, error) {
	openReports, err := discovery.Serves(mapper, OpenReportGVK)
	if err != nil {
		return schema.GroupVersionKind{}, false, err
	}
	policyReports, err := discovery.Serves(mapper, PolicyReportGVK)
	if err != nil {
		return schema.GroupVersionKind{}, false, err
	}
	return ReportKind(mode, openReports, policyReports)
}
