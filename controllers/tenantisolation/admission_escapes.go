package tenantisolation

import (
	"fmt"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
)

// The policies that close the routes of docs/threat-model.md a tenant could take around its
// isolation: exposure (E1-E4), its own NetworkPolicies (N1-N3), namespace labels (S1), dedicated
// nodes (D1-D3) and what pods mount (V3-V4).
const (
	policyExposure         = "rempart-tenant-exposure"
	policyNetworkPolicies  = "rempart-tenant-network-policies"
	policyWorkloadStorage  = "rempart-tenant-workload-storage"
	policyNamespaceLabels  = "rempart-namespace-tenant-labels"
	policyDedicatedNodes   = "rempart-dedicated-nodes"
	annotationOrigin       = "rempart.io/origin"
	originCreated          = "created"
	originAdopted          = "adopted"
	defaultClusterDomain   = "cluster.local"
	ingressClassAnnotation = "kubernetes.io/ingress.class"
)

// DefaultClusterCIDRs are the networks treated as the cluster's pod and service ranges when the
// operator is not told them: every private range, so an ipBlock that could reach a pod is refused
// rather than trusted (fail closed).
var DefaultClusterCIDRs = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"}

// podSpecExpression reaches the pod spec of a pod or of any workload's template.
const podSpecExpression = "request.kind.kind == 'Pod' ? object.spec : " +
	"(request.kind.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : " +
	"(has(object.spec.template) && has(object.spec.template.spec) ? object.spec.template.spec : {}))"

// podNameExpression names a pod or workload in a refusal.
const podNameExpression = "request.kind.kind + ' ' + (object.metadata.name != '' ? object.metadata.name : object.metadata.generateName)"

// workloadRules match pods on creation and every workload that carries a pod template, so a
// template that could never be admitted is refused when it is written (route V4).
func workloadRules() []admissionv1.NamedRuleWithOperations {
	return []admissionv1.NamedRuleWithOperations{
		admission.Rule("", "pods", admissionv1.Create),
		admission.Rule("", "replicationcontrollers", admissionv1.Create, admissionv1.Update),
		admission.Rule("apps", "deployments", admissionv1.Create, admissionv1.Update),
		admission.Rule("apps", "statefulsets", admissionv1.Create, admissionv1.Update),
		admission.Rule("apps", "daemonsets", admissionv1.Create, admissionv1.Update),
		admission.Rule("apps", "replicasets", admissionv1.Create, admissionv1.Update),
		admission.Rule("batch", "jobs", admissionv1.Create, admissionv1.Update),
		admission.Rule("batch", "cronjobs", admissionv1.Create, admissionv1.Update),
	}
}

// templateChanged keeps the workload policies off updates that leave the pod template alone
// (scaling, a controller's own bookkeeping), so a workload written before a policy keeps running.
func templateChanged() []admissionv1.MatchCondition {
	return []admissionv1.MatchCondition{{Name: "creates-or-changes-the-template", Expression: "request.operation == 'CREATE' || " +
		"(request.kind.kind == 'CronJob' ? object.spec.jobTemplate != oldObject.spec.jobTemplate : " +
		"(request.kind.kind == 'StatefulSet' ? (object.spec.template != oldObject.spec.template || " +
		"(has(object.spec.volumeClaimTemplates) ? object.spec.volumeClaimTemplates : []) != (has(oldObject.spec.volumeClaimTemplates) ? oldObject.spec.volumeClaimTemplates : [])) : " +
		"(has(object.spec.template) ? object.spec.template : {}) != (has(oldObject.spec.template) ? oldObject.spec.template : {})))"}}
}

// exposurePolicy refuses every way a Service publishes the tenant that its TenantIsolation does
// not declare (routes E1-E4), judged by what the Service does, not by its labels.
func exposurePolicy(cfg AdmissionConfig) *admissionv1.ValidatingAdmissionPolicy {
	domain := cfg.clusterDomain()
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyExposure),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			ParamKind:        paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("", "services", admissionv1.Create, admissionv1.Update)}},
			Variables: []admissionv1.Variable{
				{Name: "exposure", Expression: "has(params.spec.exposure) ? params.spec.exposure : {}"},
				{Name: "public", Expression: "has(variables.exposure.publicServices) && (request.namespace + '/' + object.metadata.name) in variables.exposure.publicServices"},
				{Name: "ipRanges", Expression: "has(variables.exposure.externalIPRanges) ? variables.exposure.externalIPRanges : []"},
				{Name: "externalNames", Expression: "has(variables.exposure.externalNames) ? variables.exposure.externalNames : []"},
				{Name: "sources", Expression: "has(params.spec.adminInterfaces) && has(params.spec.adminInterfaces.allowedSourceRanges) ? params.spec.adminInterfaces.allowedSourceRanges : []"},
				{Name: "restricted", Expression: "has(object.spec.loadBalancerSourceRanges) && size(object.spec.loadBalancerSourceRanges) > 0 && " +
					"object.spec.loadBalancerSourceRanges.all(r, isCIDR(r) && variables.sources.exists(a, cidr(a).containsCIDR(r)))"},
				{Name: "rawName", Expression: "has(object.spec.externalName) ? object.spec.externalName.lowerAscii() : ''"},
				{Name: "target", Expression: "variables.rawName.endsWith('.') ? variables.rawName.substring(0, size(variables.rawName) - 1) : variables.rawName"},
				{Name: "inCluster", Expression: fmt.Sprintf("isIP(variables.target) || !variables.target.contains('.') || variables.target.endsWith('.svc') || "+
					"variables.target.contains('.svc.') || variables.target == %q || variables.target.endsWith(%q)", domain, "."+domain)},
				{Name: "declaredName", Expression: "variables.externalNames.exists(d, d.startsWith('*.') ? variables.target.endsWith(d.substring(1)) : variables.target == d)"},
			},
			Validations: []admissionv1.Validation{
				{
					Expression: "!has(object.spec.externalIPs) || object.spec.externalIPs.all(ip, isIP(ip) && variables.ipRanges.exists(r, cidr(r).containsIP(ip)))",
					MessageExpression: "'Service ' + object.metadata.name + ' sets externalIPs ' + object.spec.externalIPs.join(', ') + ', outside what tenant ' + params.metadata.name + " +
						"' declares in spec.exposure.externalIPRanges: externalIPs can capture traffic meant for any address (CVE-2020-8554) (FT-CLD-19, FT-CLD-20).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "object.spec.type != 'ExternalName' || (!variables.inCluster && variables.declaredName)",
					MessageExpression: "'Service ' + object.metadata.name + ' points to ' + variables.rawName + ': ' + (variables.inCluster ? " +
						"'an ExternalName inside the cluster lets shared proxies carry traffic into another tenant, whatever the NetworkPolicies say' : " +
						"'the name is not in spec.exposure.externalNames of tenant ' + params.metadata.name) + ' (FT-CLD-20).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "object.spec.type != 'NodePort' || variables.public",
					MessageExpression: "'Service ' + object.metadata.name + ' is a NodePort, open on every node, and is not a public endpoint of tenant ' + params.metadata.name + " +
						"': declare it in spec.exposure.publicServices or use a ClusterIP Service behind the ingress (FT-CLD-19).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "object.spec.type != 'LoadBalancer' || variables.public || (variables.restricted && has(object.spec.allocateLoadBalancerNodePorts) && !object.spec.allocateLoadBalancerNodePorts)",
					MessageExpression: "'Service ' + object.metadata.name + ' is a LoadBalancer that is not a public endpoint of tenant ' + params.metadata.name + " +
						"': declare it in spec.exposure.publicServices, or restrict loadBalancerSourceRanges within ' + " +
						"(size(variables.sources) > 0 ? variables.sources.join(', ') : 'adminInterfaces.allowedSourceRanges (none is set)') + " +
						"' and set allocateLoadBalancerNodePorts: false so its NodePorts are not open to everyone (FT-CLD-19).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// allowedPeerNamespace is a CEL expression true when the namespace name n is the tenant's own or
// a peer its flow matrix names: what a tenant's own NetworkPolicy may select.
func allowedPeerNamespace(n string) string {
	return fmt.Sprintf("(%[1]s in params.spec.namespaces || (has(params.spec.network) && "+
		"((has(params.spec.network.ingress) && params.spec.network.ingress.exists(f, has(f.fromNamespaces) && %[1]s in f.fromNamespaces)) || "+
		"(has(params.spec.network.egress) && params.spec.network.egress.exists(f, has(f.toNamespaces) && %[1]s in f.toNamespaces)))))", n)
}

// peerConfined is a CEL expression true when the NetworkPolicy peer p stays inside the tenant: a
// pod selector alone (the policy's namespace), a namespace selector confined by the tenant label or
// by names, an ipBlock that keeps out of the cluster's networks.
func peerConfined(cidrs []string) string {
	confinedSelector := "(has(p.namespaceSelector.matchLabels) && " +
		"(('rempart.io/tenant' in p.namespaceSelector.matchLabels && p.namespaceSelector.matchLabels['rempart.io/tenant'] == params.metadata.name) || " +
		"('kubernetes.io/metadata.name' in p.namespaceSelector.matchLabels && " + allowedPeerNamespace("p.namespaceSelector.matchLabels['kubernetes.io/metadata.name']") + "))) || " +
		"(has(p.namespaceSelector.matchExpressions) && p.namespaceSelector.matchExpressions.exists(e, e.operator == 'In' && has(e.values) && " +
		"((e.key == 'rempart.io/tenant' && e.values.all(v, v == params.metadata.name)) || " +
		"(e.key == 'kubernetes.io/metadata.name' && e.values.all(v, " + allowedPeerNamespace("v") + ")))))"
	ipBlock := fmt.Sprintf("%s.all(c, !(cidr(p.ipBlock.cidr).containsCIDR(cidr(c)) || cidr(c).containsCIDR(cidr(p.ipBlock.cidr))) || "+
		"(has(p.ipBlock.except) && p.ipBlock.except.exists(e, cidr(e).containsCIDR(cidr(c)))))", admission.StringList(cidrs))
	return "(has(p.ipBlock) ? " + ipBlock + " : (!has(p.namespaceSelector) || " + confinedSelector + "))"
}

// networkPolicyPolicy refuses a tenant's own NetworkPolicy that opens its pods beyond the tenant
// (routes N1-N3). The operator's generated policies are exempt: they render the declared flows.
func networkPolicyPolicy(cfg AdmissionConfig) *admissionv1.ValidatingAdmissionPolicy {
	cidrs := cfg.clusterCIDRs()
	peer := peerConfined(cidrs)
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyNetworkPolicies),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			ParamKind:        paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("networking.k8s.io", "networkpolicies", admissionv1.Create, admissionv1.Update)}},
			MatchConditions:  []admissionv1.MatchCondition{{Name: "not-the-operator", Expression: "!(" + privilegedExpression(cfg) + ")"}},
			Variables: []admissionv1.Variable{
				{Name: "ingressOK", Expression: "!has(object.spec.ingress) || object.spec.ingress.all(r, has(r.from) && size(r.from) > 0 && r.from.all(p, " + peer + "))"},
				{Name: "egressOK", Expression: "!has(object.spec.egress) || object.spec.egress.all(r, has(r.to) && size(r.to) > 0 && r.to.all(p, " + peer + "))"},
			},
			Validations: []admissionv1.Validation{{
				Expression: "variables.ingressOK && variables.egressOK",
				MessageExpression: "'NetworkPolicy ' + object.metadata.name + ' opens the pods of tenant ' + params.metadata.name + ' beyond the tenant (' + " +
					"(variables.ingressOK ? 'egress' : 'ingress') + ' rules): every rule must name its peers; a namespaceSelector must be confined by " +
					"rempart.io/tenant=' + params.metadata.name + ' or kubernetes.io/metadata.name In the tenant\\'s namespaces or its declared flow peers; " +
					"an ipBlock must leave out the cluster\\'s networks (" + strings.Join(cidrs, ", ") + "). Other flows are declared in the TenantIsolation (FT-CLD-20, FT-CLD-25).'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// workloadStoragePolicy refuses pods and workload templates that store data outside the tenant's
// encrypted classes (routes V3-V4): inline CSI volumes of drivers not allowed, in-tree volume
// types that skip StorageClasses, ephemeral and StatefulSet claims on classes not allowed.
func workloadStoragePolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyWorkloadStorage),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			ParamKind:        paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: workloadRules()},
			MatchConditions:  templateChanged(),
			Variables: []admissionv1.Variable{
				{Name: "podSpec", Expression: podSpecExpression},
				{Name: "volumes", Expression: "has(variables.podSpec.volumes) ? variables.podSpec.volumes : []"},
				{Name: "classes", Expression: "has(params.status.allowedStorageClasses) ? params.status.allowedStorageClasses : []"},
				{Name: "drivers", Expression: "has(params.spec.storage) && has(params.spec.storage.allowedInlineCSIDrivers) ? params.spec.storage.allowedInlineCSIDrivers : []"},
				{Name: "unmanaged", Expression: "variables.volumes.filter(v, !(has(v.configMap) || has(v.secret) || has(v.downwardAPI) || has(v.emptyDir) || " +
					"has(v.projected) || has(v.persistentVolumeClaim) || has(v.ephemeral) || has(v.image) || (has(v.csi) && v.csi.driver in variables.drivers)))"},
				{Name: "ephemeralOff", Expression: "variables.volumes.filter(v, has(v.ephemeral) && !(has(v.ephemeral.volumeClaimTemplate.spec.storageClassName) && " +
					"v.ephemeral.volumeClaimTemplate.spec.storageClassName in variables.classes))"},
				{Name: "claimTemplatesOff", Expression: "request.kind.kind == 'StatefulSet' && has(object.spec.volumeClaimTemplates) ? " +
					"object.spec.volumeClaimTemplates.filter(c, !(has(c.spec.storageClassName) && c.spec.storageClassName in variables.classes)) : []"},
				{Name: "allowedText", Expression: "size(variables.classes) > 0 ? variables.classes.join(', ') : 'none is available, ask the platform team for an encrypted class'"},
			},
			Validations: []admissionv1.Validation{
				{
					Expression: "size(variables.unmanaged) == 0",
					MessageExpression: podNameExpression + " + ' mounts volumes ' + variables.unmanaged.map(v, v.name).join(', ') + " +
						"' that store data outside the StorageClasses of tenant ' + params.metadata.name + ' (in-tree or inline CSI volumes; inline CSI drivers allowed: ' + " +
						"(size(variables.drivers) > 0 ? variables.drivers.join(', ') : 'none') + '): use a PersistentVolumeClaim on an encrypted class (FT-CLD-21).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "size(variables.ephemeralOff) == 0",
					MessageExpression: podNameExpression + " + ' has ephemeral volumes ' + variables.ephemeralOff.map(v, v.name).join(', ') + " +
						"' whose claims would not use an encrypted class of tenant ' + params.metadata.name + ' (FT-CLD-21). Set storageClassName to one of: ' + variables.allowedText + '.'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "size(variables.claimTemplatesOff) == 0",
					MessageExpression: "'StatefulSet ' + object.metadata.name + ' has volumeClaimTemplates ' + variables.claimTemplatesOff.map(c, c.metadata.name).join(', ') + " +
						"' whose claims would not use an encrypted class of tenant ' + params.metadata.name + ' (FT-CLD-21). Set storageClassName to one of: ' + variables.allowedText + '.'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// namespaceLabelsPolicy refuses a namespace created with, or given later, a tenant's labels or
// the operator's origin record by anyone but the operator and administrators (route S1): such a
// namespace would join a tenant's network and freeze its status.
func namespaceLabelsPolicy(cfg AdmissionConfig) *admissionv1.ValidatingAdmissionPolicy {
	keys := admission.StringList([]string{rempartv1.LabelTenant, rempartv1.LabelEnvironment})
	carries := func(obj string) string {
		return fmt.Sprintf("(%[1]s != null && ((has(%[1]s.metadata.labels) && %[2]s.exists(k, k in %[1]s.metadata.labels)) || "+
			"(has(%[1]s.metadata.annotations) && %[3]q in %[1]s.metadata.annotations)))", obj, keys, annotationOrigin)
	}
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyNamespaceLabels),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("", "namespaces", admissionv1.Create, admissionv1.Update)}},
			MatchConditions:  []admissionv1.MatchCondition{{Name: "carries-tenant-keys", Expression: carries("object") + " || " + carries("oldObject")}},
			Variables: []admissionv1.Variable{
				{Name: "privileged", Expression: privilegedExpression(cfg)},
				{Name: "oldLabels", Expression: "oldObject != null && has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}"},
				{Name: "newLabels", Expression: "has(object.metadata.labels) ? object.metadata.labels : {}"},
				{Name: "oldOrigin", Expression: fmt.Sprintf("oldObject != null && has(oldObject.metadata.annotations) && %[1]q in oldObject.metadata.annotations ? oldObject.metadata.annotations[%[1]q] : ''", annotationOrigin)},
				{Name: "newOrigin", Expression: fmt.Sprintf("has(object.metadata.annotations) && %[1]q in object.metadata.annotations ? object.metadata.annotations[%[1]q] : ''", annotationOrigin)},
			},
			Validations: []admissionv1.Validation{{
				Expression: "variables.privileged || (variables.oldOrigin == variables.newOrigin && " + keys +
					".all(k, (k in variables.oldLabels) == (k in variables.newLabels) && (!(k in variables.oldLabels) || variables.oldLabels[k] == variables.newLabels[k])))",
				MessageExpression: "'Namespace ' + object.metadata.name + ': the labels rempart.io/tenant and rempart.io/environment and the annotation rempart.io/origin are written by Rempart only; " +
					"a namespace joins a tenant when its TenantIsolation lists it (FT-CLD-20).'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// dedicatedNodesPolicy refuses pods and templates of a tenant that would select, tolerate or name
// their way onto another tenant's dedicated nodes (routes D1-D3). Its one parameter, the
// operator's NamespaceOwnership, lists every enforced tenant's node pool.
func dedicatedNodesPolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyDedicatedNodes),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			ParamKind:        &admissionv1.ParamKind{APIVersion: rempartv1.GroupVersion.String(), Kind: "NamespaceOwnership"},
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: workloadRules()},
			MatchConditions:  templateChanged(),
			Variables: []admissionv1.Variable{
				{Name: "tenant", Expression: "has(namespaceObject.metadata.labels) && 'rempart.io/tenant' in namespaceObject.metadata.labels ? namespaceObject.metadata.labels['rempart.io/tenant'] : ''"},
				{Name: "others", Expression: "has(params.spec.dedicatedNodes) ? params.spec.dedicatedNodes.filter(p, p.tenant != variables.tenant) : []"},
				{Name: "podSpec", Expression: podSpecExpression},
				{Name: "selector", Expression: "has(variables.podSpec.nodeSelector) ? variables.podSpec.nodeSelector : {}"},
				{Name: "terms", Expression: "has(variables.podSpec.affinity) && has(variables.podSpec.affinity.nodeAffinity) && " +
					"has(variables.podSpec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution) ? " +
					"variables.podSpec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms : []"},
				{Name: "tolerations", Expression: "has(variables.podSpec.tolerations) ? variables.podSpec.tolerations : []"},
				{Name: "selected", Expression: "variables.others.filter(p, p.nodeSelector.exists(k, (k in variables.selector && variables.selector[k] == p.nodeSelector[k]) || " +
					"variables.terms.exists(t, has(t.matchExpressions) && t.matchExpressions.exists(e, e.key == k && e.operator == 'In' && has(e.values) && p.nodeSelector[k] in e.values))))"},
				{Name: "tolerated", Expression: "variables.others.filter(p, has(p.taintKeys) && size(p.taintKeys) > 0 && variables.tolerations.exists(t, " +
					"(has(t.key) && t.key != '') ? t.key in p.taintKeys : (has(t.operator) && t.operator == 'Exists')))"},
			},
			Validations: []admissionv1.Validation{
				{
					Expression: "size(variables.selected) == 0 && size(variables.tolerated) == 0",
					MessageExpression: podNameExpression + " + ' would run on nodes dedicated to tenant ' + " +
						"(size(variables.selected) > 0 ? variables.selected[0].tenant : variables.tolerated[0].tenant) + " +
						"': a pod may not select or tolerate another tenant\\'s dedicated nodes (FLX-3.6, FT-CLD-25).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "size(variables.others) == 0 || !has(variables.podSpec.nodeName) || variables.podSpec.nodeName == ''",
					MessageExpression: podNameExpression + " + ' sets spec.nodeName, which skips the scheduler and the taints of dedicated nodes: " +
						"let the scheduler place it (FLX-3.6, FT-CLD-25).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// dedicatedNodesBinding binds the dedicated-nodes policy to every tenant namespace.
func dedicatedNodesBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return admission.OwnershipBinding(policyDedicatedNodes, admissionv1.AllowAction, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpExists}}})
}

// dedicatedPools lists the node pools of enforced tenants, for the dedicated-nodes policy.
func dedicatedPools(tenants []rempartv1.TenantIsolation) []rempartv1.DedicatedNodePool {
	var out []rempartv1.DedicatedNodePool
	for i := range tenants {
		t := &tenants[i]
		if t.Spec.NodeIsolation == nil || t.Spec.Enforcement == rempartv1.EnforcementAudit || !t.DeletionTimestamp.IsZero() {
			continue
		}
		pool := rempartv1.DedicatedNodePool{Tenant: t.Name, NodeSelector: t.Spec.NodeIsolation.NodeSelector}
		for _, tol := range t.Spec.NodeIsolation.Tolerations {
			if tol.Key != "" {
				pool.TaintKeys = append(pool.TaintKeys, tol.Key)
			}
		}
		sort.Strings(pool.TaintKeys)
		out = append(out, pool)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out
}

// sharedPeers maps every namespace a tenant's flow matrix names as a peer, and no tenant holds,
// to the first tenant naming it: shared infrastructure no tenant may claim (route S4).
func sharedPeers(tenants []rempartv1.TenantIsolation, owners map[string]string) map[string]string {
	out := map[string]string{}
	add := func(ns rempartv1.NamespaceName, tenant string) {
		if _, held := owners[string(ns)]; held {
			return
		}
		if cur, ok := out[string(ns)]; !ok || tenant < cur {
			out[string(ns)] = tenant
		}
	}
	for i := range tenants {
		for _, f := range tenants[i].Spec.Network.Ingress {
			for _, ns := range f.FromNamespaces {
				add(ns, tenants[i].Name)
			}
		}
		for _, f := range tenants[i].Spec.Network.Egress {
			for _, ns := range f.ToNamespaces {
				add(ns, tenants[i].Name)
			}
		}
	}
	return out
}
