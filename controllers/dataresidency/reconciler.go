package dataresidency

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/policystatus"
	"github.com/rempart-io/rempart/controllers/scope"
)

// Reconciler reconciles DataResidency objects.
type Reconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	Recorder events.EventRecorder
	Config   PolicyConfig
	// Resync is the safety-net period after which a policy is evaluated again.
	Resync time.Duration
}

// +kubebuilder:rbac:groups=rempart.io,resources=dataresidencies,verbs=get;list;watch
// +kubebuilder:rbac:groups=rempart.io,resources=dataresidencies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rempart.io,resources=tenantisolations;backuppolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes;pods;persistentvolumes;persistentvolumeclaims;namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods/eviction,verbs=create
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingadmissionpolicies;mutatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete

// Reconcile binds the admission policies for one DataResidency, audits where its data is, and
// records the result in its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var dr rempartv1.DataResidency
	if err := r.Client.Get(ctx, req.NamespacedName, &dr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !dr.DeletionTimestamp.IsZero() {
		// The bindings are owned by the policy and go with it; nothing of the tenants' is touched.
		return ctrl.Result{}, nil
	}
	now := r.Clock.Now()
	allow, err := resolveAllowSet(dr.Spec)
	if err != nil {
		// The API server refuses such a spec; this is only reached if the catalog changed under it.
		return r.writeInvalid(ctx, &dr, err, now)
	}
	cov, err := scope.Resolve(ctx, r.Client, dr.Spec.Tenants, dr.Spec.Namespaces)
	covered := cov.Namespaces
	if errors.Is(err, scope.ErrInvalidSelector) {
		return r.writeInvalid(ctx, &dr, err, now)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	applyErr := r.applyAdmission(ctx, &dr, cov)
	obs, err := r.gather(ctx, &dr, allow, covered)
	if err != nil {
		return ctrl.Result{}, err
	}
	if obs.backupPolicies, err = r.backupPoliciesOf(ctx, cov); err != nil {
		return ctrl.Result{}, err
	}
	ev := evaluate(obs, now)
	if dr.Spec.EvictNonCompliant && dr.Spec.Enforcement != rempartv1.EnforcementAudit {
		applyErr = errors.Join(applyErr, r.evict(ctx, &dr, ev.misplaced, obs))
	}
	comb, err := r.combination(ctx, &dr, covered, allow)
	if err != nil {
		return ctrl.Result{}, err
	}
	st := statusInputs{allow: allow, tenants: cov.Tenants, covered: covered, obs: obs, ev: ev, combined: comb}
	return policystatus.Write(ctx, r.Client, &dr, r.computedStatus(&dr, st), policystatus.Report{
		Results: ev.results, Ready: r.readyCondition(&dr, st), ApplyErr: applyErr,
		Exceptions: ev.exceptions, Resync: r.Resync,
	}, now)
}

// applyAdmission puts the shared policies and this policy's bindings in place, and removes the
// bindings it no longer wants.
func (r *Reconciler) applyAdmission(ctx context.Context, dr *rempartv1.DataResidency, cov scope.Scope) error {
	var errs []error
	for _, p := range sharedPolicies() {
		errs = append(errs, apply.IfChanged(ctx, r.Client, p, &admissionv1.ValidatingAdmissionPolicy{}))
	}
	keep := map[string]bool{}
	for _, b := range validatingBindings(dr, cov) {
		keep[b.Name] = true
		errs = append(errs, apply.IfChanged(ctx, r.Client, b, &admissionv1.ValidatingAdmissionPolicyBinding{}))
	}
	errs = append(errs, r.deleteStale(ctx, dr, &admissionv1.ValidatingAdmissionPolicyBindingList{}, keep))
	if r.Config.Mutation {
		errs = append(errs, apply.IfChanged(ctx, r.Client, pinPolicy(), &admissionv1.MutatingAdmissionPolicy{}))
		keep = map[string]bool{}
		for _, b := range mutatingBindings(dr, cov) {
			keep[b.Name] = true
			errs = append(errs, apply.IfChanged(ctx, r.Client, b, &admissionv1.MutatingAdmissionPolicyBinding{}))
		}
		errs = append(errs, r.deleteStale(ctx, dr, &admissionv1.MutatingAdmissionPolicyBindingList{}, keep))
	}
	return errors.Join(errs...)
}

func (r *Reconciler) deleteStale(ctx context.Context, dr *rempartv1.DataResidency, list client.ObjectList, keep map[string]bool) error {
	return apply.Prune(ctx, r.Client, list, func(o client.Object) bool { return keep[o.GetName()] },
		"binding no longer wanted by DataResidency "+dr.Name, nil, client.MatchingLabels{labelPolicy: dr.Name})
}

// gather reads, from the cache, the nodes and the covered pods, claims, volumes and classes.
func (r *Reconciler) gather(ctx context.Context, dr *rempartv1.DataResidency, allow allowSet, covered []string) (observed, error) {
	o := observed{policy: dr, allow: allow, nodes: map[string]*corev1.Node{}, volumes: map[string]*corev1.PersistentVolume{},
		storageClasses: map[string]*storagev1.StorageClass{}}
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes, client.UnsafeDisableDeepCopy); err != nil {
		return o, fmt.Errorf("list nodes: %w", err)
	}
	for i := range nodes.Items {
		o.nodes[nodes.Items[i].Name] = &nodes.Items[i]
	}
	var classes storagev1.StorageClassList
	if err := r.Client.List(ctx, &classes, client.UnsafeDisableDeepCopy); err != nil {
		return o, fmt.Errorf("list storage classes: %w", err)
	}
	for i := range classes.Items {
		o.storageClasses[classes.Items[i].Name] = &classes.Items[i]
	}
	for _, ns := range covered {
		var pods corev1.PodList
		if err := r.Client.List(ctx, &pods, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return o, fmt.Errorf("list pods in %s: %w", ns, err)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Spec.NodeName != "" && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				o.pods = append(o.pods, p)
			}
		}
		var claims corev1.PersistentVolumeClaimList
		if err := r.Client.List(ctx, &claims, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return o, fmt.Errorf("list claims in %s: %w", ns, err)
		}
		for i := range claims.Items {
			c := &claims.Items[i]
			o.claims = append(o.claims, c)
			if c.Spec.VolumeName == "" {
				continue
			}
			var pv corev1.PersistentVolume
			if err := r.Client.Get(ctx, client.ObjectKey{Name: c.Spec.VolumeName}, &pv, client.UnsafeDisableDeepCopy); err == nil {
				o.volumes[pv.Name] = &pv
			} else if !apierrors.IsNotFound(err) {
				return o, fmt.Errorf("get volume %s: %w", c.Spec.VolumeName, err)
			}
		}
	}
	return o, nil
}

// combination finds the other policies covering some of the same namespaces, and the countries
// left once every one of them is applied.
func (r *Reconciler) combination(ctx context.Context, dr *rempartv1.DataResidency, covered []string, allow allowSet) (combined, error) {
	var list rempartv1.DataResidencyList
	if err := r.Client.List(ctx, &list); err != nil {
		return combined{}, fmt.Errorf("list data residency policies: %w", err)
	}
	var out combined
	effective := allow.sortedCountries()
	for _, other := range list.Items {
		if other.Name == dr.Name || !other.DeletionTimestamp.IsZero() {
			continue
		}
		if !slices.ContainsFunc(other.Status.Namespaces, func(ns string) bool { _, found := slices.BinarySearch(covered, ns); return found }) {
			continue
		}
		out.names = append(out.names, other.Name)
		if len(other.Status.AllowedRegions) > 0 {
			out.pins = append(out.pins, strings.Join(other.Status.AllowedRegions, ","))
		}
		theirs := map[string]bool{}
		for _, c := range other.Status.AllowedCountries {
			theirs[c] = true
		}
		effective = intersect(effective, theirs)
	}
	if len(out.names) == 0 {
		return out, nil
	}
	out.effective = effective
	if out.effective == nil {
		out.effective = []string{}
	}
	return out, nil
}

// combined describes the other policies on some of the same namespaces.
type combined struct {
	names []string
	// effective are the countries left once they all apply; nil when there is no other policy.
	effective []string
	// pins are their allowed regions, comma-joined, as their pin expressions carry them.
	pins []string
}

// evict moves covered pods off nodes outside the allowed regions, when the policy asks for it,
// through the Eviction API so disruption budgets are honoured, with an Event for each.
func (r *Reconciler) evict(ctx context.Context, dr *rempartv1.DataResidency, pods []*corev1.Pod, o observed) error {
	var errs []error
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		where := "an unknown node"
		if n, ok := o.nodes[p.Spec.NodeName]; ok {
			where = fmt.Sprintf("node %s (%s)", n.Name, o.allow.nodeLocation(n).describe())
		}
		eviction := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
		if err := r.Client.SubResource("eviction").Create(ctx, p, eviction); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("evict pod %s/%s: %w", p.Namespace, p.Name, err))
			}
			continue
		}
		r.Recorder.Eventf(dr, p, corev1.EventTypeWarning, "Evicted", "Evict",
			"Pod %s/%s evicted from %s, outside the allowed countries (FT-CLD-74, spec.evictNonCompliant).", p.Namespace, p.Name, where)
	}
	return errors.Join(errs...)
}

// statusInputs is everything the status is computed from.
type statusInputs struct {
	allow    allowSet
	tenants  []string
	covered  []string
	obs      observed
	ev       evaluation
	combined combined
}

// computedStatus is the policy with the status fields of its kind filled in.
func (r *Reconciler) computedStatus(dr *rempartv1.DataResidency, in statusInputs) *rempartv1.DataResidency {
	computed := dr.DeepCopy()
	status := &computed.Status
	status.AllowedSummary = in.allow.summary
	status.AllowedCountries = in.allow.sortedCountries()
	status.AllowedRegions = in.allow.regions
	status.Tenants = in.tenants
	status.NamespaceCount = int32(len(in.covered))
	status.Namespaces = in.covered
	if len(status.Namespaces) > rempartv1.MaxCoveredNamespaces {
		status.Namespaces = status.Namespaces[:rempartv1.MaxCoveredNamespaces]
	}
	status.StorageClassesOutside = nil
	for _, name := range sortedKeys(in.obs.storageClasses) {
		if len(in.allow.classOutside(in.obs.storageClasses[name])) > 0 {
			status.StorageClassesOutside = append(status.StorageClassesOutside, name)
		}
	}
	status.StorageClassesInUse = usedClasses(in.obs.claims)
	status.RegionsInUse = in.ev.inUse
	if len(status.RegionsInUse) > 100 {
		status.RegionsInUse = status.RegionsInUse[:100]
	}
	status.InUseSummary = inUseSummary(in.ev.inUse)
	status.Pinning = rempartv1.PinningValidation
	if r.Config.Mutation {
		status.Pinning = rempartv1.PinningMutation
	}
	status.CombinedWith, status.EffectiveCountries, status.CombinedPins = in.combined.names, in.combined.effective, in.combined.pins

	return computed
}

// readyCondition says whether covered pods can be placed and checked, or why not.
func (r *Reconciler) readyCondition(dr *rempartv1.DataResidency, in statusInputs) metav1.Condition {
	ready := metav1.Condition{Status: metav1.ConditionTrue, Reason: rempartv1.ReasonApplied, Message: readyMessage(dr, r.Config, len(in.allow.regions))}
	switch {
	case len(in.allow.regions) == 0:
		ready.Status, ready.Reason = metav1.ConditionFalse, "NoAllowedRegion"
		ready.Message = "No region of the catalog lies in the allowed countries, so no covered pod can be placed: declare the cluster's regions in spec.regions (FT-CLD-74)."
	case in.combined.effective != nil && len(in.combined.effective) == 0:
		ready.Status, ready.Reason = metav1.ConditionFalse, "EmptyCombination"
		ready.Message = fmt.Sprintf("Combined with %v, no country is allowed for the namespaces they share: their pods cannot be placed. Align the policies (FT-CLD-74).", in.combined.names)
	case len(in.covered) > rempartv1.MaxCoveredNamespaces:
		ready.Status, ready.Reason = metav1.ConditionFalse, "TooManyNamespaces"
		ready.Message = fmt.Sprintf("The policy covers %d namespaces; volumes are checked at admission for the first %d only. Split it.", len(in.covered), rempartv1.MaxCoveredNamespaces)
	}
	return ready
}

func readyMessage(dr *rempartv1.DataResidency, cfg PolicyConfig, regions int) string {
	switch {
	case dr.Spec.Enforcement == rempartv1.EnforcementAudit:
		return "Audit mode: admission policies warn and audit; no pod is changed or refused."
	case cfg.Mutation:
		return fmt.Sprintf("Covered pods are pinned to the %d allowed regions at admission; pods, volumes and claims aimed elsewhere are refused.", regions)
	}
	return fmt.Sprintf("This server has no MutatingAdmissionPolicy: covered pods must pin one of the %d allowed regions themselves, and are refused otherwise.", regions)
}

// writeInvalid says in Ready why the spec cannot be evaluated; the controls keep their last
// results until it can.
func (r *Reconciler) writeInvalid(ctx context.Context, dr *rempartv1.DataResidency, cause error, now time.Time) (ctrl.Result, error) {
	res, err := policystatus.Write(ctx, r.Client, dr, dr.DeepCopy(), policystatus.Report{
		Ready: metav1.Condition{Status: metav1.ConditionFalse, Reason: "InvalidSpec", Message: cause.Error() + " (FT-CLD-74)."},
	}, now)
	// A new spec brings the policy back; nothing else does.
	res.RequeueAfter = 0
	return res, err
}

// backupPoliciesOf lists the BackupPolicies of the covered tenants or namespaces.
func (r *Reconciler) backupPoliciesOf(ctx context.Context, cov scope.Scope) ([]*rempartv1.BackupPolicy, error) {
	var list rempartv1.BackupPolicyList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list backup policies: %w", err)
	}
	tenants, namespaces := map[string]bool{}, map[string]bool{}
	for _, t := range cov.Tenants {
		tenants[t] = true
	}
	for _, n := range cov.Namespaces {
		namespaces[n] = true
	}
	var out []*rempartv1.BackupPolicy
	for i := range list.Items {
		bp := &list.Items[i]
		covered := tenants[string(bp.Spec.Tenant)]
		for _, n := range bp.Spec.Namespaces {
			covered = covered || namespaces[string(n)]
		}
		if covered {
			out = append(out, bp)
		}
	}
	return out, nil
}
