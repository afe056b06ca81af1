package dataresidency

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
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

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/discovery"
	"github.com/rempart-io/rempart/controllers/enqueue"
)

// Settings are what the manager passes to this controller.
type Settings struct {
	MaxConcurrentReconciles int
	Resync                  time.Duration
	Clock                   clock.PassiveClock
}

// MutationAvailable asks the API server, through discovery, whether it serves
// MutatingAdmissionPolicy at admissionregistration.k8s.io/v1.
func MutationAvailable(mapper meta.RESTMapper) (bool, error) {
	return discovery.Serves(mapper, admissionv1.SchemeGroupVersion.WithKind("MutatingAdmissionPolicy"))
}

// Setup registers the controller and its watches with the manager.
func Setup(mgr ctrl.Manager, s Settings) error {
	mutation, err := MutationAvailable(mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	ctrl.Log.WithName("dataresidency").Info("pod pinning", "mutatingAdmissionPolicy", mutation)
	r := &Reconciler{
		Client:   mgr.GetClient(),
		Clock:    s.Clock,
		Recorder: mgr.GetEventRecorder("rempart-dataresidency"),
		Config:   PolicyConfig{Mutation: mutation},
		Resync:   s.Resync,
	}
	c := mgr.GetClient()
	b := ctrl.NewControllerManagedBy(mgr).
		For(&rempartv1.DataResidency{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&admissionv1.ValidatingAdmissionPolicyBinding{}).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.DataResidencyList{})), builder.WithPredicates(nodeLocationChanged())).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.DataResidencyList{})), builder.WithPredicates(labelsChanged())).
		Watches(&rempartv1.TenantIsolation{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.DataResidencyList{})), builder.WithPredicates(labelsChanged())).
		Watches(&storagev1.StorageClass{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.DataResidencyList{}))).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(policiesCovering(c, func(o client.Object) string { return o.GetNamespace() })),
			builder.WithPredicates(podPlacementChanged())).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(policiesCovering(c, func(o client.Object) string { return o.GetNamespace() }))).
		Watches(&corev1.PersistentVolume{}, handler.EnqueueRequestsFromMapFunc(policiesCovering(c, func(o client.Object) string {
			if ref := o.(*corev1.PersistentVolume).Spec.ClaimRef; ref != nil {
				return ref.Namespace
			}
			return ""
		}))).
		// Another policy's new allow-list changes this one's combination.
		Watches(&rempartv1.DataResidency{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.DataResidencyList{})), builder.WithPredicates(allowListChanged())).
		Watches(&rempartv1.BackupPolicy{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.DataResidencyList{})), builder.WithPredicates(backupLocationChanged()))
	if mutation {
		b = b.Owns(&admissionv1.MutatingAdmissionPolicyBinding{})
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: s.MaxConcurrentReconciles}).
		Named("dataresidency").
		Complete(r)
}

func request(name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}
}

// policiesCovering: the policies whose covered namespaces (as last recorded) hold the object.
func policiesCovering(c client.Client, namespaceOf func(client.Object) string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		ns := namespaceOf(obj)
		if ns == "" {
			return nil
		}
		var list rempartv1.DataResidencyList
		if err := c.List(ctx, &list); err != nil {
			return enqueue.ListFailed(ctx, err, fmt.Sprintf("%T", list))
		}
		var out []reconcile.Request
		for _, dr := range list.Items {
			if i := sort.SearchStrings(dr.Status.Namespaces, ns); i < len(dr.Status.Namespaces) && dr.Status.Namespaces[i] == ns {
				out = append(out, request(dr.Name))
			}
		}
		return out
	}
}

// podPlacementChanged passes pods created, deleted, bound to a node or finished: the only
// changes the controls read.
func podPlacementChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		oldPod, okOld := e.ObjectOld.(*corev1.Pod)
		newPod, okNew := e.ObjectNew.(*corev1.Pod)
		if !okOld || !okNew {
			return true
		}
		return oldPod.Spec.NodeName != newPod.Spec.NodeName || oldPod.Status.Phase != newPod.Status.Phase ||
			(oldPod.DeletionTimestamp == nil) != (newPod.DeletionTimestamp == nil)
	}}
}

// nodeLocationChanged passes nodes added, removed, relabelled or given a provider.
func nodeLocationChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		oldNode, okOld := e.ObjectOld.(*corev1.Node)
		newNode, okNew := e.ObjectNew.(*corev1.Node)
		if !okOld || !okNew {
			return true
		}
		return !maps.Equal(oldNode.Labels, newNode.Labels) || oldNode.Spec.ProviderID != newNode.Spec.ProviderID
	}}
}

func labelsChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
	}}
}

// allowListChanged passes other policies whose recorded namespaces or countries changed.
func allowListChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		oldDR, okOld := e.ObjectOld.(*rempartv1.DataResidency)
		newDR, okNew := e.ObjectNew.(*rempartv1.DataResidency)
		if !okOld || !okNew {
			return true
		}
		return !slices.Equal(oldDR.Status.AllowedCountries, newDR.Status.AllowedCountries) || !slices.Equal(oldDR.Status.Namespaces, newDR.Status.Namespaces)
	}}
}

// backupLocationChanged lets through a BackupPolicy whose coverage or location facts changed,
// not every status write.
func backupLocationChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		oldBP, ok1 := e.ObjectOld.(*rempartv1.BackupPolicy)
		newBP, ok2 := e.ObjectNew.(*rempartv1.BackupPolicy)
		if !ok1 || !ok2 {
			return true
		}
		return oldBP.Generation != newBP.Generation || !equality.Semantic.DeepEqual(oldBP.Status.Location, newBP.Status.Location)
	}}
}
