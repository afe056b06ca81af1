package adminaccess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/policystatus"
	"github.com/rempart-io/rempart/controllers/scope"
)

// Finalizer removes a deleted grant's bindings at once and records the revocation.
const Finalizer = "rempart.io/admin-access-revoke"

// reviewNotice is how long before a standing grant's yearly review is due it is reported.
const reviewNotice = 30 * 24 * time.Hour

// Config is what the operator's settings say about grants.
type Config struct {
	Limits Limits
	// ExtraRoles are ClusterRoles grants may use besides admin, edit and view.
	ExtraRoles []string
	// ReservedNamespaces are namespaces no grant may name besides default and kube-*: the
	// operator's, whose token every protection exempts, and Velero's.
	ReservedNamespaces []string
	// BreakGlassGroup is the group whose members may ask for a break-glass grant, for themselves.
	BreakGlassGroup string
	// PlatformAccounts are the platform's own accounts, whose objects in tenant namespaces no
	// grant accounts for and which are never stamped with a creator.
	PlatformAccounts []string
}

// Reconciler reconciles AdminAccess objects.
type Reconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	Recorder events.EventRecorder
	Config   Config
	Resync   time.Duration
	// OperatorUser is the operator's username, which the approval policy lets write finalizers.
	OperatorUser string

	policies policyMemo
}

// +kubebuilder:rbac:groups=rempart.io,resources=adminaccesses,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=rempart.io,resources=adminaccesses/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rempart.io,resources=adminaccesses/finalizers,verbs=update
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings;clusterrolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;clusterroles,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=admin;edit;view
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingadmissionpolicies;mutatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=delete

// Reconcile puts a grant's bindings in place while its window is open and removes them the
// moment it closes, and records every transition.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var aa rempartv1.AdminAccess
	if err := r.Client.Get(ctx, req.NamespacedName, &aa); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !aa.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, &aa)
	}
	if !controllerutil.ContainsFinalizer(&aa, Finalizer) {
		patch := client.MergeFrom(aa.DeepCopy())
		controllerutil.AddFinalizer(&aa, Finalizer)
		if err := r.Client.Patch(ctx, &aa, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}
	guardedSince, err := r.ensureApproval(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.Clock.Now()
	d := decide(&aa, now, r.Config, guardedSince)
	var namespaces []string
	if d.grant && !aa.Spec.BreakGlass {
		if namespaces, err = r.scope(ctx, &aa); err != nil {
			return ctrl.Result{}, err
		}
	}
	bindings, applyErr := r.applyBindings(ctx, &aa, d.grant, namespaces)
	var removed []rempartv1.ObjectReference
	if ended(d.phase) && !ended(aa.Status.Phase) && applyErr == nil {
		// The rights the subject handed on while the grant was open go with it.
		removed, applyErr = r.removeLeftovers(ctx, &aa, now)
	}
	if aa.Spec.BreakGlass {
		recordBreakGlass(aa.Name, aa.Spec.Subject.Name, aa.Spec.ApprovedBy, d.grant && len(bindings) > 0)
	}
	var boundaries []time.Time
	if d.changes {
		boundaries = append(boundaries, now.Add(d.next))
	}
	if d.reviewIn > 0 {
		boundaries = append(boundaries, now.Add(d.reviewIn))
	}
	return policystatus.Write(ctx, r.Client, &aa, r.transition(&aa, d, bindings, removed, now), policystatus.Report{
		Results:  evaluate(&aa, d, bindings, now, r.Config),
		Ready:    metav1.Condition{Status: metav1.ConditionTrue, Reason: rempartv1.ReasonApplied, Message: d.message},
		ApplyErr: applyErr, Boundaries: boundaries, Resync: r.Resync,
	}, now)
}

// ended is true for the phases after which the grant never gives rights again.
func ended(p rempartv1.AdminAccessPhase) bool {
	return p == rempartv1.AdminAccessExpired || p == rempartv1.AdminAccessRevoked || p == rempartv1.AdminAccessRefused
}

// decision is what a grant should be at an instant: a pure function of its spec and the clock.
type decision struct {
	phase   rempartv1.AdminAccessPhase
	message string
	// grant is true when the bindings must exist.
	grant bool
	// next is how long until the phase changes by itself, when changes.
	next    time.Duration
	changes bool
	// reviewIn is how long until a standing grant's review notice or deadline, 0 when none.
	reviewIn time.Duration
	// untrusted: the record of who asked and who approved cannot be trusted; message says why.
	untrusted bool
}

func windowOf(aa *rempartv1.AdminAccess) Window {
	w := Window{Created: aa.CreationTimestamp.Time, Expires: aa.Spec.Expires.Time, Revoked: aa.Spec.Revoked}
	if aa.Spec.NotBefore != nil {
		nb := aa.Spec.NotBefore.Time
		w.NotBefore = &nb
	}
	return w
}

// decide also takes since when the admission policies have guarded grants: a grant created
// before then was not checked, and its requester and approver are not trusted.
func decide(aa *rempartv1.AdminAccess, now time.Time, cfg Config, guardedSince time.Time) decision {
	w := windowOf(aa)
	phase, next, changes := PhaseAt(w, now)
	d := decision{phase: rempartv1.AdminAccessPhase(phase), next: next, changes: changes}
	if phase == Pending || phase == Active {
		if msg := approvalProblem(aa, guardedSince); msg != "" {
			d.phase, d.changes, d.message, d.untrusted = rempartv1.AdminAccessRefused, false, msg, true
			return d
		}
		if aa.Spec.ApprovedBy == "" {
			d.phase, d.message = rempartv1.AdminAccessPending, fmt.Sprintf(
				"Awaiting approval: another person holding the approve verb on adminaccesses approves it with kubectl rempart grant approve %s (FT-CLD-16, PAS-12.2).", aa.Name)
			// Approval is an update of the spec, which reconciles the grant again.
			return d
		}
	}
	if aa.Spec.Standing && aa.Spec.ReviewedAt != nil {
		deadline := aa.Spec.ReviewedAt.Add(cfg.Limits.ReviewValidity)
		for _, at := range []time.Time{deadline.Add(-reviewNotice), deadline} {
			if at.After(now) {
				d.reviewIn = at.Sub(now)
				break
			}
		}
	}
	if phase == Pending || phase == Active {
		var reviewedAt *time.Time
		if aa.Spec.ReviewedAt != nil {
			t := aa.Spec.ReviewedAt.Time
			reviewedAt = &t
		}
		if !roleAllowed(role(aa), cfg.ExtraRoles) {
			d.phase, d.changes = rempartv1.AdminAccessRefused, false
			d.message = fmt.Sprintf("Role %s may not be granted: use admin, edit or view, or ask the platform team to allow it in the operator's settings (FT-CLD-16).", role(aa))
			return d
		}
		if err := CheckDuration(w, aa.Spec.Standing, reviewedAt, now, cfg.Limits); err != nil {
			d.phase, d.changes = rempartv1.AdminAccessRefused, false
			d.message = "The grant is refused: " + err.Error() + "."
			return d
		}
	}
	switch phase {
	case Pending:
		d.message = fmt.Sprintf("The grant opens at %s.", w.Start().UTC().Format(time.RFC3339))
	case Active:
		d.grant = aa.Spec.Enforcement != rempartv1.EnforcementAudit
		d.message = fmt.Sprintf("Role %s is granted until %s.", role(aa), w.Expires.UTC().Format(time.RFC3339))
		if !d.grant {
			d.message = "Audit mode: the window is open but nothing is granted."
		}
	case Expired:
		d.message = fmt.Sprintf("The grant expired at %s; its bindings are removed and this object is the record.", w.Expires.UTC().Format(time.RFC3339))
	case Revoked:
		d.message = "The grant was revoked; its bindings are removed and this object is the record."
	}
	return d
}

// approvalProblem says why a grant's record of who asked and who approved cannot be trusted, or
// "" when it can. The API server wrote both; these checks hold should a policy have been missing.
func approvalProblem(aa *rempartv1.AdminAccess, guardedSince time.Time) string {
	switch {
	case aa.CreationTimestamp.Time.Before(guardedSince):
		return fmt.Sprintf("The grant was created at %s, before Rempart's admission policies recorded requesters and checked approvals (%s): its record cannot be trusted. Request it again (PAS-12.2).",
			aa.CreationTimestamp.UTC().Format(time.RFC3339), guardedSince.UTC().Format(time.RFC3339))
	case aa.Spec.RequestedBy == "":
		return "The grant has no requestedBy: the API server did not record who asked for it. Request it again (PAS-12.2)."
	case aa.Spec.ApprovedBy != "" && (aa.Spec.ApprovedBy == aa.Spec.RequestedBy || aa.Spec.ApprovedBy == aa.Spec.Subject.Name):
		return fmt.Sprintf("The grant is approved by %s, who asked for it or receives it: a grant is approved by another person (FT-CLD-16, PAS-12.2).", aa.Spec.ApprovedBy)
	}
	return ""
}

// scope lists the namespaces a grant covers: those its tenants hold now (by their tenant label),
// narrowed to the ones it names if it names any, that exist and are not being deleted. A named
// namespace that has left the grant's tenants is no longer covered, whatever admission saw.
func (r *Reconciler) scope(ctx context.Context, aa *rempartv1.AdminAccess) ([]string, error) {
	if len(aa.Spec.Tenants) == 0 {
		return nil, nil
	}
	s, err := scope.Resolve(ctx, r.Client, &rempartv1.TenantSelection{Names: aa.Spec.Tenants}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(s.Namespaces))
	for _, n := range s.Namespaces {
		if len(aa.Spec.Namespaces) > 0 && !slices.Contains(aa.Spec.Namespaces, rempartv1.NamespaceName(n)) {
			continue
		}
		var ns corev1.Namespace
		err := r.Client.Get(ctx, client.ObjectKey{Name: n}, &ns)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get namespace %s: %w", n, err)
		}
		if ns.DeletionTimestamp.IsZero() {
			out = append(out, n)
		}
	}
	return out, nil
}

// applyBindings makes the grant's bindings exactly the wanted ones and returns those in place.
func (r *Reconciler) applyBindings(ctx context.Context, aa *rempartv1.AdminAccess, grant bool, namespaces []string) ([]rempartv1.ObjectReference, error) {
	var wanted []client.Object
	if grant {
		if aa.Spec.BreakGlass {
			wanted = append(wanted, clusterRoleBinding(aa))
		} else {
			for _, rb := range roleBindings(aa, namespaces) {
				wanted = append(wanted, rb)
			}
		}
	}
	var errs []error
	keep := map[string]bool{}
	var refs []rempartv1.ObjectReference
	for _, obj := range wanted {
		keep[obj.GetNamespace()+"/"+obj.GetName()] = true
		if err := apply.IfChanged(ctx, r.Client, obj, nil); err != nil {
			errs = append(errs, err)
			continue
		}
		refs = append(refs, rempartv1.ObjectReference{APIVersion: "rbac.authorization.k8s.io/v1", Kind: obj.GetObjectKind().GroupVersionKind().Kind,
			Namespace: obj.GetNamespace(), Name: obj.GetName()})
	}
	errs = append(errs, r.deleteBindings(ctx, aa, keep))
	return refs, errors.Join(errs...)
}

// deleteBindings removes the grant's bindings not in keep.
func (r *Reconciler) deleteBindings(ctx context.Context, aa *rempartv1.AdminAccess, keep map[string]bool) error {
	selector := client.MatchingLabels{rempartv1.LabelAdminAccess: labelValue(aa.Name)}
	var rbs rbacv1.RoleBindingList
	if err := r.Client.List(ctx, &rbs, selector); err != nil {
		return fmt.Errorf("list role bindings: %w", err)
	}
	var crbs rbacv1.ClusterRoleBindingList
	if err := r.Client.List(ctx, &crbs, selector); err != nil {
		return fmt.Errorf("list cluster role bindings: %w", err)
	}
	var stale []client.Object
	for i := range rbs.Items {
		if owned(&rbs.Items[i], aa) && !keep[rbs.Items[i].Namespace+"/"+rbs.Items[i].Name] {
			stale = append(stale, &rbs.Items[i])
		}
	}
	for i := range crbs.Items {
		if owned(&crbs.Items[i], aa) && !keep["/"+crbs.Items[i].Name] {
			stale = append(stale, &crbs.Items[i])
		}
	}
	var errs []error
	for _, obj := range stale {
		errs = append(errs, apply.Delete(ctx, r.Client, obj, "outside the window or scope of AdminAccess "+aa.Name))
	}
	return errors.Join(errs...)
}

func owned(obj client.Object, aa *rempartv1.AdminAccess) bool {
	return slices.ContainsFunc(obj.GetOwnerReferences(), func(o metav1.OwnerReference) bool { return o.UID == aa.UID })
}

// finalize removes a deleted grant's bindings at once, records the revocation and lets it go.
func (r *Reconciler) finalize(ctx context.Context, aa *rempartv1.AdminAccess) error {
	if !controllerutil.ContainsFinalizer(aa, Finalizer) {
		return nil
	}
	if err := r.deleteBindings(ctx, aa, nil); err != nil {
		return err
	}
	forgetBreakGlass(aa.Name)
	if !ended(aa.Status.Phase) {
		removed, err := r.removeLeftovers(ctx, aa, r.Clock.Now())
		if err != nil {
			return err
		}
		if aa.Status.Phase == rempartv1.AdminAccessActive {
			r.event(aa, corev1.EventTypeNormal, "Revoked", "Revoke", "deleted while active: bindings removed"+removedWords(removed), r.Clock.Now())
		}
	}
	patch := client.MergeFrom(aa.DeepCopy())
	controllerutil.RemoveFinalizer(aa, Finalizer)
	if err := client.IgnoreNotFound(r.Client.Patch(ctx, aa, patch)); err != nil {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	return nil
}

// event records a transition with everything an auditor needs: subject, approver, scope, reason
// and time (PAS-12.2, FT-CLD-28).
func (r *Reconciler) event(aa *rempartv1.AdminAccess, eventType, reason, action, what string, now time.Time) {
	scope := "the whole cluster (break-glass)"
	if !aa.Spec.BreakGlass {
		var parts []string
		if len(aa.Spec.Tenants) > 0 {
			parts = append(parts, fmt.Sprintf("tenants %v", aa.Spec.Tenants))
		}
		if len(aa.Spec.Namespaces) > 0 {
			parts = append(parts, fmt.Sprintf("namespaces %v", aa.Spec.Namespaces))
		}
		scope = strings.Join(parts, " and ")
	}
	why := aa.Spec.Reason
	if len(why) > 200 {
		why = why[:200] + "..."
	}
	r.Recorder.Eventf(aa, nil, eventType, reason, action,
		"%s %s: %s %s, role %s on %s, requested by %s, approved by %s, window %s to %s, reason %q, at %s.",
		reason, aa.Name, aa.Spec.Subject.Kind, aa.Spec.Subject.Name, role(aa), scope, aa.Spec.RequestedBy, aa.Spec.ApprovedBy,
		windowOf(aa).Start().UTC().Format(time.RFC3339), aa.Spec.Expires.UTC().Format(time.RFC3339), why, now.UTC().Format(time.RFC3339)+" ("+what+")")
}

// removedWords lists, for an Event, what was removed when a grant ended.
func removedWords(removed []rempartv1.ObjectReference) string {
	if len(removed) == 0 {
		return ""
	}
	words := make([]string, 0, len(removed))
	for _, o := range removed {
		words = append(words, o.Kind+" "+o.Namespace+"/"+o.Name)
	}
	if len(words) > 20 {
		words = append(words[:20:20], fmt.Sprintf("and %d more", len(removed)-20))
	}
	return "; what the subject created while it was open removed too: " + strings.Join(words, ", ")
}

// transition is the grant with its phase, bindings and the stamps of the transition it makes
// now, each announced by an Event.
func (r *Reconciler) transition(aa *rempartv1.AdminAccess, d decision, bindings, removed []rempartv1.ObjectReference, now time.Time) *rempartv1.AdminAccess {
	computed := aa.DeepCopy()
	status := &computed.Status
	previous := status.Phase
	status.Phase, status.Message = d.phase, d.message
	status.Bindings = bindings
	if len(removed) > 0 {
		status.Removed = append(status.Removed, removed...)
		if len(status.Removed) > 256 {
			status.Removed = status.Removed[:256]
		}
	}
	stamp := &metav1.Time{Time: now}
	if aa.Spec.ApprovedBy != "" && status.ApprovedAt == nil && !ended(d.phase) && d.phase != rempartv1.AdminAccessRefused {
		status.ApprovedAt = stamp
		r.event(aa, corev1.EventTypeNormal, "Approved", "Approve", "approval recorded", now)
	}
	switch {
	case d.phase == rempartv1.AdminAccessActive && d.grant && len(bindings) > 0 && status.GrantedAt == nil:
		status.GrantedAt = stamp
		if aa.Spec.BreakGlass {
			// Every view must see a break-glass access open: a Warning, and the metric an alert reads.
			r.event(aa, corev1.EventTypeWarning, "BreakGlass", "Grant", fmt.Sprintf("break-glass: role %s on the whole cluster", role(aa)), now)
		} else {
			r.event(aa, corev1.EventTypeNormal, "Granted", "Grant", fmt.Sprintf("%d bindings", len(bindings)), now)
		}
	case d.phase == rempartv1.AdminAccessExpired && previous != rempartv1.AdminAccessExpired:
		status.ExpiredAt = stamp
		r.event(aa, corev1.EventTypeNormal, "Expired", "Expire", "bindings removed"+removedWords(removed), now)
	case d.phase == rempartv1.AdminAccessRevoked && previous != rempartv1.AdminAccessRevoked:
		status.RevokedAt = stamp
		r.event(aa, corev1.EventTypeNormal, "Revoked", "Revoke", "bindings removed"+removedWords(removed), now)
	case d.phase == rempartv1.AdminAccessRefused && previous != rempartv1.AdminAccessRefused:
		r.event(aa, corev1.EventTypeWarning, "Refused", "Refuse", d.message, now)
	}
	return computed
}
