package certificatepolicy

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
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
	status := cp.Status.DeepCopy()
	status.ObservedGeneration = cp.Generation
	status.Controls = compliance.AllUnknown(compliance.KindCertificatePolicy, ReasonCertManagerNotInstalled, "cert-manager is not installed: this control cannot be evaluated.")
	status.Summary = compliance.Summarize(status.Controls)
	status.Certificates, status.CertificateCount, status.NextExpiry = nil, 0, nil
	msg := "cert-manager is not installed: no Certificate can be issued, checked or renewed (FT-CLD-38, FT-CLD-40). Install cert-manager, then restart the operator."
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: rempartv1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: ReasonCertManagerNotInstalled, Message: msg, ObservedGeneration: cp.Generation})
	meta.SetStatusCondition(&status.Conditions, compliance.ComplianceCondition(status.Controls, cp.Generation))
	if !compliance.Restamp(&cp.Status, status, func(s *rempartv1.CertificatePolicyStatus) *rempartv1.PolicyStatus { return &s.PolicyStatus }, r.clock.Now()) {
		return ctrl.Result{}, nil
	}
	cp.Status = *status
	if err := r.client.Status().Update(ctx, &cp); err != nil {
		return apply.StatusWriteOutcome(fmt.Errorf("write status: %w", err))
	}
	return ctrl.Result{}, nil
}
