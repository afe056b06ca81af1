package compliancereport

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
)

const policyReportsAdmission = "rempart-compliance-reports"

// reportPolicy refuses any write to a ComplianceReport, its status included, from anyone but the
// operator (and cluster administrators, the break-glass group and the garbage collector): a
// report is evidence, and evidence is not edited by hand.
func reportPolicy(operatorUser, breakGlassGroup string) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	rule := admission.Rule(rempartv1.GroupVersion.Group, "compliancereports", admissionv1.Create, admissionv1.Update, admissionv1.Delete)
	rule.Rule.Resources = append(rule.Rule.Resources, "compliancereports/status")
	p := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: admission.SharedMeta(policyReportsAdmission),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{rule}},
			Validations: []admissionv1.Validation{{
				Expression: admission.Privileged(operatorUser, breakGlassGroup),
				MessageExpression: "'ComplianceReport ' + request.name + ' is written by Rempart from the policies\\' status and cannot be changed by ' + request.userInfo.username + " +
					"' (FT-CLD-28): change the policies instead, and the report follows.'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: admission.SharedMeta(policyReportsAdmission),
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policyReportsAdmission, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
	return p, b
}

const policyStatusAdmission = "rempart-policy-status"

// statusPolicy refuses a write to the status of any Rempart kind from anyone but the operator
// (and cluster administrators, the break-glass group): a status is the evidence the report is
// built from, so writing lastPassedRestoreTest or a Compliant control by hand would forge it.
func statusPolicy(operatorUser, breakGlassGroup string) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	rule := admission.Rule(rempartv1.GroupVersion.Group, "*/status", admissionv1.Update)
	p := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: admission.SharedMeta(policyStatusAdmission),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{rule}},
			// The report has its own policy, which guards all of it.
			MatchConditions: []admissionv1.MatchCondition{{Name: "not-a-report", Expression: "request.resource.resource != 'compliancereports'"}},
			Validations: []admissionv1.Validation{{
				Expression: admission.Privileged(operatorUser, breakGlassGroup),
				MessageExpression: "'The status of ' + request.kind.kind + ' ' + request.name + ' is the evidence Rempart writes from what it observed, and cannot be written by ' + request.userInfo.username + " +
					"' (FT-CLD-28): change the spec, or the cluster, and the operator re-evaluates it.'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: admission.SharedMeta(policyStatusAdmission),
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policyStatusAdmission, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
	return p, b
}
