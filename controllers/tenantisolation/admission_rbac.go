package tenantisolation

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rempart-io/rempart/controllers/admission"
	"github.com/rempart-io/rempart/internal/privileges"
)

// rbacPolicy closes the back doors through which a tenant's admin hands rights on without an
// AdminAccess (FT-CLD-16, FT-CLD-18). For anyone but the operator, administrators and the
// platform's accounts, in the tenant's namespaces:
//   - a RoleBinding never names a system: identity (system:authenticated, system:serviceaccounts,
//     a User spelled system:serviceaccount:...) nor a service account of another namespace;
//   - it never binds a ClusterRole whose rules give write or admin rights (judged by rules: the
//     operator lists them from the cluster's ClusterRoles);
//   - a namespaced Role is bound to service accounts of its namespace only, since admission
//     cannot read the Role's rules from the binding;
//   - a Role never holds admin-level rules: "*", RBAC writes, escalate, bind, impersonate,
//     secrets, pods/exec and the other remote-execution subresources, service-account tokens.
//
// What a person creates this way is stamped with their name and removed when their grant ends.
func rbacPolicy(cfg AdmissionConfig, privilegedClusterRoles []string) *admissionv1.ValidatingAdmissionPolicy {
	forbidden := ptr.To(metav1.StatusReasonForbidden)
	binding := "request.resource.resource == 'rolebindings'"
	role := "request.resource.resource == 'roles'"
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyAdminBindings),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			ParamKind:     paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule("rbac.authorization.k8s.io", "rolebindings", admissionv1.Create, admissionv1.Update),
				admission.Rule("rbac.authorization.k8s.io", "roles", admissionv1.Create, admissionv1.Update),
			}},
			MatchConditions: []admissionv1.MatchCondition{{Name: "not-trusted",
				Expression: "!(" + privilegedExpression(cfg) + " || request.userInfo.username in " + admission.StringList(cfg.PlatformAccounts) + ")"}},
			Variables: []admissionv1.Variable{
				{Name: "subjects", Expression: binding + " && has(object.subjects) ? object.subjects : []"},
				{Name: "systemSubjects", Expression: "variables.subjects.filter(s, s.kind != 'ServiceAccount' && s.name.startsWith('system:'))"},
				{Name: "foreignAccounts", Expression: "variables.subjects.filter(s, s.kind == 'ServiceAccount' && has(s.namespace) && s.namespace != '' && s.namespace != request.namespace)"},
				{Name: "people", Expression: "variables.subjects.filter(s, s.kind != 'ServiceAccount')"},
				{Name: "rules", Expression: role + " && has(object.rules) ? object.rules : []"},
				{Name: "adminRules", Expression: "variables.rules.filter(r, " + adminRuleExpression + ")"},
			},
			Validations: []admissionv1.Validation{
				{
					Expression: "size(variables.systemSubjects) == 0 && size(variables.foreignAccounts) == 0",
					MessageExpression: "'RoleBinding ' + object.metadata.name + ' in a namespace of tenant ' + params.metadata.name + ' names ' + " +
						"(variables.systemSubjects + variables.foreignAccounts).map(s, s.kind + ' ' + (s.kind == 'ServiceAccount' ? s.namespace + '/' : '') + s.name).join(', ') + " +
						"': a tenant binds only its own service accounts and named people; system: identities and other namespaces\\' service accounts reach beyond the tenant (FT-CLD-16, FT-CLD-20).'",
					Reason: forbidden,
				},
				{
					Expression: "!(" + binding + ") || object.roleRef.kind != 'ClusterRole' || !(object.roleRef.name in " + admission.StringList(privilegedClusterRoles) + ")",
					MessageExpression: "'RoleBinding ' + object.metadata.name + ' binds ClusterRole ' + object.roleRef.name + ', which gives write or admin rights, in a namespace of tenant ' + params.metadata.name + " +
						"': such rights on a tenant are granted through an AdminAccess, nominative, approved and time-bound (FT-CLD-16, FT-CLD-18).'",
					Reason: forbidden,
				},
				{
					Expression: "!(" + binding + ") || object.roleRef.kind != 'Role' || size(variables.people) == 0",
					MessageExpression: "'RoleBinding ' + object.metadata.name + ' binds Role ' + object.roleRef.name + ' to ' + variables.people.map(s, s.kind + ' ' + s.name).join(', ') + " +
						"' in a namespace of tenant ' + params.metadata.name + ': people receive rights on a tenant through an AdminAccess; a Role is bound to this namespace\\'s service accounts only (FT-CLD-16, FT-CLD-18).'",
					Reason: forbidden,
				},
				{
					Expression: "size(variables.adminRules) == 0",
					MessageExpression: "'Role ' + object.metadata.name + ' in a namespace of tenant ' + params.metadata.name + ' gives admin rights (' + " +
						"variables.adminRules.map(r, (has(r.verbs) ? r.verbs.join('/') : '') + ' on ' + (has(r.resources) ? r.resources.join('/') : '')).join('; ') + " +
						"'): \"*\", RBAC writes, escalate, bind, impersonate, secrets, pods/exec and service-account tokens are granted through an AdminAccess only (FT-CLD-16).'",
					Reason: forbidden,
				},
			},
		},
	}
}

// adminRuleExpression is true for a policy rule r that gives admin-level rights, as
// privileges.RuleLevel judges them: the admission policy and the report agree.
var adminRuleExpression = "(has(r.verbs) && r.verbs.exists(v, v == '*' || v in " + admission.StringList(privileges.EscalatingVerbs) + ")) || " +
	"(has(r.resources) && r.resources.exists(x, x == '*' || x in " + admission.StringList(privileges.RemoteAccessResources) + ")) || " +
	"(has(r.resources) && r.resources.exists(x, x == 'secrets') && !(has(r.resourceNames) && size(r.resourceNames) > 0)) || " +
	"(has(r.resources) && has(r.verbs) && r.resources.exists(x, x in " + admission.StringList(privileges.RBACResources) + ") && r.verbs.exists(v, v in " + admission.StringList(privileges.WriteVerbs) + "))"
