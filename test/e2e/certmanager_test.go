package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/localcluster"
)

// caIssuer makes a self-signed root and a CA ClusterIssuer from it, as a platform would.
func caIssuer(t *testing.T, c client.Client, name string) {
	t.Helper()
	ctx := context.Background()
	bootstrap := &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name + "-bootstrap"},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}}
	root := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: localcluster.CertManagerNamespace, Name: name + "-root"},
		Spec: cmapi.CertificateSpec{IsCA: true, CommonName: name + " root", SecretName: name + "-root",
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384},
			IssuerRef:  cmmeta.IssuerReference{Kind: "ClusterIssuer", Name: bootstrap.Name}}}
	ca := &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: root.Spec.SecretName}}}}
	for _, obj := range []client.Object{bootstrap, root, ca} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), obj) })
	}
	waitFor(t, "ClusterIssuer "+name+" Ready", time.Minute, func(ctx context.Context) (bool, error) {
		var got cmapi.ClusterIssuer
		if err := c.Get(ctx, client.ObjectKeyFromObject(ca), &got); err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == cmapi.IssuerConditionReady {
				return cond.Status == cmmeta.ConditionTrue, fmt.Errorf("%s: %s", cond.Reason, cond.Message)
			}
		}
		return false, fmt.Errorf("no Ready condition")
	})
}

// readyCertificate waits until a Certificate is Ready and returns the key in its Secret.
func issuedKey(t *testing.T, c client.Client, namespace, name string) any {
	t.Helper()
	var cert cmapi.Certificate
	waitFor(t, "Certificate "+name+" Ready", time.Minute, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cert); err != nil {
			return false, err
		}
		for _, cond := range cert.Status.Conditions {
			if cond.Type == cmapi.CertificateConditionReady {
				return cond.Status == cmmeta.ConditionTrue, fmt.Errorf("%s: %s", cond.Reason, cond.Message)
			}
		}
		return false, fmt.Errorf("no Ready condition")
	})
	var secret corev1.Secret
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: cert.Spec.SecretName}, &secret); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(secret.Data[corev1.TLSPrivateKeyKey])
	if block == nil {
		t.Fatalf("secret %s holds no PEM key", secret.Name)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k, err2 := x509.ParseECPrivateKey(block.Bytes); err2 == nil {
			return k
		}
		if k, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
			return k
		}
		t.Fatalf("parse key of %s: %v", secret.Name, err)
	}
	return key
}

// cert-manager's own controllers, run by our runner, issue a real certificate from a CA
// ClusterIssuer with the key the Certificate asks for.
func TestCertManagerIssuesFromACAClusterIssuer(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	caIssuer(t, c, "e2e-ca")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-certificates"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	cert := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "shop"},
		Spec: cmapi.CertificateSpec{DNSNames: []string{"shop.example.com"}, SecretName: "shop-tls",
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256, RotationPolicy: cmapi.RotationPolicyAlways},
			IssuerRef:  cmmeta.IssuerReference{Kind: "ClusterIssuer", Name: "e2e-ca"}}}
	if err := c.Create(ctx, cert); err != nil {
		t.Fatal(err)
	}
	key, ok := issuedKey(t, c, ns.Name, "shop").(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Fatalf("issued key %T, want ECDSA P-256", key)
	}
}

// A CertificatePolicy on a tenant: the operator provides the Certificate for an Ingress's TLS
// secret, real cert-manager issues it with the policy's key, a rotate-all request gives it a new
// key, and a too-weak Certificate is refused.
func TestCertificatePolicyWithRealCertManager(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	caIssuer(t, c, "e2e-policy-ca")
	ns := residencyTenant(t, c, "tls-tenant", []rempartv1.Jurisdiction{"EU"})
	cp := &rempartv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: "tls-tenant"}, Spec: rempartv1.CertificatePolicySpec{
		Tenants: &rempartv1.TenantSelection{Names: []rempartv1.TenantName{"tls-tenant"}},
		Issuers: []rempartv1.IssuerRef{{Name: "e2e-policy-ca"}},
	}}
	if err := c.Create(ctx, cp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), cp) })
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}, Spec: networkingv1.IngressSpec{
		TLS:   []networkingv1.IngressTLS{{Hosts: []string{"shop.acme.example"}, SecretName: "shop-tls"}},
		Rules: []networkingv1.IngressRule{{Host: "shop.acme.example"}}}}
	if err := c.Create(ctx, ing); err != nil {
		t.Fatal(err)
	}
	first, ok := issuedKey(t, c, ns, "shop-tls").(*ecdsa.PrivateKey)
	if !ok || first.Curve != elliptic.P256() {
		t.Fatalf("issued key %T, want ECDSA P-256, the policy's first allowed key", first)
	}
	waitFor(t, "the policy Compliant", time.Minute, func(ctx context.Context) (bool, error) {
		var got rempartv1.CertificatePolicy
		if err := c.Get(ctx, client.ObjectKeyFromObject(cp), &got); err != nil {
			return false, err
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, rempartv1.ConditionCompliant)
		return cond != nil && cond.Status == metav1.ConditionTrue && got.Status.NextExpiry != nil && got.Status.CertificateCount == 1,
			fmt.Errorf("compliant %+v, controls %+v", cond, got.Status.Controls)
	})

	checkAlertsAgainstMetrics(t, "RempartCertificateExpiringSoon", "RempartCertificateInRenewalWindow")

	// Key compromised: rotate every certificate once.
	waitFor(t, "request a rotation", 30*time.Second, func(ctx context.Context) (bool, error) {
		var got rempartv1.CertificatePolicy
		if err := c.Get(ctx, client.ObjectKeyFromObject(cp), &got); err != nil {
			return false, err
		}
		got.Spec.RotateAll = "SEC-77"
		err := c.Update(ctx, &got)
		return err == nil, err
	})
	waitFor(t, "a new key in shop-tls", time.Minute, func(ctx context.Context) (bool, error) {
		var got rempartv1.CertificatePolicy
		if err := c.Get(ctx, client.ObjectKeyFromObject(cp), &got); err != nil {
			return false, err
		}
		if got.Status.RotatedAll != "SEC-77" {
			return false, fmt.Errorf("rotation not carried out yet")
		}
		key, ok := issuedKey(t, c, ns, "shop-tls").(*ecdsa.PrivateKey)
		return ok && !key.Equal(first), fmt.Errorf("same key")
	})

	weak := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "weak"}, Spec: cmapi.CertificateSpec{
		SecretName: "weak-tls", DNSNames: []string{"weak.acme.example"}, IssuerRef: cmmeta.IssuerReference{Kind: "ClusterIssuer", Name: "e2e-policy-ca"},
		PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048, RotationPolicy: cmapi.RotationPolicyAlways}}}
	// The admission policy takes effect a moment after its binding is written.
	waitFor(t, "an RSA 2048 Certificate refused", 30*time.Second, func(ctx context.Context) (bool, error) {
		err := c.Create(ctx, weak.DeepCopy(), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "FT-CLD-40") && strings.Contains(err.Error(), "RSA 2048"), err
	})

	// The policy deleted, its Certificate stays, released, and cert-manager still renews it.
	rotated := issuedKey(t, c, ns, "shop-tls").(*ecdsa.PrivateKey)
	if err := c.Delete(ctx, cp); err != nil {
		t.Fatal(err)
	}
	var cert cmapi.Certificate
	waitFor(t, "shop-tls released, not deleted", time.Minute, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop-tls"}, &cert); err != nil {
			return false, err
		}
		return cert.Annotations["rempart.io/orphaned-from"] == "tls-tenant", fmt.Errorf("annotations %v", cert.Annotations)
	})
	// The garbage collector has had its chance: the Certificate is still there.
	time.Sleep(3 * time.Second)
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop-tls"}, &cert); err != nil {
		t.Fatalf("the released Certificate is gone: %v", err)
	}
	now := metav1.Now()
	cert.Status.Conditions = append(cert.Status.Conditions, cmapi.CertificateCondition{Type: cmapi.CertificateConditionIssuing,
		Status: cmmeta.ConditionTrue, Reason: "ManuallyTriggered", Message: "renewal after release", LastTransitionTime: &now})
	if err := c.Status().Update(ctx, &cert); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the released Certificate renewed", time.Minute, func(ctx context.Context) (bool, error) {
		key, ok := issuedKey(t, c, ns, "shop-tls").(*ecdsa.PrivateKey)
		return ok && !key.Equal(rotated), fmt.Errorf("same key")
	})
}
