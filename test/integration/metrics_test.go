package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/rempart-io/rempart/controllers/metricsserving"
	"github.com/rempart-io/rempart/test/testenv"
)

// The metrics endpoint as the operator serves it: HTTPS, a scraper's token authenticated and
// its GET on /metrics authorized by the API server. A token bound to the shipped reader role
// reads; another account's token is refused, and so is a request without one.
func TestMetricsAreServedOnlyToAuthorizedScrapers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	opts, err := metricsserving.Options(addr, true, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	httpClient, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metricsserver.NewServer(opts, env.Config, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Start(ctx) }()

	cs := kubernetes.NewForConfigOrDie(env.Config)
	ns := "metrics-scrapers"
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	for _, sa := range []string{"prometheus", "nosy"} {
		create(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}})
	}
	// The reader role as shipped in config/rbac, bound to Prometheus's account only.
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "config", "rbac", "metrics_reader_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var reader rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(raw, &reader); err != nil {
		t.Fatal(err)
	}
	create(t, &reader)
	create(t, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-reads-rempart"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "prometheus"}}})

	token := func(sa string) string {
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("token of %s: %v", sa, err)
		}
		return tr.Status.Token
	}
	// The certificate is self-signed: this test checks who may read, not the chain.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	scrape := func(bearer string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			return 0, err
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	prometheus, nosy := token("prometheus"), token("nosy")
	eventually(t, "metrics read with the reader role", func(context.Context) error {
		if code, err := scrape(prometheus); err != nil || code != http.StatusOK {
			return fmt.Errorf("status %d, %v", code, err)
		}
		return nil
	})
	if code, err := scrape(nosy); err != nil || code != http.StatusForbidden {
		t.Errorf("an account without the reader role got %d (%v), want 403", code, err)
	}
	if code, err := scrape(""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("a scrape without a token got %d (%v), want 401", code, err)
	}
	// Plain HTTP is refused on anything but loopback.
	if _, err := metricsserving.Options(":8080", false, ""); err == nil {
		t.Error("plain HTTP on every interface is accepted")
	}
}
