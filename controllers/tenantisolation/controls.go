package tenantisolation

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/encryption"
	"github.com/rempart-io/rempart/internal/netpol"
	"github.com/rempart-io/rempart/internal/privileges"
)

// observed is everything the controls read, gathered by the reconciler.
type observed struct {
	tenant *rempartv1.TenantIsolation
	// namespaces of the whole cluster by name, to resolve the selectors of NetworkPolicies.
	namespaces map[string]*corev1.Namespace
	// conflicts maps a namespace of this tenant to the other tenant that holds it.
	conflicts map[string]string
	// The objects in the tenant's namespaces.
	networkPolicies []networkingv1.NetworkPolicy
	pvcs            []corev1.PersistentVolumeClaim
	// pods of the tenant's namespaces, as the cache keeps them (placement and volumes).
	pods           []corev1.Pod
	services       []corev1.Service
	ingresses      []networkingv1.Ingress
	quotas         []corev1.ResourceQuota
	limitRanges    []corev1.LimitRange
	storageClasses []storagev1.StorageClass
	// ingressClasses maps each IngressClass whose controller Rempart knows to its family.
	ingressClasses map[string]string
	// clusterCIDRs are the cluster's pod and service networks.
	clusterCIDRs []string
	// clusterDomain is the cluster's DNS domain.
	clusterDomain string
	// poolIntruders are pods of other tenants bound to the tenant's dedicated nodes.
	poolIntruders []rempartv1.ObjectReference
	// routes are the Gateway API routes of the tenant's namespaces, with the Services they send to.
	routes []gatewayRoute
	// rbac holds the Roles and RoleBindings of the tenant's namespaces and every ClusterRole and
	// ClusterRoleBinding; trustedUsers hold their rights without an AdminAccess (the operator, the
	// platform accounts of its settings).
	rbac         privileges.RBAC
	trustedUsers []string
	// grants are the AdminAccess grants, whose Active ones account for bindings.
	grants []rempartv1.AdminAccess
	// privileges is what rbac grants on the tenant's namespaces, resolved once by the reconciler.
	privileges privilegeReport
}

func ref(kind, namespace, name string) rempartv1.ObjectReference {
	return rempartv1.ObjectReference{Kind: kind, Namespace: namespace, Name: name}
}

// evaluate runs every control on what was observed, at now: one line per control, each judging
// the offenders a pure function found.
func evaluate(o observed, now time.Time) ([]rempartv1.ControlResult, compliance.ExceptionSet) {
	j, exceptionsResult := compliance.ExceptionsOf(compliance.KindTenantIsolation, now, o.tenant.Spec.Exceptions)
	crossTenant, crossEnv := flowOffenders(o)
	return compliance.Results(
		exceptionsResult,
		j.Judge(compliance.NamespacesOwned, namespaceOffenders(o)),
		j.Judge(compliance.NetworkDefaultDeny, defaultDenyOffenders(o)),
		j.Judge(compliance.NetworkTenantBoundary, crossTenant),
		j.Judge(compliance.NetworkEnvironmentSeparation, crossEnv),
		j.Judge(compliance.PodSecurityEnforced, podSecurityOffenders(o)),
		j.Judge(compliance.StorageEncrypted, storageOffenders(o)),
		j.Judge(compliance.AdminInterfacesPrivate, adminInterfaceOffenders(o)),
		j.Judge(compliance.ExposureDeclared, exposureOffenders(o)),
		j.Judge(compliance.NodesDedicated, o.poolIntruders),
		j.Judge(compliance.QuotaInPlace, quotaOffenders(o)),
		judgePrivileges(o.privileges, j),
	), j
}

func namespaceOffenders(o observed) []rempartv1.ObjectReference {
	var out []rempartv1.ObjectReference
	for _, name := range o.tenant.Spec.Namespaces {
		ns, ok := o.namespaces[string(name)]
		if _, conflict := o.conflicts[string(name)]; conflict || !ok || ns.DeletionTimestamp != nil ||
			ns.Labels[rempartv1.LabelTenant] != o.tenant.Name ||
			ns.Labels[rempartv1.LabelEnvironment] != string(o.tenant.Spec.Environment) {
			out = append(out, ref("Namespace", "", string(name)))
		}
	}
	return out
}

// isDefaultDeny reports whether a policy selects every pod and allows nothing in both directions.
func isDefaultDeny(p *networkingv1.NetworkPolicy) bool {
	return len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
		slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) &&
		slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) &&
		len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0
}

func (o observed) ownNamespaces() []string {
	var out []string
	for _, n := range o.tenant.Spec.Namespaces {
		if _, conflict := o.conflicts[string(n)]; !conflict {
			out = append(out, string(n))
		}
	}
	return out
}

func defaultDenyOffenders(o observed) []rempartv1.ObjectReference {
	covered := map[string]bool{}
	for i := range o.networkPolicies {
		if isDefaultDeny(&o.networkPolicies[i]) {
			covered[o.networkPolicies[i].Namespace] = true
		}
	}
	var out []rempartv1.ObjectReference
	for _, ns := range o.ownNamespaces() {
		if !covered[ns] {
			out = append(out, ref("Namespace", "", ns))
		}
	}
	return out
}

var levelRank = map[string]int{"privileged": 0, "baseline": 1, "restricted": 2}

func podSecurityOffenders(o observed) []rempartv1.ObjectReference {
	level, _ := podSecurity(o.tenant)
	var out []rempartv1.ObjectReference
	for _, name := range o.ownNamespaces() {
		ns, ok := o.namespaces[name]
		if !ok {
			continue // reported by namespaces.owned
		}
		enforced, known := levelRank[ns.Labels[psaEnforce]]
		if !known || enforced < levelRank[string(level)] || ns.Labels[psaEnforceVersion] == "" {
			out = append(out, ref("Namespace", "", name))
		}
	}
	return out
}

// allowedClasses are the StorageClasses the tenant's claims may use, with why the others are not.
func allowedClasses(o observed) map[string]bool {
	storage := o.tenant.Spec.Storage
	allowed := map[string]bool{}
	for i := range o.storageClasses {
		sc := &o.storageClasses[i]
		if enabled(storage.RequireEncryption) && !encryption.StorageClass(sc).Encrypted {
			continue
		}
		if len(storage.AllowedStorageClasses) > 0 && !slices.Contains(storage.AllowedStorageClasses, rempartv1.StorageClassName(sc.Name)) {
			continue
		}
		allowed[sc.Name] = true
	}
	return allowed
}

func storageOffenders(o observed) []rempartv1.ObjectReference {
	storage := o.tenant.Spec.Storage
	if !enabled(storage.RequireEncryption) && len(storage.AllowedStorageClasses) == 0 {
		return nil
	}
	allowed := allowedClasses(o)
	var out []rempartv1.ObjectReference
	for _, pvc := range o.pvcs {
		if pvc.Spec.StorageClassName == nil || !allowed[*pvc.Spec.StorageClassName] {
			out = append(out, ref("PersistentVolumeClaim", pvc.Namespace, pvc.Name))
		}
	}
	// Pods admitted before the tenant existed may mount volumes that skip the classes (V3).
	for i := range o.pods {
		if slices.ContainsFunc(o.pods[i].Spec.Volumes, func(v corev1.Volume) bool { return !volumeStoresEncrypted(v, allowed, storage.AllowedInlineCSIDrivers) }) {
			out = append(out, ref("Pod", o.pods[i].Namespace, o.pods[i].Name))
		}
	}
	return out
}

// volumeStoresEncrypted mirrors the workload storage admission policy: the volume types that
// hold no data of their own or go through an allowed class, and inline CSI of allowed drivers.
func volumeStoresEncrypted(v corev1.Volume, classes map[string]bool, drivers []string) bool {
	src := v.VolumeSource
	switch {
	case src.ConfigMap != nil, src.Secret != nil, src.DownwardAPI != nil, src.EmptyDir != nil, src.Projected != nil,
		src.PersistentVolumeClaim != nil, src.Image != nil:
		return true
	case src.Ephemeral != nil:
		t := src.Ephemeral.VolumeClaimTemplate
		return t != nil && t.Spec.StorageClassName != nil && classes[*t.Spec.StorageClassName]
	case src.CSI != nil:
		return slices.Contains(drivers, src.CSI.Driver)
	}
	return false
}

// withinRanges reports whether every CIDR in ranges lies inside one of the allowed networks.
func withinRanges(ranges []string, allowed []rempartv1.CIDR) bool {
	if len(ranges) == 0 {
		return false
	}
	for _, r := range ranges {
		p, err := netip.ParsePrefix(strings.TrimSpace(r))
		if err != nil {
			return false
		}
		inside := false
		for _, a := range allowed {
			ap, err := netip.ParsePrefix(string(a))
			if err == nil && ap.Bits() <= p.Bits() && ap.Contains(p.Masked().Addr()) {
				inside = true
				break
			}
		}
		if !inside {
			return false
		}
	}
	return true
}

func adminInterfaceOffenders(o observed) []rempartv1.ObjectReference {
	ai := o.tenant.Spec.AdminInterfaces
	if ai == nil {
		return nil
	}
	selector, err := metav1.LabelSelectorAsSelector(&ai.Selector)
	if err != nil {
		return nil // refused by the API server's validation of the selector
	}
	var out []rempartv1.ObjectReference
	adminServices := map[string]bool{}
	for _, svc := range o.services {
		if !selector.Matches(labels.Set(svc.Labels)) {
			continue
		}
		adminServices[svc.Namespace+"/"+svc.Name] = true
		switch svc.Spec.Type {
		case corev1.ServiceTypeNodePort:
			out = append(out, ref("Service", svc.Namespace, svc.Name))
		case corev1.ServiceTypeLoadBalancer:
			if !withinRanges(svc.Spec.LoadBalancerSourceRanges, ai.AllowedSourceRanges) || allocatesNodePorts(&svc) {
				out = append(out, ref("Service", svc.Namespace, svc.Name))
			}
		}
	}
	for i := range o.ingresses {
		ing := &o.ingresses[i]
		// An Ingress is an administration interface by its label or by what it routes to (E7).
		if !selector.Matches(labels.Set(ing.Labels)) && !routesTo(ing, adminServices) {
			continue
		}
		ranges, known, conflict := ingressSourceRanges(ing, o.ingressClasses)
		if !known || conflict || !withinRanges(ranges, ai.AllowedSourceRanges) {
			out = append(out, ref("Ingress", ing.Namespace, ing.Name))
		}
	}
	// A Gateway listener carries no source range a policy could check: a route to an admin
	// Service publishes it (E8).
	for _, r := range o.routes {
		if slices.ContainsFunc(r.services, func(s string) bool { return adminServices[r.namespace+"/"+s] }) {
			out = append(out, ref(r.kind, r.namespace, r.name))
		}
	}
	return out
}

// gatewayRoute is a Gateway API route reduced to what the controls read.
type gatewayRoute struct {
	kind, namespace, name string
	// services are the names of the Services of its own namespace it sends traffic to.
	services []string
}

// allocatesNodePorts: a LoadBalancer opens NodePorts on every node unless told not to.
func allocatesNodePorts(svc *corev1.Service) bool {
	return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
}

// routesTo reports whether an Ingress sends traffic to one of services (namespace/name).
func routesTo(ing *networkingv1.Ingress, services map[string]bool) bool {
	hit := func(b *networkingv1.IngressBackend) bool {
		return b != nil && b.Service != nil && services[ing.Namespace+"/"+b.Service.Name]
	}
	if hit(ing.Spec.DefaultBackend) {
		return true
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for i := range r.HTTP.Paths {
			if hit(&r.HTTP.Paths[i].Backend) {
				return true
			}
		}
	}
	return false
}

// exposureOffenders are the Services that publish the tenant beyond spec.exposure (E1-E4).
func exposureOffenders(o observed) []rempartv1.ObjectReference {
	var exposure rempartv1.Exposure
	if o.tenant.Spec.Exposure != nil {
		exposure = *o.tenant.Spec.Exposure
	}
	var allowedSources []rempartv1.CIDR
	if ai := o.tenant.Spec.AdminInterfaces; ai != nil {
		allowedSources = ai.AllowedSourceRanges
	}
	var out []rempartv1.ObjectReference
	for i := range o.services {
		svc := &o.services[i]
		public := slices.Contains(exposure.PublicServices, svc.Namespace+"/"+svc.Name)
		bad := !externalIPsDeclared(svc.Spec.ExternalIPs, exposure.ExternalIPRanges)
		switch svc.Spec.Type {
		case corev1.ServiceTypeNodePort:
			bad = bad || !public
		case corev1.ServiceTypeLoadBalancer:
			bad = bad || (!public && (!withinRanges(svc.Spec.LoadBalancerSourceRanges, allowedSources) || allocatesNodePorts(svc)))
		case corev1.ServiceTypeExternalName:
			bad = bad || !externalNameAllowed(svc.Spec.ExternalName, exposure.ExternalNames, o.domain())
		}
		if bad {
			out = append(out, ref("Service", svc.Namespace, svc.Name))
		}
	}
	return out
}

func (o observed) domain() string {
	if o.clusterDomain == "" {
		return defaultClusterDomain
	}
	return o.clusterDomain
}

func externalIPsDeclared(ips []string, ranges []rempartv1.CIDR) bool {
	for _, ip := range ips {
		addr, err := netip.ParseAddr(strings.TrimSpace(ip))
		if err != nil {
			return false
		}
		inside := false
		for _, r := range ranges {
			if p, err := netip.ParsePrefix(string(r)); err == nil && p.Contains(addr) {
				inside = true
				break
			}
		}
		if !inside {
			return false
		}
	}
	return true
}

// externalNameAllowed mirrors the exposure admission policy: never inside the cluster, and only
// a declared name.
func externalNameAllowed(name string, declared []string, domain string) bool {
	target := strings.TrimSuffix(strings.ToLower(name), ".")
	if _, err := netip.ParseAddr(target); err == nil || !strings.Contains(target, ".") ||
		strings.HasSuffix(target, ".svc") || strings.Contains(target, ".svc.") || target == domain || strings.HasSuffix(target, "."+domain) {
		return false
	}
	for _, d := range declared {
		if suffix, ok := strings.CutPrefix(d, "*"); ok {
			if strings.HasSuffix(target, suffix) {
				return true
			}
		} else if target == d {
			return true
		}
	}
	return false
}

func quotaOffenders(o observed) []rempartv1.ObjectReference {
	var out []rempartv1.ObjectReference
	quotas := map[string]*corev1.ResourceQuota{}
	for i := range o.quotas {
		if o.quotas[i].Name == quotaName {
			quotas[o.quotas[i].Namespace] = &o.quotas[i]
		}
	}
	limits := map[string]*corev1.LimitRange{}
	for i := range o.limitRanges {
		if o.limitRanges[i].Name == limitRangeName {
			limits[o.limitRanges[i].Namespace] = &o.limitRanges[i]
		}
	}
	for _, ns := range o.ownNamespaces() {
		if want := resourceQuota(o.tenant, ns); want != nil {
			if q := quotas[ns]; q == nil || !equality.Semantic.DeepEqual(q.Spec.Hard, want.Spec.Hard) {
				out = append(out, ref("ResourceQuota", ns, quotaName))
			}
		}
		if want := limitRange(o.tenant, ns); want != nil {
			if l := limits[ns]; l == nil || !equality.Semantic.DeepDerivative(want.Spec, l.Spec) {
				out = append(out, ref("LimitRange", ns, limitRangeName))
			}
		}
	}
	return out
}

// flowOffenders finds the NetworkPolicies of the tenant's namespaces, generated or added by the
// tenant, whose rules admit namespaces of another tenant, or cross the production boundary.
func flowOffenders(o observed) (crossTenant, crossEnvironment []rempartv1.ObjectReference) {
	allNamespaces := make([]*corev1.Namespace, 0, len(o.namespaces))
	for _, ns := range o.namespaces {
		allNamespaces = append(allNamespaces, ns)
	}
	sort.Slice(allNamespaces, func(i, j int) bool { return allNamespaces[i].Name < allNamespaces[j].Name })
	production := o.tenant.Spec.Environment == rempartv1.EnvironmentProduction

	for i := range o.networkPolicies {
		p := &o.networkPolicies[i]
		tenantHit, envHit := false, false
		for _, peers := range policyPeerLists(*p) {
			// An ipBlock that reaches the cluster's networks reaches every tenant's pods, of
			// either environment, whatever the namespace labels say (N3).
			if slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool {
				return p.IPBlock != nil && netpol.BlockReachesAny(p.IPBlock, o.clusterCIDRs)
			}) {
				tenantHit, envHit = true, true
			}
			for _, ns := range peersNamespaces(peers, p.Namespace, allNamespaces) {
				other := ns.Labels[rempartv1.LabelTenant]
				if other != "" && other != o.tenant.Name {
					tenantHit = true
				}
				if env := ns.Labels[rempartv1.LabelEnvironment]; env != "" && (env == string(rempartv1.EnvironmentProduction)) != production {
					envHit = true
				}
			}
		}
		if tenantHit {
			crossTenant = append(crossTenant, ref("NetworkPolicy", p.Namespace, p.Name))
		}
		if envHit {
			crossEnvironment = append(crossEnvironment, ref("NetworkPolicy", p.Namespace, p.Name))
		}
	}
	return crossTenant, crossEnvironment
}

// peersNamespaces returns the namespaces a rule's peers admit. A rule without peers admits every
// namespace; a peer with only a pod selector stays in the policy's namespace; an ipBlock names
// networks, not namespaces.
func peersNamespaces(peers []networkingv1.NetworkPolicyPeer, own string, all []*corev1.Namespace) []*corev1.Namespace {
	if len(peers) == 0 {
		return all
	}
	var out []*corev1.Namespace
	for _, peer := range peers {
		if peer.IPBlock != nil {
			continue
		}
		if peer.NamespaceSelector == nil {
			continue // the policy's own namespace
		}
		sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		if err != nil {
			continue
		}
		for _, ns := range all {
			if ns.Name != own && sel.Matches(labels.Set(ns.Labels)) {
				out = append(out, ns)
			}
		}
	}
	return out
}

// describeConflicts is the status line of namespaces held by another tenant.
func describeConflicts(conflicts map[string]string) string {
	var parts []string
	for ns, other := range conflicts {
		parts = append(parts, fmt.Sprintf("%s (held by %s)", ns, other))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// absorb puts into what was gathered the objects the API server answered this reconcile's writes
// with, as the cache will show them (without managed fields): the controls then judge what the
// server stored, not the state before the writes.
func (o *observed) absorb(stored []client.Object) {
	for _, obj := range stored {
		obj.SetManagedFields(nil)
		switch v := obj.(type) {
		case *corev1.Namespace:
			o.namespaces[v.Name] = v
		case *networkingv1.NetworkPolicy:
			o.networkPolicies = replaceOrAdd(o.networkPolicies, *v, func(x networkingv1.NetworkPolicy) bool { return x.Namespace == v.Namespace && x.Name == v.Name })
		case *corev1.ResourceQuota:
			o.quotas = replaceOrAdd(o.quotas, *v, func(x corev1.ResourceQuota) bool { return x.Namespace == v.Namespace && x.Name == v.Name })
		case *corev1.LimitRange:
			o.limitRanges = replaceOrAdd(o.limitRanges, *v, func(x corev1.LimitRange) bool { return x.Namespace == v.Namespace && x.Name == v.Name })
		}
	}
}

// replaceOrAdd returns items with the element matching same replaced by v, or v appended.
func replaceOrAdd[T any](items []T, v T, same func(T) bool) []T {
	if i := slices.IndexFunc(items, same); i >= 0 {
		out := slices.Clone(items)
		out[i] = v
		return out
	}
	return append(slices.Clip(items), v)
}

// policyPeerLists are the peer lists of a NetworkPolicy's ingress and egress rules.
func policyPeerLists(p networkingv1.NetworkPolicy) [][]networkingv1.NetworkPolicyPeer {
	var out [][]networkingv1.NetworkPolicyPeer
	for _, r := range p.Spec.Ingress {
		out = append(out, r.From)
	}
	for _, r := range p.Spec.Egress {
		out = append(out, r.To)
	}
	return out
}

// requiredLabelValues lists, as key=value, label pairs one of which every namespace the selector
// matches must carry: the values of one matchLabels entry, or of one In requirement. ok is
// false when the selector requires no value (it is empty, or only Exists, DoesNotExist, NotIn),
// or cannot be read: then any namespace may match.
func requiredLabelValues(sel *metav1.LabelSelector) ([]string, bool) {
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return nil, false
	}
	if len(sel.MatchLabels) > 0 {
		// The most selective pair: a namespace's name, then a tenant, then any other.
		keys := slices.Sorted(maps.Keys(sel.MatchLabels))
		best := keys[0]
		for _, k := range []string{rempartv1.LabelTenant, labelNamespaceName} {
			if _, ok := sel.MatchLabels[k]; ok {
				best = k
			}
		}
		return []string{best + "=" + sel.MatchLabels[best]}, true
	}
	for _, e := range sel.MatchExpressions {
		if e.Operator == metav1.LabelSelectorOpIn {
			out := make([]string, 0, len(e.Values))
			for _, v := range e.Values {
				out = append(out, e.Key+"="+v)
			}
			return out, true
		}
	}
	return nil, false
}
