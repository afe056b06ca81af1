package certificatepolicy

import (
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func policy() *rempartv1.CertificatePolicy {
	return &rempartv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: "acme-tls"}, Spec: rempartv1.CertificatePolicySpec{
		Issuers: []rempartv1.IssuerRef{{Kind: "ClusterIssuer", Group: "cert-manager.io", Name: "rempart-ca"}}}}
}

func cert(name string, mutate func(*cmapi.Certificate)) *cmapi.Certificate {
	c := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-shop", Name: name}, Spec: cmapi.CertificateSpec{
		SecretName: name, IssuerRef: cmmeta.IssuerReference{Kind: "ClusterIssuer", Name: "rempart-ca"},
		PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256, RotationPolicy: cmapi.RotationPolicyAlways}}}
	if mutate != nil {
		mutate(c)
	}
	return c
}

func TestViolations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*cmapi.Certificate)
		want   []string
	}{
		{"conformant", nil, nil},
		// An unset rotationPolicy is cert-manager's default, Always since v1.18.
		{"defaults", func(c *cmapi.Certificate) { c.Spec.PrivateKey = nil }, []string{"RSA 2048"}},
		{"keeps its key", func(c *cmapi.Certificate) { c.Spec.PrivateKey.RotationPolicy = cmapi.RotationPolicyNever }, []string{"rotationPolicy must be Always"}},
		{"issuer kind defaults to Issuer", func(c *cmapi.Certificate) { c.Spec.IssuerRef.Kind = "" }, []string{"issuer Issuer/rempart-ca"}},
		{"too long", func(c *cmapi.Certificate) { c.Spec.Duration = &metav1.Duration{Duration: 91 * 24 * time.Hour} }, []string{"exceeds the policy's maximum"}},
		{"renews late", func(c *cmapi.Certificate) { c.Spec.RenewBefore = &metav1.Duration{Duration: time.Hour} }, []string{"later than the policy's"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Violations(cert("c", tt.mutate), policy().Spec)
			if len(got) != len(tt.want) {
				t.Fatalf("violations %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) || !strings.Contains(got[i], "FT-CLD-40") {
					t.Errorf("violation %q lacks %q or FT-CLD-40", got[i], w)
				}
			}
		})
	}
}

func TestIssuedOutOfPolicy(t *testing.T) {
	c := cert("c", nil)
	if IssuedOutOfPolicy(c, policy().Spec) != "" {
		t.Error("a never-issued certificate needs re-issuance")
	}
	c.Status.NotBefore = &metav1.Time{Time: now}
	c.Status.NotAfter = &metav1.Time{Time: now.Add(90 * 24 * time.Hour)}
	if why := IssuedOutOfPolicy(c, policy().Spec); why != "" {
		t.Errorf("a 90-day certificate under a 90-day policy: %s", why)
	}
	c.Status.NotAfter = &metav1.Time{Time: now.Add(365 * 24 * time.Hour)}
	if why := IssuedOutOfPolicy(c, policy().Spec); !strings.Contains(why, "longer than the policy's") {
		t.Errorf("a one-year certificate under a 90-day policy: %q", why)
	}
}

func TestDesiredCertificatesAndUncoveredHosts(t *testing.T) {
	cp := policy()
	class := "internal"
	ing := func(name string, tls ...networkingv1.IngressTLS) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-shop", Name: name}, Spec: networkingv1.IngressSpec{TLS: tls,
			Rules: []networkingv1.IngressRule{{Host: "a.example"}, {Host: "b.example"}}}}
	}
	both := ing("both", networkingv1.IngressTLS{Hosts: []string{"a.example", "b.example"}, SecretName: "both-tls"})
	mine := ing("mine", networkingv1.IngressTLS{Hosts: []string{"a.example"}, SecretName: "user-tls"})
	other := ing("other-class", networkingv1.IngressTLS{Hosts: []string{"a.example"}, SecretName: "other-tls"})
	other.Spec.IngressClassName = &class
	cp.Spec.IngressClasses = []string{"public"}
	other.Annotations = nil
	both.Spec.IngressClassName, mine.Spec.IngressClassName = ptrTo("public"), ptrTo("public")

	https := gwapiv1.HTTPSProtocolType
	gw := &gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-shop", Name: "edge"}, Spec: gwapiv1.GatewaySpec{Listeners: []gwapiv1.Listener{
		{Name: "api", Protocol: https, Hostname: ptrTo(gwapiv1.Hostname("api.example")), TLS: &gwapiv1.ListenerTLSConfig{CertificateRefs: []gwapiv1.SecretObjectReference{{Name: "edge-tls"}}}},
		{Name: "www", Protocol: https, Hostname: ptrTo(gwapiv1.Hostname("www.example")), TLS: &gwapiv1.ListenerTLSConfig{CertificateRefs: []gwapiv1.SecretObjectReference{{Name: "edge-tls"}}}},
		{Name: "plain", Protocol: gwapiv1.HTTPProtocolType, Hostname: ptrTo(gwapiv1.Hostname("plain.example"))},
		{Name: "passthrough", Protocol: gwapiv1.TLSProtocolType, Hostname: ptrTo(gwapiv1.Hostname("db.example")), TLS: &gwapiv1.ListenerTLSConfig{Mode: ptrTo(gwapiv1.TLSModePassthrough)}},
	}}}
	o := observed{policy: cp, ingresses: []*networkingv1.Ingress{both, mine, other}, gateways: []*gwapiv1.Gateway{gw}}
	got := desiredCertificates(cp, o.endpoints(), map[string]bool{"acme-shop/user-tls": true})
	if len(got) != 2 || got[1].Name != "edge-tls" || strings.Join(got[1].Spec.DNSNames, ",") != "api.example,www.example" {
		t.Fatalf("desired with a gateway %+v", got)
	}
	if hosts := uncoveredHosts(gatewayEndpoint(gw), func(s string) bool { return s == "edge-tls" }); strings.Join(hosts, ",") != "plain.example" {
		t.Errorf("uncovered gateway hosts %v, want the plain HTTP listener only", hosts)
	}
	got = got[:1]
	if len(got) != 1 || got[0].Name != "both-tls" || len(got[0].Spec.DNSNames) != 2 || got[0].Spec.PrivateKey.Size != 256 ||
		got[0].Spec.Duration.Duration != rempartv1.DefaultMaxDuration || got[0].Spec.IssuerRef.Kind != "ClusterIssuer" {
		t.Fatalf("desired %+v", got)
	}
	if hosts := uncoveredHosts(ingressEndpoint(mine), func(s string) bool { return s == "user-tls" }); len(hosts) != 1 || hosts[0] != "b.example" {
		t.Errorf("uncovered hosts of mine: %v", hosts)
	}
	cp.Spec.PrivateKey.Allowed = []rempartv1.AllowedKey{{Algorithm: "RSA", MinSize: 4096}}
	if k := defaultKey(cp.Spec); k.Algorithm != cmapi.RSAKeyAlgorithm || k.Size != 4096 || k.RotationPolicy != cmapi.RotationPolicyAlways {
		t.Errorf("default key for an RSA-only policy: %+v", k)
	}
}

func TestEvaluateExpiryAndNextBoundary(t *testing.T) {
	cp := policy()
	issued := func(name string, notAfter time.Duration, renewal *time.Duration) *cmapi.Certificate {
		c := cert(name, nil)
		c.Status.Conditions = []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue}}
		c.Status.NotBefore = &metav1.Time{Time: now.Add(-time.Hour)}
		c.Status.NotAfter = &metav1.Time{Time: now.Add(notAfter)}
		if renewal != nil {
			c.Status.RenewalTime = &metav1.Time{Time: now.Add(*renewal)}
		}
		return c
	}
	day := 24 * time.Hour
	soon := day
	fine := issued("fine", 60*day, ptrTo(30*day))
	renewing := issued("renewing", 10*day, &soon)
	stuck := issued("stuck", 10*day, nil)
	ev := evaluate(observed{policy: cp, certificates: []*cmapi.Certificate{fine, renewing, stuck}}, now)
	if missing, undeclared := compliance.Coverage(compliance.KindCertificatePolicy, ev.results); len(missing)+len(undeclared) > 0 {
		t.Errorf("evaluate and the catalog disagree: missing %v, undeclared %v", missing, undeclared)
	}
	expiry := (&rempartv1.PolicyStatus{Controls: ev.results}).Control("tls.expiry")
	if expiry.State != rempartv1.ControlNonCompliant || expiry.Evidence.Total != 1 || expiry.Evidence.Objects[0].Name != "stuck" {
		t.Errorf("expiry control %+v", expiry)
	}
	if !ev.next.Equal(now.Add(day)) {
		t.Errorf("next boundary %v, want the renewal in a day", ev.next)
	}
	if ev.nextExpiry == nil || !ev.nextExpiry.Time.Equal(now.Add(10*day)) {
		t.Errorf("next expiry %v", ev.nextExpiry)
	}
}

func ptrTo[T any](v T) *T { return &v }

// A violation of the issued certificate is answered by one re-issuance per revision: the
// certificate that answers it, still out of policy, names its issuer instead of asking again.
func TestReissuanceHappensOncePerRevision(t *testing.T) {
	spec := policy().Spec
	long := cert("c", func(c *cmapi.Certificate) {
		c.Status.NotBefore = &metav1.Time{Time: now}
		c.Status.NotAfter = &metav1.Time{Time: now.Add(spec.MaxCertificateDuration() + 24*time.Hour)}
		c.Status.Revision = ptr.To(3)
	})
	if reissuedOnce(long) {
		t.Fatal("a certificate never re-issued counts as re-issued")
	}
	if why := issuedViolation(long, spec); !strings.Contains(why, "re-issuance requested") {
		t.Errorf("before re-issuance: %q", why)
	}
	long.Annotations = map[string]string{AnnotationReissuedAt: "3"}
	if !reissuedOnce(long) {
		t.Error("a pending re-issuance of revision 3 would be asked again")
	}
	long.Status.Revision = ptr.To(4)
	if !reissuedOnce(long) {
		t.Error("revision 4, the answer to the request, would be re-issued again: an endless loop")
	}
	if why := issuedViolation(long, spec); !strings.Contains(why, "issuer ClusterIssuer/") || !strings.Contains(why, "stops") {
		t.Errorf("after re-issuance the violation does not name the issuer: %q", why)
	}
	long.Status.Revision = ptr.To(6)
	if reissuedOnce(long) {
		t.Error("a later revision, renewed on its own, may be re-issued once more")
	}
}

func TestIssuingConditionIsReplacedInPlace(t *testing.T) {
	conds := []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue},
		{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionFalse, Reason: "Failed"}}
	got := setCondition(conds, cmapi.CertificateCondition{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: "ManuallyTriggered"})
	if len(got) != 2 || got[1].Status != cmmeta.ConditionTrue || got[1].Reason != "ManuallyTriggered" {
		t.Errorf("conditions %+v: want the Issuing one replaced", got)
	}
}
