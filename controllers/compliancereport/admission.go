package compliancereport

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
)

const policyReportsAdmission = "rempart-compliance-reports"

// operatorOnly is a policy refusing, to anyone but the operator (and cluster administrators, the
// break-glass group and the garbage collector), the requests rule matches, with message.
func operatorOnly(name string, rule admissionv1.NamedRuleWithOperations, conditions []admissionv1.MatchCondition, operatorUser, breakGlassGroup, message string) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	p := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: admission.SharedMeta(name),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{rule}},
			MatchConditions:  conditions,
			Validations: []admissionv1.Validation{{
				Expression:        admission.Privileged(operatorUser, breakGlassGroup),
				MessageExpression: message,
				Reason:            ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: admission.SharedMeta(name),
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
	return p, b
}

// reportPolicy refuses any write to a ComplianceReport, its status included, from anyone but the
// operator: a report is evidence, and evidence is not edited by hand.
func reportPolicy(operatorUser, breakGlassGroup string) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	rule := admission.Rule(rempartv1.GroupVersion.Group, "compliancereports", admissionv1.Create, admissionv1.Update, admissionv1.Delete)
	rule.Rule.Resources = append(rule.Rule.Resources, "compliancereports/status")
	return operatorOnly(policyReportsAdmission, rule, nil, operatorUser, breakGlassGroup,
		"'ComplianceReport ' + request.name + ' is written by Rempart from the policies\\' status and cannot be changed by ' + request.userInfo.username + "+
			"' (FT-CLD-28): change the policies instead, and the report follows.'")
}

const policyStatusAdmission = "rempart-policy-status"

// statusPolicy refuses a write to the status of any Rempart kind from anyone but the operator: a
// status is the evidence the report is built from, so writing lastPassedRestoreTest or a
// Compliant control by hand would forge it. The report has its own policy, which guards all of it.
func statusPolicy(operatorUser, breakGlassGroup string) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	return operatorOnly(policyStatusAdmission, admission.Rule(rempartv1.GroupVersion.Group, "*/status", admissionv1.Update),
		[]admissionv1.MatchCondition{{Name: "not-a-report", Expression: "request.resource.resource != 'compliancereports'"}},
		operatorUser, breakGlassGroup,
		"'The status of ' + request.kind.kind + ' ' + request.name + ' is the evidence Rempart writes from what it observed, and cannot be written by ' + request.userInfo.username + "+
			"' (FT-CLD-28): change the spec, or the cluster, and the operator re-evaluates it.'")
}
