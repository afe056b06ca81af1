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
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/localcluster"
	"github.com/rempart-io/rempart/test/testenv"
)

func main() {
	root := flag.String("root", ".", "The checkout's top directory.")
	operatorBinary := flag.String("operator", "bin/rempart", "The operator binary.")
	binDir := flag.String("controlplane", "", "The control plane cache built by `make controlplane`.")
	pluginBinary := flag.String("plugin", "bin/kubectl-rempart", "The kubectl-rempart plugin, to show a tenant's report.")
	flag.Parse()
	plugin = *pluginBinary

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
	// cert-manager before the operator, which enforces CertificatePolicy only where it is installed.
	certManager, err := testenv.ModuleDir(root, "github.com/cert-manager/cert-manager")
	if err != nil {
		return err
	}
	if err := cluster.StartCertManager(startCtx, filepath.Join(certManager, "deploy", "crds")); err != nil {
		return err
	}
	// Velero and its S3 store too: BackupPolicy drives Velero's Schedules, Backups and Restores.
	veleroCRDs, err := testenv.VeleroCRDDirs(root)
	if err != nil {
		return err
	}
	store, err := cluster.StartVelero(startCtx, localcluster.VeleroOptions{CRDDirs: veleroCRDs, Region: "gra"})
	if err != nil {
		return err
	}
	if _, err := cluster.StartOperator(startCtx, operatorBinary); err != nil {
		return err
	}
	if err := cluster.Install(startCtx, root, "config/samples/platform/ca-issuer.yaml", "config/samples/platform/approvers.yaml", "config/samples"); err != nil {
		return err
	}
	if err := approveSampleGrants(ctx, cluster); err != nil {
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
	if err := runBankWorkload(startCtx, cluster, dyn); err != nil {
		return err
	}
	if err := runShopIngress(startCtx, cluster, dyn); err != nil {
		return err
	}
	if err := runBankBackup(startCtx, cluster, dyn); err != nil {
		return err
	}
	if err := printCompliance(cluster, kinds); err != nil {
		return err
	}
	if err := showReport(ctx, cluster, "bank-production"); err != nil {
		return err
	}
	if err := showResidencyRefusal(startCtx, cluster); err != nil {
		return err
	}

	if err := os.WriteFile(readyMarker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf(`
The local cluster is up. From another terminal:

    export KUBECONFIG=%s
    %s get nodes -L topology.kubernetes.io/region
    export PATH=%s:$PATH   # kubectl rempart report --tenant bank-production -o html > bank.html
    export AWS_SHARED_CREDENTIALS_FILE=%s   # the local S3 store's, for the evidence log:
    kubectl rempart history --tenant bank-production

Logs of every process are in %s.
`, cluster.Kubeconfig, cluster.Kubectl(), filepath.Dir(plugin), store.CredentialsFile, cluster.LogDir())
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

// residencyProbe is a pod of the France-only sample tenant that asks for a node in Virginia.
const residencyProbe = `apiVersion: v1
kind: Pod
metadata:
  name: reports-in-virginia
  namespace: bank-ledger
spec:
  nodeSelector:
    topology.kubernetes.io/region: us-east-1
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: registry.example/reports:1.0
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`

// showResidencyRefusal shows the API server refusing a pod of the France-only tenant aimed at
// us-east-1. The demo fails if the pod is accepted.
func showResidencyRefusal(ctx context.Context, cluster *localcluster.Cluster) error {
	fmt.Println()
	fmt.Println("==> A pod of tenant bank-production (France only) asks for us-east-1")
	fmt.Println("$ kubectl apply -f - <<< 'pod reports-in-virginia, nodeSelector topology.kubernetes.io/region: us-east-1'")
	var out []byte
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		cmd := exec.CommandContext(ctx, cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "apply", "--dry-run=server", "-f", "-")
		cmd.Stdin = strings.NewReader(residencyProbe)
		var runErr error
		out, runErr = cmd.CombinedOutput()
		return runErr != nil && strings.Contains(string(out), "FT-CLD-74"), nil
	})
	if err != nil {
		return fmt.Errorf("the pod aimed at us-east-1 was not refused: %s: %w", out, err)
	}
	fmt.Print(string(out))
	return nil
}

// bankWorkload is a Deployment of the France-only sample tenant, written as Git would hold it:
// no region in it. Its pods are pinned to France at admission.
const bankWorkload = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ledger
  namespace: bank-ledger
spec:
  replicas: 4
  selector:
    matchLabels: {app: ledger}
  template:
    metadata:
      labels: {app: ledger}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: ledger
        image: registry.example/ledger:1.0
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`

// runBankWorkload deploys the bank's ledger and waits until its policy reports where it runs.
func runBankWorkload(ctx context.Context, cluster *localcluster.Cluster, dyn dynamic.Interface) error {
	fmt.Println("==> deploying the bank's ledger (4 pods, no region in the manifest)")
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		cmd := exec.CommandContext(ctx, cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "apply", "-f", "-")
		cmd.Stdin = strings.NewReader(bankWorkload)
		return cmd.Run() == nil, nil
	})
	if err != nil {
		return fmt.Errorf("deploy the ledger: %w", err)
	}
	gvr := rempartv1.GroupVersion.WithResource("dataresidencies")
	var inUse string
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		dr, err := dyn.Resource(gvr).Get(ctx, "bank-france", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		regions, _, _ := unstructured.NestedSlice(dr.Object, "status", "regionsInUse")
		inUse, _, _ = unstructured.NestedString(dr.Object, "status", "inUseSummary")
		pods := int64(0)
		for _, r := range regions {
			n, _, _ := unstructured.NestedInt64(r.(map[string]any), "pods")
			pods += n
		}
		return pods == 4, nil
	})
	if err != nil {
		return fmt.Errorf("bank-france does not report the ledger's 4 pods (in use: %q): %w", inUse, err)
	}
	return nil
}

// shopIngress is acme's shop, written as Git would hold it: a TLS entry, no Certificate.
const shopIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: acme-shop
spec:
  tls:
  - hosts: [shop.acme.example]
    secretName: shop-tls
  rules:
  - host: shop.acme.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: shop, port: {number: 8443}}
`

// runShopIngress publishes acme's shop and waits until its certificate is issued by the real
// cert-manager controllers, from the Certificate the policy provided.
func runShopIngress(ctx context.Context, cluster *localcluster.Cluster, dyn dynamic.Interface) error {
	fmt.Println("==> publishing acme's shop over TLS (an Ingress, no Certificate in the manifest)")
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		cmd := exec.CommandContext(ctx, cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "apply", "-f", "-")
		cmd.Stdin = strings.NewReader(shopIngress)
		return cmd.Run() == nil, nil
	})
	if err != nil {
		return fmt.Errorf("publish the shop: %w", err)
	}
	gvr := rempartv1.GroupVersion.WithResource("certificatepolicies")
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		cp, err := dyn.Resource(gvr).Get(ctx, "acme-tls", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		certs, _, _ := unstructured.NestedSlice(cp.Object, "status", "certificates")
		for _, c := range certs {
			if ready, _, _ := unstructured.NestedBool(c.(map[string]any), "ready"); ready {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("acme-tls does not report the shop's certificate Ready: %w", err)
	}
	return nil
}

// runBankBackup takes a backup of the bank's ledger now and tests its restore, through the real
// Velero, as a platform engineer would before an audit.
func runBankBackup(ctx context.Context, cluster *localcluster.Cluster, dyn dynamic.Interface) error {
	fmt.Println("==> backing up the bank's ledger with Velero, and testing the restore in a sandbox")
	gvr := rempartv1.GroupVersion.WithResource("backuppolicies")
	ask := func(field string) error {
		patch := []byte(`{"spec":{"` + field + `":"demo"}}`)
		if _, err := dyn.Resource(gvr).Patch(ctx, "bank-daily", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("ask bank-daily for %s: %w", field, err)
		}
		return nil
	}
	if err := ask("backupNow"); err != nil {
		return err
	}
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		bp, err := dyn.Resource(gvr).Get(ctx, "bank-daily", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		handled, _, _ := unstructured.NestedString(bp.Object, "status", "backupNowHandled")
		last, _, _ = unstructured.NestedString(bp.Object, "status", "lastBackup", "name")
		phase, _, _ := unstructured.NestedString(bp.Object, "status", "lastBackup", "phase")
		return handled == "demo" && strings.Contains(last, "-now-") && phase == "Completed", nil
	})
	if err != nil {
		return fmt.Errorf("bank-daily: the requested backup did not complete (last %q): %w", last, err)
	}
	// Tested once the new backup is there: the test restores the newest good one.
	if err := ask("restoreTestNow"); err != nil {
		return err
	}
	var result, message string
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		bp, err := dyn.Resource(gvr).Get(ctx, "bank-daily", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		handled, _, _ := unstructured.NestedString(bp.Object, "status", "restoreTestNowHandled")
		result, _, _ = unstructured.NestedString(bp.Object, "status", "lastRestoreTest", "result")
		message, _, _ = unstructured.NestedString(bp.Object, "status", "lastRestoreTest", "message")
		cleaned, _, _ := unstructured.NestedBool(bp.Object, "status", "lastRestoreTest", "cleanedUp")
		return handled == "demo" && result != "" && result != rempartv1.RestoreTestRunning && cleaned, nil
	})
	if err != nil {
		return fmt.Errorf("bank-daily: no backup and restore test (restore test %q: %s): %w", result, message, err)
	}
	if result != rempartv1.RestoreTestPassed {
		return fmt.Errorf("the bank's restore test failed: %s", message)
	}
	fmt.Println("    restore test: " + message)
	cmd := exec.CommandContext(ctx, cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "get", "backups.velero.io", "-n", localcluster.VeleroNamespace,
		"-o", "custom-columns=BACKUP:.metadata.name,PHASE:.status.phase,ITEMS:.status.progress.itemsBackedUp,COMPLETED:.status.completionTimestamp")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// approveSampleGrants approves the sample AdminAccess grants as their approvers would, each in
// their own name, through the plugin: applied by the platform engineer, a grant waits for them.
func approveSampleGrants(ctx context.Context, cluster *localcluster.Cluster) error {
	for grant, approver := range map[string]string{"alice-inc-4242": "dpo@acme.example", "oncall-bank": "security-officer@bank.example"} {
		fmt.Printf("\n$ kubectl rempart grant approve %s   # as %s\n", grant, approver)
		cmd := exec.CommandContext(ctx, plugin, "grant", "approve", grant, "--kubeconfig", cluster.Kubeconfig, "--as", approver, "--as-group", "provider:approvers")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kubectl rempart grant approve %s: %w", grant, err)
		}
	}
	return nil
}

// plugin is the kubectl-rempart binary the demo runs.
var plugin string

// showReport prints a tenant's ComplianceReport as an auditor reads it, through kubectl-rempart.
func showReport(ctx context.Context, cluster *localcluster.Cluster, tenant string) error {
	fmt.Printf("\n$ kubectl rempart report --tenant %s\n", tenant)
	cmd := exec.CommandContext(ctx, plugin, "report", "--tenant", tenant, "--kubeconfig", cluster.Kubeconfig)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl rempart report: %w", err)
	}
	return nil
}
