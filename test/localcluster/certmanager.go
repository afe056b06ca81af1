package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rempart-io/rempart/test/manifests"
)

// CertManagerNamespace holds the secrets ClusterIssuers read, as in a cert-manager installation.
const CertManagerNamespace = "cert-manager"

// StartCertManager installs cert-manager's CRDs from crdDir (the module's deploy/crds) and runs
// its certificate controllers and CA and SelfSigned issuers, built with the control plane
// (hack/tools/certmanager), against this cluster as administrator.
func (c *Cluster) StartCertManager(ctx context.Context, crdDir string) error {
	binary, err := certManagerBinary(c.opts.BinDir)
	if err != nil {
		return err
	}
	cl, err := c.Client()
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(crdDir)
	if err != nil {
		return fmt.Errorf("read cert-manager CRDs: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		objs, err := manifests.File(filepath.Join(crdDir, e.Name()))
		if err != nil {
			return err
		}
		if err := manifests.Apply(ctx, cl, objs, "rempart-install", false); err != nil {
			return fmt.Errorf("install %s: %w", e.Name(), err)
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: CertManagerNamespace}}
	if err := cl.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", CertManagerNamespace, err)
	}
	c.step("starting cert-manager's controllers (" + filepath.Base(binary) + ")")
	return c.runBinary("cert-manager", binary, []string{"--kubeconfig=" + c.Kubeconfig, "--cluster-resource-namespace=" + CertManagerNamespace}, nil)
}

// certManagerBinary finds the runner in the control plane directory, named after its version.
func certManagerBinary(binDir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(binDir, "cert-manager-v*"))
	if err != nil || len(matches) == 0 {
		return "", fmt.Errorf("no cert-manager runner in %s: run `make controlplane`", binDir)
	}
	sort.Strings(matches)
	return matches[len(matches)-1], nil
}
