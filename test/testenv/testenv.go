package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/rempart-io/rempart/controllers"
	apitestv1 "github.com/rempart-io/rempart/test/apitest/v1alpha1"
)

// Env is a running API server with a client for it.
type Env struct {
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	env    *envtest.Environment
}

// RepoRoot is the checkout's top directory, found from the working directory of the test.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/rempart-io/rempart\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the rempart checkout")
		}
		dir = parent
	}
}

// ModuleDir returns where the Go module cache keeps a dependency of the module in root,
// downloading it first if the module is required but not yet fetched (a tool module's
// dependency).
func ModuleDir(root, module string) (string, error) {
	list := func() (string, error) {
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("locate module %s: %w", module, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	dir, err := list()
	if err != nil {
		return "", err
	}
	if dir == "" {
		dl := exec.Command("go", "mod", "download", module)
		dl.Dir = root
		if out, err := dl.CombinedOutput(); err != nil {
			return "", fmt.Errorf("download module %s: %w: %s", module, err, out)
		}
		if dir, err = list(); err != nil {
			return "", err
		}
	}
	if dir == "" {
		return "", fmt.Errorf("module %s is not in the module cache: run go mod download", module)
	}
	return dir, nil
}

// VeleroCRDDirs are where Velero's CRDs are (velero.io/v1 and v2alpha1), in the module the local
// control plane builds Velero from (hack/tools/velero).
func VeleroCRDDirs(root string) ([]string, error) {
	dir, err := ModuleDir(filepath.Join(root, "hack", "tools", "velero"), "github.com/vmware-tanzu/velero")
	if err != nil {
		return nil, err
	}
	return []string{filepath.Join(dir, "config", "crd", "v1", "bases"), filepath.Join(dir, "config", "crd", "v2alpha1", "bases")}, nil
}

// PolicyReportCRDDir is where the wgpolicyk8s.io PolicyReport CRDs are, in Kyverno's module
// (hack/tools/crds).
func PolicyReportCRDDir(root string) (string, error) {
	dir, err := ModuleDir(filepath.Join(root, "hack", "tools", "crds"), "github.com/kyverno/kyverno")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config", "crds", "policyreport"), nil
}

// OpenReportsCRDDir is where the openreports.io Report CRDs are, in OpenReports' module
// (hack/tools/crds).
func OpenReportsCRDDir(root string) (string, error) {
	dir, err := ModuleDir(filepath.Join(root, "hack", "tools", "crds"), "github.com/openreports/reports-api")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config", "crd"), nil
}

// CRDDirs are the directories whose CRDs every test API server gets: Rempart's generated CRDs,
// the test-only kinds, and Gateway API's and the PolicyReport CRDs from their modules. Start adds
// cert-manager's and Velero's unless told not to.
func CRDDirs(root string) ([]string, error) {
	gatewayAPI, err := ModuleDir(root, "sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	policyReports, err := PolicyReportCRDDir(root)
	if err != nil {
		return nil, err
	}
	openReports, err := OpenReportsCRDDir(root)
	if err != nil {
		return nil, err
	}
	return []string{
		filepath.Join(root, "config", "crd", "bases"),
		filepath.Join(root, "test", "apitest", "crd"),
		filepath.Join(gatewayAPI, "config", "crd", "standard"),
		policyReports,
		openReports,
	}, nil
}

// Start starts etcd and kube-apiserver from KUBEBUILDER_ASSETS and installs the CRDs.
func Start() (*Env, error) { return StartWith(Options{}) }

// Options change what a test API server gets.
type Options struct {
	// WithoutVelero leaves Velero's CRDs out, as on a cluster without Velero.
	WithoutVelero bool
	// WithoutCertManager leaves cert-manager's CRDs out, as on a cluster without cert-manager.
	WithoutCertManager bool
	// WithoutOpenReports leaves the openreports.io CRDs out, as on a cluster with only the older
	// wgpolicyk8s.io PolicyReport.
	WithoutOpenReports bool
	// Bare installs no CRD at all: a cluster Rempart is about to be installed on.
	Bare bool
}

// StartWith starts a test API server as Start does, with options.
func StartWith(opts Options) (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run the tests through `make test-integration`, which builds the control plane and points it there")
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	dirs, err := CRDDirs(root)
	if err != nil {
		return nil, err
	}
	if opts.Bare {
		dirs = nil
		opts.WithoutCertManager, opts.WithoutVelero = true, true
	}
	if opts.WithoutOpenReports && !opts.Bare {
		openReports, err := OpenReportsCRDDir(root)
		if err != nil {
			return nil, err
		}
		dirs = slices.DeleteFunc(dirs, func(d string) bool { return d == openReports })
	}
	if !opts.WithoutCertManager {
		certManager, err := ModuleDir(root, "github.com/cert-manager/cert-manager")
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, filepath.Join(certManager, "deploy", "crds"))
	}
	if !opts.WithoutVelero {
		velero, err := VeleroCRDDirs(root)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, velero...)
	}
	scheme := controllers.NewScheme()
	if err := apitestv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     dirs,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		// envtest leaves etcd and kube-apiserver running when it fails after starting them, for
		// instance on a CRD the server refuses.
		_ = env.Stop()
		return nil, fmt.Errorf("start envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("create client: %w", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, env: env}, nil
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error {
	return e.env.Stop()
}

// WriteKubeconfig writes a kubeconfig for the test API server's administrator, for the commands
// a test runs as their own processes, as a user would.
func (e *Env) WriteKubeconfig(path string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: e.Config.Host, CertificateAuthorityData: e.Config.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: e.Config.CertData, ClientKeyData: e.Config.KeyData, Token: e.Config.BearerToken}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	cfg.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*cfg, path)
}
