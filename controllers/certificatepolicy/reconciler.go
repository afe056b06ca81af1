package certificatepolicy

import (
	"context"
	"errors"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/controls"
	"github.com/rempart-io/rempart/controllers/scope"
)

// Reconciler reconciles CertificatePolicy objects.
type Reconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	Recorder events.EventRecorder
	Resync   time.Duration
	// Gateways is true when the server serves Gateway API Gateways, discovered at start-up.
	Gateways bool
}

// +kubebuilder:rbac:groups=rempart.io,resources=certificatepolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=rempart.io,resources=certificatepolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get;list;watch

// Reconcile provides the missing Certificates, binds the admission policy, re-issues what fell
// out of policy or must rotate, and records the certificates and controls in status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cp rempartv1.CertificatePolicy
	if err := r.Client.Get(ctx, req.NamespacedName, &cp); err != nil {
		if apierrors.IsNotFound(err) {
			recordMetrics(req.Name, nil)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !cp.DeletionTimestamp.IsZero() {
		recordMetrics(cp.Name, nil)
		return ctrl.Result{}, nil // what it created is owned by it; the certificates' Secrets stay
	}
	now := r.Clock.Now()
	s, err := scope.Resolve(ctx, r.Client, cp.Spec.Tenants, cp.Spec.Namespaces)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.gather(ctx, &cp, s.Namespaces)
	if err != nil {
		return ctrl.Result{}, err
	}
	var errs []error
	errs = append(errs, r.applyAdmission(ctx, &cp, s))
	if cp.Spec.Enforcement != rempartv1.EnforcementAudit {
		errs = append(errs, r.provide(ctx, &cp, obs))
		errs = append(errs, r.reissue(ctx, &cp, obs))
	}
	applyErr := errors.Join(errs...)
	ev := evaluate(obs, now)
	recordMetrics(cp.Name, ev.summaries)
	if err := r.writeStatus(ctx, &cp, ev, applyErr, now); err != nil {
		return apply.StatusWriteOutcome(err)
	}
	if applyErr != nil {
		return ctrl.Result{}, applyErr
	}
	result := ctrl.Result{RequeueAfter: r.Resync}
	boundaries := []time.Time{ev.next}
	if next, ok := ev.exceptions.NextExpiry(); ok {
		boundaries = append(boundaries, next)
	}
	if wait, ok := controls.NextBoundary(now, boundaries...); ok && wait < result.RequeueAfter {
		result.RequeueAfter = wait
	}
	return result, nil
}

func (r *Reconciler) gather(ctx context.Context, cp *rempartv1.CertificatePolicy, namespaces []string) (observed, error) {
	o := observed{policy: cp}
	for _, ns := range namespaces {
		var ings networkingv1.IngressList
		if err := r.Client.List(ctx, &ings, client.InNamespace(ns)); err != nil {
			return o, fmt.Errorf("list ingresses in %s: %w", ns, err)
		}
		for i := range ings.Items {
			o.ingresses = append(o.ingresses, &ings.Items[i])
		}
		var certs cmapi.CertificateList
		if err := r.Client.List(ctx, &certs, client.InNamespace(ns)); err != nil {
			return o, fmt.Errorf("list certificates in %s: %w", ns, err)
		}
		for i := range certs.Items {
			o.certificates = append(o.certificates, &certs.Items[i])
		}
		if r.Gateways {
			var gws gwapiv1.GatewayList
			if err := r.Client.List(ctx, &gws, client.InNamespace(ns)); err != nil {
				return o, fmt.Errorf("list gateways in %s: %w", ns, err)
			}
			for i := range gws.Items {
				o.gateways = append(o.gateways, &gws.Items[i])
			}
		}
	}
	return o, nil
}

func (r *Reconciler) applyAdmission(ctx context.Context, cp *rempartv1.CertificatePolicy, s scope.Scope) error {
	errs := []error{apply.IfChanged(ctx, r.Client, certificatePolicy(), &admissionv1.ValidatingAdmissionPolicy{})}
	keep := map[string]bool{}
	for _, b := range bindings(cp, s) {
		keep[b.Name] = true
		errs = append(errs, apply.IfChanged(ctx, r.Client, b, &admissionv1.ValidatingAdmissionPolicyBinding{}))
	}
	var list admissionv1.ValidatingAdmissionPolicyBindingList
	if err := r.Client.List(ctx, &list, client.MatchingLabels{LabelPolicy: cp.Name}); err != nil {
		return fmt.Errorf("list bindings: %w", err)
	}
	for i := range list.Items {
		if !keep[list.Items[i].Name] {
			errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, &list.Items[i])))
		}
	}
	return errors.Join(errs...)
}

// provide creates the Certificates of Ingress TLS entries no Certificate issues, keeps the ones it
// created in policy, and removes those no Ingress needs any more (their Secrets stay).
func (r *Reconciler) provide(ctx context.Context, cp *rempartv1.CertificatePolicy, o observed) error {
	issues := map[string]bool{}
	for _, c := range o.certificates {
		if c.Labels[LabelPolicy] != cp.Name {
			issues[c.Namespace+"/"+c.Spec.SecretName] = true
		}
	}
	var errs []error
	keep := map[string]bool{}
	for _, c := range desiredCertificates(cp, o.endpoints(), issues) {
		keep[c.Namespace+"/"+c.Name] = true
		errs = append(errs, apply.IfChanged(ctx, r.Client, c, &cmapi.Certificate{}))
	}
	for _, c := range o.certificates {
		if c.Labels[LabelPolicy] == cp.Name && !keep[c.Namespace+"/"+c.Name] {
			errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, c)))
		}
	}
	return errors.Join(errs...)
}

// reissue triggers cert-manager's own re-issuance, as `cmctl renew` does, for the conformant
// Certificates whose certificate in place was issued out of policy, and for every covered one once
// per new spec.rotateAll request.
func (r *Reconciler) reissue(ctx context.Context, cp *rempartv1.CertificatePolicy, o observed) error {
	rotateAll := cp.Spec.RotateAll != "" && cp.Spec.RotateAll != cp.Status.RotatedAll
	var errs []error
	for _, c := range o.certificates {
		if issuing(c) || len(Violations(c, cp.Spec)) > 0 {
			continue
		}
		why := IssuedOutOfPolicy(c, cp.Spec)
		if rotateAll {
			why = fmt.Sprintf("spec.rotateAll %q asks for new keys", cp.Spec.RotateAll)
		}
		if why == "" {
			continue
		}
		if err := r.triggerIssuance(ctx, c, why); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Recorder.Eventf(cp, c, corev1.EventTypeNormal, "Reissued", "Reissue", "Certificate %s/%s re-issued: %s (FT-CLD-40).", c.Namespace, c.Name, why)
	}
	if rotateAll && len(errs) == 0 {
		cp.Status.RotatedAll = cp.Spec.RotateAll
	}
	return errors.Join(errs...)
}

func issuing(c *cmapi.Certificate) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == cmapi.CertificateConditionIssuing && cond.Status == cmmeta.ConditionTrue {
			return true
		}
	}
	return false
}

// triggerIssuance sets the Certificate's Issuing condition, which cert-manager's issuing
// controllers act on.
func (r *Reconciler) triggerIssuance(ctx context.Context, c *cmapi.Certificate, why string) error {
	updated := c.DeepCopy()
	now := metav1.NewTime(r.Clock.Now())
	updated.Status.Conditions = append(updated.Status.Conditions, cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: "ManuallyTriggered",
		Message: "Re-issuance requested by Rempart: " + why, LastTransitionTime: &now, ObservedGeneration: c.Generation,
	})
	if err := r.Client.Status().Update(ctx, updated); err != nil {
		return fmt.Errorf("trigger issuance of %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}

func (r *Reconciler) writeStatus(ctx context.Context, cp *rempartv1.CertificatePolicy, ev evaluation, applyErr error, now time.Time) error {
	status := cp.Status.DeepCopy()
	status.ObservedGeneration = cp.Generation
	status.Controls = ev.results
	status.Summary = controls.Summarize(ev.results)
	status.CertificateCount = int32(len(ev.summaries))
	status.Certificates = ev.summaries
	if len(status.Certificates) > 100 {
		status.Certificates = status.Certificates[:100]
	}
	status.NextExpiry = ev.nextExpiry
	ready := metav1.Condition{Type: rempartv1.ConditionReady, Status: metav1.ConditionTrue, Reason: rempartv1.ReasonApplied,
		Message: "Certificates provided for the covered Ingress hosts; the admission policy is bound.", ObservedGeneration: cp.Generation}
	if cp.Spec.Enforcement == rempartv1.EnforcementAudit {
		ready.Message = "Audit mode: nothing is created or re-issued; the admission policy warns."
	}
	if applyErr != nil {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, rempartv1.ReasonApplyFailed, applyErr.Error()
	}
	meta.SetStatusCondition(&status.Conditions, ready)
	meta.SetStatusCondition(&status.Conditions, controls.ComplianceCondition(ev.results, cp.Generation))
	if !controls.Restamp(&cp.Status, status, func(s *rempartv1.CertificatePolicyStatus) *rempartv1.PolicyStatus { return &s.PolicyStatus }, now) {
		return nil
	}
	cp.Status = *status
	if err := r.Client.Status().Update(ctx, cp); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}
