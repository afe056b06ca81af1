package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/compliancereport"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/requirements"
)

func waitReport(t *testing.T, name string, check func(*rempartv1.ComplianceReport) error) *rempartv1.ComplianceReport {
	t.Helper()
	var r rempartv1.ComplianceReport
	eventually(t, "ComplianceReport "+name, func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &r); err != nil {
			return err
		}
		return check(&r)
	})
	return &r
}

func reportRequirement(r *rempartv1.ComplianceReport, id string) rempartv1.RequirementResult {
	for _, req := range r.Status.Requirements {
		if req.ID == id {
			return req
		}
	}
	return rempartv1.RequirementResult{}
}

// A tenant with one failing and one waived control: the report shows both, under their
// requirements, with the policy they come from and the waiver's approver and expiry.
func TestComplianceReportShowsFailingAndWaivedControls(t *testing.T) {
	ns := residencyTenant(t, "rpt")
	storageLocation(t, "rpt", "gra", nil)
	bp := newBackupPolicy("rpt-daily", "rpt", "rpt", "gra")
	expires := metav1.NewTime(time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second))
	bp.Spec.Exceptions = []rempartv1.Exception{{Control: "backup.encryption", Reason: "store migration, ticket OPS-42",
		ApprovedBy: "rssi@rpt.example", Expires: expires}}
	create(t, bp)
	t.Cleanup(func() { deleteBackupPolicy("rpt-daily") })

	report := waitReport(t, "rpt", func(r *rempartv1.ComplianceReport) error {
		if !strings.Contains(strings.Join(r.Status.Policies, ","), "BackupPolicy/rpt-daily") {
			return fmt.Errorf("policies %v", r.Status.Policies)
		}
		if reportRequirement(r, "SIS-BACKUP").State != "NonCompliant" {
			return fmt.Errorf("SIS-BACKUP %+v", reportRequirement(r, "SIS-BACKUP"))
		}
		return nil
	})
	if refs := report.OwnerReferences; len(refs) != 1 || refs[0].Kind != "TenantIsolation" || refs[0].Name != "rpt" {
		t.Errorf("owners %+v", refs)
	}
	var failing, waived *rempartv1.ReportedControl
	for i, c := range reportRequirement(report, "SIS-BACKUP").Controls {
		switch {
		case c.Control == "backup.rpo" && c.State == rempartv1.ControlNonCompliant:
			failing = &reportRequirement(report, "SIS-BACKUP").Controls[i]
		case c.Control == "backup.encryption" && c.State == rempartv1.ControlWaived:
			waived = &reportRequirement(report, "SIS-BACKUP").Controls[i]
		}
	}
	if failing == nil || failing.Kind != "BackupPolicy" || failing.Policy != "rpt-daily" || !strings.Contains(failing.Message, "RPO") {
		t.Errorf("failing control %+v", failing)
	}
	if waived == nil || waived.Waiver == nil || waived.Waiver.ApprovedBy != "rssi@rpt.example" || !waived.Waiver.Expires.Equal(&expires) {
		t.Errorf("waived control %+v", waived)
	}
	if r := reportRequirement(report, "FT-CLD-20"); r.State != "Compliant" {
		t.Errorf("FT-CLD-20 from the tenant's isolation: %+v", r)
	}
	if r := reportRequirement(report, "SIS-LOCATION"); r.State != rempartv1.RequirementNotCovered {
		t.Errorf("SIS-LOCATION without a DataResidency for the tenant: %s", r.State)
	}
	s := report.Status.Summary
	if s.NonCompliant == 0 || s.Waived != 0 || s.NotCovered == 0 || s.ScoreText != fmt.Sprintf("%d%%", s.Score) {
		t.Errorf("summary %+v", s)
	}
	if len(report.Status.Inventory.Namespaces) != 1 || report.Status.Inventory.Namespaces[0] != ns ||
		len(report.Status.Inventory.Backups) != 1 || report.Status.Inventory.Backups[0].Policy != "rpt-daily" {
		t.Errorf("inventory %+v", report.Status.Inventory)
	}
	// kubectl rempart explain describes every control the controllers report, with the same
	// requirements.
	var ti rempartv1.TenantIsolation
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: "rpt"}, &ti); err != nil {
		t.Fatal(err)
	}
	var bpNow rempartv1.BackupPolicy
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: "rpt-daily"}, &bpNow); err != nil {
		t.Fatal(err)
	}
	assertCatalogued(t, append(ti.Status.Controls, bpNow.Status.Controls...))
	if len(report.Status.OutsideCluster) == 0 {
		t.Error("the organisational rules are not listed as outside the cluster")
	}

	// The same results as an openreports.io Report in the tenant's namespace, for the dashboards
	// that read Kyverno's and Kubewarden's format: both it and the older wgpolicyk8s.io
	// PolicyReport are served here, and OpenReports wins.
	httpClient, herr := rest.HTTPClientFor(env.Config)
	if herr != nil {
		t.Fatal(herr)
	}
	mapper, merr := apiutil.NewDynamicRESTMapper(env.Config, httpClient)
	if merr != nil {
		t.Fatal(merr)
	}
	if gvk, write, err := compliancereport.ReportKindServed(mapper, "auto"); err != nil || !write || gvk != compliancereport.OpenReportGVK {
		t.Errorf("report kind with both CRDs: %v %v %v, want OpenReports", gvk, write, err)
	}
	eventually(t, "the OpenReports Report of "+ns, func(ctx context.Context) error {
		pr := &unstructured.Unstructured{}
		pr.SetAPIVersion("openreports.io/v1alpha1")
		pr.SetKind("Report")
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "rempart"}, pr); err != nil {
			return err
		}
		if src, _, _ := unstructured.NestedString(pr.Object, "source"); src != "rempart" {
			return fmt.Errorf("source %q", src)
		}
		results, _, _ := unstructured.NestedSlice(pr.Object, "results")
		found := map[string]string{}
		for _, r := range results {
			m := r.(map[string]any)
			found[m["policy"].(string)+" "+m["rule"].(string)] = m["result"].(string)
		}
		if found["BackupPolicy/rpt-daily backup.rpo"] != "fail" || found["BackupPolicy/rpt-daily backup.encryption"] != "skip" || found["TenantIsolation/rpt network.default-deny"] != "pass" {
			return fmt.Errorf("results %v", found)
		}
		if fail, _, _ := unstructured.NestedInt64(pr.Object, "summary", "fail"); fail == 0 {
			return fmt.Errorf("summary %v", pr.Object["summary"])
		}
		if refs := pr.GetOwnerReferences(); len(refs) != 1 || refs[0].Kind != "ComplianceReport" {
			return fmt.Errorf("owners %+v", refs)
		}
		return nil
	})
	older := &unstructured.Unstructured{}
	older.SetGroupVersionKind(compliancereport.PolicyReportGVK)
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "rempart"}, older); !apierrors.IsNotFound(err) {
		t.Errorf("a wgpolicyk8s.io PolicyReport is written beside the OpenReports Report (err %v)", err)
	}

	// A DataResidency for the tenant covers SIS-LOCATION within seconds.
	create(t, newResidency("rpt", []rempartv1.TenantName{"rpt"}, []rempartv1.Jurisdiction{"EU"}))
	t.Cleanup(func() { deleteResidency(t, "rpt") })
	waitReport(t, "rpt", func(r *rempartv1.ComplianceReport) error {
		if got := reportRequirement(r, "SIS-LOCATION").State; got == rempartv1.RequirementNotCovered || got == "" {
			return fmt.Errorf("SIS-LOCATION still %q", got)
		}
		return nil
	})

	// Nobody but the operator edits a report, even with RBAC rights on it.
	mallory := withClusterRole(t, "rpt-report-editor", "mallory@rpt.example", rbacv1.PolicyRule{
		APIGroups: []string{"rempart.io"}, Resources: []string{"compliancereports", "compliancereports/status"}, Verbs: []string{"get", "update", "patch", "delete"}})
	var err error
	eventually(t, "an edit of the report refused", func(ctx context.Context) error {
		var r rempartv1.ComplianceReport
		if err := mallory.Get(ctx, client.ObjectKey{Name: "rpt"}, &r); err != nil {
			return err
		}
		r.Status.Summary.ScoreText = "100%"
		err = mallory.Status().Update(ctx, &r)
		if err == nil || !strings.Contains(err.Error(), "is written by Rempart") {
			return fmt.Errorf("status edit: %v", err)
		}
		return nil
	})
	if !strings.Contains(err.Error(), "FT-CLD-28") {
		t.Errorf("refusal %q names no requirement", err)
	}
	if err := mallory.Delete(context.Background(), &rempartv1.ComplianceReport{ObjectMeta: metav1.ObjectMeta{Name: "rpt"}}); err == nil || !strings.Contains(err.Error(), "is written by Rempart") {
		t.Errorf("deleting the report: %v", err)
	}
}

// assertCatalogued checks that kubectl rempart explain describes every control a controller
// reported, with the same requirements.
func assertCatalogued(t *testing.T, controls []rempartv1.ControlResult) {
	t.Helper()
	if len(controls) == 0 {
		t.Error("no controls to check against the catalog")
	}
	for _, c := range controls {
		entry, ok := compliance.Lookup(string(c.ID))
		if !ok {
			t.Errorf("control %s is not in the control catalog", c.ID)
			continue
		}
		if got := strings.Join(requirements.Strings(entry.Requirements...), ","); got != strings.Join(c.Requirements, ",") {
			t.Errorf("control %s serves %v, the catalog says %s", c.ID, c.Requirements, got)
		}
	}
}

// The status of every Rempart kind is evidence: a user allowed by RBAC to write it is refused by
// the API server, so no control can be made Compliant by hand (FT-CLD-28).
func TestPolicyStatusIsWrittenByTheOperatorOnly(t *testing.T) {
	ctx := context.Background()
	residencyTenant(t, "forged")
	create(t, newResidency("forged", []rempartv1.TenantName{"forged"}, []rempartv1.Jurisdiction{"EU"}))
	t.Cleanup(func() { deleteResidency(t, "forged") })
	mallory := withClusterRole(t, "forged-status-writer", "mallory@forged.example", rbacv1.PolicyRule{
		APIGroups: []string{"rempart.io"}, Resources: []string{"*/status", "*"}, Verbs: []string{"get", "update", "patch"}})
	compliant := []rempartv1.ControlResult{{ID: "network.default-deny", Requirements: []string{"FT-CLD-20"}, State: rempartv1.ControlCompliant, Reason: "Forged", Message: "forged by hand"}}
	for _, obj := range []client.Object{&rempartv1.TenantIsolation{}, &rempartv1.DataResidency{}} {
		eventually(t, fmt.Sprintf("a forged %T status refused", obj), func(ctx context.Context) error {
			if err := mallory.Get(ctx, client.ObjectKey{Name: "forged"}, obj); err != nil {
				return err
			}
			switch o := obj.(type) {
			case *rempartv1.TenantIsolation:
				o.Status.Controls = compliant
			case *rempartv1.DataResidency:
				o.Status.Controls = compliant
			}
			err := mallory.Status().Update(ctx, obj)
			if err == nil || !strings.Contains(err.Error(), "is the evidence Rempart writes") || !strings.Contains(err.Error(), "FT-CLD-28") {
				return fmt.Errorf("status write: %v", err)
			}
			return nil
		})
	}
	// The spec stays the user's to change, as RBAC allows.
	var ti rempartv1.TenantIsolation
	if err := mallory.Get(ctx, client.ObjectKey{Name: "forged"}, &ti); err != nil {
		t.Fatal(err)
	}
	if ti.Labels == nil {
		ti.Labels = map[string]string{}
	}
	ti.Labels["team"] = "shop"
	if err := mallory.Update(ctx, &ti); err != nil {
		t.Errorf("a label change of the TenantIsolation was refused: %v", err)
	}
}

// An expired grant is the record of a past access: listed in the report's inventory, but its
// controls no longer count for the tenant's FT-CLD-16, FT-CLD-18 or PAS-12.2.
func TestExpiredGrantsAreRecordNotEvidence(t *testing.T) {
	ensureTestAdminRole(t)
	residencyTenant(t, "bygone")
	aa := newAccess("bygone-fix", "carol@bygone.example", []rempartv1.TenantName{"bygone"}, nil, time.Now().Add(6*time.Second))
	grantApproved(t, aa)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), aa) })
	fromGrant := func(r *rempartv1.ComplianceReport, id string) int {
		n := 0
		for _, c := range reportRequirement(r, id).Controls {
			if c.Kind == "AdminAccess" && c.Policy == aa.Name {
				n++
			}
		}
		return n
	}
	waitReport(t, "bygone", func(r *rempartv1.ComplianceReport) error {
		if fromGrant(r, "FT-CLD-18") == 0 {
			return fmt.Errorf("the active grant's controls are not in FT-CLD-18")
		}
		return nil
	})
	waitPhase(t, aa.Name, rempartv1.AdminAccessExpired)
	waitReport(t, "bygone", func(r *rempartv1.ComplianceReport) error {
		for _, id := range []string{"FT-CLD-16", "FT-CLD-18", "PAS-12.2"} {
			if n := fromGrant(r, id); n != 0 {
				return fmt.Errorf("%s still counts %d controls of the expired grant", id, n)
			}
		}
		listed := false
		for _, g := range r.Status.Inventory.AdminGrants {
			listed = listed || (g.Name == aa.Name && g.Phase == string(rempartv1.AdminAccessExpired))
		}
		if !listed {
			return fmt.Errorf("the expired grant is not in the inventory: %+v", r.Status.Inventory.AdminGrants)
		}
		return nil
	})
}

// A requirement is met only by controls that test it: a tenant with a DataResidency and no
// BackupPolicy has its location covered, and its backup requirements NotCovered, never Compliant
// through the residency policy's view of where backups would go.
func TestNoBackupPolicyLeavesBackupRequirementsNotCovered(t *testing.T) {
	residencyTenant(t, "unsaved")
	create(t, newResidency("unsaved", []rempartv1.TenantName{"unsaved"}, []rempartv1.Jurisdiction{"EU"}))
	t.Cleanup(func() { deleteResidency(t, "unsaved") })
	waitReport(t, "unsaved", func(r *rempartv1.ComplianceReport) error {
		if got := reportRequirement(r, "SIS-LOCATION").State; got == rempartv1.RequirementNotCovered || got == "" {
			return fmt.Errorf("SIS-LOCATION %q: the residency policy is not in the report yet", got)
		}
		for _, id := range []string{"SIS-BACKUP", "FT-CLD-26", "ALM-5.7.3"} {
			if got := reportRequirement(r, id); got.State != rempartv1.RequirementNotCovered {
				return fmt.Errorf("%s is %s without any BackupPolicy: %+v", id, got.State, got.Controls)
			}
		}
		return nil
	})
}
