package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/testenv"
)

var chartVersion = regexp.MustCompile(`(?m)^version: (\S+)`)

// previousChart extracts, from git, the chart as it was at its previous version.
func previousChart(t *testing.T, root string) (dir, version string) {
	t.Helper()
	git := func(args ...string) []byte {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return out
	}
	current := chartVersion.FindSubmatch(git("show", "HEAD:charts/rempart/Chart.yaml"))
	if current == nil {
		t.Fatal("no version in charts/rempart/Chart.yaml")
	}
	// The chart as it was just before the commit that set the current version.
	for _, rev := range strings.Fields(string(git("log", "--format=%H", "--", "charts/rempart/Chart.yaml"))) {
		parent := rev + "^"
		out, err := exec.Command("git", "-C", root, "show", parent+":charts/rempart/Chart.yaml").Output()
		if err != nil {
			continue
		}
		v := chartVersion.FindSubmatch(out)
		if v == nil || bytes.Equal(v[1], current[1]) {
			continue
		}
		dir = t.TempDir()
		archive := exec.Command("bash", "-c", fmt.Sprintf("git -C %q archive %s charts/rempart | tar -x -C %q", root, parent, dir))
		if out, err := archive.CombinedOutput(); err != nil {
			t.Fatalf("extract the chart of %s: %v\n%s", parent, err, out)
		}
		return filepath.Join(dir, "charts", "rempart"), string(v[1])
	}
	t.Fatalf("no earlier version of the chart than %s in git history", current[1])
	return "", ""
}

// kubeconfig writes a kubeconfig for a rest.Config, for helm.
func kubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// A platform team installs the previous chart, upgrades to this one (CRDs included, updated by
// helm since they are templates now) and uninstalls: the CRDs and every policy stay.
func TestHelmChartInstallsUpgradesAndUninstalls(t *testing.T) {
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Fatal("HELM is not set: run through `make test-integration`, which builds the pinned Helm")
	}
	root := repoRoot(t)
	bare, err := testenv.StartWith(testenv.Options{Bare: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bare.Stop() }()
	kc := kubeconfig(t, bare.Config)
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(helm, append(args, "--kubeconfig", kc, "--namespace", "rempart-system")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ctx := context.Background()
	crd := func() *unstructured.Unstructured {
		c := &unstructured.Unstructured{}
		c.SetAPIVersion("apiextensions.k8s.io/v1")
		c.SetKind("CustomResourceDefinition")
		if err := bare.Client.Get(ctx, client.ObjectKey{Name: "tenantisolations.rempart.io"}, c); err != nil {
			t.Fatalf("the TenantIsolation CRD: %v", err)
		}
		return c
	}

	previous, version := previousChart(t, root)
	run("install", "rempart", previous, "--create-namespace")
	if crd().GetAnnotations()["helm.sh/resource-policy"] == "keep" {
		t.Fatalf("chart %s already kept its CRDs: pick the right previous version", version)
	}
	// A policy written while the previous chart ran.
	ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "kept"},
		Spec: rempartv1.TenantIsolationSpec{Namespaces: []rempartv1.NamespaceName{"kept-web"}, Environment: rempartv1.EnvironmentProduction}}
	if err := bare.Client.Create(ctx, ti); err != nil {
		t.Fatalf("create a TenantIsolation under chart %s: %v", version, err)
	}

	// CRDs the previous chart installed from crds/ are not the release's yet: taken over once.
	run("upgrade", "rempart", filepath.Join(root, "charts", "rempart"), "--take-ownership")
	c := crd()
	if a := c.GetAnnotations(); a["helm.sh/resource-policy"] != "keep" || a["meta.helm.sh/release-name"] != "rempart" {
		t.Errorf("after the upgrade the CRD is not the release's, kept: %v", a)
	}
	if err := bare.Client.Get(ctx, client.ObjectKey{Namespace: "rempart-system", Name: "rempart"}, &policyv1.PodDisruptionBudget{}); err != nil {
		t.Errorf("the upgrade did not add the PodDisruptionBudget: %v", err)
	}
	run("upgrade", "rempart", filepath.Join(root, "charts", "rempart")) // a second upgrade needs nothing special

	run("uninstall", "rempart")
	crd()
	if err := bare.Client.Get(ctx, client.ObjectKeyFromObject(ti), &rempartv1.TenantIsolation{}); err != nil {
		t.Errorf("the TenantIsolation did not survive helm uninstall: %v", err)
	}
	var dep appsv1.Deployment
	if err := bare.Client.Get(ctx, client.ObjectKey{Namespace: "rempart-system", Name: "rempart"}, &dep); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment is still there after helm uninstall: %v", err)
	}
}
