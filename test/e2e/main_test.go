// Package e2e runs the operator as its own process against the whole local control plane: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok nodes in several regions.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rempart-io/rempart/test/localcluster"
	"github.com/rempart-io/rempart/test/testenv"
)

var (
	cluster  *localcluster.Cluster
	operator *localcluster.Operator
	// operatorBinary is the operator under test, for the tests that restart it.
	operatorBinary string
	root           string
	// backupStore is the local Velero's S3 store.
	backupStore *localcluster.Velero
)

// backupRegion is where the local store says it is: Gravelines (OVHcloud, France), a region no
// simulated node is in, so backups there are off-site for every tenant.
const backupRegion = "gra"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	var err error
	if root, err = testenv.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir, err := localcluster.BinaryDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	operatorBinary = os.Getenv("REMPART_OPERATOR")
	if operatorBinary == "" {
		fmt.Fprintln(os.Stderr, "REMPART_OPERATOR is not set: run through `make test-e2e`, which builds the operator")
		return 1
	}
	workDir := filepath.Join(root, "test", "e2e", "_artifacts")

	startCtx, startCancel := context.WithTimeout(ctx, 5*time.Minute)
	defer startCancel()
	cluster, err = localcluster.Start(startCtx, localcluster.Options{BinDir: binDir, WorkDir: workDir, Progress: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the local control plane:", err)
		return 1
	}
	defer cluster.Stop()

	if err := cluster.Install(startCtx, root, "config/crd", "config/manager/namespace.yaml", "config/rbac"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// cert-manager first: the operator enforces CertificatePolicy only where cert-manager is installed.
	certManager, err := testenv.ModuleDir(root, "github.com/cert-manager/cert-manager")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cluster.StartCertManager(startCtx, filepath.Join(certManager, "deploy", "crds")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Velero too: BackupPolicy watches Velero's kinds only where they are served.
	veleroCRDs, err := testenv.VeleroCRDDirs(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if backupStore, err = cluster.StartVelero(startCtx, localcluster.VeleroOptions{CRDDirs: veleroCRDs, Region: backupRegion}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if operator, err = cluster.StartOperator(startCtx, operatorBinary, evidenceArgs...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "logs of every process are in %s\n", cluster.LogDir())
	}
	return code
}
