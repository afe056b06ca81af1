package adminaccess

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
)

func access(created, expires time.Time) *rempartv1.AdminAccess {
	return &rempartv1.AdminAccess{
		ObjectMeta: metav1.ObjectMeta{Name: "alice", CreationTimestamp: metav1.NewTime(created)},
		Spec: rempartv1.AdminAccessSpec{Subject: rempartv1.AdminSubject{Kind: rempartv1.AdminSubjectUser, Name: "alice"},
			Tenants: []rempartv1.TenantName{"acme"}, Role: "admin", Reason: "INC-1: fix", RequestedBy: "alice", ApprovedBy: "bob", Expires: metav1.NewTime(expires)},
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cfg := Config{Limits: DefaultLimits}
	guarded := now.Add(-1000 * 24 * time.Hour)
	year := 365 * 24 * time.Hour
	tests := []struct {
		name      string
		aa        func() *rempartv1.AdminAccess
		cfg       Config
		phase     rempartv1.AdminAccessPhase
		grant     bool
		message   string
		review    rempartv1.ControlState
		reviewWhy string
	}{
		{name: "active", aa: func() *rempartv1.AdminAccess { return access(now.Add(-time.Hour), now.Add(time.Hour)) },
			phase: rempartv1.AdminAccessActive, grant: true, message: "granted until 2026-11-22T13:00:00Z"},
		{name: "audit mode grants nothing", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-time.Hour), now.Add(time.Hour))
			aa.Spec.Enforcement = rempartv1.EnforcementAudit
			return aa
		}, phase: rempartv1.AdminAccessActive, grant: false, message: "Audit mode"},
		{name: "role not allowed", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-time.Hour), now.Add(time.Hour))
			aa.Spec.Role = "cluster-admin"
			return aa
		}, phase: rempartv1.AdminAccessRefused, message: "Role cluster-admin may not be granted"},
		{name: "role allowed by the settings", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-time.Hour), now.Add(time.Hour))
			aa.Spec.Role = "db-admin"
			return aa
		}, cfg: Config{Limits: DefaultLimits, ExtraRoles: []string{"db-admin"}}, phase: rempartv1.AdminAccessActive, grant: true},
		{name: "temporary too long for the settings", aa: func() *rempartv1.AdminAccess { return access(now.Add(-time.Hour), now.Add(7*time.Hour)) },
			cfg:   Config{Limits: Limits{MaxTemporary: 4 * time.Hour, MaxStanding: DefaultLimits.MaxStanding, ReviewValidity: DefaultLimits.ReviewValidity}},
			phase: rempartv1.AdminAccessRefused, message: "a temporary grant lasts at most 4h0m0s"},
		{name: "expired stays expired whatever the rules", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-48*time.Hour), now.Add(-time.Hour))
			aa.Spec.Role = "cluster-admin"
			return aa
		}, phase: rempartv1.AdminAccessExpired},
		{name: "standing, review due soon", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-300*24*time.Hour), now.Add(60*24*time.Hour))
			aa.Spec.Standing = true
			reviewed := metav1.NewTime(now.Add(-350 * 24 * time.Hour))
			aa.Spec.ReviewedAt = &reviewed
			return aa
		}, phase: rempartv1.AdminAccessActive, grant: true, review: rempartv1.ControlCompliant, reviewWhy: "ReviewDueSoon"},
		{name: "standing, review overdue", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-300*24*time.Hour), now.Add(60*24*time.Hour))
			aa.Spec.Standing = true
			reviewed := metav1.NewTime(now.Add(-year - 2*24*time.Hour))
			aa.Spec.ReviewedAt = &reviewed
			return aa
		}, phase: rempartv1.AdminAccessRefused, message: "more than a year ago", review: rempartv1.ControlNonCompliant, reviewWhy: "ReviewOverdue"},
		{name: "not yet approved waits, in its window or before", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-time.Hour), now.Add(time.Hour))
			aa.Spec.ApprovedBy = ""
			return aa
		}, phase: rempartv1.AdminAccessPending, message: "Awaiting approval"},
		{name: "never approved and past its end is expired", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-2*time.Hour), now.Add(-time.Hour))
			aa.Spec.ApprovedBy = ""
			return aa
		}, phase: rempartv1.AdminAccessExpired},
		{name: "no recorded requester", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-time.Hour), now.Add(time.Hour))
			aa.Spec.RequestedBy = ""
			return aa
		}, phase: rempartv1.AdminAccessRefused, message: "did not record who asked"},
		{name: "approved by its requester", aa: func() *rempartv1.AdminAccess {
			aa := access(now.Add(-time.Hour), now.Add(time.Hour))
			aa.Spec.RequestedBy = "bob"
			return aa
		}, phase: rempartv1.AdminAccessRefused, message: "approved by another person"},
		{name: "created before the policies guarded grants", aa: func() *rempartv1.AdminAccess {
			return access(guarded.Add(-time.Second), now.Add(time.Hour))
		}, phase: rempartv1.AdminAccessRefused, message: "cannot be trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.cfg.Limits.MaxTemporary != 0 {
				c = tt.cfg
			}
			aa := tt.aa()
			d := decide(aa, now, c, guarded)
			if d.phase != tt.phase || d.grant != tt.grant || !strings.Contains(d.message, tt.message) {
				t.Fatalf("decision %+v; want phase %s, grant %v, message with %q", d, tt.phase, tt.grant, tt.message)
			}
			results := evaluate(aa, d, nil, now, c)
			// Only a standing grant that was reviewed reports access.review.
			if missing, undeclared := compliance.Coverage(compliance.KindAdminAccess, results); len(undeclared) > 0 || (len(missing) > 0 && (len(missing) > 1 || missing[0] != compliance.AccessReview.ID || aa.Spec.Standing)) {
				t.Errorf("evaluate and the catalog disagree: missing %v, undeclared %v", missing, undeclared)
			}
			window := (&rempartv1.PolicyStatus{Controls: results}).Control(compliance.AccessWindow.ID)
			if (d.phase == rempartv1.AdminAccessRefused) != (window.State == rempartv1.ControlNonCompliant) {
				t.Errorf("window control %s for phase %s", window.State, d.phase)
			}
			if tt.review != "" {
				r := (&rempartv1.PolicyStatus{Controls: results}).Control(compliance.AccessReview.ID)
				if r.State != tt.review || r.Reason != tt.reviewWhy {
					t.Errorf("review control %s %s, want %s %s", r.State, r.Reason, tt.review, tt.reviewWhy)
				}
			}
		})
	}
}

func TestBindingNamesFitWhateverTheGrantName(t *testing.T) {
	aa := access(time.Now(), time.Now().Add(time.Hour))
	aa.Name = strings.Repeat("a", 253)
	if n := bindingName(aa); len(n) > 253 {
		t.Errorf("binding name of %d characters", len(n))
	}
	if v := labelValue(aa.Name); len(v) > 63 {
		t.Errorf("label value of %d characters", len(v))
	}
	if labelValue("short") != "short" {
		t.Error("a short name is not kept as it is")
	}
}

// access.nominative and access.scope can fail: a record the API server did not vouch for, and an
// open break-glass.
func TestNominativeAndScopeControlsCanFail(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cfg := Config{Limits: DefaultLimits}
	guarded := now.Add(-24 * time.Hour)
	state := func(aa *rempartv1.AdminAccess, id rempartv1.ControlID) (rempartv1.ControlState, string) {
		d := decide(aa, now, cfg, guarded)
		c := (&rempartv1.PolicyStatus{Controls: evaluate(aa, d, nil, now, cfg)}).Control(id)
		return c.State, c.Reason
	}
	ok := access(now.Add(-time.Hour), now.Add(time.Hour))
	if s, r := state(ok, compliance.AccessNominative.ID); s != rempartv1.ControlCompliant {
		t.Errorf("a recorded, approved grant: nominative %s %s", s, r)
	}
	early := access(guarded.Add(-time.Minute), now.Add(time.Hour))
	if s, r := state(early, compliance.AccessNominative.ID); s != rempartv1.ControlNonCompliant || r != "RecordNotTrusted" {
		t.Errorf("a grant created before the policies: nominative %s %s", s, r)
	}
	glass := access(now.Add(-time.Hour), now.Add(time.Hour))
	glass.Spec.BreakGlass, glass.Spec.Tenants = true, nil
	if s, r := state(glass, compliance.AccessScope.ID); s != rempartv1.ControlNonCompliant || r != "BreakGlassOpen" {
		t.Errorf("an open break-glass: scope %s %s", s, r)
	}
	glass.Spec.ApprovedBy = ""
	if s, r := state(glass, compliance.AccessScope.ID); s != rempartv1.ControlCompliant || r != "BreakGlassClosed" {
		t.Errorf("a break-glass awaiting approval: scope %s %s", s, r)
	}
}
