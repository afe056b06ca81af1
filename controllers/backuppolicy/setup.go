package backuppolicy

import (
	"context"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/backuppolicy/velero"
	"github.com/rempart-io/rempart/controllers/discovery"
	"github.com/rempart-io/rempart/controllers/enqueue"
)

// DefaultVeleroNamespace is where Velero's installer puts it.
const DefaultVeleroNamespace = "velero"

// Settings are what the manager passes to this controller.
type Settings struct {
	MaxConcurrentReconciles int
	Resync                  time.Duration
	Clock                   clock.PassiveClock
	// VeleroNamespace is where Velero runs; DefaultVeleroNamespace when empty.
	VeleroNamespace string
	// OperatorUser is the operator's own username (system:serviceaccount:<ns>:<name>).
	OperatorUser string
}

// VeleroInstalled asks the API server whether it serves Velero's Schedules.
func VeleroInstalled(mapper meta.RESTMapper) (bool, error) {
	return discovery.Serves(mapper, velero.ScheduleGVK)
}

// Setup registers the controller. Without Velero, policies are still reconciled, to say so in
// their Ready condition, but nothing of Velero's is watched.
func Setup(mgr ctrl.Manager, s Settings) error {
	installed, err := VeleroInstalled(mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	ns := s.VeleroNamespace
	if ns == "" {
		ns = DefaultVeleroNamespace
	}
	if !installed {
		ctrl.Log.WithName("backuppolicy").Info("Velero is not installed: BackupPolicy reports VeleroNotInstalled until it is and the operator restarts")
	}
	r := &Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Mapper: mgr.GetRESTMapper(), Clock: s.Clock,
		Recorder: mgr.GetEventRecorder("rempart-backuppolicy"), Resync: s.Resync, VeleroNamespace: ns, Velero: installed,
		HTTP: &http.Client{Timeout: 5 * time.Minute}, OperatorUser: s.OperatorUser,
	}
	c := mgr.GetClient()
	b := ctrl.NewControllerManagedBy(mgr).
		For(&rempartv1.BackupPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&rempartv1.DataResidency{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.BackupPolicyList{}))).
		Watches(&rempartv1.TenantIsolation{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.BackupPolicyList{})))
	if installed {
		byLabel := handler.EnqueueRequestsFromMapFunc(policyOfLabel)
		for _, gvk := range []struct{ kind string }{{"Schedule"}, {"Backup"}, {"Restore"}, {"DeleteBackupRequest"}, {"DownloadRequest"}} {
			b = b.Watches(velero.NewObject(velero.GroupVersion.WithKind(gvk.kind), "", ""), byLabel)
		}
		b = b.Watches(velero.NewObject(velero.LocationGVK, "", ""), handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.BackupPolicyList{})))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: s.MaxConcurrentReconciles}).Complete(r)
}

// policyOfLabel maps a Velero object to the policy its label names.
func policyOfLabel(_ context.Context, obj client.Object) []reconcile.Request {
	if name := obj.GetLabels()[rempartv1.LabelBackupPolicy]; name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
	}
	return nil
}
