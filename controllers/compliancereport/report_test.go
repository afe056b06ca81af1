package compliancereport

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/requirements"
)

func control(id string, state rempartv1.ControlState, reqs ...requirements.ID) rempartv1.ControlResult {
	return rempartv1.ControlResult{ID: rempartv1.ControlID(id), State: state, Requirements: requirements.Strings(reqs...), Reason: "R", Message: "M"}
}

func requirement(st rempartv1.ComplianceReportStatus, id requirements.ID) rempartv1.RequirementResult {
	for _, r := range st.Requirements {
		if r.ID == string(id) {
			return r
		}
	}
	return rempartv1.RequirementResult{}
}

func TestBuildGroupsControlsByRequirement(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	waived := control("backup.encryption", rempartv1.ControlWaived, requirements.SISBackup)
	waived.Waiver = &rempartv1.Waiver{Reason: "store migration", ApprovedBy: "rssi@example.com", Expires: now}
	st := build(sources{Tenant: "acme", Namespaces: []string{"acme-app"}, Policies: []policyResults{
		{Kind: "TenantIsolation", Name: "acme", Controls: []rempartv1.ControlResult{control("network.default-deny", rempartv1.ControlCompliant, requirements.FTCLD20, requirements.FTCLD36)}},
		{Kind: "BackupPolicy", Name: "acme-daily", Controls: []rempartv1.ControlResult{
			control("backup.rpo", rempartv1.ControlNonCompliant, requirements.FTCLD26, requirements.SISBackup), waived,
			control("backup.restore-test", rempartv1.ControlUnknown, requirements.ALM573),
		}},
	}}, now)

	if r := requirement(st, requirements.FTCLD20); r.State != "Compliant" || len(r.Controls) != 1 || r.Controls[0].Policy != "acme" {
		t.Errorf("FT-CLD-20: %+v", r)
	}
	sis := requirement(st, requirements.SISBackup)
	if sis.State != "NonCompliant" || len(sis.Controls) != 2 || sis.Controls[0].Control != "backup.rpo" || sis.Controls[1].Waiver == nil {
		t.Errorf("SIS-BACKUP takes its worst control, failing first, waiver kept: %+v", sis)
	}
	if r := requirement(st, requirements.ALM573); r.State != "Unknown" {
		t.Errorf("ALM-5.7.3: %s", r.State)
	}
	if r := requirement(st, requirements.FTCLD74); r.State != rempartv1.RequirementNotCovered || len(r.Controls) != 0 {
		t.Errorf("FT-CLD-74 without a DataResidency: %+v", r)
	}
	total := int32(len(requirements.All()))
	s := st.Summary
	if s.Requirements != total || s.Compliant+s.NonCompliant+s.Waived+s.Unknown+s.NotCovered != total {
		t.Errorf("summary does not add up: %+v", s)
	}
	// FT-CLD-20 and FT-CLD-36 are compliant; nothing is waived alone; the rest does not count.
	if s.Compliant != 2 || s.NonCompliant != 2 || s.Unknown != 1 || s.Score != 2*100/total || s.ScoreText == "" {
		t.Errorf("summary %+v", s)
	}
	if len(st.OutsideCluster) == 0 || st.Policies[0] != "BackupPolicy/acme-daily" {
		t.Errorf("outside %v, policies %v", st.OutsideCluster, st.Policies)
	}
}

func TestWaivedOnlyRequirementIsWaived(t *testing.T) {
	waived := control("backup.encryption", rempartv1.ControlWaived, requirements.SISBackup)
	st := build(sources{Policies: []policyResults{{Kind: "BackupPolicy", Name: "b", Controls: []rempartv1.ControlResult{
		waived, control("backup.versions", rempartv1.ControlCompliant, requirements.SISBackup)}}}}, metav1.Now())
	if r := requirement(st, requirements.SISBackup); r.State != "Waived" || st.Summary.Waived != 1 {
		t.Errorf("SIS-BACKUP %s, summary %+v", r.State, st.Summary)
	}
}

func TestEndedGrantsLeaveTheListAfterAMonth(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cutoff := now.Add(-recentGrants)
	grant := func(phase rempartv1.AdminAccessPhase, ended time.Time) *rempartv1.AdminAccess {
		aa := &rempartv1.AdminAccess{}
		aa.Spec.Expires = metav1.NewTime(ended)
		aa.Status.Phase = phase
		switch phase {
		case rempartv1.AdminAccessExpired:
			aa.Status.ExpiredAt = &metav1.Time{Time: ended}
		case rempartv1.AdminAccessRevoked:
			aa.Status.RevokedAt = &metav1.Time{Time: ended}
		}
		return aa
	}
	for _, tt := range []struct {
		aa   *rempartv1.AdminAccess
		want bool
	}{
		{grant(rempartv1.AdminAccessExpired, now.Add(-40*24*time.Hour)), true},
		{grant(rempartv1.AdminAccessExpired, now.Add(-time.Hour)), false},
		{grant(rempartv1.AdminAccessRevoked, now.Add(-40*24*time.Hour)), true},
		{grant(rempartv1.AdminAccessActive, now.Add(-40*24*time.Hour)), false},
		{grant(rempartv1.AdminAccessPending, now.Add(time.Hour)), false},
	} {
		if got := endedBefore(tt.aa, cutoff); got != tt.want {
			t.Errorf("%s ended %s: endedBefore %v, want %v", tt.aa.Status.Phase, tt.aa.Spec.Expires, got, tt.want)
		}
	}
}

func TestReportKindPrefersOpenReports(t *testing.T) {
	for _, tc := range []struct {
		mode         string
		open, policy bool
		want         schema.GroupVersionKind
		write, fails bool
	}{
		{"auto", true, true, OpenReportGVK, true, false},
		{"auto", true, false, OpenReportGVK, true, false},
		{"auto", false, true, PolicyReportGVK, true, false},
		{"auto", false, false, schema.GroupVersionKind{}, false, false},
		{"on", false, true, PolicyReportGVK, true, false},
		{"on", false, false, schema.GroupVersionKind{}, false, true},
		{"off", true, true, schema.GroupVersionKind{}, false, false},
	} {
		gvk, write, err := ReportKind(tc.mode, tc.open, tc.policy)
		if gvk != tc.want || write != tc.write || (err != nil) != tc.fails {
			t.Errorf("%s with OpenReports %v, PolicyReport %v: %v %v %v", tc.mode, tc.open, tc.policy, gvk, write, err)
		}
	}
}
