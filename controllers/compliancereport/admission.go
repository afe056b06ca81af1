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
