package certificatepolicy

import (
	"context"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
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
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/discovery"
	"github.com/rempart-io/rempart/controllers/enqueue"
	"github.com/rempart-io/rempart/controllers/scope"
)

// Settings are what the manager passes to this controller.
type Settings struct {
	MaxConcurrentReconciles int
	Resync                  time.Duration
	Clock                   clock.PassiveClock
}

// CertManagerInstalled asks the API server whether it serves cert-manager's Certificates.
func CertManagerInstalled(mapper meta.RESTMapper) (bool, error) {
	return discovery.Serves(mapper, cmapi.SchemeGroupVersion.WithKind("Certificate"))
}

// Setup registers the controller when cert-manager is installed; without it CertificatePolicy
// objects are left unevaluated and the operator says so in its log.
func Setup(mgr ctrl.Manager, s Settings) error {
	installed, err := CertManagerInstalled(mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	if !installed {
		ctrl.Log.WithName("certificatepolicy").Info("cert-manager is not installed: CertificatePolicy reports CertManagerNotInstalled until it is and the operator restarts")
		return ctrl.NewControllerManagedBy(mgr).Named("certificatepolicy").
			For(&rempartv1.CertificatePolicy{}, builder.WithPredicates(predicate.Or[client.Object](
				predicate.GenerationChangedPredicate{},
				predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return !e.ObjectNew.GetDeletionTimestamp().IsZero() }},
			))).
			WithOptions(controller.Options{MaxConcurrentReconciles: s.MaxConcurrentReconciles}).
			Complete(&notInstalledReconciler{client: mgr.GetClient(), clock: s.Clock})
	}
	gateways, err := discovery.Serves(mgr.GetRESTMapper(), gwapiv1.SchemeGroupVersion.WithKind("Gateway"))
	if err != nil {
		return err
	}
	r := &Reconciler{Client: mgr.GetClient(), Clock: s.Clock, Recorder: mgr.GetEventRecorder("rempart-certificatepolicy"), Resync: s.Resync, Gateways: gateways}
	c := mgr.GetClient()
	b := ctrl.NewControllerManagedBy(mgr).
		For(&rempartv1.CertificatePolicy{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{},
			predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return !e.ObjectNew.GetDeletionTimestamp().IsZero() }},
		))).
		Owns(&admissionv1.ValidatingAdmissionPolicyBinding{}).
		// cert-manager's progress on hundreds of Certificates (their status) is read once per
		// settle delay; a Certificate or Ingress created, changed or deleted is acted on at once.
		Watches(&cmapi.Certificate{}, enqueue.SpecNowStatusLater(policiesCovering(c), enqueue.SettleDelay)).
		Watches(&networkingv1.Ingress{}, enqueue.SpecNowStatusLater(policiesCovering(c), enqueue.SettleDelay)).
		// A namespace joining or leaving a tenant changes what a policy covers.
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.CertificatePolicyList{})), builder.WithPredicates(predicate.LabelChangedPredicate{}))
	if r.Gateways {
		b = b.Watches(&gwapiv1.Gateway{}, enqueue.SpecNowStatusLater(policiesCovering(c), enqueue.SettleDelay))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: s.MaxConcurrentReconciles}).Complete(r)
}

// policiesCovering maps an object to the CertificatePolicies that cover its namespace, and to the
// policy that created it, if any: an Ingress or Certificate event concerns those, not every
// policy of the cluster.
func policiesCovering(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list rempartv1.CertificatePolicyList
		if err := c.List(ctx, &list); err != nil {
			return enqueue.ListFailed(ctx, err, "CertificatePolicies covering "+client.ObjectKeyFromObject(obj).String())
		}
		var out []reconcile.Request
		for _, cp := range list.Items {
			covers, err := scope.Covers(ctx, c, cp.Spec.Tenants, cp.Spec.Namespaces, obj.GetNamespace())
			if covers || err != nil || obj.GetLabels()[LabelPolicy] == cp.Name {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: cp.Name}})
			}
		}
		return out
	}
}
