package integration

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func certificatePolicyManifest(name string, mutate func(spec map[string]any)) *unstructured.Unstructured {
	spec := map[string]any{
		"tenants": map[string]any{"names": []any{"acme-production"}},
		"issuers": []any{map[string]any{"name": "rempart-ca"}},
	}
	if mutate != nil {
		mutate(spec)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(rempartv1.GroupVersion.String())
	u.SetKind("CertificatePolicy")
	u.SetName(name)
	return u
}

func TestCertificatePolicyRefusesBadInput(t *testing.T) {
	key := func(k map[string]any) map[string]any { return map[string]any{"allowed": []any{k}} }
	tests := []badInput{
		{"unknown algorithm", func(s map[string]any) { s["privateKey"] = key(map[string]any{"algorithm": "DSA"}) }, `Unsupported value: "DSA"`},
		{"RSA below the ANSSI floor", func(s map[string]any) { s["privateKey"] = key(map[string]any{"algorithm": "RSA", "minSize": 1024}) }, "at least 2048 bits"},
		{"RSA without a size", func(s map[string]any) { s["privateKey"] = key(map[string]any{"algorithm": "RSA"}) }, "RSA needs minSize"},
		{"P-224", func(s map[string]any) {
			s["privateKey"] = key(map[string]any{"algorithm": "ECDSA", "curves": []any{224}})
		}, "Unsupported value: 224"},
		{"ECDSA without curves", func(s map[string]any) { s["privateKey"] = key(map[string]any{"algorithm": "ECDSA"}) }, "ECDSA needs curves"},
		{"no allowed key", func(s map[string]any) { s["privateKey"] = map[string]any{"allowed": []any{}} }, "spec.privateKey.allowed"},
		{"negative max duration", func(s map[string]any) { s["maxDuration"] = "-1h" }, "maxDuration must be longer than an hour"},
		{"not a duration", func(s map[string]any) { s["maxDuration"] = "ninety days" }, "spec.maxDuration"},
		{"negative renew before", func(s map[string]any) { s["minRenewBefore"] = "-24h" }, "minRenewBefore must be positive"},
		{"renew before longer than the lifetime", func(s map[string]any) { s["maxDuration"] = "720h"; s["minRenewBefore"] = "1000h" }, "minRenewBefore must be shorter than maxDuration"},
		{"warning longer than the lifetime", func(s map[string]any) {
			s["maxDuration"] = "240h"
			s["minRenewBefore"] = "24h"
			s["expiryWarning"] = "300h"
		}, "expiryWarning must be shorter than maxDuration"},
		{"no issuer with requireIngressTLS", func(s map[string]any) { delete(s, "issuers") }, "requireIngressTLS needs at least one allowed issuer"},
		{"default issuer not allowed", func(s map[string]any) { s["defaultIssuer"] = map[string]any{"name": "letsencrypt"} }, "defaultIssuer must be one of the allowed issuers"},
		{"unknown issuer kind", func(s map[string]any) { s["issuers"] = []any{map[string]any{"name": "ca", "kind": "Vault"}} }, `Unsupported value: "Vault"`},
		{"bad issuer name", func(s map[string]any) { s["issuers"] = []any{map[string]any{"name": "Rempart CA"}} }, "spec.issuers[0].name"},
		{"covers nothing", func(s map[string]any) { delete(s, "tenants") }, "say which certificates the policy covers"},
		{"require TLS not a boolean", func(s map[string]any) { s["requireIngressTLS"] = "yes" }, "spec.requireIngressTLS"},
		{"rotation not a boolean", func(s map[string]any) { s["privateKey"] = map[string]any{"requireRotation": "always"} }, "spec.privateKey.requireRotation"},
		{"rotateAll too long", func(s map[string]any) { s["rotateAll"] = string(make([]byte, 200)) }, "spec.rotateAll"},
		{"unknown enforcement", func(s map[string]any) { s["enforcement"] = "Block" }, `Unsupported value: "Block"`},
	}
	expectRefused(t, tests, certificatePolicyManifest)
}

func TestCertificatePolicyDefaultsFollowANSSI(t *testing.T) {
	u := certificatePolicyManifest("defaults-anssi", nil)
	if err := env.Client.Create(context.Background(), u, client.DryRunAll); err != nil {
		t.Fatalf("a minimal policy was refused: %v", err)
	}
	var cp rempartv1.CertificatePolicy
	if err := env.Client.Scheme().Convert(u, &cp, nil); err != nil {
		t.Fatal(err)
	}
	allowed := cp.Spec.PrivateKey.Allowed
	if len(allowed) != 2 || allowed[0].Algorithm != "ECDSA" || len(allowed[0].Curves) != 2 || allowed[1].Algorithm != "RSA" || allowed[1].MinSize != 3072 {
		t.Errorf("default keys %+v, want ECDSA P-256/P-384 and RSA 3072", allowed)
	}
	if cp.Spec.MaxDuration == nil || cp.Spec.MaxDuration.Hours() != 2160 || cp.Spec.MinRenewBefore.Hours() != 720 || cp.Spec.ExpiryWarning.Hours() != 336 ||
		cp.Spec.RequireIngressTLS == nil || !*cp.Spec.RequireIngressTLS || cp.Spec.PrivateKey.RequireRotation == nil || !*cp.Spec.PrivateKey.RequireRotation {
		t.Errorf("defaults %+v", cp.Spec)
	}
	if cp.Spec.Issuers[0].Kind != "ClusterIssuer" || cp.Spec.Issuers[0].Group != "cert-manager.io" {
		t.Errorf("issuer defaults %+v", cp.Spec.Issuers[0])
	}
}
