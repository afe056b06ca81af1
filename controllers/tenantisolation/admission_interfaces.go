package tenantisolation

import (
	"fmt"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rempart-io/rempart/controllers/admission"
)

// Ingress controller families whose source-range annotations Rempart reads, and the annotations
// each honours, first one winning.
const (
	familyNginx   = "nginx"
	familyHAProxy = "haproxy"
)

var sourceRangeAnnotations = map[string][]string{
	familyNginx:   {"nginx.ingress.kubernetes.io/allowlist-source-range", "nginx.ingress.kubernetes.io/whitelist-source-range"},
	familyHAProxy: {"haproxy.org/allow-list", "haproxy.org/whitelist"},
}

// ingressFamily is the family of an IngressClass's controller, or "" when Rempart does not know
// which annotation restricts its sources.
func ingressFamily(controller string) string {
	switch {
	case controller == "k8s.io/ingress-nginx":
		return familyNginx
	case strings.HasPrefix(controller, "haproxy.org/ingress-controller"):
		return familyHAProxy
	}
	return ""
}

// ingressClassFamilies maps every IngressClass to its controller's family; unknown ones are left out.
func ingressClassFamilies(classes []networkingv1.IngressClass) map[string]string {
	out := map[string]string{}
	for _, c := range classes {
		if f := ingressFamily(c.Spec.Controller); f != "" {
			out[c.Name] = f
		}
	}
	return out
}

// ingressClassName is the class an Ingress asks for: spec.ingressClassName, else the legacy
// annotation. The API server fills in the default class before validation.
func ingressClassName(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations[ingressClassAnnotation]
}

// ingressSourceRanges reads an Ingress's source ranges as its controller does. known is false
// for a class Rempart does not know; conflict is true when two honoured annotations disagree.
func ingressSourceRanges(ing *networkingv1.Ingress, families map[string]string) (ranges []string, known, conflict bool) {
	family, known := families[ingressClassName(ing)]
	if !known {
		return nil, false, false
	}
	var first string
	found := false
	for _, key := range sourceRangeAnnotations[family] {
		v, ok := ing.Annotations[key]
		if !ok {
			continue
		}
		if !found {
			first, found = v, true
		} else if normalizeRanges(v) != normalizeRanges(first) {
			conflict = true
		}
	}
	if !found {
		return nil, true, conflict
	}
	for _, r := range strings.Split(first, ",") {
		if r = strings.TrimSpace(r); r != "" {
			ranges = append(ranges, r)
		}
	}
	return ranges, true, conflict
}

func normalizeRanges(v string) string {
	var parts []string
	for _, r := range strings.Split(v, ",") {
		if r = strings.TrimSpace(r); r != "" {
			parts = append(parts, r)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// annotationRangeExpression reads the winning annotation of a family, empty when none is set.
func annotationRangeExpression(family string) string {
	out := "''"
	keys := sourceRangeAnnotations[family]
	for i := len(keys) - 1; i >= 0; i-- {
		out = fmt.Sprintf("(%[1]q in variables.annotations ? variables.annotations[%[1]q] : %[2]s)", keys[i], out)
	}
	return out
}

// annotationConflictExpression is true when two annotations a family honours are both set with
// different values.
func annotationConflictExpression(family string) string {
	keys := sourceRangeAnnotations[family]
	var parts []string
	for i := 1; i < len(keys); i++ {
		parts = append(parts, fmt.Sprintf("(%[1]q in variables.annotations && %[2]q in variables.annotations && "+
			"variables.annotations[%[1]q].replace(' ', '') != variables.annotations[%[2]q].replace(' ', ''))", keys[0], keys[i]))
	}
	if len(parts) == 0 {
		return "false"
	}
	return strings.Join(parts, " || ")
}

// labelSelectorMatches is a CEL expression true when labels match the LabelSelector sel.
func labelSelectorMatches(sel, labels string) string {
	return fmt.Sprintf("((!has(%[1]s.matchLabels) || %[1]s.matchLabels.all(k, k in %[2]s && %[2]s[k] == %[1]s.matchLabels[k])) && "+
		"(!has(%[1]s.matchExpressions) || %[1]s.matchExpressions.all(e, e.operator == 'In' ? (e.key in %[2]s && %[2]s[e.key] in e.values) : "+
		"(e.operator == 'NotIn' ? !(e.key in %[2]s && %[2]s[e.key] in e.values) : (e.operator == 'Exists' ? e.key in %[2]s : !(e.key in %[2]s))))))", sel, labels)
}

// adminInterfacesPolicy refuses an administration interface reachable from outside the allowed
// source ranges (FT-CLD-19): never a NodePort, a LoadBalancer only restricted, an Ingress only of
// a known class whose controller's source-range annotation lies within the ranges (routes E5-E6).
func adminInterfacesPolicy(classes map[string]string) *admissionv1.ValidatingAdmissionPolicy {
	ingressRanges := fmt.Sprintf("variables.family == %q ? %s : (variables.family == %q ? %s : '')",
		familyNginx, annotationRangeExpression(familyNginx), familyHAProxy, annotationRangeExpression(familyHAProxy))
	conflict := fmt.Sprintf("(variables.family == %q && (%s)) || (variables.family == %q && (%s))",
		familyNginx, annotationConflictExpression(familyNginx), familyHAProxy, annotationConflictExpression(familyHAProxy))
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyAdminInterfaces),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			ParamKind:     paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule("", "services", admissionv1.Create, admissionv1.Update),
				admission.Rule("networking.k8s.io", "ingresses", admissionv1.Create, admissionv1.Update),
			}},
			Variables: []admissionv1.Variable{
				{Name: "allowed", Expression: "has(params.spec.adminInterfaces) && has(params.spec.adminInterfaces.allowedSourceRanges) ? params.spec.adminInterfaces.allowedSourceRanges : []"},
				{Name: "allowedText", Expression: "size(variables.allowed) > 0 ? variables.allowed.join(', ') : 'no range: none is allowed'"},
				{Name: "labels", Expression: "has(object.metadata.labels) ? object.metadata.labels : {}"},
				{Name: "stillAdmin", Expression: "has(params.spec.adminInterfaces) && " + labelSelectorMatches("params.spec.adminInterfaces.selector", "variables.labels")},
				{Name: "annotations", Expression: "has(object.metadata.annotations) ? object.metadata.annotations : {}"},
				{Name: "class", Expression: "request.kind.kind != 'Ingress' ? '' : (has(object.spec.ingressClassName) ? object.spec.ingressClassName : " +
					"('" + ingressClassAnnotation + "' in variables.annotations ? variables.annotations['" + ingressClassAnnotation + "'] : ''))"},
				{Name: "families", Expression: admission.StringMap(classes)},
				{Name: "family", Expression: "variables.class in variables.families ? variables.families[variables.class] : ''"},
				{Name: "ranges", Expression: "request.kind.kind == 'Service' ? (has(object.spec.loadBalancerSourceRanges) ? object.spec.loadBalancerSourceRanges : []) : " +
					"(" + ingressRanges + ").split(',').map(r, r.trim()).filter(r, r != '')"},
				{Name: "restricted", Expression: "size(variables.ranges) > 0 && variables.ranges.all(r, isCIDR(r) && variables.allowed.exists(a, cidr(a).containsCIDR(r)))"},
			},
			Validations: []admissionv1.Validation{
				{
					Expression: "request.operation != 'UPDATE' || variables.stillAdmin",
					MessageExpression: "request.kind.kind + ' ' + object.metadata.name + ' is an administration interface of tenant ' + params.metadata.name + " +
						"' and stays one: its labels cannot stop matching spec.adminInterfaces.selector; delete it and create a new one instead (FT-CLD-19).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression:        "request.kind.kind != 'Service' || object.spec.type != 'NodePort'",
					MessageExpression: "'Service ' + object.metadata.name + ' is an administration interface of tenant ' + params.metadata.name + ' and cannot be a NodePort, which opens it on every node (FT-CLD-19).'",
					Reason:            ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "request.kind.kind != 'Service' || object.spec.type != 'LoadBalancer' || (variables.restricted && has(object.spec.allocateLoadBalancerNodePorts) && !object.spec.allocateLoadBalancerNodePorts)",
					MessageExpression: "'Service ' + object.metadata.name + ' is an administration interface of tenant ' + params.metadata.name + " +
						"': a LoadBalancer must set loadBalancerSourceRanges within ' + variables.allowedText + ' and allocateLoadBalancerNodePorts: false (FT-CLD-19).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "request.kind.kind != 'Ingress' || variables.family != ''",
					MessageExpression: "'Ingress ' + object.metadata.name + ' is an administration interface of tenant ' + params.metadata.name + ' and uses ingress class \\'' + variables.class + " +
						"'\\', whose controller Rempart does not know how to restrict by source: use an ingress-nginx or HAProxy class (FT-CLD-19).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression:        "request.kind.kind != 'Ingress' || !(" + conflict + ")",
					MessageExpression: "'Ingress ' + object.metadata.name + ' sets two source-range annotations with different values; its controller would read only one: keep one (FT-CLD-19).'",
					Reason:            ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "request.kind.kind != 'Ingress' || variables.family == '' || variables.restricted",
					MessageExpression: "'Ingress ' + object.metadata.name + ' is an administration interface of tenant ' + params.metadata.name + " +
						"': restrict its sources with the annotation ' + (variables.family == 'nginx' ? 'nginx.ingress.kubernetes.io/allowlist-source-range' : 'haproxy.org/allow-list') + ' within ' + variables.allowedText + ' (FT-CLD-19).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}
