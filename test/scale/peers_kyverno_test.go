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

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rempart-io/rempart/test/localcluster"
	"github.com/rempart-io/rempart/test/manifests"
	"github.com/rempart-io/rempart/test/testenv"
)

// Kyverno runs as it would in a cluster, as two processes of its own (the admission controller,
// which serves its webhooks over TLS on loopback, and the background controller, which does the
// generating), built by `make kyverno` from the module pinned in hack/tools/kyverno. It talks to
// the API server as its administrator, like the operator in these benchmarks, and without a
// client-side rate limiter, like the operator.

const (
	kyvernoNamespace        = "kyverno"
	kyvernoAdmissionAccount = "kyverno-admission-controller"
	kyvernoBackgroundAcct   = "kyverno-background-controller"
	kyvernoCASecret         = "kyverno-svc.kyverno.svc.kyverno-tls-ca"
	kyvernoTLSSecret        = "kyverno-svc.kyverno.svc.kyverno-tls-pair"
)

// kyvernoResourceFilters are the chart's default filters: what Kyverno never looks at.
const kyvernoResourceFilters = "[Event,*,*][*/*,kube-system,*][*/*,kube-public,*][*/*,kube-node-lease,*][Node,*,*][Node/?*,*,*]" +
	"[APIService,*,*][APIService/?*,*,*][TokenReview,*,*][SubjectAccessReview,*,*][SelfSubjectAccessReview,*,*][Binding,*,*]" +
	"[Pod/binding,*,*][ReplicaSet,*,*][ReplicaSet/?*,*,*][EphemeralReport,*,*][ClusterEphemeralReport,*,*][*/*,kyverno,*]"

// kyvernoProcesses are the running Kyverno controllers.
type kyvernoProcesses struct {
	admission, background *exec.Cmd
	logDir                string
}

func (k *kyvernoProcesses) stop() {
	for _, cmd := range []*exec.Cmd{k.admission, k.background} {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}
}

// kyvernoBinaries are the controllers `make bench-peers` builds and names in KYVERNO and
// KYVERNO_BACKGROUND.
func kyvernoBinaries(b *testing.B) (string, string) {
	b.Helper()
	admission, background := os.Getenv("KYVERNO"), os.Getenv("KYVERNO_BACKGROUND")
	if admission == "" || background == "" {
		b.Fatal("KYVERNO and KYVERNO_BACKGROUND are not set: run through `make bench-peers`, which builds Kyverno")
	}
	return admission, background
}

// installKyvernoCRDs installs Kyverno's CRDs from the module its controllers are built from.
func installKyvernoCRDs(env *testenv.Env) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := testenv.ModuleDir(filepath.Join(root, "hack", "tools", "kyverno"), "github.com/kyverno/kyverno")
	if err != nil {
		return err
	}
	crds := filepath.Join(dir, "config", "crds")
	_, err = envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(crds, "kyverno"), filepath.Join(crds, "policies.kyverno.io"), filepath.Join(crds, "reports")},
		ErrorIfPathMissing: true,
	})
	return err
}

// startKyverno installs what Kyverno's chart would (CRDs, namespace, configuration, the
// accounts its readiness checks ask about) and starts its two controllers.
func startKyverno(b *testing.B, env *testenv.Env) *kyvernoProcesses {
	b.Helper()
	ctx := context.Background()
	admissionBinary, backgroundBinary := kyvernoBinaries(b)
	if err := installKyvernoCRDs(env); err != nil {
		b.Fatal(err)
	}
	c := env.Client
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kyvernoNamespace}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kyverno", Namespace: kyvernoNamespace}, Data: map[string]string{
			"resourceFilters": kyvernoResourceFilters,
			"excludeGroups":   "system:nodes",
			"webhooks":        `{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","kyverno"]}]}}`,
		}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kyverno-metrics", Namespace: kyvernoNamespace}},
	}
	// Kyverno declares a policy ready once these accounts may write what it generates; the
	// processes themselves run with the administrator's credentials.
	for _, account := range []string{kyvernoAdmissionAccount, kyvernoBackgroundAcct} {
		objs = append(objs, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: account, Namespace: kyvernoNamespace}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bench-" + account},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: account, Namespace: kyvernoNamespace}}})
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); err != nil {
			b.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}

	// The logs outlive the benchmark, for the failure message to point at.
	dir, err := os.MkdirTemp("", "kyverno-")
	if err != nil {
		b.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		b.Fatal(err)
	}
	ports, err := localcluster.FreePorts(3)
	if err != nil {
		b.Fatal(err)
	}
	unlimited := []string{"--kubeconfig=" + kubeconfig, "--clientRateLimitQPS=100000", "--clientRateLimitBurst=100000",
		"--controllerRuntimeMetricsAddress=0", "--metricsHost=127.0.0.1", "--disableLogColor"}
	k := &kyvernoProcesses{logDir: dir}
	start := func(name, binary, account string, args ...string) *exec.Cmd {
		logFile, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(binary, append(unlimited, args...)...)
		cmd.Env = append(os.Environ(), "KYVERNO_NAMESPACE="+kyvernoNamespace, "KYVERNO_SERVICEACCOUNT_NAME="+account,
			"KYVERNO_DEPLOYMENT="+account, "KYVERNO_POD_NAME="+account, "INIT_CONFIG=kyverno", "METRICS_CONFIG=kyverno-metrics")
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			k.stop()
			b.Fatal(err)
		}
		return cmd
	}
	k.admission = start("kyverno-admission", admissionBinary, kyvernoAdmissionAccount,
		fmt.Sprintf("--serverIP=127.0.0.1:%d", ports[0]), "--webhookServerHost=127.0.0.1", fmt.Sprintf("--webhookServerPort=%d", ports[0]),
		fmt.Sprintf("--metricsPort=%d", ports[1]), "--caSecretName="+kyvernoCASecret, "--tlsSecretName="+kyvernoTLSSecret,
		"--backgroundServiceAccountName=system:serviceaccount:"+kyvernoNamespace+":"+kyvernoBackgroundAcct,
		// No reports controller runs to aggregate admission reports: Kyverno is spared writing them.
		"--admissionReports=false")
	k.background = start("kyverno-background", backgroundBinary, kyvernoBackgroundAcct, fmt.Sprintf("--metricsPort=%d", ports[2]))
	return k
}

// applyManifest creates every object of a multi-document YAML manifest.
func applyManifest(ctx context.Context, c client.Client, manifest string) error {
	objs, err := manifests.Decode(manifest)
	if err != nil {
		return err
	}
	for _, u := range objs {
		if err := c.Create(ctx, u); err != nil {
			return fmt.Errorf("create %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

// waitKyvernoPolicyReady waits until Kyverno declares a policy ready: its webhooks configured
// and, for generating policies, the background controller allowed to write.
func waitKyvernoPolicyReady(b *testing.B, c client.Client, k *kyvernoProcesses, apiVersion, kind, name string) {
	b.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		err := c.Get(context.Background(), client.ObjectKey{Name: name}, u)
		if err == nil && kyvernoReady(u) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("Kyverno's %s %s is not ready after 3 minutes (%v): status %v; logs in %s", kind, name, err, u.Object["status"], k.logDir)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitKyvernoServing waits until the API server can reach Kyverno's webhooks. The resource
// webhooks of generating policies ignore failures, so a namespace would be admitted (and never
// generated into) before Kyverno has written its certificate: the probe is a dry-run policy,
// which Kyverno's policy webhook must accept and which fails while it cannot be reached.
func waitKyvernoServing(b *testing.B, c client.Client, k *kyvernoProcesses) {
	b.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		probe := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy", "metadata": map[string]any{"name": "serving-probe"},
			"spec": map[string]any{
				"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{"apiGroups": []any{""}, "apiVersions": []any{"v1"},
					"operations": []any{"CREATE"}, "resources": []any{"configmaps"}}}},
				"validations": []any{map[string]any{"expression": "true"}},
			},
		}}
		err := c.Create(context.Background(), probe, client.DryRunAll)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("Kyverno's webhooks do not answer after 3 minutes: %v; logs in %s", err, k.logDir)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kyvernoReady reads readiness the way each policy type reports it: a Ready condition for
// ClusterPolicy, conditionStatus.ready for the policies.kyverno.io types.
func kyvernoReady(u *unstructured.Unstructured) bool {
	if ready, found, _ := unstructured.NestedBool(u.Object, "status", "conditionStatus", "ready"); found {
		return ready
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" && m["status"] == "True" {
			return true
		}
	}
	return false
}
