package localcluster

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

//go:embed stages.yaml
var kwokStages []byte

// Options configure a local control plane.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok.
	BinDir string
	// WorkDir receives the state: etcd data, certificates, kubeconfigs, logs. It is wiped at start.
	WorkDir string
	// Nodes are the simulated nodes; DefaultNodes when empty.
	Nodes []Node
	// Progress, when set, receives one line per step, for a person watching the demo.
	Progress io.Writer
}

// Cluster is a running local control plane.
type Cluster struct {
	// Kubeconfig is the path of an administrator's kubeconfig (system:masters).
	Kubeconfig string
	// Config is the administrator's REST config.
	Config *rest.Config
	// Clientset is the administrator's typed client.
	Clientset kubernetes.Interface

	opts      Options
	pki       *pki
	server    string
	logDir    string
	processes []*process // in start order; stopped in reverse
	// operatorArgs are added to every operator started: the evidence store's, once it exists.
	operatorArgs []string
}

// BinaryDir returns the control plane cache from REMPART_CONTROLPLANE, which `make` sets.
func BinaryDir() (string, error) {
	dir := os.Getenv("REMPART_CONTROLPLANE")
	if dir == "" {
		return "", errors.New("REMPART_CONTROLPLANE is not set: run through `make test-e2e` or `make demo`, which build the control plane and point it there")
	}
	return dir, nil
}

// Start brings up the whole control plane and waits until nodes are Ready and the controller
// manager has created the default service account. On error everything started is stopped.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if len(opts.Nodes) == 0 {
		opts.Nodes = DefaultNodes()
	}
	logDir := filepath.Join(opts.WorkDir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return nil, err
	}
	if err := killLeftovers(logDir); err != nil {
		return nil, err
	}
	oldLogs, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	for _, stale := range append([]string{"etcd", "pki", "kubeconfig", "operator.kubeconfig"}, oldLogs...) {
		if !filepath.IsAbs(stale) {
			stale = filepath.Join(opts.WorkDir, stale)
		}
		if err := os.RemoveAll(stale); err != nil {
			return nil, err
		}
	}
	c = &Cluster{opts: opts, logDir: logDir}
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()

	if c.pki, err = newPKI(filepath.Join(opts.WorkDir, "pki")); err != nil {
		return nil, fmt.Errorf("create certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]

	c.step("starting etcd")
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if err := c.run("etcd", []string{
		"--name=local", "--data-dir=" + filepath.Join(opts.WorkDir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=local=" + peerURL,
		"--unsafe-no-fsync", "--quota-backend-bytes=4294967296", "--log-level=warn",
	}); err != nil {
		return nil, err
	}
	if err := c.waitHTTP(ctx, "etcd", etcdURL+"/health", http.DefaultClient); err != nil {
		return nil, err
	}

	c.step("starting kube-apiserver")
	p := c.pki
	if err := c.run("kube-apiserver", []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + p.ServingCert, "--tls-private-key-file=" + p.ServingKey,
		"--client-ca-file=" + p.CACert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.ServiceAccountKey,
		"--service-account-signing-key-file=" + p.ServiceAccountKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		// The loopback address cannot be published as the kubernetes Service's endpoint.
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + filepath.Join(opts.WorkDir, "pki"),
	}); err != nil {
		return nil, err
	}
	c.server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	c.Kubeconfig = filepath.Join(opts.WorkDir, "kubeconfig")
	if err := c.writeAdminKubeconfig(c.Kubeconfig); err != nil {
		return nil, err
	}
	if c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
		return nil, err
	}
	if c.Clientset, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, err
	}
	if err := c.waitAPIServer(ctx); err != nil {
		return nil, err
	}

	c.step("starting kube-controller-manager and kube-scheduler")
	if err := c.run("kube-controller-manager", []string{
		"--kubeconfig=" + c.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file=" + p.ServiceAccountKey, "--root-ca-file=" + p.CACert,
		"--cluster-name=rempart-local",
		// As kubeadm runs it: every controller acts under its own service account, so the
		// admission policies see the identities real clusters show them.
		"--use-service-account-credentials=true",
	}); err != nil {
		return nil, err
	}
	if err := c.run("kube-scheduler", []string{
		"--kubeconfig=" + c.Kubeconfig, "--leader-elect=false", "--secure-port=0",
	}); err != nil {
		return nil, err
	}

	c.step(fmt.Sprintf("starting kwok with %d simulated nodes", len(opts.Nodes)))
	stagesPath := filepath.Join(opts.WorkDir, "kwok-stages.yaml")
	if err := os.WriteFile(stagesPath, kwokStages, 0o600); err != nil {
		return nil, err
	}
	if err := c.run("kwok", []string{
		"--kubeconfig=" + c.Kubeconfig, "--config=" + stagesPath,
		"--manage-nodes-with-label-selector=" + SimulatedNodeLabel,
		"--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16",
	}); err != nil {
		return nil, err
	}
	if err := c.createNodes(ctx); err != nil {
		return nil, err
	}
	if err := c.waitDefaultServiceAccount(ctx); err != nil {
		return nil, err
	}
	c.step("control plane ready at " + c.server)
	return c, nil
}

// LogDir is where every process writes its log.
func (c *Cluster) LogDir() string { return c.logDir }

// Kubectl is the path of the kubectl built with the control plane.
func (c *Cluster) Kubectl() string { return filepath.Join(c.opts.BinDir, "kubectl") }

// Stop ends every process, the last started first. It is safe to call more than once.
func (c *Cluster) Stop() {
	for i := len(c.processes) - 1; i >= 0; i-- {
		c.processes[i].stop(15 * time.Second)
	}
	c.processes = nil
}

func (c *Cluster) step(msg string) {
	if c.opts.Progress != nil {
		fmt.Fprintln(c.opts.Progress, "==> "+msg)
	}
}

func (c *Cluster) run(name string, args []string) error {
	binary := filepath.Join(c.opts.BinDir, name)
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s is not built (%w): run `make controlplane`", name, err)
	}
	return c.runBinary(name, binary, args, nil)
}

func (c *Cluster) runBinary(name, binary string, args, env []string) error {
	p, err := start(name, binary, args, c.logDir, env)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, p)
	return nil
}

// failIfExited turns a crashed process into an error carrying the end of its log.
func (c *Cluster) failIfExited() error {
	for _, p := range c.processes {
		if done, err := p.exited(); done {
			return fmt.Errorf("%s exited (%v); end of %s:\n%s", p.name, err, p.logPath, p.tail(20))
		}
	}
	return nil
}

func (c *Cluster) poll(ctx context.Context, what string, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.failIfExited(); err != nil {
			return false, err
		}
		ok, err := cond(ctx)
		lastErr = err
		return ok, nil
	})
	if err != nil {
		if exitErr := c.failIfExited(); exitErr != nil {
			return exitErr
		}
		return fmt.Errorf("wait for %s: %w (last error: %v)", what, err, lastErr)
	}
	return nil
}

func (c *Cluster) waitHTTP(ctx context.Context, what, url string, hc *http.Client) error {
	return c.poll(ctx, what, time.Minute, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("status %d", resp.StatusCode)
	})
}

func (c *Cluster) waitAPIServer(ctx context.Context) error {
	return c.poll(ctx, "kube-apiserver /readyz", 2*time.Minute, func(ctx context.Context) (bool, error) {
		body, err := c.Clientset.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", err
	})
}

func (c *Cluster) waitDefaultServiceAccount(ctx context.Context) error {
	return c.poll(ctx, "the default service account (kube-controller-manager)", 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := c.Clientset.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, err
		}
		return err == nil, err
	})
}

func (c *Cluster) writeAdminKubeconfig(path string) error {
	return c.writeKubeconfig(path, "local-admin", &clientcmdapi.AuthInfo{ClientCertificate: c.pki.AdminCert, ClientKey: c.pki.AdminKey}, "")
}

// writeKubeconfig writes a kubeconfig for the local API server with one user.
func (c *Cluster) writeKubeconfig(path, user string, auth *clientcmdapi.AuthInfo, namespace string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["rempart-local"] = &clientcmdapi.Cluster{Server: c.server, CertificateAuthority: c.pki.CACert}
	cfg.AuthInfos[user] = auth
	cfg.Contexts["rempart-local"] = &clientcmdapi.Context{Cluster: "rempart-local", AuthInfo: user, Namespace: namespace}
	cfg.CurrentContext = "rempart-local"
	return clientcmd.WriteToFile(*cfg, path)
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePorts exposes freePorts to callers that start their own servers beside the cluster.
func FreePorts(n int) ([]int, error) { return freePorts(n) }
