package adminaccess

import (
	"context"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
	"github.com/rempart-io/rempart/controllers/apply"
)

// policyApproval guards AdminAccess objects themselves.
const policyApproval = "rempart-admin-access-approval"

// policyScope keeps a grant out of the namespaces of tenants it does not name.
const policyScope = "rempart-admin-access-scope"

// scopePolicy refuses a grant that names namespaces held by a tenant the grant does not name, read
// from the operator's NamespaceOwnership (FT-CLD-16).
func scopePolicy(operatorUser string) *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyScope),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			ParamKind:     &admissionv1.ParamKind{APIVersion: rempartv1.GroupVersion.String(), Kind: "NamespaceOwnership"},
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule(rempartv1.GroupVersion.Group, "adminaccesses", admissionv1.Create, admissionv1.Update)}},
			MatchConditions: []admissionv1.MatchCondition{
				{Name: "not-the-operator", Expression: fmt.Sprintf("request.userInfo.username != %q", operatorUser)},
				{Name: "names-namespaces", Expression: "has(object.spec.namespaces) && size(object.spec.namespaces) > 0"},
			},
			Variables: []admissionv1.Variable{
				{Name: "owners", Expression: "params != null && has(params.spec.owners) ? params.spec.owners : {}"},
				{Name: "tenants", Expression: "has(object.spec.tenants) ? object.spec.tenants : []"},
				{Name: "otherTenants", Expression: "object.spec.namespaces.filter(n, n in variables.owners && !(variables.owners[n] in variables.tenants))"},
			},
			Validations: []admissionv1.Validation{
				{
					Expression: "size(variables.otherTenants) == 0",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' names namespaces of tenants it does not name: ' + " +
						"variables.otherTenants.map(n, n + ' (tenant ' + variables.owners[n] + ')').join(', ') + '. Name the tenant, so its report counts the grant (FT-CLD-16, PAS-12.2).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// scopeBinding: without the ownership index no namespace belongs to a tenant yet.
func scopeBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return admission.OwnershipBinding(policyScope, admissionv1.AllowAction, nil)
}

// approvalPolicy refuses, in the API server, a grant asked for by its own subject, an extension
// without a new approver, a role the settings do not allow, and a temporary grant longer than the
// settings allow. CEL has no clock: on creation the API server has set creationTimestamp before
// validating admission runs, so it stands for "now" when notBefore is unset.
func approvalPolicy(cfg Config, operatorUser string) *admissionv1.ValidatingAdmissionPolicy {
	roles := append(append([]string(nil), BuiltinRoles...), cfg.ExtraRoles...)
	forbidden := ptr.To(metav1.StatusReasonForbidden)
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyApproval),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule(rempartv1.GroupVersion.Group, "adminaccesses", admissionv1.Create, admissionv1.Update)}},
			MatchConditions: []admissionv1.MatchCondition{
				// The operator only writes finalizers and status; a change that leaves the spec
				// as it was (labels, finalizers) is not a new request for access.
				{Name: "not-the-operator", Expression: fmt.Sprintf("request.userInfo.username != %q", operatorUser)},
				{Name: "spec-changed", Expression: "request.operation == 'CREATE' || object.spec != oldObject.spec"},
			},
			Variables: []admissionv1.Variable{
				{Name: "start", Expression: "has(object.spec.notBefore) ? timestamp(object.spec.notBefore) : timestamp(object.metadata.creationTimestamp)"},
				{Name: "role", Expression: "has(object.spec.role) ? object.spec.role : 'admin'"},
				{Name: "reserved", Expression: "has(object.spec.namespaces) ? object.spec.namespaces.filter(n, n in " + admission.StringList(cfg.ReservedNamespaces) + ") : []"},
			},
			Validations: []admissionv1.Validation{
				{
					// Admin in the operator's namespace yields the token every protection exempts.
					Expression: "size(variables.reserved) == 0",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' names ' + variables.reserved.join(', ') + " +
						"', reserved to the platform: admin there reaches every tenant (FT-CLD-16, PAS-12.2).'",
					Reason: forbidden,
				},
				{
					Expression: "request.userInfo.username != object.spec.subject.name && " +
						"!(has(object.spec.subject.kind) && object.spec.subject.kind == 'Group' && has(request.userInfo.groups) && object.spec.subject.name in request.userInfo.groups)",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' grants rights to ' + request.userInfo.username + ', who is asking for it: a grant is requested and approved by other people than its subject (FT-CLD-16, PAS-12.2).'",
					Reason:            forbidden,
				},
				{
					Expression:        "request.operation != 'UPDATE' || timestamp(object.spec.expires) <= timestamp(oldObject.spec.expires) || object.spec.approvedBy != oldObject.spec.approvedBy",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' is lengthened without a new approval: set approvedBy to the person approving the extension (FT-CLD-16, PAS-12.2).'",
					Reason:            forbidden,
				},
				{
					Expression: "variables.role in " + admission.StringList(roles),
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' grants role ' + variables.role + ', which may not be granted: use one of " +
						fmt.Sprintf("%v", roles) + ", or ask the platform team to allow it (FT-CLD-16).'",
					Reason: forbidden,
				},
				{
					Expression:        fmt.Sprintf("(has(object.spec.standing) && object.spec.standing) || timestamp(object.spec.expires) - variables.start <= duration('%s')", cfg.Limits.MaxTemporary),
					MessageExpression: fmt.Sprintf("'AdminAccess ' + object.metadata.name + ' lasts longer than a temporary grant may (%s): shorten it, or make it a standing grant with a yearly review (FT-CLD-14, FT-CLD-17).'", cfg.Limits.MaxTemporary),
					Reason:            forbidden,
				},
			},
		},
	}
}

func approvalBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: admission.SharedMeta(policyApproval),
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policyApproval,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
}

// ensureApproval puts the approval policy and its binding in place.
func (r *Reconciler) ensureApproval(ctx context.Context) error {
	return errors.Join(
		apply.IfChanged(ctx, r.Client, approvalPolicy(r.Config, r.OperatorUser), nil),
		apply.IfChanged(ctx, r.Client, approvalBinding(), nil),
		apply.IfChanged(ctx, r.Client, scopePolicy(r.OperatorUser), nil),
		apply.IfChanged(ctx, r.Client, scopeBinding(), nil),
	)
}
