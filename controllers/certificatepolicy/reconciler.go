package certificatepolicy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/policystatus"
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

// +kubebuilder:rbac:groups=rempart.io,resources=certificatepolicies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=rempart.io,resources=certificatepolicies/finalizers,verbs=update
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
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		// The policy is gone: the Certificates it created stay, and cert-manager keeps
		// renewing them; they are only no longer Rempart's.
		recordMetrics(req.Name, 0, nil)
		return r.release(ctx, req.Name, "CertificatePolicy "+req.Name+" was deleted")
	}
	if !cp.DeletionTimestamp.IsZero() {
		recordMetrics(cp.Name, 0, nil)
		return r.finalize(ctx, &cp)
	}
	if !controllerutil.ContainsFinalizer(&cp, Finalizer) {
		patch := client.MergeFrom(cp.DeepCopy())
		controllerutil.AddFinalizer(&cp, Finalizer)
		if err := r.Client.Patch(ctx, &cp, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}
	now := r.Clock.Now()
	s, err := scope.Resolve(ctx, r.Client, cp.Spec.Tenants, cp.Spec.Namespaces)
	if err != nil {
		return ctrl.Result{}, err
	}
	inScope := map[string]bool{}
	for _, ns := range s.Namespaces {
		inScope[ns] = true
	}
	obs, err := r.gather(ctx, &cp, s.Namespaces)
	if err != nil {
		return ctrl.Result{}, err
	}
	var errs []error
	errs = append(errs, r.applyAdmission(ctx, &cp, s))
	errs = append(errs, r.orphan(ctx, cp.Name, inScope, "namespace left the scope of CertificatePolicy "+cp.Name))
	if cp.Spec.Enforcement != rempartv1.EnforcementAudit {
		errs = append(errs, r.provide(ctx, &cp, obs))
		errs = append(errs, r.reissue(ctx, &cp, obs))
	}
	applyErr := errors.Join(errs...)
	ev := evaluate(obs, now)
	recordMetrics(cp.Name, cp.Spec.RenewBeforeAtLeast(), ev.summaries)
	return policystatus.Write(ctx, r.Client, &cp, computedStatus(&cp, ev), policystatus.Report{
		Results: ev.results, Ready: readyCondition(&cp), ApplyErr: applyErr,
		Exceptions: ev.exceptions, Boundaries: []time.Time{ev.next}, Resync: r.Resync,
	}, now)
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
	errs = append(errs, apply.Prune(ctx, r.Client, &admissionv1.ValidatingAdmissionPolicyBindingList{},
		func(o client.Object) bool { return keep[o.GetName()] }, "binding no longer wanted by CertificatePolicy "+cp.Name, nil,
		client.MatchingLabels{LabelPolicy: cp.Name}))
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
	keep := map[string]bool{}
	desired := desiredCertificates(cp, o.endpoints(), issues)
	for _, c := range desired {
		keep[c.Namespace+"/"+c.Name] = true
	}
	errs := []error{apply.AllIfChanged(ctx, r.Client, desired, provideParallelism)}
	for _, c := range o.certificates {
		if c.Labels[LabelPolicy] != cp.Name {
			continue
		}
		if !keep[c.Namespace+"/"+c.Name] {
			errs = append(errs, apply.Delete(ctx, r.Client, c, "no covered endpoint needs it any more (its Secret stays)"))
			continue
		}
		errs = append(errs, r.dropPolicyOwner(ctx, c))
	}
	return errors.Join(errs...)
}

// provideParallelism bounds the Certificates written at once: 500 Ingresses created together are
// answered in a few round trips' time.
const provideParallelism = 8

// dropPolicyOwner removes an owner reference to a CertificatePolicy, which older versions set: the
// garbage collector would delete the Certificate with the policy, and renewals would stop.
func (r *Reconciler) dropPolicyOwner(ctx context.Context, c *cmapi.Certificate) error {
	var kept []metav1.OwnerReference
	for _, o := range c.OwnerReferences {
		if o.Kind != "CertificatePolicy" || o.APIVersion != rempartv1.GroupVersion.String() {
			kept = append(kept, o)
		}
	}
	if len(kept) == len(c.OwnerReferences) {
		return nil
	}
	patch := client.MergeFrom(c.DeepCopy())
	updated := c.DeepCopy()
	updated.OwnerReferences = kept
	if err := r.Client.Patch(ctx, updated, patch); err != nil {
		return fmt.Errorf("drop the policy owner of %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}

// Finalizer lets a deleted CertificatePolicy release its Certificates while it still exists: its
// admission bindings, whose parameter it is, refuse every write once it is gone.
const Finalizer = "rempart.io/release-certificates"

// finalize releases the policy's Certificates, removes its bindings, then lets it go.
func (r *Reconciler) finalize(ctx context.Context, cp *rempartv1.CertificatePolicy) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(cp, Finalizer) {
		return ctrl.Result{}, nil
	}
	if err := r.orphan(ctx, cp.Name, nil, "CertificatePolicy "+cp.Name+" was deleted"); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.deleteBindings(ctx, cp.Name); err != nil {
		return ctrl.Result{}, err
	}
	patch := client.MergeFrom(cp.DeepCopy())
	controllerutil.RemoveFinalizer(cp, Finalizer)
	if err := client.IgnoreNotFound(r.Client.Patch(ctx, cp, patch)); err != nil {
		return ctrl.Result{}, fmt.Errorf("remove finalizer: %w", err)
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) deleteBindings(ctx context.Context, policy string) error {
	return apply.Prune(ctx, r.Client, &admissionv1.ValidatingAdmissionPolicyBindingList{}, nil,
		"CertificatePolicy "+policy+" deleted", nil, client.MatchingLabels{LabelPolicy: policy})
}

// release is finalize for a policy already gone (deleted while the operator was not running, or
// created before the finalizer existed): its bindings are deleted first, and the release is
// retried until the API server stops enforcing them.
func (r *Reconciler) release(ctx context.Context, policy, why string) (ctrl.Result, error) {
	if err := r.deleteBindings(ctx, policy); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.orphan(ctx, policy, nil, why)
}

// orphan releases the Certificates a policy created outside keep (every one when keep is nil):
// they keep issuing and renewing under cert-manager, lose Rempart's labels, and say where they
// came from, with a Warning Event.
func (r *Reconciler) orphan(ctx context.Context, policy string, keep map[string]bool, why string) error {
	var list cmapi.CertificateList
	if err := r.Client.List(ctx, &list, client.MatchingLabels{LabelPolicy: policy}); err != nil {
		return fmt.Errorf("list certificates of %s: %w", policy, err)
	}
	var errs []error
	for i := range list.Items {
		c := &list.Items[i]
		if keep != nil && keep[c.Namespace] {
			continue
		}
		patch := client.MergeFrom(c.DeepCopy())
		updated := c.DeepCopy()
		delete(updated.Labels, LabelPolicy)
		delete(updated.Labels, rempartv1.LabelManagedBy)
		if updated.Annotations == nil {
			updated.Annotations = map[string]string{}
		}
		updated.Annotations[AnnotationOrphanedFrom] = policy
		var owners []metav1.OwnerReference
		for _, o := range updated.OwnerReferences {
			if o.Kind != "CertificatePolicy" {
				owners = append(owners, o)
			}
		}
		updated.OwnerReferences = owners
		if err := r.Client.Patch(ctx, updated, patch); err != nil {
			errs = append(errs, client.IgnoreNotFound(fmt.Errorf("orphan %s/%s: %w", c.Namespace, c.Name, err)))
			continue
		}
		r.Recorder.Eventf(updated, nil, corev1.EventTypeWarning, "CertificateOrphaned", "Orphan",
			"%s: Certificate %s/%s is kept and cert-manager keeps renewing it, but Rempart no longer manages it; delete it if its hosts are gone, or cover its namespace again (FT-CLD-38).", why, c.Namespace, c.Name)
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
		if why != "" && reissuedOnce(c) {
			// The certificate in place answers Rempart's own request: its issuer ignores the
			// policy, and asking again would issue without end. The control names the issuer.
			why = ""
		}
		if rotateAll {
			why = fmt.Sprintf("spec.rotateAll %q asks for new keys", cp.Spec.RotateAll)
		}
		if why == "" {
			continue
		}
		if err := r.markReissued(ctx, c); err != nil {
			errs = append(errs, err)
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

// markReissued records on the Certificate the revision Rempart asked to replace, so that a policy
// violation is answered with one re-issuance per revision, never a loop.
func (r *Reconciler) markReissued(ctx context.Context, c *cmapi.Certificate) error {
	patch := client.MergeFrom(c.DeepCopy())
	updated := c.DeepCopy()
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	updated.Annotations[AnnotationReissuedAt] = strconv.Itoa(revision(c))
	if err := r.Client.Patch(ctx, updated, patch); err != nil {
		return fmt.Errorf("record re-issuance of %s/%s: %w", c.Namespace, c.Name, err)
	}
	c.Annotations, c.ResourceVersion = updated.Annotations, updated.ResourceVersion
	return nil
}

// triggerIssuance sets the Certificate's Issuing condition, which cert-manager's issuing
// controllers act on. An Issuing condition already there (False after a failed attempt) is
// replaced in place: conditions are a map by type, and a second entry would never be read.
func (r *Reconciler) triggerIssuance(ctx context.Context, c *cmapi.Certificate, why string) error {
	updated := c.DeepCopy()
	now := metav1.NewTime(r.Clock.Now())
	updated.Status.Conditions = setCondition(updated.Status.Conditions, cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: "ManuallyTriggered",
		Message: "Re-issuance requested by Rempart: " + why, LastTransitionTime: &now, ObservedGeneration: c.Generation,
	})
	if err := r.Client.Status().Update(ctx, updated); err != nil {
		return fmt.Errorf("trigger issuance of %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}

// computedStatus is the policy with its certificates' inventory filled in.
func computedStatus(cp *rempartv1.CertificatePolicy, ev evaluation) *rempartv1.CertificatePolicy {
	computed := cp.DeepCopy()
	status := &computed.Status
	status.CertificateCount = int32(len(ev.summaries))
	status.Certificates = ev.summaries
	if len(status.Certificates) > 100 {
		status.Certificates = status.Certificates[:100]
	}
	status.NextExpiry = ev.nextExpiry
	return computed
}

func readyCondition(cp *rempartv1.CertificatePolicy) metav1.Condition {
	ready := metav1.Condition{Status: metav1.ConditionTrue, Reason: rempartv1.ReasonApplied,
		Message: "Certificates provided for the covered Ingress hosts; the admission policy is bound."}
	if cp.Spec.Enforcement == rempartv1.EnforcementAudit {
		ready.Message = "Audit mode: nothing is created or re-issued; the admission policy warns."
	}
	return ready
}
