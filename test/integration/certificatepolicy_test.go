package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/certificatepolicy"
)

func newCertificatePolicy(name, tenant string) *rempartv1.CertificatePolicy {
	return &rempartv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rempartv1.CertificatePolicySpec{
		Tenants: &rempartv1.TenantSelection{Names: []rempartv1.TenantName{rempartv1.TenantName(tenant)}},
		Issuers: []rempartv1.IssuerRef{{Kind: "ClusterIssuer", Group: "cert-manager.io", Name: "rempart-ca"}},
	}}
}

func certificate(ns, name string, mutate func(*cmapi.CertificateSpec)) *cmapi.Certificate {
	c := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: cmapi.CertificateSpec{
		SecretName: name + "-tls", DNSNames: []string{name + ".example.com"},
		IssuerRef:  cmmeta.IssuerReference{Kind: "ClusterIssuer", Name: "rempart-ca"},
		PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384, RotationPolicy: cmapi.RotationPolicyAlways},
	}}
	if mutate != nil {
		mutate(&c.Spec)
	}
	return c
}

func TestCertificatePolicyRefusesNonConformantCertificates(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "tls-shop")
	create(t, newCertificatePolicy("tls-shop", "tls-shop"))
	t.Cleanup(func() {
		_ = env.Client.Delete(ctx, &rempartv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: "tls-shop"}})
	})

	refused := map[string]struct {
		mutate func(*cmapi.CertificateSpec)
		want   []string
	}{
		"cert-manager-defaults": {func(s *cmapi.CertificateSpec) { s.PrivateKey = nil }, []string{"asks for a RSA 2048 key", "ECDSA P-256, ECDSA P-384, RSA 3072+", "FT-CLD-40"}},
		"rsa-2048": {func(s *cmapi.CertificateSpec) {
			s.PrivateKey.Algorithm, s.PrivateKey.Size = cmapi.RSAKeyAlgorithm, 2048
		}, []string{"RSA 2048 key"}},
		"p-521": {func(s *cmapi.CertificateSpec) { s.PrivateKey.Size = 521 }, []string{"ECDSA 521 key"}},
		"ed25519": {func(s *cmapi.CertificateSpec) {
			s.PrivateKey.Algorithm, s.PrivateKey.Size = cmapi.Ed25519KeyAlgorithm, 0
		}, []string{"Ed25519 key"}},
		"no-rotation":          {func(s *cmapi.CertificateSpec) { s.PrivateKey.RotationPolicy = cmapi.RotationPolicyNever }, []string{"rotationPolicy: Never"}},
		"one-year":             {func(s *cmapi.CertificateSpec) { s.Duration = &metav1.Duration{Duration: 8760 * time.Hour} }, []string{"longer than the 2160h"}},
		"late-renewal":         {func(s *cmapi.CertificateSpec) { s.RenewBefore = &metav1.Duration{Duration: 24 * time.Hour} }, []string{"renews later than 720h"}},
		"default-late-renewal": {func(s *cmapi.CertificateSpec) { s.Duration = &metav1.Duration{Duration: 720 * time.Hour} }, []string{"renews later than 720h"}},
		"other-issuer":         {func(s *cmapi.CertificateSpec) { s.IssuerRef = cmmeta.IssuerReference{Kind: "Issuer", Name: "homemade"} }, []string{"comes from Issuer homemade", "ClusterIssuer rempart-ca"}},
	}
	for name, tt := range refused {
		t.Run(name, func(t *testing.T) {
			eventuallyRefused(t, env.Client, certificate(ns, name, tt.mutate), tt.want...)
		})
	}
	for name, mutate := range map[string]func(*cmapi.CertificateSpec){
		"p-384": nil,
		"p-256": func(s *cmapi.CertificateSpec) { s.PrivateKey.Size = 256 },
		"rsa-4096": func(s *cmapi.CertificateSpec) {
			s.PrivateKey.Algorithm, s.PrivateKey.Size = cmapi.RSAKeyAlgorithm, 4096
		},
		"short": func(s *cmapi.CertificateSpec) {
			s.Duration, s.RenewBefore = &metav1.Duration{Duration: 2000 * time.Hour}, &metav1.Duration{Duration: 800 * time.Hour}
		},
	} {
		if err := env.Client.Create(ctx, certificate(ns, name, mutate)); err != nil {
			t.Errorf("conformant certificate %s refused: %v", name, err)
		}
	}
}

func TestCertificatePolicyProvidesCertificatesForIngressHosts(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "tls-web")
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: networkingv1.IngressSpec{
		TLS:   []networkingv1.IngressTLS{{Hosts: []string{"www.acme.example", "acme.example"}, SecretName: "web-tls"}},
		Rules: []networkingv1.IngressRule{{Host: "www.acme.example"}, {Host: "acme.example"}, {Host: "plain.acme.example"}},
	}}
	create(t, ing)
	cp := newCertificatePolicy("tls-web", "tls-web")
	create(t, cp)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, cp) })

	var cert cmapi.Certificate
	eventually(t, "the operator's Certificate for web-tls", func(ctx context.Context) error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-tls"}, &cert)
	})
	if cert.Spec.SecretName != "web-tls" || len(cert.Spec.DNSNames) != 2 || cert.Spec.IssuerRef.Name != "rempart-ca" ||
		cert.Spec.PrivateKey.Algorithm != cmapi.ECDSAKeyAlgorithm || cert.Spec.PrivateKey.Size != 256 ||
		cert.Spec.PrivateKey.RotationPolicy != cmapi.RotationPolicyAlways || cert.Labels[rempartv1.LabelManagedBy] != rempartv1.ManagedByValue {
		t.Errorf("provided certificate %+v", cert.Spec)
	}
	var ingAfter networkingv1.Ingress
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ing), &ingAfter); err != nil || ingAfter.Generation != 1 {
		t.Errorf("the Ingress was changed (generation %d, %v)", ingAfter.Generation, err)
	}
	var evaluated []rempartv1.ControlResult
	eventually(t, "the policy's status", func(ctx context.Context) error {
		var got rempartv1.CertificatePolicy
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), &got); err != nil {
			return err
		}
		hosts := got.Status.Control("tls.ingress-hosts")
		readyCtl := got.Status.Control("tls.certificates-ready")
		if got.Status.CertificateCount != 1 || hosts.State != rempartv1.ControlNonCompliant || !strings.Contains(hosts.Message, "plain.acme.example") ||
			strings.Contains(hosts.Message, "www.acme.example") || readyCtl.State != rempartv1.ControlNonCompliant {
			return fmt.Errorf("count %d; hosts %s %s; ready %s", got.Status.CertificateCount, hosts.State, hosts.Message, readyCtl.State)
		}
		evaluated = got.Status.Controls
		return nil
	})
	assertCatalogued(t, evaluated)
}

// With Gateway API installed, a terminating HTTPS listener whose Secret no Certificate issues gets
// one, and a plain HTTP listener with a hostname is reported.
func TestCertificatePolicyCoversGatewayListeners(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "tls-gateway")
	hostname := func(h string) *gwapiv1.Hostname { v := gwapiv1.Hostname(h); return &v }
	gw := &gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "edge"}, Spec: gwapiv1.GatewaySpec{
		GatewayClassName: "platform",
		Listeners: []gwapiv1.Listener{
			{Name: "api", Port: 443, Protocol: gwapiv1.HTTPSProtocolType, Hostname: hostname("api.acme.example"),
				TLS: &gwapiv1.ListenerTLSConfig{CertificateRefs: []gwapiv1.SecretObjectReference{{Name: "edge-tls"}}}},
			{Name: "plain", Port: 80, Protocol: gwapiv1.HTTPProtocolType, Hostname: hostname("plain.acme.example")},
		}}}
	create(t, gw)
	cp := newCertificatePolicy("tls-gateway", "tls-gateway")
	create(t, cp)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, cp) })
	var cert cmapi.Certificate
	eventually(t, "the operator's Certificate for edge-tls", func(ctx context.Context) error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "edge-tls"}, &cert)
	})
	if len(cert.Spec.DNSNames) != 1 || cert.Spec.DNSNames[0] != "api.acme.example" {
		t.Errorf("certificate for the listener: %+v", cert.Spec)
	}
	eventually(t, "the plain listener reported", func(ctx context.Context) error {
		var got rempartv1.CertificatePolicy
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cp), &got); err != nil {
			return err
		}
		hosts := got.Status.Control("tls.ingress-hosts")
		if !strings.Contains(hosts.Message, "Gateway "+ns+"/edge (plain.acme.example)") || strings.Contains(hosts.Message, "api.acme.example") {
			return fmt.Errorf("%s: %s", hosts.State, hosts.Message)
		}
		return nil
	})

	// Deleting the policy keeps the Certificate it created (renewals go on), released with a
	// Warning Event.
	if len(cert.OwnerReferences) != 0 {
		t.Errorf("the Certificate is owned by %+v: the garbage collector would delete it with the policy", cert.OwnerReferences)
	}
	if err := env.Client.Delete(ctx, cp); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Certificate orphaned, not deleted", func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "edge-tls"}, &cert); err != nil {
			return err
		}
		if cert.Annotations[certificatepolicy.AnnotationOrphanedFrom] != "tls-gateway" || cert.Labels[certificatepolicy.LabelPolicy] != "" {
			return fmt.Errorf("labels %v, annotations %v", cert.Labels, cert.Annotations)
		}
		var events eventsv1.EventList
		if err := env.Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Reason == "CertificateOrphaned" && e.Regarding.Name == "edge-tls" && e.Type == corev1.EventTypeWarning {
				return nil
			}
		}
		return fmt.Errorf("no CertificateOrphaned event")
	})
}
