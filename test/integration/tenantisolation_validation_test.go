package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func tenantManifest(name string, mutate func(spec map[string]any)) *unstructured.Unstructured {
	spec := map[string]any{"namespaces": []any{name + "-app"}, "environment": "production"}
	if mutate != nil {
		mutate(spec)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(rempartv1.GroupVersion.String())
	u.SetKind("TenantIsolation")
	u.SetName(name)
	return u
}

func TestTenantIsolationRefusesBadInput(t *testing.T) {
	flow := func(extra map[string]any) map[string]any {
		f := map[string]any{"name": "web", "fromNamespaces": []any{"ingress-nginx"}}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}
	tests := []badInput{
		{"no namespace", func(s map[string]any) { s["namespaces"] = []any{} }, "spec.namespaces: Invalid value"},
		{"missing namespaces", func(s map[string]any) { delete(s, "namespaces") }, "spec.namespaces: Required value"},
		{"bad namespace name", func(s map[string]any) { s["namespaces"] = []any{"Acme_Web"} }, "spec.namespaces[0]: Invalid value"},
		{"namespace listed twice", func(s map[string]any) { s["namespaces"] = []any{"a", "a"} }, "Duplicate value"},
		{"unknown environment", func(s map[string]any) { s["environment"] = "prod" }, `Unsupported value: "prod"`},
		{"missing environment", func(s map[string]any) { delete(s, "environment") }, "spec.environment: Required value"},
		{"unknown pod security level", func(s map[string]any) { s["podSecurity"] = map[string]any{"level": "strict"} }, `Unsupported value: "strict"`},
		{"bad pod security version", func(s map[string]any) { s["podSecurity"] = map[string]any{"version": "1.37"} }, "spec.podSecurity.version: Invalid value"},
		{"unknown deletion policy", func(s map[string]any) { s["deletionPolicy"] = "Purge" }, `Unsupported value: "Purge"`},
		{"unknown enforcement", func(s map[string]any) { s["enforcement"] = "Block" }, `Unsupported value: "Block"`},
		{"duplicate flow names", func(s map[string]any) {
			s["network"] = map[string]any{"ingress": []any{flow(nil), flow(map[string]any{"fromNamespaces": []any{"monitoring"}})}}
		}, "Duplicate value"},
		{"bad flow name", func(s map[string]any) {
			s["network"] = map[string]any{"ingress": []any{flow(map[string]any{"name": "From Ingress"})}}
		}, "spec.network.ingress[0].name: Invalid value"},
		{"ingress flow from nowhere", func(s map[string]any) {
			s["network"] = map[string]any{"ingress": []any{map[string]any{"name": "nowhere"}}}
		}, "an ingress flow needs fromNamespaces or fromNamespaceSelector"},
		{"egress flow to nowhere", func(s map[string]any) {
			s["network"] = map[string]any{"egress": []any{map[string]any{"name": "nowhere"}}}
		}, "an egress flow needs toNamespaces, toNamespaceSelector or toCIDRs"},
		{"invalid CIDR", func(s map[string]any) {
			s["network"] = map[string]any{"egress": []any{map[string]any{"name": "db", "toCIDRs": []any{"10.0.0.0/33"}}}}
		}, "must be a CIDR such as 10.0.0.0/8"},
		{"port zero", func(s map[string]any) {
			s["network"] = map[string]any{"ingress": []any{flow(map[string]any{"ports": []any{map[string]any{"port": 0}}})}}
		}, "should be greater than or equal to 1"},
		{"port too high", func(s map[string]any) {
			s["network"] = map[string]any{"ingress": []any{flow(map[string]any{"ports": []any{map[string]any{"port": 70000}}})}}
		}, "should be less than or equal to 65535"},
		{"unknown protocol", func(s map[string]any) {
			s["network"] = map[string]any{"ingress": []any{flow(map[string]any{"ports": []any{map[string]any{"port": 443, "protocol": "ICMP"}}})}}
		}, `Unsupported value: "ICMP"`},
		{"default deny not a boolean", func(s map[string]any) { s["network"] = map[string]any{"defaultDeny": "yes"} }, "spec.network.defaultDeny: Invalid value"},
		{"bad storage class name", func(s map[string]any) {
			s["storage"] = map[string]any{"allowedStorageClasses": []any{"Fast SSD"}}
		}, "spec.storage.allowedStorageClasses[0]: Invalid value"},
		{"admin interfaces without selector", func(s map[string]any) { s["adminInterfaces"] = map[string]any{} }, "spec.adminInterfaces.selector: Required value"},
		{"admin source range not a CIDR", func(s map[string]any) {
			s["adminInterfaces"] = map[string]any{"selector": map[string]any{}, "allowedSourceRanges": []any{"office"}}
		}, "must be a CIDR such as 10.0.0.0/8"},
		{"empty node selector", func(s map[string]any) { s["nodeIsolation"] = map[string]any{"nodeSelector": map[string]any{}} }, "spec.nodeIsolation.nodeSelector: Invalid value"},
		{"bad quota quantity", func(s map[string]any) { s["quota"] = map[string]any{"pods": "lots"} }, "spec.quota.pods"},
		{"bad limit type", func(s map[string]any) { s["limits"] = []any{map[string]any{"type": 42}} }, "spec.limits[0].type"},
		{"short exception reason", func(s map[string]any) {
			s["exceptions"] = []any{map[string]any{"control": "network.default-deny", "reason": "because", "approvedBy": "x", "expires": "2027-01-01T00:00:00Z"}}
		}, "reason must explain the derogation"},
	}
	expectRefused(t, tests, tenantManifest)
}

func TestTenantNameMustFitALabel(t *testing.T) {
	err := env.Client.Create(context.Background(), tenantManifest(strings.Repeat("a", 64), func(s map[string]any) { s["namespaces"] = []any{"short-app"} }))
	if err == nil || !strings.Contains(err.Error(), "at most 63 lowercase letters") {
		t.Fatalf("a 64-character tenant name: %v, want a refusal", err)
	}
}

func TestEnvironmentCannotChangeWhileEnforced(t *testing.T) {
	create(t, newTenant("env-fixed", rempartv1.EnvironmentProduction, "env-fixed-app"))
	t.Cleanup(func() { deleteTenant(t, "env-fixed") })
	var err error
	eventually(t, "an update that is not a conflict", func(ctx context.Context) error {
		var ti rempartv1.TenantIsolation
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "env-fixed"}, &ti); err != nil {
			return err
		}
		ti.Spec.Environment = rempartv1.EnvironmentDevelopment
		err = env.Client.Update(ctx, &ti)
		if apierrors.IsConflict(err) {
			return err
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "environment cannot change while enforced") || !strings.Contains(err.Error(), "FT-CLD-25") {
		t.Fatalf("changing the environment: %v, want a refusal naming FT-CLD-25", err)
	}
}

// badInput is one spec change the API server must refuse, and a fragment of its message.
type badInput struct {
	name   string
	mutate func(spec map[string]any)
	want   string
}

// expectRefused creates, for every case, the manifest build returns and checks the API server
// refuses it as invalid, with the expected message, and that nothing was created.
func expectRefused(t *testing.T, tests []badInput, build func(name string, mutate func(map[string]any)) *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Built again rather than copied: the cases hold plain ints, which DeepCopy refuses.
			manifest := build(fmt.Sprintf("invalid-%d", i), nil)
			err := env.Client.Create(ctx, build(manifest.GetName(), tt.mutate))
			if err == nil {
				_ = env.Client.Delete(ctx, manifest)
				t.Fatalf("the API server accepted %s", tt.name)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("refusal is not a validation error: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("refusal %q does not contain %q", err, tt.want)
			}
			existing := &unstructured.Unstructured{}
			existing.SetGroupVersionKind(manifest.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(manifest), existing); !apierrors.IsNotFound(err) {
				t.Errorf("a refused object exists (get: %v)", err)
			}
		})
	}
}
