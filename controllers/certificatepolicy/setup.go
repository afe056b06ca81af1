package certificatepolicy

import (
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

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
		Watches(&cmapi.Certificate{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.CertificatePolicyList{}))).
		Watches(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.CertificatePolicyList{})))
	if r.Gateways {
		b = b.Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(enqueue.All(c, &rempartv1.CertificatePolicyList{})))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: s.MaxConcurrentReconciles}).Complete(r)
}
