package compliance

import (
	"strings"
	"testing"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/requirements"
)

func TestEveryControlCitesKnownRequirements(t *testing.T) {
	for _, id := range IDs() {
		c, _ := Lookup(id)
		if c.Checks == "" || c.Kind == "" || len(c.Requirements) == 0 {
			t.Errorf("%s is not described", id)
		}
		for _, r := range c.Requirements {
			if _, ok := requirements.Lookup(r); !ok {
				t.Errorf("%s cites %s, which the requirement catalog does not have", id, r)
			}
		}
	}
	if _, ok := Lookup("backup.rpo"); !ok {
		t.Error("backup.rpo missing")
	}
}

// A requirement the catalog says Rempart enforces is cited by a control; the others say they are
// evidenced outside the cluster and are listed there, with the reason.
func TestEveryEnforcedRequirementHasAControl(t *testing.T) {
	cited := map[requirements.ID]bool{}
	for _, id := range IDs() {
		c, _ := Lookup(id)
		for _, r := range c.Requirements {
			cited[r] = true
		}
	}
	outside := map[string]bool{}
	for _, b := range requirements.OutsideCluster() {
		outside[b.IDs] = true
	}
	for _, r := range requirements.All() {
		claimsOutside := strings.HasPrefix(r.EnforcedBy, requirements.OutsidePrefix)
		switch {
		case !cited[r.ID] && !claimsOutside:
			t.Errorf("%s says it is enforced by %q, but no control cites it", r.ID, r.EnforcedBy)
		case claimsOutside && cited[r.ID]:
			t.Errorf("%s is cited by a control but says it is evidenced outside the cluster", r.ID)
		case claimsOutside && !outside[string(r.ID)]:
			t.Errorf("%s is evidenced outside the cluster but not listed in OutsideCluster", r.ID)
		}
	}
}

// Every control is declared in full: the explain command, the report and the waived results
// read these words.
func TestEveryControlIsDeclaredInFull(t *testing.T) {
	if len(byID) != len(catalog) {
		t.Errorf("%d controls in the catalog but %d distinct IDs: an ID is declared twice", len(catalog), len(byID))
	}
	kinds := map[string]bool{KindEveryPolicy: true, KindTenantIsolation: true, KindDataResidency: true,
		KindBackupPolicy: true, KindAdminAccess: true, KindCertificatePolicy: true, KindEvidenceLog: true}
	for _, c := range catalog {
		if !kinds[c.Kind] {
			t.Errorf("%s: kind %q is not a policy kind", c.ID, c.Kind)
		}
		if c.PassReason == "" || c.FailReason == "" || c.FailMessage == "" {
			t.Errorf("%s lacks its reasons or its remediation: %+v", c.ID, *c)
		}
	}
	if got := ForKind(KindBackupPolicy); len(got) != 7 || got[0] != "backup.schedule" {
		t.Errorf("ForKind(BackupPolicy) = %v", got)
	}
	if got := ForKind("NoSuchKind"); len(got) != 0 {
		t.Errorf("ForKind of an unknown kind = %v", got)
	}
}

func TestPassingAndFailingKeepTheDeclaredIdentity(t *testing.T) {
	p := BackupRPO.Passing("", "within")
	f := BackupRPO.Failing("NoGoodBackup", "none")
	if p.ID != BackupRPO.ID || p.PassReason != BackupRPO.PassReason || p.PassMessage != "within" {
		t.Errorf("Passing = %+v", p)
	}
	if f.ID != BackupRPO.ID || f.FailReason != "NoGoodBackup" || f.FailMessage != "none" || len(f.Requirements) != 2 {
		t.Errorf("Failing = %+v", f)
	}
	if BackupRPO.FailReason != "RPOBreached" {
		t.Error("Failing changed the declared control")
	}
}

func TestCoverageNamesMissingAndUndeclaredControls(t *testing.T) {
	results := []rempartv1.ControlResult{{ID: PolicyExceptions.ID}, {ID: TLSExpiry.ID}, {ID: BackupRPO.ID}, {ID: "tls.made-up"}}
	missing, undeclared := Coverage(KindCertificatePolicy, results)
	if len(missing) != len(ForKind(KindCertificatePolicy))-1 {
		t.Errorf("missing = %v", missing)
	}
	if len(undeclared) != 2 || undeclared[0] != BackupRPO.ID || undeclared[1] != "tls.made-up" {
		t.Errorf("undeclared = %v, want backup.rpo and tls.made-up", undeclared)
	}
}
