package tenantisolation

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
)

func bindingNames(bs []*admissionv1.ValidatingAdmissionPolicyBinding) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	return strings.Join(out, ",")
}

func TestTenantBindingsFollowTheSpec(t *testing.T) {
	ti := tenant("acme", rempartv1.EnvironmentProduction, "acme-web")
	if got := bindingNames(tenantBindings(ti)); got != "rempart-tenant-storage.acme,rempart-tenant-workload-storage.acme,rempart-tenant-exposure.acme,rempart-tenant-network-policies.acme,rempart-tenant-admin-bindings.acme" {
		t.Errorf("default bindings = %s", got)
	}
	ti.Spec.Storage.RequireEncryption = ptr.To(false)
	ti.Spec.AdminInterfaces = &rempartv1.AdminInterfaces{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"admin": "true"}}}
	ti.Spec.NodeIsolation = &rempartv1.NodeIsolation{NodeSelector: map[string]string{"pool": "acme"}}
	bs := tenantBindings(ti)
	if got := bindingNames(bs); got != "rempart-tenant-exposure.acme,rempart-tenant-network-policies.acme,rempart-tenant-admin-interfaces.acme,rempart-tenant-node-isolation.acme,rempart-tenant-admin-bindings.acme" {
		t.Fatalf("bindings = %s", got)
	}
	for _, b := range bs {
		if b.Spec.ParamRef.Name != "acme" || b.Spec.MatchResources.NamespaceSelector.MatchLabels[rempartv1.LabelTenant] != "acme" {
			t.Errorf("%s is not scoped to the tenant: %+v", b.Name, b.Spec)
		}
		if len(b.Spec.ValidationActions) != 1 || b.Spec.ValidationActions[0] != admissionv1.Deny {
			t.Errorf("%s actions = %v, want Deny when enforced", b.Name, b.Spec.ValidationActions)
		}
		if b.OwnerReferences[0].Name != "acme" {
			t.Errorf("%s is not owned by the tenant", b.Name)
		}
	}
	if bs[2].Spec.MatchResources.ObjectSelector.MatchLabels["admin"] != "true" {
		t.Error("the admin interface binding does not select the tenant's admin interfaces")
	}

	ti.Spec.Enforcement = rempartv1.EnforcementAudit
	for _, b := range tenantBindings(ti) {
		if got := b.Spec.ValidationActions; len(got) != 2 || got[0] != admissionv1.Warn || got[1] != admissionv1.Audit {
			t.Errorf("%s actions in Audit mode = %v, want Warn and Audit", b.Name, got)
		}
	}
}

func TestSharedPoliciesNameTheirRequirements(t *testing.T) {
	want := map[string]string{
		policyStorage: "FT-CLD-21", policyAdminInterfaces: "FT-CLD-19", policyNodeIsolation: "FLX-3.6",
		policyProtectManaged: "FT-CLD-20", policyProtectNS: "FT-CLD-20", policyClaims: "FT-CLD-20", policyReservedClaims: "FT-CLD-20",
		policyAdminBindings: "FT-CLD-16", policyExposure: "FT-CLD-", policyNetworkPolicies: "FT-CLD-20",
		policyWorkloadStorage: "FT-CLD-21", policyNamespaceLabels: "FT-CLD-20", policyDedicatedNodes: "FLX-3.6",
	}
	policies := sharedPolicies(AdmissionConfig{OperatorUser: "system:serviceaccount:rempart-system:rempart"}, BuiltinPrivilegedRoles, nil)
	if len(policies) != len(want) {
		t.Fatalf("%d policies, want %d", len(policies), len(want))
	}
	for _, p := range policies {
		if *p.Spec.FailurePolicy != admissionv1.Fail {
			t.Errorf("%s fails open", p.Name)
		}
		for _, v := range p.Spec.Validations {
			if !strings.Contains(v.MessageExpression, want[p.Name]) {
				t.Errorf("%s: a refusal does not name %s: %s", p.Name, want[p.Name], v.MessageExpression)
			}
		}
	}
	privileged := privilegedExpression(AdmissionConfig{OperatorUser: "system:serviceaccount:ops:guard"})
	for _, who := range []string{"system:serviceaccount:ops:guard", "system:masters", admission.DefaultBreakGlassGroup, "namespace-controller", "generic-garbage-collector"} {
		if !strings.Contains(privileged, who) {
			t.Errorf("the privileged expression does not exempt %s: %s", who, privileged)
		}
	}
}
