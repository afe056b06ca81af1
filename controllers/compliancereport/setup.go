package compliancereport

import (
	"context"
	"errors"
	"fmt"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/discovery"
	"github.com/rempart-io/rempart/controllers/enqueue"
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
	// PolicyReports is auto (write them where the wgpolicyk8s.io CRD is served), on or off.
	PolicyReports string
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete

// Setup registers the controller, and the admission policy that keeps reports as it writes them.
func Setup(mgr ctrl.Manager, s Settings) error {
	served, err := discovery.Serves(mgr.GetRESTMapper(), PolicyReportGVK)
	if err != nil {
		return err
	}
	writeReports := s.PolicyReports == "on" || (s.PolicyReports != "off" && served)
	if writeReports && !served {
		return fmt.Errorf("--policy-reports=on, but the API server does not serve %s: install the PolicyReport CRDs", PolicyReportGVK)
	}
	r := &Reconciler{Client: mgr.GetClient(), Clock: s.Clock, Resync: s.Resync, PolicyReports: writeReports}
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
