package admission

import (
	"fmt"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

// SharedMeta is the metadata of a policy or binding shared by every policy object of a kind.
func SharedMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: apply.ManagedLabels()}
}

// Rule matches a resource of a group, at every version, for the given operations.
func Rule(group, resource string, ops ...admissionv1.OperationType) admissionv1.NamedRuleWithOperations {
	return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
		Operations: ops,
		Rule:       admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: []string{resource}},
	}}
}

// StringList renders strings as a CEL list literal.
func StringList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// Actions are the binding's validation actions: refuse when enforced, warn and audit otherwise.
func Actions(mode rempartv1.EnforcementMode) []admissionv1.ValidationAction {
	if mode == rempartv1.EnforcementAudit {
		return []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}
	}
	return []admissionv1.ValidationAction{admissionv1.Deny}
}

// DefaultBreakGlassGroup is the break-glass group when the operator's settings name none.
const DefaultBreakGlassGroup = "rempart:break-glass"

// Privileged is a CEL expression true for the requests allowed to change what the operator
// manages: the operator itself, cluster administrators (system:masters) and the break-glass
// group, and the controllers that delete objects with their namespace or owner.
func Privileged(operatorUser, breakGlassGroup string) string {
	return fmt.Sprintf("request.userInfo.username in [%q, 'system:serviceaccount:kube-system:namespace-controller', 'system:serviceaccount:kube-system:generic-garbage-collector'] || "+
		"(has(request.userInfo.groups) && ('system:masters' in request.userInfo.groups || %q in request.userInfo.groups))",
		operatorUser, breakGlassGroup)
}

// StringMap renders a string map as a CEL map literal, its keys sorted.
func StringMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := make([]string, len(keys))
	for i, k := range keys {
		entries[i] = fmt.Sprintf("%q: %q", k, m[k])
	}
	return "{" + strings.Join(entries, ", ") + "}"
}

// OwnershipBinding binds a policy, cluster-wide or to the namespaces selected, with the operator's
// NamespaceOwnership as its parameter; notFound says what a request meets before the operator has
// written it.
func OwnershipBinding(policy string, notFound admissionv1.ParameterNotFoundActionType, namespaces *metav1.LabelSelector) *admissionv1.ValidatingAdmissionPolicyBinding {
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: SharedMeta(policy),
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy,
			ParamRef:          &admissionv1.ParamRef{Name: rempartv1.NamespaceOwnershipName, ParameterNotFoundAction: &notFound},
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	if namespaces != nil {
		b.Spec.MatchResources = &admissionv1.MatchResources{NamespaceSelector: namespaces}
	}
	return b
}
