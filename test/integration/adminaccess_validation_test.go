package integration

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func accessManifest(name string, mutate func(spec map[string]any)) *unstructured.Unstructured {
	spec := map[string]any{
		"subject":   map[string]any{"name": "alice@acme.example"},
		"tenants":   []any{"acme-production"},
		"reason":    "INC-4242: database failover stuck",
		"notBefore": "2030-01-01T06:00:00Z",
		"expires":   "2030-01-01T12:00:00Z",
	}
	if mutate != nil {
		mutate(spec)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(rempartv1.GroupVersion.String())
	u.SetKind("AdminAccess")
	u.SetName(name)
	return u
}

func TestAdminAccessRefusesBadInput(t *testing.T) {
	tests := []badInput{
		{"missing reason", func(s map[string]any) { delete(s, "reason") }, "spec.reason: Required value"},
		{"short reason", func(s map[string]any) { s["reason"] = "fix" }, "reason must give the ticket"},
		{"self-approval", func(s map[string]any) { s["approvedBy"] = "alice@acme.example" }, "approvedBy must be another person than the subject"},
		{"empty approver", func(s map[string]any) { s["approvedBy"] = "" }, "spec.approvedBy"},
		{"approver name too long", func(s map[string]any) { s["approvedBy"] = strings.Repeat("b", 513) }, "spec.approvedBy: Too long"},
		{"missing expiry", func(s map[string]any) { delete(s, "expires") }, "spec.expires: Required value"},
		{"expires before notBefore", func(s map[string]any) { s["notBefore"] = "2030-01-01T13:00:00Z" }, "expires must come after notBefore"},
		{"expires at notBefore", func(s map[string]any) { s["notBefore"] = "2030-01-01T12:00:00Z" }, "expires must come after notBefore"},
		{"longer than a year", func(s map[string]any) { s["notBefore"] = "2028-12-01T12:00:00Z" }, "a grant lasts at most 366 days"},
		{"standing without review", func(s map[string]any) { s["standing"] = true }, "a standing grant needs reviewedAt"},
		{"group without justification", func(s map[string]any) { s["subject"] = map[string]any{"kind": "Group", "name": "acme:oncall"} }, "a Group subject is not nominative"},
		{"service account subject", func(s map[string]any) { s["subject"] = map[string]any{"kind": "ServiceAccount", "name": "deployer"} }, `Unsupported value: "ServiceAccount"`},
		{"system identity", func(s map[string]any) { s["subject"] = map[string]any{"name": "system:serviceaccount:ci:deployer"} }, "system: identities are not people"},
		{"no scope", func(s map[string]any) { delete(s, "tenants") }, "a grant covers tenants or namespaces"},
		{"cluster namespace", func(s map[string]any) { s["namespaces"] = []any{"kube-system"} }, "belong to the cluster"},
		{"break-glass with a scope", func(s map[string]any) { s["breakGlass"] = true }, "only breakGlass covers the whole cluster"},
		{"bad tenant name", func(s map[string]any) { s["tenants"] = []any{"Acme Production"} }, "spec.tenants[0]: Invalid value"},
		{"bad namespace", func(s map[string]any) { s["namespaces"] = []any{"-x"} }, "spec.namespaces[0]: Invalid value"},
		{"bad role name", func(s map[string]any) { s["role"] = "Cluster Admin" }, "spec.role: Invalid value"},
		{"bad expiry", func(s map[string]any) { s["expires"] = "tomorrow" }, "spec.expires"},
		{"unknown enforcement", func(s map[string]any) { s["enforcement"] = "Block" }, `Unsupported value: "Block"`},
	}
	expectRefused(t, tests, accessManifest)
}

// The base of the bad-input cases, and its standing and break-glass variants, are accepted: each
// refusal above is due to its one change.
func TestAdminAccessAcceptsValidGrants(t *testing.T) {
	ensureGrantRoles(t)
	asker := as(t, "carl@acme.example", requestersGroup)
	for name, mutate := range map[string]func(map[string]any){
		"temporary": nil,
		"standing": func(s map[string]any) {
			s["standing"], s["reviewedAt"], s["notBefore"] = true, "2029-06-01T00:00:00Z", "2029-06-01T00:00:00Z"
		},
		"standing-from-now": func(s map[string]any) {
			delete(s, "notBefore")
			s["standing"], s["reviewedAt"], s["expires"] = true, "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"
		},
		"justified-group": func(s map[string]any) {
			s["subject"] = map[string]any{"kind": "Group", "name": "acme:oncall"}
			s["groupJustification"] = "rotation of named engineers, listed in the on-call tool"
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := asker.Create(context.Background(), accessManifest("valid-"+name, mutate), client.DryRunAll); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
	// Break-glass, asked for by a member of the break-glass group for herself.
	glass := accessManifest("valid-break-glass", func(s map[string]any) { delete(s, "tenants"); s["breakGlass"] = true })
	if err := as(t, "alice@acme.example", requestersGroup, "rempart:break-glass").Create(context.Background(), glass, client.DryRunAll); err != nil {
		t.Errorf("break-glass refused: %v", err)
	}
}
