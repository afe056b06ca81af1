package scale

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
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
	"github.com/rempart-io/rempart/test/testenv"
)

const (
	ingresses       = 500
	tlsNamespaces   = 10
	issuanceTimeout = 10 * time.Minute
)

func certReady(c *cmapi.Certificate) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == cmapi.CertificateConditionReady {
			return cond.Status == cmmeta.ConditionTrue
		}
	}
	return false
}

// waitReady waits until want Certificates carrying the label are Ready.
func waitReady(b *testing.B, c client.Client, selector client.ListOption, want int, what string) {
	b.Helper()
	deadline := time.Now().Add(issuanceTimeout)
	for {
		var list cmapi.CertificateList
		if err := c.List(context.Background(), &list, selector); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if certReady(&list.Items[i]) {
				ready++
			}
		}
		if ready == want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of %d certificates Ready after %v", what, ready, want, issuanceTimeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// BenchmarkCertificatePolicy500Ingresses measures the time until 500 covered Ingresses all have a
// Ready certificate from a CA ClusterIssuer, beside cert-manager alone issuing 500 Certificates
// created directly, in the same run, with the same cert-manager controllers.
func BenchmarkCertificatePolicy500Ingresses(b *testing.B) {
	operatorBinary := operatorUnderTest(b)
	benchResult{Scenario: "certificatepolicy-500-ingresses", Title: "CertificatePolicy, 500 Ingresses until every certificate is Ready",
		BaselineLabel: "cert-manager alone on 500 Certificates", Unit: "s", Baseline: "cert-manager alone issuing 500 Certificates created directly, same run, same controllers"}.repeat(b, func() benchRun { return runIngresses(b, operatorBinary) })
}

func runIngresses(b *testing.B, operatorBinary string) benchRun {
	env, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	c := env.Client

	// cert-manager's controllers, as the local cluster runs them.
	runners, _ := filepath.Glob(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "cert-manager-v*"))
	if len(runners) == 0 {
		b.Fatal("no cert-manager runner in KUBEBUILDER_ASSETS: run `make controlplane`")
	}
	dir := b.TempDir()
	kubeconfig := filepath.Join(dir, "cert-manager.kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		b.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cert-manager"}}); err != nil {
		b.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "cert-manager.log"))
	if err != nil {
		b.Fatal(err)
	}
	cm := exec.Command(runners[len(runners)-1], "--kubeconfig="+kubeconfig)
	cm.Stdout, cm.Stderr = logFile, logFile
	cm.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cm.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cm.Process.Signal(syscall.SIGTERM); _ = cm.Wait() }()

	bootstrap := &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "bootstrap"}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}}
	root := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: "cert-manager", Name: "root", Labels: map[string]string{"bench": "root"}},
		Spec: cmapi.CertificateSpec{IsCA: true, CommonName: "bench root", SecretName: "root",
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
			IssuerRef:  cmmeta.IssuerReference{Kind: "ClusterIssuer", Name: "bootstrap"}}}
	ca := &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "bench-ca"}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "root"}}}}
	for _, obj := range []client.Object{bootstrap, root, ca} {
		if err := c.Create(ctx, obj); err != nil {
			b.Fatal(err)
		}
	}
	waitReady(b, c, client.MatchingLabels{"bench": "root"}, 1, "root CA")

	for i := range tlsNamespaces {
		for _, prefix := range []string{"bare", "covered"} {
			if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%02d", prefix, i)}}); err != nil {
				b.Fatal(err)
			}
		}
	}

	// Baseline: cert-manager alone, 500 Certificates created directly.
	start := time.Now()
	if err := parallel(ingresses, func(i int) error {
		name := fmt.Sprintf("site-%03d", i)
		return c.Create(ctx, &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("bare-%02d", i%tlsNamespaces), Name: name, Labels: map[string]string{"bench": "bare"}},
			Spec: cmapi.CertificateSpec{SecretName: name, DNSNames: []string{name + ".example.com"}, IssuerRef: cmmeta.IssuerReference{Kind: "ClusterIssuer", Name: "bench-ca"},
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256, RotationPolicy: cmapi.RotationPolicyAlways}}})
	}); err != nil {
		b.Fatal(err)
	}
	waitReady(b, c, client.MatchingLabels{"bench": "bare"}, ingresses, "baseline")
	baseline := time.Since(start)

	// The operator: a policy on the covered namespaces, then 500 Ingresses with a TLS entry each.
	cmd, _, logPath := startOperator(b, env, operatorBinary)
	defer stopOperator(cmd)
	cp := &rempartv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: "bench"}, Spec: rempartv1.CertificatePolicySpec{
		Issuers: []rempartv1.IssuerRef{{Name: "bench-ca"}}}}
	for i := range tlsNamespaces {
		cp.Spec.Namespaces = append(cp.Spec.Namespaces, rempartv1.NamespaceName(fmt.Sprintf("covered-%02d", i)))
	}
	if err := c.Create(ctx, cp); err != nil {
		b.Fatal(err)
	}
	// As cert-manager was for the baseline, the operator is up before the clock starts: the
	// policy has been evaluated once.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cp), cp); err != nil {
			b.Fatal(err)
		}
		if ready := meta.FindStatusCondition(cp.Status.Conditions, rempartv1.ConditionReady); ready != nil && ready.ObservedGeneration == cp.Generation {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the CertificatePolicy was not evaluated in 2 minutes; operator log in %s", logPath)
		}
	}
	start = time.Now()
	if err := parallel(ingresses, func(i int) error {
		name := fmt.Sprintf("site-%03d", i)
		return c.Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("covered-%02d", i%tlsNamespaces), Name: name},
			Spec: networkingv1.IngressSpec{TLS: []networkingv1.IngressTLS{{Hosts: []string{name + ".example.com"}, SecretName: name}},
				Rules: []networkingv1.IngressRule{{Host: name + ".example.com"}}}})
	}); err != nil {
		b.Fatal(err)
	}
	waitReady(b, c, client.MatchingLabels{"rempart.io/certificate-policy": "bench"}, ingresses, "operator (log in "+logPath+")")
	operator := time.Since(start)
	peak, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	ratio := operator.Seconds() / baseline.Seconds()
	fmt.Printf("%d Ingresses: all certificates Ready through the policy in %.1fs; cert-manager alone on %d Certificates %.1fs; ratio %.2f; operator peak RSS %.0f MiB\n",
		ingresses, operator.Seconds(), ingresses, baseline.Seconds(), ratio, peak)
	return benchRun{Baseline: baseline.Seconds(), Rempart: operator.Seconds(), Ratio: ratio, PeakMiB: peak}
}
