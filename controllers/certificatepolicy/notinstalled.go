package certificatepolicy

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/policystatus"
	"github.com/rempart-io/rempart/internal/compliance"
)

// ReasonCertManagerNotInstalled: the API server does not serve cert-manager's Certificates.
const ReasonCertManagerNotInstalled = "CertManagerNotInstalled"

// notInstalledReconciler answers for CertificatePolicy on a cluster without cert-manager: the
// policy says so in Ready, and no control is claimed, rather than the policy sitting silent.
type notInstalledReconciler struct {
	client client.Client
	clock  clock.PassiveClock
}

func (r *notInstalledReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cp rempartv1.CertificatePolicy
	if err := r.client.Get(ctx, req.NamespacedName, &cp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !cp.DeletionTimestamp.IsZero() {
		// Without cert-manager's CRD no Certificate exists to release.
		patch := client.MergeFrom(cp.DeepCopy())
		if controllerutil.RemoveFinalizer(&cp, Finalizer) {
			return ctrl.Result{}, client.IgnoreNotFound(r.client.Patch(ctx, &cp, patch))
		}
		return ctrl.Result{}, nil
	}
	computed := cp.DeepCopy()
	computed.Status.Certificates, computed.Status.CertificateCount, computed.Status.NextExpiry = nil, 0, nil
	msg := "cert-manager is not installed: no Certificate can be issued, checked or renewed (FT-CLD-38, FT-CLD-40). Install cert-manager, then restart the operator."
	res, err := policystatus.Write(ctx, r.client, &cp, computed, policystatus.Report{
		Results: compliance.AllUnknown(compliance.KindCertificatePolicy, ReasonCertManagerNotInstalled, "cert-manager is not installed: this control cannot be evaluated."),
		Ready:   metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonCertManagerNotInstalled, Message: msg},
	}, r.clock.Now())
	// Nothing changes by itself until cert-manager is installed and the operator restarted.
	res.RequeueAfter = 0
	return res, err
}
