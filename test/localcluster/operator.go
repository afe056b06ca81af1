package localcluster

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rempart-io/rempart/controllers"
	"github.com/rempart-io/rempart/test/manifests"
	"github.com/rempart-io/rempart/test/testenv"
)

// Operator identity, as config/rbac and config/manager define it.
const (
	OperatorNamespace      = "rempart-system"
	OperatorServiceAccount = "rempart"
)

// Client returns a controller-runtime client, as administrator, that knows Rempart's kinds.
func (c *Cluster) Client() (client.Client, error) {
	return client.New(c.Config, client.Options{Scheme: controllers.NewScheme()})
}

// Install applies kustomize directories (such as config/crd, config/rbac) or single YAML files of
// the checkout as a platform engineer would, with server-side apply.
func (c *Cluster) Install(ctx context.Context, root string, dirs ...string) error {
	cl, err := c.Client()
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		build := manifests.Build
		if strings.HasSuffix(dir, ".yaml") {
			build = manifests.File
		}
		objs, err := build(filepath.Join(root, dir))
		if err != nil {
			return err
		}
		c.step(fmt.Sprintf("applying %s (%d objects)", dir, len(objs)))
		if err := manifests.Apply(ctx, cl, objs, "rempart-install", false); err != nil {
			return fmt.Errorf("install %s: %w", dir, err)
		}
	}
	return nil
}

// Operator is the operator running as its own process beside the local control plane.
type Operator struct {
	// ProbeURL serves /healthz and /readyz.
	ProbeURL string
	// MetricsURL serves /metrics.
	MetricsURL string
	// Kubeconfig authenticates as the operator's service account, so its RBAC is the real one.
	Kubeconfig string
	proc       *process
	cluster    *Cluster
}

// StartOperator runs the operator binary as the rempart service account (config/rbac must be
// installed) and waits until it reports ready.
func (c *Cluster) StartOperator(ctx context.Context, binary string, extraArgs ...string) (*Operator, error) {
	kubeconfig := filepath.Join(c.opts.WorkDir, "operator.kubeconfig")
	if err := c.writeServiceAccountKubeconfig(ctx, kubeconfig); err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	op := &Operator{
		ProbeURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		Kubeconfig: kubeconfig,
	}
	args := append([]string{
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(ports[0]),
		"--metrics-bind-address=127.0.0.1:" + strconv.Itoa(ports[1]), "--metrics-secure=false",
		"--leader-election-namespace=" + OperatorNamespace,
	}, append(slices.Clone(c.operatorArgs), extraArgs...)...)
	c.step("starting the operator")
	env := []string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + OperatorNamespace, "SERVICE_ACCOUNT_NAME=" + OperatorServiceAccount}
	if err := c.runBinary("rempart", binary, args, env); err != nil {
		return nil, err
	}
	op.proc, op.cluster = c.processes[len(c.processes)-1], c
	if err := c.waitHTTP(ctx, "the operator's /readyz", op.ProbeURL+"/readyz", &http.Client{Timeout: 2 * time.Second}); err != nil {
		return nil, fmt.Errorf("%w; end of its log:\n%s", err, op.proc.tail(20))
	}
	cl, err := c.Client()
	if err != nil {
		return nil, err
	}
	c.step("waiting for the AdminAccess admission policies")
	if err := testenv.WaitForGrantGuards(ctx, cl); err != nil {
		return nil, fmt.Errorf("%w; end of its log:\n%s", err, op.proc.tail(20))
	}
	return op, nil
}

// Log returns the end of the operator's log.
func (o *Operator) Log(lines int) string { return o.proc.tail(lines) }

// Stop stops the operator gracefully; the cluster no longer counts it among its processes, so
// another can be started.
func (o *Operator) Stop() {
	o.proc.stop(30 * time.Second)
	o.cluster.processes = slices.DeleteFunc(o.cluster.processes, func(p *process) bool { return p == o.proc })
}

// Kill ends the operator at once with SIGKILL, as a crashed node or an OOM kill would: it neither
// finishes its reconciles nor releases its leader lease.
func (o *Operator) Kill() {
	if done, _ := o.proc.exited(); !done {
		_ = syscall.Kill(-o.proc.cmd.Process.Pid, syscall.SIGKILL)
		<-o.proc.done
	}
	o.cluster.processes = slices.DeleteFunc(o.cluster.processes, func(p *process) bool { return p == o.proc })
}

// writeServiceAccountKubeconfig writes a kubeconfig holding a bound token of the operator's
// service account, obtained through the TokenRequest API as a kubelet would.
func (c *Cluster) writeServiceAccountKubeconfig(ctx context.Context, path string) error {
	tr, err := c.Clientset.CoreV1().ServiceAccounts(OperatorNamespace).CreateToken(ctx, OperatorServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)}},
		metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("request a token for %s/%s (is config/rbac installed?): %w", OperatorNamespace, OperatorServiceAccount, err)
	}
	return c.writeKubeconfig(path, "rempart", &clientcmdapi.AuthInfo{Token: tr.Status.Token}, OperatorNamespace)
}
