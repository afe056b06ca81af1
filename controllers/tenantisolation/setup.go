package tenantisolation

import (
	"context"
	"fmt"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/discovery"
	"github.com/rempart-io/rempart/controllers/enqueue"
)

// indexNamespaces indexes TenantIsolations by the namespaces they list.
const indexNamespaces = "spec.namespaces"

// indexPodNode indexes pods by the node they are bound to.
const indexPodNode = "spec.nodeName"

// indexNamespaceLabel indexes namespaces by each of their labels, as key=value: a
// NetworkPolicy's namespace selector is resolved from the namespaces that can match it, not by
// reading every namespace of the cluster at every reconcile.
const indexNamespaceLabel = "metadata.labels"

// Settings are what the manager passes to this controller.
type Settings struct {
	MaxConcurrentReconciles int
	Resync                  time.Duration
	Clock                   clock.PassiveClock
	Admission               AdmissionConfig
}

// Setup registers the controller and its watches with the manager.
func Setup(mgr ctrl.Manager, s Settings) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &rempartv1.TenantIsolation{}, indexNamespaces,
		func(obj client.Object) []string {
			ti := obj.(*rempartv1.TenantIsolation)
			out := make([]string, len(ti.Spec.Namespaces))
			for i, n := range ti.Spec.Namespaces {
				out[i] = string(n)
			}
			return out
		}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Namespace{}, indexNamespaceLabel, func(obj client.Object) []string {
		out := make([]string, 0, len(obj.GetLabels()))
		for k, v := range obj.GetLabels() {
			out = append(out, k+"="+v)
		}
		return out
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Pod{}, indexPodNode, func(obj client.Object) []string {
		if node := obj.(*corev1.Pod).Spec.NodeName; node != "" {
			return []string{node}
		}
		return nil
	}); err != nil {
		return err
	}
	var routes []routeKind
	for _, k := range routeKinds {
		served, err := discovery.Serves(mgr.GetRESTMapper(), gwapiv1.SchemeGroupVersion.WithKind(k.kind))
		if err != nil {
			return err
		}
		if served {
			routes = append(routes, k)
		}
	}
	r := &Reconciler{
		Client:     mgr.GetClient(),
		Clock:      s.Clock,
		Recorder:   mgr.GetEventRecorder("rempart-tenantisolation"),
		Admission:  s.Admission,
		Resync:     s.Resync,
		RouteKinds: routes,
	}
	r.writer.Client, r.writer.Settle = r.Client, settleDelay
	c := mgr.GetClient()
	// What the reconciler writes: a deletion seen in the cache ends its memory of the write.
	generated := func(h handler.EventHandler) handler.EventHandler {
		return apply.ForgetDeletes(h, &r.writer.Recent, mgr.GetScheme())
	}
	owned := generated(handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &rempartv1.TenantIsolation{}, handler.OnlyControllerOwner()))
	b := ctrl.NewControllerManagedBy(mgr).
		// Status writes, the operator's own, need no reconcile: spec changes and deletion do.
		For(&rempartv1.TenantIsolation{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{},
			predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return !e.ObjectNew.GetDeletionTimestamp().IsZero() }},
		))).
		Watches(&corev1.ResourceQuota{}, owned).
		Watches(&corev1.LimitRange{}, owned).
		Watches(&admissionv1.ValidatingAdmissionPolicyBinding{}, owned).
		Watches(&corev1.Namespace{}, generated(handler.EnqueueRequestsFromMapFunc(tenantsForNamespace(c)))).
		Watches(&networkingv1.NetworkPolicy{}, generated(handler.EnqueueRequestsFromMapFunc(tenantsForNamespacedObject(c)))).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(tenantsForNamespacedObject(c))).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(tenantsForNamespacedObject(c))).
		Watches(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(tenantsForNamespacedObject(c))).
		Watches(&storagev1.StorageClass{}, handler.EnqueueRequestsFromMapFunc(allTenants(c))).
		Watches(&networkingv1.IngressClass{}, handler.EnqueueRequestsFromMapFunc(allTenants(c))).
		// RBAC and grants feed the privileged-subjects inventory, which a burst (grants closing
		// by the hundred) need not rebuild per event; the admin-bindings policy reads the
		// ClusterRoles, so those are enqueued at once.
		Watches(&rbacv1.RoleBinding{}, enqueue.Debounced(tenantsForNamespacedObject(c), enqueue.SettleDelay)).
		Watches(&rbacv1.Role{}, enqueue.Debounced(tenantsForNamespacedObject(c), enqueue.SettleDelay)).
		Watches(&rbacv1.ClusterRoleBinding{}, enqueue.Debounced(allTenants(c), enqueue.SettleDelay)).
		Watches(&rbacv1.ClusterRole{}, handler.EnqueueRequestsFromMapFunc(allTenants(c))).
		// A grant opening or closing decides whether its bindings are accounted for.
		Watches(&rempartv1.AdminAccess{}, enqueue.Debounced(enqueue.TenantsOfGrant(c), enqueue.SettleDelay), builder.WithPredicates(grantRecordChanged())).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(poolOwnersForPod(c)), builder.WithPredicates(podPlacementChanged())).
		// A pod's volumes never change: its creation and deletion are what storage.encrypted sees.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(tenantsForNamespacedObject(c)), builder.WithPredicates(predicate.Funcs{
			UpdateFunc: func(event.UpdateEvent) bool { return false }, GenericFunc: func(event.GenericEvent) bool { return false }})).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(allTenants(c)), builder.WithPredicates(nodeLabelsChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: s.MaxConcurrentReconciles})
	for _, k := range routes {
		b = b.Watches(k.object, handler.EnqueueRequestsFromMapFunc(tenantsForNamespacedObject(c)))
	}
	return b.Complete(r)
}

// podPlacementChanged lets through the pod events that can change who runs on a node: a pod
// bound, or gone.
func podPlacementChanged() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return e.Object.(*corev1.Pod).Spec.NodeName != "" },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.(*corev1.Pod).Spec.NodeName != e.ObjectNew.(*corev1.Pod).Spec.NodeName
		},
		DeleteFunc:  func(e event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// nodeLabelsChanged: a node joins or leaves a dedicated pool by its labels.
func nodeLabelsChanged() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !labels.Equals(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// poolOwnersForPod: the tenants whose dedicated nodes the pod is bound to, when it is not theirs.
func poolOwnersForPod(c client.Client) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		nodeName := obj.(*corev1.Pod).Spec.NodeName
		if nodeName == "" {
			return nil
		}
		var node corev1.Node
		if err := c.Get(ctx, client.ObjectKey{Name: nodeName}, &node); err != nil {
			return nil
		}
		var list rempartv1.TenantIsolationList
		if err := c.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
			return enqueue.ListFailed(ctx, err, "tenants dedicating node "+nodeName)
		}
		var out []reconcile.Request
		for _, ti := range list.Items {
			ni := ti.Spec.NodeIsolation
			if ni != nil && len(ni.NodeSelector) > 0 && labels.SelectorFromSet(ni.NodeSelector).Matches(labels.Set(node.Labels)) {
				out = append(out, request(ti.Name))
			}
		}
		return out
	}
}

func request(name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}
}

// tenantsForNamespace: the tenant whose label the namespace carries and every tenant listing it.
func tenantsForNamespace(c client.Client) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list rempartv1.TenantIsolationList
		if err := c.List(ctx, &list, client.MatchingFields{indexNamespaces: obj.GetName()}); err != nil {
			return enqueue.ListFailed(ctx, err, "tenants holding namespace "+obj.GetName())
		}
		out := make([]reconcile.Request, 0, len(list.Items)+1)
		holder := obj.GetLabels()[rempartv1.LabelTenant]
		if holder != "" {
			out = append(out, request(holder))
		}
		for _, ti := range list.Items {
			if ti.Name != holder {
				out = append(out, request(ti.Name))
			}
		}
		return out
	}
}

// tenantsForNamespacedObject: the tenant holding the object's namespace.
func tenantsForNamespacedObject(c client.Client) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var ns corev1.Namespace
		if err := c.Get(ctx, client.ObjectKey{Name: obj.GetNamespace()}, &ns); err != nil {
			return nil
		}
		if tenant := ns.Labels[rempartv1.LabelTenant]; tenant != "" {
			return []reconcile.Request{request(tenant)}
		}
		return nil
	}
}

// grantRecordChanged passes a grant's creation and deletion, and the updates that change its
// phase or bindings.
func grantRecordChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*rempartv1.AdminAccess)
		n, ok2 := e.ObjectNew.(*rempartv1.AdminAccess)
		return !ok1 || !ok2 || o.Status.Phase != n.Status.Phase || len(o.Status.Bindings) != len(n.Status.Bindings)
	}}
}

// allTenants: every tenant, for changes that may concern any of them.
func allTenants(c client.Client) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list rempartv1.TenantIsolationList
		if err := c.List(ctx, &list); err != nil {
			return enqueue.ListFailed(ctx, err, fmt.Sprintf("%T", list))
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for _, ti := range list.Items {
			out = append(out, request(ti.Name))
		}
		return out
	}
}
