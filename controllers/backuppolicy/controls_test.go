package backuppolicy

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/backuppolicy/restoretest"
	"github.com/rempart-io/rempart/internal/backups"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/regions"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func baseObserved(t *testing.T) observed {
	t.Helper()
	catalog, err := regions.NewCatalog(nil)
	if err != nil {
		t.Fatal(err)
	}
	bp := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "acme", CreationTimestamp: metav1.NewTime(now.Add(-72 * time.Hour))},
		Spec: rempartv1.BackupPolicySpec{Tenant: "acme", StorageLocation: rempartv1.BackupStorageLocationRef{Name: "paris", Region: "eu-west-3"}}}
	return observed{
		policy: bp, namespaces: []string{"acme-app"}, catalog: catalog,
		schedule: scheduleFacts{Found: true, Phase: "Enabled"},
		location: &rempartv1.LocationFacts{Name: "paris", Provider: "aws", Region: "eu-west-3", Country: "FR", Phase: "Available", Encryption: "config.serverSideEncryption=AES256"},
		provider: regions.AWS, nodeRegions: []string{"eu-central-1"},
		backups: []backups.Backup{
			{Name: "b1", Phase: backups.Completed, Started: now.Add(-26 * time.Hour), Completed: now.Add(-25 * time.Hour), Items: 12},
			{Name: "b2", Phase: backups.Completed, Started: now.Add(-3 * time.Hour), Completed: now.Add(-2 * time.Hour), Items: 12},
		},
		errorsOf: map[string][2]int32{}, testPeriod: 7 * 24 * time.Hour,
	}
}

func result(ev evaluation, id rempartv1.ControlID) rempartv1.ControlResult {
	for _, r := range ev.results {
		if r.ID == id {
			return r
		}
	}
	return rempartv1.ControlResult{}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*observed)
		id     rempartv1.ControlID
		state  rempartv1.ControlState
		reason string
	}{
		{"fresh backup within the RPO", nil, compliance.BackupRPO.ID, rempartv1.ControlCompliant, "WithinRPO"},
		{"RPO passed by a second", func(o *observed) { o.backups[1].Completed = now.Add(-8*time.Hour - time.Second) }, compliance.BackupRPO.ID, rempartv1.ControlNonCompliant, "RPOBreached"},
		{"no good backup at all", func(o *observed) { o.backups = []backups.Backup{{Name: "f", Phase: backups.Failed, Completed: now}} }, compliance.BackupRPO.ID, rempartv1.ControlNonCompliant, "NoGoodBackup"},
		{"a scope without namespaces", func(o *observed) { o.namespaces = nil }, compliance.BackupSchedule.ID, rempartv1.ControlNonCompliant, "EmptyScope"},
		{"backups that hold nothing of the tenant", func(o *observed) {
			for i := range o.backups {
				o.backups[i].Items = 0
			}
		}, compliance.BackupRPO.ID, rempartv1.ControlNonCompliant, "EmptyBackups"},
		{"a partial backup is not fresh", func(o *observed) {
			o.backups[1].Completed = now.Add(-9 * time.Hour)
			o.backups = append(o.backups, backups.Backup{Name: "p", Phase: backups.PartiallyFailed, Started: now.Add(-time.Hour), Completed: now})
		}, compliance.BackupRPO.ID, rempartv1.ControlNonCompliant, "RPOBreached"},
		{"versions building up", nil, compliance.BackupVersions.ID, rempartv1.ControlCompliant, "VersionsBuildingUp"},
		{"versions missing after a failure", func(o *observed) {
			o.backups = append(o.backups, backups.Backup{Name: "f", Phase: backups.Failed, Started: now.Add(-time.Hour), Completed: now})
		}, compliance.BackupVersions.ID, rempartv1.ControlNonCompliant, "VersionsMissing"},
		{"more versions than promised", func(o *observed) {
			o.policy.Spec.Versions = 1
		}, compliance.BackupVersions.ID, rempartv1.ControlNonCompliant, "PruningPending"},
		{"last run failed", func(o *observed) {
			o.backups = append(o.backups, backups.Backup{Name: "f", Phase: backups.Failed, Started: now.Add(-time.Hour), Completed: now})
		}, compliance.BackupLastRun.ID, rempartv1.ControlNonCompliant, "LastBackupFailed"},
		{"location in a region the tenant runs in", func(o *observed) { o.nodeRegions = []string{"eu-west-3"} }, compliance.BackupLocation.ID, rempartv1.ControlNonCompliant, "LocationNotAllowed"},
		{"same region allowed when off-site is not required", func(o *observed) {
			o.nodeRegions = []string{"eu-west-3"}
			o.policy.Spec.RequireOffsite = new(bool)
		}, compliance.BackupLocation.ID, rempartv1.ControlCompliant, "LocationOffsiteAndAllowed"},
		{"declared region differs from the location's", func(o *observed) { o.location.Region = "eu-west-1" }, compliance.BackupLocation.ID, rempartv1.ControlNonCompliant, "RegionMismatch"},
		{"location missing", func(o *observed) { o.location = nil }, compliance.BackupLocation.ID, rempartv1.ControlNonCompliant, "LocationMissing"},
		{"location unavailable", func(o *observed) { o.location.Phase = "Unavailable" }, compliance.BackupLocation.ID, rempartv1.ControlNonCompliant, "LocationUnavailable"},
		{"location outside the residency pauses the schedule", func(o *observed) {
			o.residency = &residency{Policies: []string{"de-only"}, Countries: map[string]bool{"DE": true}}
		}, compliance.BackupSchedule.ID, rempartv1.ControlNonCompliant, "SchedulePaused"},
		{"a location of unknown country under a residency pauses the schedule", func(o *observed) {
			o.residency = &residency{Policies: []string{"fr-only"}, Countries: map[string]bool{"FR": true}}
			o.location.Country = ""
		}, compliance.BackupSchedule.ID, rempartv1.ControlNonCompliant, "SchedulePaused"},
		{"no encryption shown", func(o *observed) { o.location.Encryption = "" }, compliance.BackupEncryption.ID, rempartv1.ControlNonCompliant, "EncryptionNotShown"},
		{"schedule refused by Velero", func(o *observed) {
			o.schedule = scheduleFacts{Found: true, Phase: "FailedValidation", ValidationErrors: []string{"invalid schedule"}}
		}, compliance.BackupSchedule.ID, rempartv1.ControlNonCompliant, "ScheduleInvalid"},
		{"never tested", nil, compliance.BackupRestoreTest.ID, rempartv1.ControlUnknown, "NotTestedYet"},
		{"tested recently", func(o *observed) { o.lastPassed = &metav1.Time{Time: now.Add(-24 * time.Hour)} }, compliance.BackupRestoreTest.ID, rempartv1.ControlCompliant, "RestoreTestPassed"},
		{"last pass is stale", func(o *observed) { o.lastPassed = &metav1.Time{Time: now.Add(-15 * 24 * time.Hour)} }, compliance.BackupRestoreTest.ID, rempartv1.ControlNonCompliant, "RestoreTestStale"},
		{"tests disabled", func(o *observed) { o.policy.Spec.RestoreTest.Enabled = new(bool) }, compliance.BackupRestoreTest.ID, rempartv1.ControlNonCompliant, "RestoreTestsDisabled"},
		{"last test failed", func(o *observed) {
			o.lastTest = &rempartv1.RestoreTestRecord{Result: rempartv1.RestoreTestFailed, Message: "secrets missing"}
			o.lastPassed = &metav1.Time{Time: now.Add(-24 * time.Hour)}
		}, compliance.BackupRestoreTest.ID, rempartv1.ControlNonCompliant, "RestoreTestFailed"},
		{"waived by an exception", func(o *observed) {
			o.location.Encryption = ""
			o.policy.Spec.Exceptions = []rempartv1.Exception{{Control: "backup.encryption", Reason: "store migration ticket OPS-12", ApprovedBy: "rssi@example.com", Expires: metav1.NewTime(now.Add(30 * 24 * time.Hour))}}
		}, compliance.BackupEncryption.ID, rempartv1.ControlWaived, rempartv1.ReasonWaived},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseObserved(t)
			if tt.change != nil {
				tt.change(&o)
			}
			ev := evaluate(o, "velero", now)
			if missing, undeclared := compliance.Coverage(compliance.KindBackupPolicy, ev.results); len(missing)+len(undeclared) > 0 {
				t.Errorf("evaluate and the catalog disagree: missing %v, undeclared %v", missing, undeclared)
			}
			r := result(ev, tt.id)
			if r.State != tt.state || r.Reason != tt.reason {
				t.Fatalf("%s: %s/%s (%s), want %s/%s", tt.id, r.State, r.Reason, r.Message, tt.state, tt.reason)
			}
			if len(r.Requirements) == 0 || (r.State == rempartv1.ControlNonCompliant && !strings.Contains(r.Message, "(")) {
				t.Errorf("result without its requirements: %+v", r)
			}
		})
	}
}

func TestRPODeadlineIsExact(t *testing.T) {
	o := baseObserved(t)
	ev := evaluate(o, "velero", now)
	if want := now.Add(-2 * time.Hour).Add(8 * time.Hour); !ev.deadline.Equal(want) || !ev.rpoMet {
		t.Errorf("deadline %s (met %v), want %s", ev.deadline, ev.rpoMet, want)
	}
	if ev := evaluate(o, "velero", ev.deadline); ev.rpoMet {
		t.Error("the RPO still holds at its deadline")
	}
}

func TestSchedulePeriodsAndEmptyScope(t *testing.T) {
	bp := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}
	if got := restoretest.Period("0 4 * * 0", now); got != 7*24*time.Hour {
		t.Errorf("weekly period %s", got)
	}
	if got := restoretest.Period("@daily", now); got != 24*time.Hour {
		t.Errorf("daily period %s", got)
	}
	sched := desiredSchedule(bp, "velero", nil, false)
	included, _, _ := unstructuredStrings(sched.Object, "spec", "template", "includedNamespaces")
	if len(included) != 1 || included[0] == "*" {
		t.Errorf("a policy covering no namespace backs up %v: never the whole cluster", included)
	}
}

func TestUnknownCountryIsForbiddenOnlyUnderAResidency(t *testing.T) {
	o := baseObserved(t)
	o.location.Country = ""
	if why := forbiddenReason(o); why != "" {
		t.Errorf("without a DataResidency an unknown country is forbidden: %s", why)
	}
	o.residency = &residency{Policies: []string{"fr-only"}, Countries: map[string]bool{"FR": true}}
	if why := forbiddenReason(o); !strings.Contains(why, "cannot be established") {
		t.Errorf("under a DataResidency an unknown country is allowed: %q", why)
	}
	o.location = nil
	if why := forbiddenReason(o); !strings.Contains(why, "cannot be read") {
		t.Errorf("an unreadable location under a DataResidency is allowed: %q", why)
	}
}
