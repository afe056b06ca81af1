package integration

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/argocd"
	"github.com/rempart-io/rempart/test/testenv"
)

// healthScripts reads the Lua health checks laid out as Argo CD's resource_customizations.
func healthScripts(t *testing.T) map[string]string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := argocd.Scripts(root)
	if err != nil {
		t.Fatal(err)
	}
	return scripts
}

// health runs a kind's health script on an object, as Argo CD does, and returns its status and
// message.
func health(t *testing.T, script string, obj client.Object) (string, string) {
	t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	status, message, err := argocd.Health(script, u)
	if err != nil {
		t.Fatal(err)
	}
	return status, message
}

func TestArgoCDHealthOfRealPolicies(t *testing.T) {
	scripts := healthScripts(t)
	for _, kind := range []string{"TenantIsolation", "DataResidency", "BackupPolicy", "AdminAccess", "CertificatePolicy", "ComplianceReport"} {
		if scripts[kind] == "" {
			t.Errorf("no health check for %s", kind)
		}
	}
	residencyTenant(t, "argo")
	ti := waitCompliant(t, "argo", "True")
	if st, msg := health(t, scripts["TenantIsolation"], ti); st != "Healthy" || msg == "" {
		t.Errorf("compliant tenant: %s %q", st, msg)
	}
	// The spec changed and Rempart has not evaluated it yet.
	pending := ti.DeepCopy()
	pending.Generation++
	if st, _ := health(t, scripts["TenantIsolation"], pending); st != "Progressing" {
		t.Errorf("unevaluated generation: %s", st)
	}
	fresh := &rempartv1.BackupPolicy{}
	fresh.Name, fresh.Generation = "fresh", 1
	if st, _ := health(t, scripts["BackupPolicy"], fresh); st != "Progressing" {
		t.Errorf("policy without status: %s", st)
	}

	storageLocation(t, "argo", "gra", nil)
	create(t, newBackupPolicy("argo", "argo", "argo", "gra"))
	t.Cleanup(func() { deleteBackupPolicy("argo") })
	bp := waitBackupPolicy(t, "argo", func(bp *rempartv1.BackupPolicy) error {
		return controlIs(bp, "backup.rpo", rempartv1.ControlNonCompliant, "")
	})
	st, msg := health(t, scripts["BackupPolicy"], bp)
	if st != "Degraded" || !strings.HasPrefix(msg, "backup.") || !strings.Contains(msg, "(") {
		t.Errorf("failing backup policy: %s %q", st, msg)
	}
	var first rempartv1.ControlResult
	for _, c := range bp.Status.Controls {
		if c.State == rempartv1.ControlNonCompliant {
			first = c
			break
		}
	}
	if msg != string(first.ID)+": "+first.Message {
		t.Errorf("message %q is not the first failing control %s", msg, first.ID)
	}

	report := waitReport(t, "argo", func(r *rempartv1.ComplianceReport) error {
		if r.Status.Summary.NonCompliant == 0 {
			return fmt.Errorf("summary %+v", r.Status.Summary)
		}
		return nil
	})
	if st, msg := health(t, scripts["ComplianceReport"], report); st != "Degraded" || !strings.Contains(msg, "NonCompliant: BackupPolicy argo") {
		t.Errorf("report: %s %q", st, msg)
	}
	healthy := report.DeepCopy()
	healthy.Status.Summary.NonCompliant = 0
	if st, _ := health(t, scripts["ComplianceReport"], healthy); st != "Healthy" {
		t.Errorf("report without failures: %s", st)
	}
}
