package integration

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/report"
	"github.com/rempart-io/rempart/test/testenv"
)

// plugin builds kubectl-rempart and returns a function running it against the test API server,
// as a user would, with its output and exit code.
func plugin(t *testing.T) func(args ...string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "kubectl-rempart")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-rempart")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the plugin: %v\n%s", err, out)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, append(args, "--kubeconfig", kubeconfig)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
}

func TestPluginReportsExplainsAndGrants(t *testing.T) {
	rempart := plugin(t)
	residencyTenant(t, "plug")
	waitReport(t, "plug", func(r *rempartv1.ComplianceReport) error {
		if r.Status.LastEvaluated == nil {
			return fmt.Errorf("not written yet")
		}
		return nil
	})

	out, errOut, code := rempart("report", "--tenant", "plug", "-o", "json")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	var e report.Export
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("report -o json: %v", err)
	}
	if len(e.Reports) != 1 || e.Reports[0].Name != "plug" || e.Cluster.UID == "" || e.Generated.IsZero() {
		t.Errorf("export %+v", e.Cluster)
	}
	out, _, code = rempart("report", "--tenant", "plug", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) < 2 || rows[1][0] != "plug" {
		t.Errorf("report -o csv: exit %d, %v, %d rows", code, err, len(rows))
	}
	for _, format := range []string{"table", "yaml", "md", "html"} {
		if out, errOut, code := rempart("report", "-o", format); code != 0 || !strings.Contains(out, "FT-CLD-20") {
			t.Errorf("report -o %s: exit %d %s", format, code, errOut)
		}
	}

	// The HTML opens offline in a real browser and renders: a headless Chromium screenshot.
	html, errOut, code := rempart("report", "--tenant", "plug", "-o", "html")
	if code != 0 {
		t.Fatalf("report -o html: exit %d %s", code, errOut)
	}
	checkRendered(t, html)

	// Bad input: a clear message and a non-zero exit.
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report", "--tenant", "nobody"}, 1, `no ComplianceReport for tenant "nobody"`},
		{[]string{"report", "-o", "pdf"}, 2, `unknown output format "pdf"`},
		{[]string{"explain", "backup.nothing"}, 2, `unknown control "backup.nothing"`},
		{[]string{"explain"}, 2, "explain takes one control ID"},
		{[]string{"grant", "request", "--tenant", "plug"}, 2, "grant request needs --reason, --subject"},
		{[]string{"grant"}, 2, "grant takes request, approve or revoke"},
		{[]string{"grant", "approve"}, 2, "grant approve takes the AdminAccess name"},
		{[]string{"grant", "promote", "x"}, 2, `unknown grant command "promote"`},
		{[]string{"audit"}, 2, `unknown command "audit"`},
		{[]string{"report", "--tenannt", "plug"}, 2, "unknown flag: --tenannt"},
	} {
		_, errOut, code := rempart(tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d %q, want %d %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}

	out, _, code = rempart("explain", "backup.rpo")
	if code != 0 || !strings.Contains(out, "SIS-BACKUP") || !strings.Contains(out, "FT-CLD-26") {
		t.Errorf("explain: exit %d %q", code, out)
	}

	// The grant's life through the plugin: carl asks, bob approves in his own name, carl cannot
	// approve his own request, and anyone allowed revokes.
	ensureGrantRoles(t)
	out, errOut, code = rempart("grant", "request", "--subject", "alice@provider.example", "--tenant", "plug", "--reason", "INC-4242 database restore",
		"--for", "2h", "--name", "alice-inc-4242", "--as", "carl@plug.example", "--as-group", requestersGroup)
	if code != 0 || !strings.Contains(out, "alice-inc-4242 requested by carl@plug.example") {
		t.Fatalf("grant request: exit %d %q %q", code, out, errOut)
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &rempartv1.AdminAccess{ObjectMeta: metav1.ObjectMeta{Name: "alice-inc-4242"}})
	})
	_, errOut, code = rempart("grant", "approve", "alice-inc-4242", "--as", "carl@plug.example", "--as-group", requestersGroup, "--as-group", approversGroup)
	if code == 0 || !strings.Contains(errOut, "you (carl@plug.example) requested AdminAccess alice-inc-4242") {
		t.Errorf("the requester approving: exit %d %q", code, errOut)
	}
	out, errOut, code = rempart("grant", "approve", "alice-inc-4242", "--as", "dpo@plug.example", "--as-group", approversGroup)
	if code != 0 || !strings.Contains(out, "alice-inc-4242 approved by dpo@plug.example") || !strings.Contains(out, `because "INC-4242 database restore"`) {
		t.Fatalf("grant approve: exit %d %q %q", code, out, errOut)
	}
	var aa rempartv1.AdminAccess
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: "alice-inc-4242"}, &aa); err != nil {
		t.Fatal(err)
	}
	if aa.Spec.Subject.Name != "alice@provider.example" || aa.Spec.RequestedBy != "carl@plug.example" || aa.Spec.ApprovedBy != "dpo@plug.example" ||
		aa.Spec.Expires.Sub(aa.Spec.NotBefore.Time).Hours() != 2 {
		t.Errorf("grant %+v", aa.Spec)
	}
	waitPhase(t, "alice-inc-4242", rempartv1.AdminAccessActive)
	out, errOut, code = rempart("grant", "revoke", "alice-inc-4242", "--as", "carl@plug.example", "--as-group", requestersGroup)
	if code != 0 || !strings.Contains(out, "alice-inc-4242 revoked") {
		t.Fatalf("grant revoke: exit %d %q %q", code, out, errOut)
	}
	waitPhase(t, "alice-inc-4242", rempartv1.AdminAccessRevoked)
}

// checkRendered screenshots the page with Debian's chromium (make chromium installs it) and
// checks that it rendered: the page's size, text on white, and the green of compliant states.
func checkRendered(t *testing.T, page string) {
	t.Helper()
	img, err := testenv.Screenshot([]byte(page), 1280, 1600)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1600 {
		t.Errorf("screenshot is %v", b)
	}
	var dark, green, total int
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			total++
			if r < 90 && g < 90 && b < 90 {
				dark++
			}
			if g > 90 && r < 70 && b < 90 && g > r+40 {
				green++
			}
		}
	}
	if dark*1000 < total*5 || dark*2 > total {
		t.Errorf("the page did not render as text on white: %d dark pixels of %d", dark, total)
	}
	if green < 10 {
		t.Errorf("no compliant state is shown in green (%d pixels)", green)
	}
}
