package certificatepolicy

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/scope"
)

const policyCertificates = "rempart-certificates"

// certificatePolicy refuses, in covered namespaces, Certificates whose key, rotation, lifetime or
// issuer the CertificatePolicy (the parameter) does not allow. cert-manager's defaults are applied
// as it applies them: RSA 2048 when no key is given, 90 days, renewal at a third of the duration.
func certificatePolicy() *admissionv1.ValidatingAdmissionPolicy {
	forbidden := ptr.To(metav1.StatusReasonForbidden)
	name := "'Certificate ' + object.metadata.name"
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyCertificates),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			ParamKind:     &admissionv1.ParamKind{APIVersion: rempartv1.GroupVersion.String(), Kind: "CertificatePolicy"},
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule("cert-manager.io", "certificates", admissionv1.Create, admissionv1.Update)}},
			Variables: []admissionv1.Variable{
				{Name: "alg", Expression: "object.spec.?privateKey.?algorithm.orValue('RSA')"},
				{Name: "size", Expression: "object.spec.?privateKey.?size.orValue(variables.alg == 'RSA' ? 2048 : (variables.alg == 'ECDSA' ? 256 : 0))"},
				{Name: "allowed", Expression: "params.spec.?privateKey.?allowed.orValue([])"},
				{Name: "keyOK", Expression: "variables.allowed.exists(a, a.algorithm == variables.alg && " +
					"(variables.alg == 'RSA' ? variables.size >= a.?minSize.orValue(0) : (variables.alg == 'ECDSA' ? a.?curves.orValue([]).exists(c, c == variables.size) : true)))"},
				{Name: "allowedText", Expression: "variables.allowed.map(a, a.algorithm == 'RSA' ? 'RSA ' + string(a.?minSize.orValue(0)) + '+' : " +
					"(a.algorithm == 'ECDSA' ? a.?curves.orValue([]).map(c, 'ECDSA P-' + string(c)).join(', ') : a.algorithm)).join(', ')"},
				{Name: "duration", Expression: "duration(object.spec.?duration.orValue('2160h'))"},
				{Name: "minRenew", Expression: "duration(params.spec.?minRenewBefore.orValue('720h'))"},
				{Name: "renewOK", Expression: "has(object.spec.renewBefore) ? duration(object.spec.renewBefore) >= variables.minRenew : " +
					"variables.duration >= variables.minRenew + variables.minRenew + variables.minRenew"},
				{Name: "issuerKind", Expression: "object.spec.issuerRef.?kind.orValue('Issuer')"},
				{Name: "issuerGroup", Expression: "object.spec.issuerRef.?group.orValue('cert-manager.io')"},
				{Name: "issuers", Expression: "params.spec.?issuers.orValue([])"},
			},
			Validations: []admissionv1.Validation{
				{
					Expression: "variables.keyOK",
					MessageExpression: name + " + ' asks for a ' + variables.alg + (variables.alg == 'Ed25519' ? '' : ' ' + string(variables.size)) + " +
						"' key, which CertificatePolicy ' + params.metadata.name + ' does not allow: use ' + variables.allowedText + ' (FT-CLD-40, ANSSI).'",
					Reason: forbidden,
				},
				{
					Expression:        "!params.spec.?privateKey.?requireRotation.orValue(true) || object.spec.?privateKey.?rotationPolicy.orValue('Always') in ['Always', '']",
					MessageExpression: name + " + ' must not set privateKey.rotationPolicy: Never; leave it unset or Always, a new key at every renewal, as CertificatePolicy ' + params.metadata.name + ' requires (FT-CLD-40).'",
					Reason:            forbidden,
				},
				{
					Expression: "variables.duration <= duration(params.spec.?maxDuration.orValue('2160h'))",
					MessageExpression: name + " + ' lives ' + string(variables.duration) + ', longer than the ' + params.spec.?maxDuration.orValue('2160h') + " +
						"' CertificatePolicy ' + params.metadata.name + ' allows: set spec.duration (FT-CLD-40).'",
					Reason: forbidden,
				},
				{
					Expression: "variables.renewOK",
					MessageExpression: name + " + ' renews later than ' + params.spec.?minRenewBefore.orValue('720h') + ' before it expires, as CertificatePolicy ' + params.metadata.name + " +
						"' requires: set spec.renewBefore (FT-CLD-40).'",
					Reason: forbidden,
				},
				{
					Expression: "variables.issuers.exists(i, i.?kind.orValue('ClusterIssuer') == variables.issuerKind && i.?group.orValue('cert-manager.io') == variables.issuerGroup && i.name == object.spec.issuerRef.name)",
					MessageExpression: name + " + ' comes from ' + variables.issuerKind + ' ' + object.spec.issuerRef.name + ', which CertificatePolicy ' + params.metadata.name + " +
						"' does not allow: use ' + variables.issuers.map(i, i.?kind.orValue('ClusterIssuer') + ' ' + i.name).join(', ') + ' (FT-CLD-40).'",
					Reason: forbidden,
				},
			},
		},
	}
}

// bindings bind the policy to the covered namespaces with the CertificatePolicy as parameter.
func bindings(cp *rempartv1.CertificatePolicy, s scope.Scope) []*admissionv1.ValidatingAdmissionPolicyBinding {
	var out []*admissionv1.ValidatingAdmissionPolicyBinding
	selectors := s.Selectors()
	for _, kind := range []string{"tenants", "namespaces"} {
		sel, ok := selectors[kind]
		if !ok {
			continue
		}
		out = append(out, &admissionv1.ValidatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
			ObjectMeta: apply.Generated("CertificatePolicy", cp, "", policyCertificates+"."+cp.Name+"."+kind, LabelPolicy, cp.Name),
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        policyCertificates,
				ParamRef:          &admissionv1.ParamRef{Name: cp.Name, ParameterNotFoundAction: ptr.To(admissionv1.DenyAction)},
				MatchResources:    &admissionv1.MatchResources{NamespaceSelector: sel},
				ValidationActions: admission.Actions(cp.Spec.Enforcement),
			},
		})
	}
	return out
}
