package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
