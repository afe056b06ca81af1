package adminaccess

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/enqueue"
)

// Settings are what the manager passes to this controller.
type Settings struct {
	MaxConcurrentReconciles int
	Resync                  time.Duration
	Clock                   clock.PassiveClock
	Config                  Config
	OperatorUser            string
}

// Setup registers the controller and its watches with the manager.
func Setup(mgr ctrl.Manager, s Settings) error {
	r := &Reconciler{
		Client:   mgr.GetClient(),
		Clock:    s.Clock,
		Recorder: mgr.GetEventRecorder("rempart-adminaccess"),
		Config:   s.Config,
		Resync:   s.Resync,

		OperatorUser: s.OperatorUser,
	}
	// The approval policy must guard the very first grant: put it in place as soon as this
	// replica leads, and again at every reconcile should it drift.
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return nil
		}
		if _, err := r.ensureApproval(ctx); err != nil {
			ctrl.Log.WithName("adminaccess").Error(err, "put the approval policy in place")
		}
		return nil
	})); err != nil {
		return err
	}
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		For(&rempartv1.AdminAccess{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{},
			predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return !e.ObjectNew.GetDeletionTimestamp().IsZero() }},
		))).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&rbacv1.ClusterRoleBinding{}).
		// A namespace joining or leaving a tenant joins or leaves the grants on that tenant.
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(grantsCovering(c)), builder.WithPredicates(predicate.LabelChangedPredicate{})).
		// Expiries are deadlines and a reconcile mostly waits on the API server: more workers, so
		// that a thousand grants closing in a minute do not queue behind each other.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4 * s.MaxConcurrentReconciles}).
		Complete(r)
}

// grantsCovering: the grants naming the namespace or its tenant.
func grantsCovering(c client.Client) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list rempartv1.AdminAccessList
		if err := c.List(ctx, &list); err != nil {
			return enqueue.ListFailed(ctx, err, fmt.Sprintf("%T", list))
		}
		tenant := obj.GetLabels()[rempartv1.LabelTenant]
		var out []reconcile.Request
		for _, aa := range list.Items {
			if slices.Contains(aa.Spec.Namespaces, rempartv1.NamespaceName(obj.GetName())) ||
				(tenant != "" && slices.Contains(aa.Spec.Tenants, rempartv1.TenantName(tenant))) {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: aa.Name}})
			}
		}
		return out
	}
}
