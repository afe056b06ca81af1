package adminaccess

import (
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
)

// What the API server writes on the rights-bearing objects a person creates in a tenant
// namespace, so that those a grant's subject created can be removed when the grant ends.
const (
	// LabelCreatorStamped selects the stamped objects.
	LabelCreatorStamped = "rempart.io/creator-stamped"
	// AnnotationCreatedBy is the creator's username.
	AnnotationCreatedBy = "rempart.io/created-by"
	// AnnotationCreatedByGroups is the creator's groups, system groups left out, comma-separated.
	AnnotationCreatedByGroups = "rempart.io/created-by-groups"
)

// PolicyCreatorStamp stamps the creator; policyCreatorProtect keeps the stamp as written.
const (
	PolicyCreatorStamp   = "rempart-creator-stamp"
	policyCreatorProtect = "rempart-creator-stamp-protect"
)

// stampedResources are the objects through which a person can hand rights on, or keep them:
// bindings, roles and service accounts (deleting one invalidates every token issued for it).
// Long-lived token Secrets are refused outright (tokenPolicy).
func stampedResources(ops ...admissionv1.OperationType) []admissionv1.NamedRuleWithOperations {
	return []admissionv1.NamedRuleWithOperations{
		admission.Rule("rbac.authorization.k8s.io", "rolebindings", ops...),
		admission.Rule("rbac.authorization.k8s.io", "roles", ops...),
		admission.Rule("", "serviceaccounts", ops...),
	}
}

func tenantNamespaces() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpExists}}}
}

// notPlatform leaves out the operator, administrators, the cluster's controllers and the
// platform's accounts, whose objects no grant accounts for.
func notPlatform(cfg Config, operatorUser string) admissionv1.MatchCondition {
	return admissionv1.MatchCondition{Name: "a-person", Expression: fmt.Sprintf("!(%s) && !(request.userInfo.username in %s) && !request.userInfo.username.startsWith('system:serviceaccount:kube-system:')",
		admission.Privileged(operatorUser, cfg.BreakGlassGroup), admission.StringList(cfg.PlatformAccounts))}
}

// maxTokenSeconds bounds a service-account token a person requests in a tenant namespace: a
// token cannot be revoked but by deleting its service account, so this is how long it may
// outlive the grant under which it was requested.
const maxTokenSeconds = 3600

// policyTokens refuses the tokens a person could keep past their grant.
const policyTokens = "rempart-tenant-tokens"

// tokenPolicy refuses, to people in tenant namespaces, long-lived service-account token Secrets
// (they never expire) and requested tokens longer than an hour (FT-CLD-16, PAS-12.2).
func tokenPolicy(cfg Config, operatorUser string) *admissionv1.ValidatingAdmissionPolicy {
	forbidden := ptr.To(metav1.StatusReasonForbidden)
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyTokens),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{NamespaceSelector: tenantNamespaces(), ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule("", "secrets", admissionv1.Create, admissionv1.Update),
				admission.Rule("", "serviceaccounts/token", admissionv1.Create),
			}},
			MatchConditions: []admissionv1.MatchCondition{notPlatform(cfg, operatorUser)},
			Validations: []admissionv1.Validation{
				{
					Expression: "request.resource.resource != 'secrets' || !has(object.type) || object.type != 'kubernetes.io/service-account-token'",
					MessageExpression: "'Secret ' + object.metadata.name + ' would hold a service-account token that never expires: in a tenant namespace a person asks for a token of at most " +
						fmt.Sprint(maxTokenSeconds/60) + " minutes (kubectl create token), so that no right outlives an AdminAccess (FT-CLD-16, PAS-12.2).'",
					Reason: forbidden,
				},
				{
					Expression: fmt.Sprintf("request.subResource != 'token' || (has(object.spec.expirationSeconds) && object.spec.expirationSeconds <= %d)", maxTokenSeconds),
					MessageExpression: fmt.Sprintf("'A token for service account ' + request.name + ' is asked for ' + (has(object.spec.expirationSeconds) ? string(object.spec.expirationSeconds) + ' seconds' : 'no set duration') + "+
						"': in a tenant namespace a person asks for tokens of at most %d seconds, so that no right outlives an AdminAccess (FT-CLD-16, PAS-12.2).'", maxTokenSeconds),
					Reason: forbidden,
				},
			},
		},
	}
}

func tokenBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: admission.SharedMeta(policyTokens),
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policyTokens, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
}

// creatorStampPolicy writes who created the object, overwriting what the request said.
func creatorStampPolicy(cfg Config, operatorUser string) *admissionv1.MutatingAdmissionPolicy {
	groups := "has(request.userInfo.groups) ? request.userInfo.groups.filter(g, !g.startsWith('system:')).join(',') : ''"
	return &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(PolicyCreatorStamp),
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			FailurePolicy:      ptr.To(admissionv1.Fail),
			MatchConstraints:   &admissionv1.MatchResources{NamespaceSelector: tenantNamespaces(), ResourceRules: stampedResources(admissionv1.Create)},
			MatchConditions:    []admissionv1.MatchCondition{notPlatform(cfg, operatorUser)},
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			Mutations: []admissionv1.Mutation{{
				PatchType: admissionv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionv1.ApplyConfiguration{Expression: fmt.Sprintf(
					"Object{metadata: Object.metadata{labels: {%q: 'true'}, annotations: {%q: request.userInfo.username, %q: %s}}}",
					LabelCreatorStamped, AnnotationCreatedBy, AnnotationCreatedByGroups, groups)},
			}},
		},
	}
}

func creatorStampBinding() *admissionv1.MutatingAdmissionPolicyBinding {
	return &admissionv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: admission.SharedMeta(PolicyCreatorStamp),
		Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: PolicyCreatorStamp},
	}
}

// creatorProtectPolicy refuses a change of the stamp by anyone but the operator and
// administrators: a subject must not rename what they created to keep it past their grant.
func creatorProtectPolicy(cfg Config, operatorUser string) *admissionv1.ValidatingAdmissionPolicy {
	stamp := func(o string) string {
		return fmt.Sprintf("(has(%[1]s.metadata.labels) && %[2]q in %[1]s.metadata.labels ? %[1]s.metadata.labels[%[2]q] : '') + '|' + "+
			"(has(%[1]s.metadata.annotations) && %[3]q in %[1]s.metadata.annotations ? %[1]s.metadata.annotations[%[3]q] : '') + '|' + "+
			"(has(%[1]s.metadata.annotations) && %[4]q in %[1]s.metadata.annotations ? %[1]s.metadata.annotations[%[4]q] : '')",
			o, LabelCreatorStamped, AnnotationCreatedBy, AnnotationCreatedByGroups)
	}
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyCreatorProtect),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{NamespaceSelector: tenantNamespaces(), ResourceRules: stampedResources(admissionv1.Update)},
			MatchConditions: []admissionv1.MatchCondition{
				{Name: "not-privileged", Expression: "!(" + admission.Privileged(operatorUser, cfg.BreakGlassGroup) + ")"},
			},
			Validations: []admissionv1.Validation{{
				Expression: stamp("object") + " == " + stamp("oldObject"),
				MessageExpression: "request.kind.kind + ' ' + request.name + ' records who created it (" + AnnotationCreatedBy + "): the record is written by the API server and never changes, " +
					"so that what a grant\\'s subject created is removed when the grant ends (FT-CLD-16, PAS-12.2).'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

func creatorProtectBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: admission.SharedMeta(policyCreatorProtect),
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policyCreatorProtect, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
}
