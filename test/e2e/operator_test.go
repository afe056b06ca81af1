package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rempart-io/rempart/test/localcluster"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The operator runs as its service account with the RBAC of config/rbac, becomes ready, serves
// metrics, and holds the leader lease in its own namespace.
func TestOperatorRunsWithItsOwnRBACAndHoldsTheLease(t *testing.T) {
	if code, body := get(t, operator.ProbeURL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, operator.ProbeURL+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %q", code, body)
	}
	code, metrics := get(t, operator.MetricsURL+"/metrics")
	if code != http.StatusOK || !strings.Contains(metrics, "rest_client_requests_total") {
		t.Errorf("/metrics = %d, lacks the client metrics", code)
	}

	var lease *coordinationv1.Lease
	waitFor(t, "the operator to hold its leader lease", time.Minute, func(ctx context.Context) (bool, error) {
		l, err := cluster.Clientset.CoordinationV1().Leases(localcluster.OperatorNamespace).Get(ctx, "rempart.rempart.io", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		lease = l
		return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "", nil
	})
	if lease.Spec.LeaseDurationSeconds == nil || *lease.Spec.LeaseDurationSeconds <= 0 {
		t.Errorf("lease has no duration: %+v", lease.Spec)
	}

	// Least privilege: the operator's own identity cannot read Secrets cluster-wide.
	cfg, err := clientcmd.BuildConfigFromFlags("", operator.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	asOperator, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asOperator.CoreV1().Secrets("kube-system").List(context.Background(), metav1.ListOptions{}); err == nil {
		t.Error("the operator's service account can list Secrets in kube-system; its RBAC is wider than it needs")
	}
	if strings.Contains(operator.Log(200), "is forbidden") {
		t.Errorf("the operator was refused a request its RBAC should allow:\n%s", operator.Log(50))
	}
}
