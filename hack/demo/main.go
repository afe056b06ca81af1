// Command demo starts the local control plane, installs Rempart's CRDs and RBAC, runs the
// operator, applies the sample policies and prints every Rempart kind with its compliance columns.
// It then stays up until interrupted, or exits at once when DEMO_ONESHOT=1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/localcluster"
)

func main() {
	root := flag.String("root", ".", "The checkout's top directory.")
	operatorBinary := flag.String("operator", "bin/rempart", "The operator binary.")
	binDir := flag.String("controlplane", "", "The control plane cache built by `make controlplane`.")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, *root, *operatorBinary, *binDir, os.Getenv("DEMO_ONESHOT") == "1"); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, operatorBinary, binDir string, oneshot bool) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if binDir == "" {
		return errors.New("--controlplane is required; run `make demo`")
	}
	workDir := filepath.Join(root, ".demo")
	readyMarker := filepath.Join(workDir, "ready")
	_ = os.Remove(readyMarker)
	defer os.Remove(readyMarker)

	startCtx, startCancel := context.WithTimeout(ctx, 5*time.Minute)
	defer startCancel()
	cluster, err := localcluster.Start(startCtx, localcluster.Options{BinDir: binDir, WorkDir: workDir, Progress: os.Stdout})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("==> stopping every process the demo started")
		cluster.Stop()
	}()

	if err := cluster.Install(startCtx, root, "config/crd", "config/manager/namespace.yaml", "config/rbac"); err != nil {
		return err
	}
	if _, err := cluster.StartOperator(startCtx, operatorBinary); err != nil {
		return err
	}
	if err := cluster.Install(startCtx, root, "config/samples"); err != nil {
		return err
	}

	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		return err
	}
	kinds, err := rempartKinds(cluster)
	if err != nil {
		return err
	}
	if err := waitEvaluated(startCtx, dyn, kinds); err != nil {
		return err
	}
	if err := printCompliance(cluster, kinds); err != nil {
		return err
	}

	if err := os.WriteFile(readyMarker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf(`
The local cluster is up. From another terminal:

    export KUBECONFIG=%s
    %s get nodes -L topology.kubernetes.io/region

Logs of every process are in %s.
`, cluster.Kubeconfig, cluster.Kubectl(), cluster.LogDir())
	if oneshot {
		return nil
	}
	fmt.Println("Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// rempartKinds lists the policy kinds the API server serves in the rempart.io group: those with a
// status, where compliance is written (NamespaceOwnership, an index, has none).
func rempartKinds(cluster *localcluster.Cluster) ([]schema.GroupVersionResource, error) {
	list, err := cluster.Clientset.Discovery().ServerResourcesForGroupVersion(rempartv1.GroupVersion.String())
	if apierrors.IsNotFound(err) {
		return nil, nil // the group is served once the first policy CRD is installed
	}
	if err != nil {
		return nil, fmt.Errorf("discover the %s kinds: %w", rempartv1.GroupVersion, err)
	}
	withStatus := map[string]bool{}
	for _, r := range list.APIResources {
		if parent, sub := filepath.Split(r.Name); sub == "status" {
			withStatus[filepath.Clean(parent)] = true
		}
	}
	var out []schema.GroupVersionResource
	for _, r := range list.APIResources {
		if withStatus[r.Name] {
			out = append(out, rempartv1.GroupVersion.WithResource(r.Name))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Resource < out[j].Resource })
	return out, nil
}

// waitEvaluated waits until every sample policy has been evaluated once, so the table printed
// shows real results rather than empty columns.
func waitEvaluated(ctx context.Context, dyn dynamic.Interface, kinds []schema.GroupVersionResource) error {
	for _, gvr := range kinds {
		var pending []string
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			pending = pending[:0]
			for _, item := range list.Items {
				if _, found, _ := unstructured.NestedString(item.Object, "status", "lastEvaluated"); !found {
					pending = append(pending, item.GetName())
				}
			}
			return len(pending) == 0, nil
		})
		if err != nil {
			return fmt.Errorf("%s not evaluated by the operator: %v: %w", gvr.Resource, pending, err)
		}
	}
	return nil
}

func printCompliance(cluster *localcluster.Cluster, kinds []schema.GroupVersionResource) error {
	fmt.Println()
	fmt.Println("==> Simulated nodes and their regions")
	nodes := exec.Command(cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "get", "nodes",
		"-L", "topology.kubernetes.io/region,topology.kubernetes.io/zone")
	nodes.Stdout, nodes.Stderr = os.Stdout, os.Stderr
	if err := nodes.Run(); err != nil {
		return fmt.Errorf("kubectl get nodes: %w", err)
	}
	fmt.Println()
	fmt.Println("==> Rempart compliance")
	if len(kinds) == 0 {
		fmt.Println("No Rempart policy kinds are installed yet.")
		return nil
	}
	for _, gvr := range kinds {
		fmt.Printf("\n$ kubectl get %s\n", gvr.Resource)
		cmd := exec.Command(cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "get", gvr.Resource+"."+gvr.Group)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kubectl get %s: %w", gvr.Resource, err)
		}
	}
	return nil
}
