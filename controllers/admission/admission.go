// Package admission holds the small builders every controller's admission policies share.
package admission

import (
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// SharedMeta is the metadata of a policy or binding shared by every policy object of a kind.
func SharedMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: map[string]string{rempartv1.LabelManagedBy: rempartv1.ManagedByValue}}
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

// Privileged is a CEL expression true for the requests allowed to change what the operator
// manages: the operator itself, cluster administrators (system:masters) and the break-glass
// group, and the controllers that delete objects with their namespace or owner.
func Privileged(operatorUser, breakGlassGroup string) string {
	return fmt.Sprintf("request.userInfo.username in [%q, 'system:serviceaccount:kube-system:namespace-controller', 'system:serviceaccount:kube-system:generic-garbage-collector'] || "+
		"(has(request.userInfo.groups) && ('system:masters' in request.userInfo.groups || %q in request.userInfo.groups))",
		operatorUser, breakGlassGroup)
}
