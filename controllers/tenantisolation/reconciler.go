package tenantisolation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/policystatus"
)

// settleDelay is how long after its own writes a tenant is judged at the latest.
const settleDelay = time.Second

// applyParallelism bounds the namespaces of one tenant set up at once.
const applyParallelism = 4

// Finalizer guarantees the cleanup of a deleted tenant runs (deletionPolicy).
const Finalizer = "rempart.io/tenant-cleanup"

// Reconciler reconciles TenantIsolation objects.
type Reconciler struct {
	Client    client.Client
	Clock     clock.PassiveClock
	Recorder  events.EventRecorder
	Admission AdmissionConfig
	// Resync is the safety-net period after which a tenant is evaluated again.
	Resync time.Duration
	// RouteKinds are the Gateway API route kinds the API server serves.
	RouteKinds []routeKind

	// writer writes the generated objects and remembers its recent writes.
	writer apply.Writer
	// ownershipWrites coalesces the rebuilds of the ownership index asked by concurrent reconciles.
	ownershipWrites coalescer
	// finalized holds the UIDs of tenants released, which the cache may still show for a moment.
	finalized sync.Map
}

// +kubebuilder:rbac:groups=rempart.io,resources=tenantisolations,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=rempart.io,resources=tenantisolations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rempart.io,resources=tenantisolations/finalizers,verbs=update
// +kubebuilder:rbac:groups=rempart.io,resources=namespaceownerships,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims;services,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;ingressclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes;pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tlsroutes;tcproutes;udproutes,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings;clusterroles;clusterrolebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete

// Reconcile brings one tenant to its declared state and records the controls in its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ti rempartv1.TenantIsolation
	if err := r.Client.Get(ctx, req.NamespacedName, &ti); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ti.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &ti)
	}
	if !controllerutil.ContainsFinalizer(&ti, Finalizer) {
		patch := client.MergeFrom(ti.DeepCopy())
		controllerutil.AddFinalizer(&ti, Finalizer)
		if err := r.Client.Patch(ctx, &ti, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}

	obs, err := r.gather(ctx, &ti)
	if err != nil {
		return ctrl.Result{}, err
	}
	stats, applyErr := r.applyDesired(ctx, &ti, obs)
	if applyErr == nil && stats.Writes > 0 && stats.Wait == 0 && !stats.Unread {
		// Every write came back from the API server with the object it stored: the controls
		// judge those answers, as the cache will show them, rather than wait for the cache.
		obs.absorb(stats.Written)
		stats.Writes = 0
	}
	if applyErr == nil && (stats.Writes > 0 || stats.Wait > 0) {
		// The cache has not shown these writes yet: judging now would report objects just created
		// as missing. The watch events of the writes bring the tenant back; the requeue is a floor.
		if err := r.syncOwnership(ctx, &ti, obs); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: max(stats.Wait, settleDelay)}, nil
	}
	now := r.Clock.Now()
	results, exceptions := evaluate(obs, now)
	var boundaries []time.Time
	if stats.Wait > 0 {
		boundaries = append(boundaries, now.Add(stats.Wait))
	}
	result, err := policystatus.Write(ctx, r.Client, &ti, r.computedStatus(&ti, obs), policystatus.Report{
		Results: results, Ready: readyCondition(&ti, obs), ApplyErr: applyErr,
		Exceptions: exceptions, Boundaries: boundaries, Resync: r.Resync,
	}, now)
	if result.Requeue {
		return result, err // a newer tenant is queued: it syncs the index
	}
	// After the status: the index waits for a rebuild shared with other tenants, and the tenant's
	// own status need not wait for it.
	if syncErr := r.syncOwnership(ctx, &ti, obs); syncErr != nil && err == nil {
		return ctrl.Result{}, syncErr
	}
	return result, err
}

// gather reads everything the controls and the desired state need, from the cache.
func (r *Reconciler) gather(ctx context.Context, ti *rempartv1.TenantIsolation) (observed, error) {
	o := observed{tenant: ti, namespaces: map[string]*corev1.Namespace{}, conflicts: map[string]string{}}
	// The cache's objects are read, never changed, so they are not copied: at thousands of
	// namespaces the copies would cost more than the evaluation. Only the namespaces the
	// controls need are read: the tenant's, those labelled with it, and those its
	// NetworkPolicies' selectors can reach (below).
	for _, n := range ti.Spec.Namespaces {
		var ns corev1.Namespace
		if err := r.Client.Get(ctx, client.ObjectKey{Name: string(n)}, &ns, client.UnsafeDisableDeepCopy); err == nil {
			o.namespaces[ns.Name] = &ns
		} else if !apierrors.IsNotFound(err) {
			return o, fmt.Errorf("get namespace %s: %w", n, err)
		}
	}
	if err := r.addNamespaces(ctx, &o, client.MatchingFields{indexNamespaceLabel: rempartv1.LabelTenant + "=" + ti.Name}); err != nil {
		return o, err
	}
	for _, n := range ti.Spec.Namespaces {
		holder, err := r.holder(ctx, string(n), o.namespaces[string(n)])
		if err != nil {
			return o, err
		}
		if holder != "" && holder != ti.Name {
			o.conflicts[string(n)] = holder
		}
	}
	for _, ns := range o.ownNamespaces() {
		if _, exists := o.namespaces[ns]; !exists {
			continue
		}
		in := client.InNamespace(ns)
		var (
			policies  networkingv1.NetworkPolicyList
			pvcs      corev1.PersistentVolumeClaimList
			services  corev1.ServiceList
			ingresses networkingv1.IngressList
			quotas    corev1.ResourceQuotaList
			limits    corev1.LimitRangeList
			roles     rbacv1.RoleList
			bindings  rbacv1.RoleBindingList
			pods      corev1.PodList
		)
		for _, l := range []client.ObjectList{&policies, &pvcs, &services, &ingresses, &quotas, &limits, &roles, &bindings, &pods} {
			if err := r.Client.List(ctx, l, in, client.UnsafeDisableDeepCopy); err != nil {
				return o, fmt.Errorf("list %T in %s: %w", l, ns, err)
			}
		}
		o.networkPolicies = append(o.networkPolicies, policies.Items...)
		o.pvcs = append(o.pvcs, pvcs.Items...)
		o.pods = append(o.pods, pods.Items...)
		o.services = append(o.services, services.Items...)
		o.ingresses = append(o.ingresses, ingresses.Items...)
		o.quotas = append(o.quotas, quotas.Items...)
		o.limitRanges = append(o.limitRanges, limits.Items...)
		o.rbac.Roles = append(o.rbac.Roles, roles.Items...)
		o.rbac.RoleBindings = append(o.rbac.RoleBindings, bindings.Items...)
	}
	if err := r.addPeerNamespaces(ctx, &o); err != nil {
		return o, err
	}
	var clusterRoles rbacv1.ClusterRoleList
	var clusterBindings rbacv1.ClusterRoleBindingList
	for _, l := range []client.ObjectList{&clusterRoles, &clusterBindings} {
		if err := r.Client.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
			return o, fmt.Errorf("list %T: %w", l, err)
		}
	}
	o.rbac.ClusterRoles, o.rbac.ClusterRoleBindings = clusterRoles.Items, clusterBindings.Items
	var grants rempartv1.AdminAccessList
	if err := r.Client.List(ctx, &grants, client.UnsafeDisableDeepCopy); err != nil {
		return o, fmt.Errorf("list admin access grants: %w", err)
	}
	o.grants = grants.Items
	o.trustedUsers = append([]string{r.Admission.OperatorUser}, r.Admission.PlatformAccounts...)
	o.privileges = privilegeInventory(o)
	var classes storagev1.StorageClassList
	if err := r.Client.List(ctx, &classes, client.UnsafeDisableDeepCopy); err != nil {
		return o, fmt.Errorf("list storage classes: %w", err)
	}
	o.storageClasses = classes.Items
	var ingressClasses networkingv1.IngressClassList
	if err := r.Client.List(ctx, &ingressClasses, client.UnsafeDisableDeepCopy); err != nil {
		return o, fmt.Errorf("list ingress classes: %w", err)
	}
	o.ingressClasses = ingressClassFamilies(ingressClasses.Items)
	if err := r.gatherRoutes(ctx, &o); err != nil {
		return o, err
	}
	if err := r.gatherPoolIntruders(ctx, &o); err != nil {
		return o, err
	}
	o.clusterCIDRs = r.Admission.clusterCIDRs()
	o.clusterDomain = r.Admission.clusterDomain()
	return o, nil
}

// addNamespaces adds to what was gathered the namespaces a cache query returns.
func (r *Reconciler) addNamespaces(ctx context.Context, o *observed, opts ...client.ListOption) error {
	var list corev1.NamespaceList
	if err := r.Client.List(ctx, &list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	for i := range list.Items {
		o.namespaces[list.Items[i].Name] = &list.Items[i]
	}
	return nil
}

// addPeerNamespaces adds the namespaces the tenant's NetworkPolicies can admit: for a selector
// that requires a label value, the namespaces carrying one of its values, read through the label
// index; for any other (empty, only Exists or NotIn, a rule without peers), every namespace.
func (r *Reconciler) addPeerNamespaces(ctx context.Context, o *observed) error {
	for _, p := range o.networkPolicies {
		for _, peers := range policyPeerLists(p) {
			if len(peers) == 0 {
				return r.addNamespaces(ctx, o)
			}
			for _, peer := range peers {
				if peer.NamespaceSelector == nil {
					continue
				}
				candidates, ok := requiredLabelValues(peer.NamespaceSelector)
				if !ok {
					return r.addNamespaces(ctx, o)
				}
				for _, kv := range candidates {
					if err := r.addNamespaces(ctx, o, client.MatchingFields{indexNamespaceLabel: kv}); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// gatherRoutes reads the Gateway API routes of the tenant's namespaces, of the kinds the API
// server serves.
func (r *Reconciler) gatherRoutes(ctx context.Context, o *observed) error {
	for _, kind := range r.RouteKinds {
		for _, ns := range o.ownNamespaces() {
			l := kind.list()
			if err := r.Client.List(ctx, l, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
				return fmt.Errorf("list %ss in %s: %w", kind.kind, ns, err)
			}
			o.routes = append(o.routes, kind.routes(l)...)
		}
	}
	return nil
}

// gatherPoolIntruders finds the pods of other tenants bound to the tenant's dedicated nodes:
// admitted before the nodes were dedicated, or by an administrator. Pods of namespaces that
// belong to no tenant are the platform's (DaemonSets of the CNI, monitoring) and are left out.
func (r *Reconciler) gatherPoolIntruders(ctx context.Context, o *observed) error {
	ni := o.tenant.Spec.NodeIsolation
	if ni == nil || len(ni.NodeSelector) == 0 {
		return nil
	}
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes, client.MatchingLabels(ni.NodeSelector), client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list dedicated nodes: %w", err)
	}
	for _, node := range nodes.Items {
		var pods corev1.PodList
		if err := r.Client.List(ctx, &pods, client.MatchingFields{indexPodNode: node.Name}, client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("list pods on node %s: %w", node.Name, err)
		}
		for _, p := range pods.Items {
			ns, ok := o.namespaces[p.Namespace]
			if !ok {
				var got corev1.Namespace
				if err := r.Client.Get(ctx, client.ObjectKey{Name: p.Namespace}, &got, client.UnsafeDisableDeepCopy); err != nil {
					continue
				}
				ns = &got
			}
			if other := ns.Labels[rempartv1.LabelTenant]; other != "" && other != o.tenant.Name {
				o.poolIntruders = append(o.poolIntruders, ref("Pod", p.Namespace, p.Name))
			}
		}
	}
	sort.Slice(o.poolIntruders, func(i, j int) bool {
		a, b := o.poolIntruders[i], o.poolIntruders[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return nil
}

// holder decides which tenant holds a namespace: the tenant whose label it carries, otherwise the
// oldest TenantIsolation listing it.
func (r *Reconciler) holder(ctx context.Context, name string, ns *corev1.Namespace) (string, error) {
	if ns != nil && ns.Labels[rempartv1.LabelTenant] != "" {
		return ns.Labels[rempartv1.LabelTenant], nil
	}
	var claimants rempartv1.TenantIsolationList
	if err := r.Client.List(ctx, &claimants, client.MatchingFields{indexNamespaces: name}, client.UnsafeDisableDeepCopy); err != nil {
		return "", fmt.Errorf("list tenants claiming %s: %w", name, err)
	}
	oldest := ""
	var oldestTime metav1.Time
	for _, t := range claimants.Items {
		if oldest == "" || t.CreationTimestamp.Before(&oldestTime) ||
			(t.CreationTimestamp.Equal(&oldestTime) && t.Name < oldest) {
			oldest, oldestTime = t.Name, t.CreationTimestamp
		}
	}
	return oldest, nil
}

// ownershipCurrent reports whether the ownership index already holds exactly ti's namespaces
// (those another tenant holds aside), its flow peers that no tenant holds, and its node pool.
func ownershipCurrent(spec rempartv1.NamespaceOwnershipSpec, ti *rempartv1.TenantIsolation, o observed) bool {
	owners := spec.Owners
	own := o.ownNamespaces()
	for _, n := range own {
		if owners[n] != ti.Name {
			return false
		}
	}
	count := 0
	for _, holder := range owners {
		if holder == ti.Name {
			count++
		}
	}
	if count != len(own) {
		return false
	}
	peers := sharedPeers([]rempartv1.TenantIsolation{*ti}, owners)
	for n := range peers {
		if _, ok := spec.Peers[n]; !ok {
			return false
		}
	}
	for n, tenant := range spec.Peers {
		if _, ok := peers[n]; tenant == ti.Name && !ok {
			return false
		}
	}
	want := dedicatedPools([]rempartv1.TenantIsolation{*ti})
	var have []rempartv1.DedicatedNodePool
	for _, p := range spec.DedicatedNodes {
		if p.Tenant == ti.Name {
			have = append(have, p)
		}
	}
	return equality.Semantic.DeepEqual(want, have)
}

// setUpNamespace creates a namespace of the tenant, recording that the operator created it, or
// adopts an existing one, recording that too: offboarding deletes only what the operator
// created unless the spec names an adopted namespace (S5).
func (r *Reconciler) setUpNamespace(ctx context.Context, ti *rempartv1.TenantIsolation, name string, o observed, stats *apply.Stats) error {
	origin := originAdopted
	if existing, ok := o.namespaces[name]; ok {
		if existing.Labels[rempartv1.LabelTenant] == ti.Name && existing.Annotations[annotationOrigin] == originCreated {
			origin = originCreated
		}
		return r.writer.Ensure(ctx, namespaceObject(ti, name, origin), &corev1.Namespace{}, stats)
	}
	// Not in the cache: create it. The API server decides: a namespace someone created a moment
	// ago makes the create fail, and is adopted, never recorded as the operator's.
	created := namespaceObject(ti, name, originCreated)
	err := r.writer.Write(ctx, created, stats, "tenant namespace absent", func() (client.Object, error) {
		stored := created.DeepCopy()
		return stored, r.Client.Create(ctx, stored, client.FieldOwner(apply.FieldManager))
	})
	switch {
	case apierrors.IsAlreadyExists(err):
		// Someone else's namespace, whose content this reconcile did not read.
		stats.Unread = true
		return r.writer.Ensure(ctx, namespaceObject(ti, name, originAdopted), &corev1.Namespace{}, stats)
	case err != nil:
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// applyDesired sets up the namespaces and applies every generated object. In Audit mode nothing
// but the warning bindings is written.
func (r *Reconciler) applyDesired(ctx context.Context, ti *rempartv1.TenantIsolation, o observed) (apply.Stats, error) {
	stats := &apply.Stats{}
	var errs []error
	for _, p := range sharedPolicies(r.Admission, privilegedRoles(o.rbac.ClusterRoles), o.ingressClasses) {
		errs = append(errs, r.writer.Ensure(ctx, p, &admissionv1.ValidatingAdmissionPolicy{}, stats))
	}
	for _, b := range append(protectionBindings(), claimsBinding()) {
		errs = append(errs, r.writer.Ensure(ctx, b, &admissionv1.ValidatingAdmissionPolicyBinding{}, stats))
	}
	bindings := tenantBindings(ti)
	for _, b := range bindings {
		errs = append(errs, r.writer.Ensure(ctx, b, &admissionv1.ValidatingAdmissionPolicyBinding{}, stats))
	}
	errs = append(errs, r.deleteStaleBindings(ctx, ti, bindings, stats))
	if ti.Spec.Enforcement == rempartv1.EnforcementAudit {
		return *stats, errors.Join(errs...)
	}

	// Namespaces are set up in parallel, and each one's objects too: a reconcile then costs a few
	// round trips to the API server rather than one per object.
	wanted := map[string]bool{}
	var (
		mu sync.Mutex
		g  errgroup.Group
	)
	g.SetLimit(applyParallelism)
	collect := func(local *apply.Stats, err error) {
		mu.Lock()
		defer mu.Unlock()
		stats.Add(local)
		errs = append(errs, err)
	}
	for _, ns := range o.ownNamespaces() {
		wanted[ns] = true
		if existing, ok := o.namespaces[ns]; ok && existing.DeletionTimestamp != nil {
			continue
		}
		g.Go(func() error {
			local := &apply.Stats{}
			if err := r.setUpNamespace(ctx, ti, ns, o, local); err != nil {
				collect(local, fmt.Errorf("set up namespace %s: %w", ns, err))
				return nil
			}
			collect(local, r.applyNamespaceObjects(ctx, ti, ns, local))
			return nil
		})
	}
	_ = g.Wait()
	// Namespaces that left the spec are released: labels and generated objects go, the
	// namespace and its data stay. Every namespace labelled with the tenant was gathered.
	for name, ns := range o.namespaces {
		if ns.Labels[rempartv1.LabelTenant] == ti.Name && !wanted[name] {
			stats.Removed()
			errs = append(errs, r.release(ctx, ti, name))
		}
	}
	return *stats, errors.Join(errs...)
}

func (r *Reconciler) applyNamespaceObjects(ctx context.Context, ti *rempartv1.TenantIsolation, ns string, stats *apply.Stats) error {
	type pair struct{ desired, existing client.Object }
	var pairs []pair
	keep := map[string]bool{}
	for _, p := range networkPolicies(ti, ns) {
		keep["NetworkPolicy/"+p.Name] = true
		pairs = append(pairs, pair{p, &networkingv1.NetworkPolicy{}})
	}
	if q := resourceQuota(ti, ns); q != nil {
		keep["ResourceQuota/"+q.Name] = true
		pairs = append(pairs, pair{q, &corev1.ResourceQuota{}})
	}
	if l := limitRange(ti, ns); l != nil {
		keep["LimitRange/"+l.Name] = true
		pairs = append(pairs, pair{l, &corev1.LimitRange{}})
	}
	var (
		mu   sync.Mutex
		errs []error
		g    errgroup.Group
	)
	for _, p := range pairs {
		g.Go(func() error {
			local := &apply.Stats{}
			err := r.writer.Ensure(ctx, p.desired, p.existing, local)
			mu.Lock()
			defer mu.Unlock()
			stats.Add(local)
			errs = append(errs, err)
			return nil
		})
	}
	_ = g.Wait()
	errs = append(errs, r.deleteManaged(ctx, ti, ns, keep, stats))
	return errors.Join(errs...)
}

// deleteManaged deletes the objects generated for ti in ns, except those in keep ("Kind/name").
func (r *Reconciler) deleteManaged(ctx context.Context, ti *rempartv1.TenantIsolation, ns string, keep map[string]bool, stats *apply.Stats) error {
	selector := client.MatchingLabels(apply.ManagedLabels(rempartv1.LabelTenant, ti.Name))
	kept := func(o client.Object) bool { return keep[apply.KindOf(o, r.Client.Scheme())+"/"+o.GetName()] }
	var errs []error
	for _, l := range []client.ObjectList{&networkingv1.NetworkPolicyList{}, &corev1.ResourceQuotaList{}, &corev1.LimitRangeList{}} {
		errs = append(errs, apply.Prune(ctx, r.Client, l, kept, "no longer generated for tenant "+ti.Name, stats, client.InNamespace(ns), selector))
	}
	return errors.Join(errs...)
}

// deleteStaleBindings deletes the tenant's admission bindings that are not in keep.
func (r *Reconciler) deleteStaleBindings(ctx context.Context, ti *rempartv1.TenantIsolation, keep []*admissionv1.ValidatingAdmissionPolicyBinding, stats *apply.Stats) error {
	kept := func(o client.Object) bool {
		return slices.ContainsFunc(keep, func(k *admissionv1.ValidatingAdmissionPolicyBinding) bool { return k.Name == o.GetName() })
	}
	return apply.Prune(ctx, r.Client, &admissionv1.ValidatingAdmissionPolicyBindingList{}, kept, "binding no longer wanted by tenant "+ti.Name, stats,
		client.MatchingLabels(apply.ManagedLabels(rempartv1.LabelTenant, ti.Name)))
}

// release removes the tenant's labels and generated objects from a namespace and keeps it.
func (r *Reconciler) release(ctx context.Context, ti *rempartv1.TenantIsolation, ns string) error {
	if err := r.deleteManaged(ctx, ti, ns, nil, &apply.Stats{}); err != nil {
		return err
	}
	// The operator's labels and its origin record go; every other label stays. A merge patch
	// rather than an apply: a namespace the operator created was written by a create, whose
	// fields an empty apply would not release.
	remove := map[string]any{}
	for k := range namespaceLabels(ti) {
		remove[k] = nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": remove, "annotations": map[string]any{annotationOrigin: nil}}})
	if err != nil {
		return fmt.Errorf("release namespace %s: %w", ns, err)
	}
	target := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := r.Client.Patch(ctx, target, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(apply.FieldManager)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("release namespace %s: %w", ns, err)
	}
	return nil
}

// computedStatus is the tenant with the status fields of its kind filled from what was observed;
// the shared part is policystatus's.
func (r *Reconciler) computedStatus(ti *rempartv1.TenantIsolation, o observed) *rempartv1.TenantIsolation {
	computed := ti.DeepCopy()
	status := &computed.Status
	status.FlowMatrix = flowMatrix(ti)
	status.AllowedStorageClasses = nil
	for name := range allowedClasses(o) {
		status.AllowedStorageClasses = append(status.AllowedStorageClasses, name)
	}
	sort.Strings(status.AllowedStorageClasses)
	status.Namespaces = nil
	for _, n := range ti.Spec.Namespaces {
		entry := rempartv1.TenantNamespace{Name: string(n), State: "Ready"}
		ns, exists := o.namespaces[string(n)]
		switch holder, conflict := o.conflicts[string(n)]; {
		case conflict:
			entry.State, entry.Message = "Conflict", fmt.Sprintf("Namespace %s belongs to tenant %s: it is left untouched; remove it from this tenant or from %s (FT-CLD-20).", n, holder, holder)
		case !exists:
			entry.State, entry.Message = "Missing", "The namespace does not exist yet."
		case ns.DeletionTimestamp != nil:
			entry.State, entry.Message = "Terminating", "The namespace is being deleted."
		case ns.Labels[rempartv1.LabelTenant] != ti.Name:
			entry.State, entry.Message = "Unlabelled", "The namespace does not carry the tenant's labels yet."
		}
		status.Namespaces = append(status.Namespaces, entry)
	}
	status.NamespaceCount = int32(len(o.ownNamespaces()))
	inventory := o.privileges.inventory
	status.PrivilegedSubjectCount = int32(len(inventory))
	if len(inventory) > 100 {
		inventory = inventory[:100]
	}
	status.PrivilegedSubjects = inventory
	return computed
}

// readyCondition says whether every generated object is in place, or why not.
func readyCondition(ti *rempartv1.TenantIsolation, o observed) metav1.Condition {
	ready := metav1.Condition{Status: metav1.ConditionTrue, Reason: rempartv1.ReasonApplied, Message: "Every generated object is in place."}
	if ti.Spec.Enforcement == rempartv1.EnforcementAudit {
		ready.Message = "Audit mode: admission policies warn and audit; no namespace or NetworkPolicy is changed."
	}
	if len(o.conflicts) > 0 {
		ready.Status, ready.Reason = metav1.ConditionFalse, "NamespaceConflict"
		ready.Message = "Namespaces held by another tenant are left untouched: " + describeConflicts(o.conflicts) + " (FT-CLD-20)."
	}
	return ready
}
