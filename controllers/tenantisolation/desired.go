package tenantisolation

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

// Names of the generated objects, chosen so `kubectl get netpol` reads as the flow matrix.
const (
	policyDefaultDeny = "rempart-default-deny"
	policyAllowDNS    = "rempart-allow-dns"
	policySameTenant  = "rempart-allow-same-tenant"
	ingressPrefix     = "rempart-ingress-"
	egressPrefix      = "rempart-egress-"
	quotaName         = "rempart-quota"
	limitRangeName    = "rempart-limits"

	// LabelPurpose says which rule of the tenant a generated object renders.
	LabelPurpose = "rempart.io/purpose"
	// labelNamespaceName is set by the API server on every namespace.
	labelNamespaceName = "kubernetes.io/metadata.name"
)

// Pod Security Admission labels.
const (
	psaEnforce        = "pod-security.kubernetes.io/enforce"
	psaEnforceVersion = "pod-security.kubernetes.io/enforce-version"
	psaAudit          = "pod-security.kubernetes.io/audit"
	psaAuditVersion   = "pod-security.kubernetes.io/audit-version"
	psaWarn           = "pod-security.kubernetes.io/warn"
	psaWarnVersion    = "pod-security.kubernetes.io/warn-version"
)

func enabled(b *bool) bool { return b == nil || *b }

func podSecurity(ti *rempartv1.TenantIsolation) (rempartv1.PodSecurityLevel, string) {
	level, version := ti.Spec.PodSecurity.Level, ti.Spec.PodSecurity.Version
	if level == "" {
		level = rempartv1.PodSecurityRestricted
	}
	if version == "" {
		version = "v1.37"
	}
	return level, version
}

// namespaceLabels are the labels the operator owns on each namespace of the tenant.
func namespaceLabels(ti *rempartv1.TenantIsolation) map[string]string {
	level, version := podSecurity(ti)
	return map[string]string{
		rempartv1.LabelTenant:      ti.Name,
		rempartv1.LabelEnvironment: string(ti.Spec.Environment),
		psaEnforce:                 string(level),
		psaEnforceVersion:          version,
		psaAudit:                   string(level),
		psaAuditVersion:            version,
		psaWarn:                    string(level),
		psaWarnVersion:             version,
	}
}

// namespaceObject is a namespace of the tenant as the operator applies it: its name, labels, and
// whether the operator created or adopted it (originCreated or originAdopted).
func namespaceObject(ti *rempartv1.TenantIsolation, name, origin string) *corev1.Namespace {
	return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: namespaceLabels(ti), Annotations: map[string]string{annotationOrigin: origin}}}
}

// managedLabels are carried by every object generated for the tenant.
func managedLabels(ti *rempartv1.TenantIsolation, purpose string) map[string]string {
	return apply.ManagedLabels(rempartv1.LabelTenant, ti.Name, LabelPurpose, purpose)
}

func objectMeta(ti *rempartv1.TenantIsolation, namespace, name, purpose string) metav1.ObjectMeta {
	return apply.Generated("TenantIsolation", ti, namespace, name, rempartv1.LabelTenant, ti.Name, LabelPurpose, purpose)
}

// environmentGuard keeps every namespace selector of a flow away from namespaces of the other
// side of the production boundary (FT-CLD-25), whatever the flow matrix says. Namespaces without
// an environment (shared infrastructure such as the ingress controller) stay selectable.
func environmentGuard(env rempartv1.Environment) metav1.LabelSelectorRequirement {
	forbidden := []string{string(rempartv1.EnvironmentProduction)}
	if env == rempartv1.EnvironmentProduction {
		forbidden = []string{string(rempartv1.EnvironmentDevelopment), string(rempartv1.EnvironmentStaging)}
	}
	return metav1.LabelSelectorRequirement{Key: rempartv1.LabelEnvironment, Operator: metav1.LabelSelectorOpNotIn, Values: forbidden}
}

// namespaceSelector combines namespaces by name and by label into one selector, with the
// environment guard added.
func namespaceSelector(env rempartv1.Environment, names []rempartv1.NamespaceName, sel *metav1.LabelSelector) *metav1.LabelSelector {
	out := &metav1.LabelSelector{}
	if sel != nil {
		sel.DeepCopyInto(out)
	}
	if len(names) > 0 {
		values := make([]string, len(names))
		for i, n := range names {
			values[i] = string(n)
		}
		sort.Strings(values)
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: labelNamespaceName, Operator: metav1.LabelSelectorOpIn, Values: values})
	}
	out.MatchExpressions = append(out.MatchExpressions, environmentGuard(env))
	return out
}

func networkPorts(ports []rempartv1.FlowPort) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for _, p := range ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, networkingv1.NetworkPolicyPort{Protocol: ptr.To(proto), Port: ptr.To(intstr.FromInt32(p.Port))})
	}
	return out
}

func selectorOrAll(s *metav1.LabelSelector) metav1.LabelSelector {
	if s == nil {
		return metav1.LabelSelector{}
	}
	return *s.DeepCopy()
}

// networkPolicies renders the tenant's NetworkPolicies for one of its namespaces: one policy per
// purpose, named for it.
func networkPolicies(ti *rempartv1.TenantIsolation, namespace string) []*networkingv1.NetworkPolicy {
	net := ti.Spec.Network
	var out []*networkingv1.NetworkPolicy
	policy := func(name, purpose string, spec networkingv1.NetworkPolicySpec) {
		out = append(out, &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: objectMeta(ti, namespace, name, purpose),
			Spec:       spec,
		})
	}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}

	if enabled(net.DefaultDeny) {
		policy(policyDefaultDeny, "default-deny", networkingv1.NetworkPolicySpec{PolicyTypes: both})
	}
	if enabled(net.AllowDNS) {
		policy(policyAllowDNS, "allow-dns", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelNamespaceName: "kube-system"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
				}},
				Ports: networkPorts([]rempartv1.FlowPort{{Protocol: corev1.ProtocolUDP, Port: 53}, {Protocol: corev1.ProtocolTCP, Port: 53}}),
			}},
		})
	}
	if enabled(net.AllowIntraTenant) {
		sameTenant := []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{rempartv1.LabelTenant: ti.Name, rempartv1.LabelEnvironment: string(ti.Spec.Environment)}}}}
		policy(policySameTenant, "allow-same-tenant", networkingv1.NetworkPolicySpec{
			PolicyTypes: both,
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: sameTenant}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: sameTenant}},
		})
	}
	for _, f := range net.Ingress {
		policy(ingressPrefix+string(f.Name), "ingress-flow", networkingv1.NetworkPolicySpec{
			PodSelector: selectorOrAll(f.ToPodSelector),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: namespaceSelector(ti.Spec.Environment, f.FromNamespaces, f.FromNamespaceSelector),
					PodSelector:       f.FromPodSelector.DeepCopy(),
				}},
				Ports: networkPorts(f.Ports),
			}},
		})
	}
	for _, f := range net.Egress {
		var peers []networkingv1.NetworkPolicyPeer
		if len(f.ToNamespaces) > 0 || f.ToNamespaceSelector != nil {
			peers = append(peers, networkingv1.NetworkPolicyPeer{
				NamespaceSelector: namespaceSelector(ti.Spec.Environment, f.ToNamespaces, f.ToNamespaceSelector),
				PodSelector:       f.ToPodSelector.DeepCopy(),
			})
		}
		for _, cidr := range f.ToCIDRs {
			peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: string(cidr)}})
		}
		policy(egressPrefix+string(f.Name), "egress-flow", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: peers, Ports: networkPorts(f.Ports)}},
		})
	}
	return out
}

// resourceQuota renders the tenant's quota for one namespace, or nil when it declares none.
func resourceQuota(ti *rempartv1.TenantIsolation, namespace string) *corev1.ResourceQuota {
	if len(ti.Spec.Quota) == 0 {
		return nil
	}
	return &corev1.ResourceQuota{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
		ObjectMeta: objectMeta(ti, namespace, quotaName, "quota"),
		Spec:       corev1.ResourceQuotaSpec{Hard: ti.Spec.Quota.DeepCopy()},
	}
}

// limitRange renders the tenant's limits for one namespace, or nil when it declares none.
func limitRange(ti *rempartv1.TenantIsolation, namespace string) *corev1.LimitRange {
	if len(ti.Spec.Limits) == 0 {
		return nil
	}
	items := make([]corev1.LimitRangeItem, len(ti.Spec.Limits))
	for i := range ti.Spec.Limits {
		ti.Spec.Limits[i].DeepCopyInto(&items[i])
	}
	return &corev1.LimitRange{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"},
		ObjectMeta: objectMeta(ti, namespace, limitRangeName, "limits"),
		Spec:       corev1.LimitRangeSpec{Limits: items},
	}
}

// flowMatrix documents the flows the NetworkPolicies render (ALM-5.9.1).
func flowMatrix(ti *rempartv1.TenantIsolation) []rempartv1.ResolvedFlow {
	net := ti.Spec.Network
	var out []rempartv1.ResolvedFlow
	if enabled(net.DefaultDeny) {
		out = append(out, rempartv1.ResolvedFlow{Name: "default-deny", Direction: "Ingress+Egress", Peer: "nothing not allowed below", Ports: "none", NetworkPolicy: policyDefaultDeny})
	}
	if enabled(net.AllowDNS) {
		out = append(out, rempartv1.ResolvedFlow{Name: "dns", Direction: "Egress", Peer: "kube-dns in kube-system", Ports: "UDP/53, TCP/53", NetworkPolicy: policyAllowDNS})
	}
	if enabled(net.AllowIntraTenant) {
		out = append(out, rempartv1.ResolvedFlow{Name: "same-tenant", Direction: "Ingress+Egress", Peer: "namespaces of tenant " + ti.Name, Ports: "all", NetworkPolicy: policySameTenant})
	}
	guard := "non-production"
	if ti.Spec.Environment != rempartv1.EnvironmentProduction {
		guard = "production"
	}
	for _, f := range net.Ingress {
		out = append(out, rempartv1.ResolvedFlow{Name: string(f.Name), Direction: "Ingress",
			Peer:  describePeer(f.FromNamespaces, f.FromNamespaceSelector, f.FromPodSelector, nil) + ", never " + guard + " namespaces",
			Ports: describePorts(f.Ports), NetworkPolicy: ingressPrefix + string(f.Name)})
	}
	for _, f := range net.Egress {
		out = append(out, rempartv1.ResolvedFlow{Name: string(f.Name), Direction: "Egress",
			Peer:  describePeer(f.ToNamespaces, f.ToNamespaceSelector, f.ToPodSelector, f.ToCIDRs) + ", never " + guard + " namespaces",
			Ports: describePorts(f.Ports), NetworkPolicy: egressPrefix + string(f.Name)})
	}
	return out
}

func describePeer(names []rempartv1.NamespaceName, nsSel, podSel *metav1.LabelSelector, cidrs []rempartv1.CIDR) string {
	var parts []string
	if len(names) > 0 {
		s := make([]string, len(names))
		for i, n := range names {
			s[i] = string(n)
		}
		parts = append(parts, "namespaces "+strings.Join(s, ", "))
	}
	if nsSel != nil {
		parts = append(parts, "namespaces matching "+metav1.FormatLabelSelector(nsSel))
	}
	if podSel != nil {
		parts = append(parts, "pods matching "+metav1.FormatLabelSelector(podSel))
	}
	if len(cidrs) > 0 {
		s := make([]string, len(cidrs))
		for i, c := range cidrs {
			s[i] = string(c)
		}
		parts = append(parts, "networks "+strings.Join(s, ", "))
	}
	return strings.Join(parts, "; ")
}

func describePorts(ports []rempartv1.FlowPort) string {
	if len(ports) == 0 {
		return "all"
	}
	s := make([]string, len(ports))
	for i, p := range ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		s[i] = fmt.Sprintf("%s/%d", proto, p.Port)
	}
	return strings.Join(s, ", ")
}

// Desired returns every namespaced object the operator writes for a tenant with no conflict:
// its namespaces with their labels, NetworkPolicies, quota and limits. Benchmarks create the same
// objects with a bare client to measure the operator against.
func Desired(ti *rempartv1.TenantIsolation) []client.Object {
	var out []client.Object
	for _, n := range ti.Spec.Namespaces {
		ns := string(n)
		out = append(out, namespaceObject(ti, ns, originCreated))
		for _, p := range networkPolicies(ti, ns) {
			out = append(out, p)
		}
		if q := resourceQuota(ti, ns); q != nil {
			out = append(out, q)
		}
		if l := limitRange(ti, ns); l != nil {
			out = append(out, l)
		}
	}
	return out
}
