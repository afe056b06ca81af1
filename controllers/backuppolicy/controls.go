package backuppolicy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/backuppolicy/velero"
	"github.com/rempart-io/rempart/internal/backups"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/regions"
)

// residency is what the DataResidency policies covering the backed-up namespaces allow.
type residency struct {
	// Policies are the DataResidency names.
	Policies []string
	// Countries allowed by all of them.
	Countries map[string]bool
}

// scheduleFacts is what Velero says of the policy's Schedule.
type scheduleFacts struct {
	Found  bool
	Paused bool
	// Phase is Velero's: New, Enabled or FailedValidation.
	Phase            string
	ValidationErrors []string
}

// observed is everything the controls read.
type observed struct {
	policy     *rempartv1.BackupPolicy
	namespaces []string
	schedule   scheduleFacts
	// location is nil when the BackupStorageLocation does not exist.
	location *rempartv1.LocationFacts
	provider regions.Provider
	catalog  *regions.Catalog
	backups  []backups.Backup
	// errorsOf counts errors and warnings per backup name, as Velero reports them.
	errorsOf    map[string][2]int32
	nodeRegions []string
	residency   *residency
	// lastTest is the newest restore test, as the status records it.
	lastTest   *rempartv1.RestoreTestRecord
	lastPassed *metav1.Time
	// testPeriod is the time between two scheduled restore tests.
	testPeriod time.Duration
}

// evaluation is the outcome of the controls and the facts status shows.
type evaluation struct {
	results    []rempartv1.ControlResult
	exceptions compliance.ExceptionSet
	versions   []backups.Backup
	deadline   time.Time
	rpoMet     bool
	// forbidden is set when the location lies outside the allowed countries: in Enforce mode no
	// backup is sent there.
	forbidden string
}

func ref(kind, namespace, name string) rempartv1.ObjectReference {
	apiVersion := "velero.io/v1"
	if kind == "BackupPolicy" {
		apiVersion = rempartv1.GroupVersion.String()
	}
	return rempartv1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// evaluate judges the backup promise at now: one line per control.
func evaluate(o observed, veleroNamespace string, now time.Time) evaluation {
	j, exceptionsResult := compliance.ExceptionsOf(compliance.KindBackupPolicy, now, o.policy.Spec.Exceptions)
	ev := evaluation{exceptions: j, versions: backups.Versions(o.backups)}
	if o.location != nil {
		// Where the backups would go decides whether the Schedule may run (Enforce).
		ev.forbidden = forbiddenReason(o)
	}
	deadline, ok := backups.RPODeadline(o.backups, o.policy.Spec.RPODuration())
	if ok {
		ev.deadline, ev.rpoMet = deadline, now.Before(deadline)
	}
	ev.results = compliance.Results(
		exceptionsResult,
		scheduleResult(o, ev, veleroNamespace),
		locationResult(o, j, veleroNamespace),
		encryptionResult(o, j, veleroNamespace),
		versionsResult(o, ev),
		rpoResult(o, ev, veleroNamespace, now),
		lastRunResult(o, j, veleroNamespace),
		restoreTestResult(o, j, now),
	)
	return ev
}

// scheduleResult: the Velero Schedule exists, runs and was accepted.
func scheduleResult(o observed, ev evaluation, veleroNamespace string) rempartv1.ControlResult {
	j := ev.exceptions
	spec := o.policy.Spec
	policyRef := ref("BackupPolicy", "", o.policy.Name)
	schedRef := ref("Schedule", veleroNamespace, velero.ScheduleName(o.policy))
	switch {
	case len(o.namespaces) == 0:
		return j.Fail(compliance.BackupSchedule, "EmptyScope",
			fmt.Sprintf("The policy covers no namespace of tenant %s: its backups would hold nothing. Check spec.tenant and spec.namespaces, and that the tenant's namespaces exist (SIS-BACKUP).", spec.Tenant), policyRef)
	case !o.schedule.Found:
		return j.Fail(compliance.BackupSchedule, "ScheduleMissing",
			"The Velero Schedule of the policy does not exist yet, so no backup is taken (SIS-BACKUP).", schedRef)
	case o.schedule.Paused || (ev.forbidden != "" && spec.Enforcement != rempartv1.EnforcementAudit):
		why := "it is paused"
		if ev.forbidden != "" {
			why = "it is paused because " + ev.forbidden
		}
		return j.Fail(compliance.BackupSchedule, "SchedulePaused",
			fmt.Sprintf("The Velero Schedule takes no backup: %s (SIS-BACKUP).", why), schedRef)
	case o.schedule.Phase == "FailedValidation":
		return j.Fail(compliance.BackupSchedule, "ScheduleInvalid",
			fmt.Sprintf("Velero refused the Schedule: %s (SIS-BACKUP).", strings.Join(o.schedule.ValidationErrors, "; ")), schedRef)
	case o.schedule.Phase != "Enabled":
		return compliance.Unknown(compliance.BackupSchedule, "ScheduleNotValidated", "Velero has not validated the Schedule yet: is the Velero server running?")
	default:
		return j.Pass(compliance.BackupSchedule, "ScheduleEnabled",
			fmt.Sprintf("Velero runs the backups of %s on the schedule %q (SIS-BACKUP).", strings.Join(o.namespaces, ", "), spec.BackupSchedule()))
	}
}

// encryptionResult: only what the location shows.
func encryptionResult(o observed, j compliance.ExceptionSet, veleroNamespace string) rempartv1.ControlResult {
	spec := o.policy.Spec
	locRef := ref("BackupStorageLocation", veleroNamespace, spec.StorageLocation.Name)
	switch {
	case o.location == nil:
		return compliance.Unknown(compliance.BackupEncryption, "LocationMissing", fmt.Sprintf("The BackupStorageLocation %s does not exist: its encryption cannot be seen.", spec.StorageLocation.Name))
	case o.location.Encryption != "":
		return j.Pass(compliance.BackupEncryption, "EncryptedAtRest",
			fmt.Sprintf("The location encrypts backups at rest: %s (SIS-BACKUP). Velero compresses every backup archive.", o.location.Encryption))
	case !spec.EncryptionRequired():
		return j.Pass(compliance.BackupEncryption, "EncryptionNotRequired",
			"The policy does not require encryption, and the location shows none.")
	default:
		return j.Fail(compliance.BackupEncryption, "EncryptionNotShown",
			"The location shows no encryption at rest in its configuration (for S3: config.serverSideEncryption or kmsKeyId; GCS: kmsKeyName; Azure: encryptionScope or customerProvidedKeyFile), and Rempart claims none it cannot see: configure it on the BackupStorageLocation (SIS-BACKUP).", locRef)
	}
}

// rpoResult: the newest good backup is younger than the RPO.
func rpoResult(o observed, ev evaluation, veleroNamespace string, now time.Time) rempartv1.ControlResult {
	j := ev.exceptions
	spec := o.policy.Spec
	policyRef := ref("BackupPolicy", "", o.policy.Name)
	deadline, ok := ev.deadline, !ev.deadline.IsZero()
	switch {
	case !ok && slices.ContainsFunc(o.backups, backups.Backup.Empty):
		return j.Fail(compliance.BackupRPO, "EmptyBackups",
			fmt.Sprintf("The policy's completed backups hold no object: its scope selects nothing of the tenant, so there is no copy of its data and the RPO of %s is not met (FT-CLD-26, SIS-BACKUP).", spec.RPODuration()), policyRef)
	case !ok:
		return j.Fail(compliance.BackupRPO, "NoGoodBackup",
			fmt.Sprintf("No backup of the policy has completed: the RPO of %s is not met (FT-CLD-26, SIS-BACKUP).", spec.RPODuration()), policyRef)
	case !now.Before(deadline):
		newest := ev.versions[0]
		b := ref("Backup", veleroNamespace, newest.Name)
		return j.Fail(compliance.BackupRPO, "RPOBreached",
			fmt.Sprintf("The newest good backup completed at %s, more than the RPO of %s ago (deadline %s): check the Schedule and Velero's logs (FT-CLD-26, SIS-BACKUP).",
				stamp(newest.Completed), spec.RPODuration(), stamp(deadline)), b)
	default:
		return j.Pass(compliance.BackupRPO, "WithinRPO",
			fmt.Sprintf("The newest good backup, %s, completed at %s; the RPO of %s holds until %s (FT-CLD-26).", ev.versions[0].Name, stamp(ev.versions[0].Completed), spec.RPODuration(), stamp(deadline)))
	}
}

func locationResult(o observed, ex compliance.ExceptionSet, veleroNamespace string) rempartv1.ControlResult {
	spec := o.policy.Spec
	locRef := ref("BackupStorageLocation", veleroNamespace, spec.StorageLocation.Name)
	if o.location == nil {
		return ex.Fail(compliance.BackupLocation, "LocationMissing",
			fmt.Sprintf("The BackupStorageLocation %s does not exist in Velero's namespace: create it or name an existing one (FT-CLD-26).", spec.StorageLocation.Name), locRef)
	}
	declared := strings.ToLower(string(spec.StorageLocation.Region))
	if !strings.EqualFold(o.location.Region, declared) {
		return ex.Fail(compliance.BackupLocation, "RegionMismatch",
			fmt.Sprintf("The policy declares region %s but the location's config.region is %q: correct whichever is wrong (FT-CLD-74).", declared, o.location.Region), locRef)
	}
	var nodeRegions []string
	if spec.Offsite() {
		nodeRegions = o.nodeRegions
	}
	var allowed map[string]bool
	if o.residency != nil {
		allowed = o.residency.Countries
	}
	if err := backups.CheckOffsite(backups.Location{Region: o.location.Region, Provider: o.provider}, nodeRegions, o.catalog, allowed); err != nil {
		return ex.Fail(compliance.BackupLocation, "LocationNotAllowed", compliance.Capitalize(err.Error())+".", locRef)
	}
	if o.location.Phase != "" && o.location.Phase != "Available" {
		return ex.Fail(compliance.BackupLocation, "LocationUnavailable",
			fmt.Sprintf("Velero reports the location %s as %s: backups cannot be written there (SIS-BACKUP).", o.location.Name, o.location.Phase), locRef)
	}
	where := fmt.Sprintf("%s (%s)", o.location.Region, o.location.Country)
	msg := "The location " + o.location.Name + " is in " + where
	if spec.Offsite() {
		msg += ", a region none of the tenant's workloads run in"
		if len(o.nodeRegions) > 0 {
			msg += " (" + strings.Join(o.nodeRegions, ", ") + ")"
		}
	}
	if o.residency != nil {
		msg += ", within what DataResidency " + strings.Join(o.residency.Policies, ", ") + " allows"
	}
	return ex.Pass(compliance.BackupLocation, "LocationOffsiteAndAllowed", msg+" (FT-CLD-26, FT-CLD-74).")
}

func versionsResult(o observed, ev evaluation) rempartv1.ControlResult {
	policyRef := ref("BackupPolicy", "", o.policy.Name)
	promised := o.policy.Spec.KeptVersions()
	kept := len(ev.versions)
	if kept > promised {
		return ev.exceptions.Fail(compliance.BackupVersions, "PruningPending",
			fmt.Sprintf("%d good backups are kept where the policy promises %d: the oldest are being deleted through Velero (SIS-BACKUP).", kept, promised), policyRef)
	}
	// Failures since the oldest version kept, or since the start when none is.
	var since time.Time
	if kept > 0 {
		since = ev.versions[kept-1].Started
	}
	var failed []string
	for _, b := range o.backups {
		if (b.Phase == backups.Failed || b.Phase == backups.PartiallyFailed || b.Phase == "FailedValidation") && !b.Started.Before(since) {
			failed = append(failed, b.Name)
		}
	}
	sort.Strings(failed)
	if kept < promised && len(failed) > 0 {
		return ev.exceptions.Fail(compliance.BackupVersions, "VersionsMissing",
			fmt.Sprintf("Only %d of the %d promised versions exist: backups %s did not complete (SIS-BACKUP).", kept, promised, strings.Join(failed, ", ")), policyRef)
	}
	if kept < promised {
		return ev.exceptions.Pass(compliance.BackupVersions, "VersionsBuildingUp",
			fmt.Sprintf("%d of the %d promised versions exist; every backup since the policy started completed, the count is building up (SIS-BACKUP).", kept, promised))
	}
	return ev.exceptions.Pass(compliance.BackupVersions, "VersionsKept",
		fmt.Sprintf("The %d promised versions are kept, the newest completed at %s (SIS-BACKUP).", promised, stamp(ev.versions[0].Completed)))
}

func lastRunResult(o observed, ex compliance.ExceptionSet, veleroNamespace string) rempartv1.ControlResult {
	var newest *backups.Backup
	for i := range o.backups {
		b := &o.backups[i]
		if b.Completed.IsZero() || b.Phase == backups.Deleting {
			continue
		}
		if newest == nil || b.Started.After(newest.Started) {
			newest = b
		}
	}
	if newest == nil {
		return compliance.Unknown(compliance.BackupLastRun, "NoBackupFinished", "No backup of the policy has finished yet.")
	}
	if newest.Phase == backups.Completed {
		return ex.Pass(compliance.BackupLastRun, "LastBackupCompleted", fmt.Sprintf("The newest backup, %s, completed at %s (SIS-BACKUP).", newest.Name, stamp(newest.Completed)))
	}
	counts := o.errorsOf[newest.Name]
	b := ref("Backup", veleroNamespace, newest.Name)
	return ex.Fail(compliance.BackupLastRun, "LastBackupFailed",
		fmt.Sprintf("The newest backup, %s, ended %s with %d errors and %d warnings at %s: read `velero backup logs %s` and fix the cause (SIS-BACKUP).",
			newest.Name, newest.Phase, counts[0], counts[1], stamp(newest.Completed), newest.Name), b)
}

func restoreTestResult(o observed, ex compliance.ExceptionSet, now time.Time) rempartv1.ControlResult {
	policyRef := ref("BackupPolicy", "", o.policy.Name)
	spec := o.policy.Spec
	if !spec.RestoreTest.TestsEnabled() {
		return ex.Fail(compliance.BackupRestoreTest, "RestoreTestsDisabled",
			"Restore tests are disabled: nothing shows the backups can be restored (ALM-5.7.3). Enable spec.restoreTest or record an exception.", policyRef)
	}
	t := o.lastTest
	if t != nil && t.Result == rempartv1.RestoreTestFailed {
		return ex.Fail(compliance.BackupRestoreTest, "RestoreTestFailed",
			fmt.Sprintf("The restore test of %s (backup %s) failed: %s (ALM-5.7.3).", stamp(t.Started.Time), t.Backup, t.Message), policyRef)
	}
	if o.lastPassed == nil {
		if t != nil && t.Result == rempartv1.RestoreTestRunning {
			return compliance.Unknown(compliance.BackupRestoreTest, "RestoreTestRunning", fmt.Sprintf("The first restore test is running since %s (restore %s).", stamp(t.Started.Time), t.Restore))
		}
		return compliance.Unknown(compliance.BackupRestoreTest, "NotTestedYet", "No restore test has run yet: the next one starts on the restore test schedule, or now if spec.restoreTestNow is set (ALM-5.7.3).")
	}
	// A pass proves the backups of its time; after two missed test periods it proves little.
	stale := 2*o.testPeriod + spec.RTODuration()
	if o.testPeriod > 0 && now.Sub(o.lastPassed.Time) > stale {
		return ex.Fail(compliance.BackupRestoreTest, "RestoreTestStale",
			fmt.Sprintf("The last restore test passed at %s, more than two test periods ago: check why the scheduled tests did not run (ALM-5.7.3).", stamp(o.lastPassed.Time)), policyRef)
	}
	msg := fmt.Sprintf("The last restore test passed at %s", stamp(o.lastPassed.Time))
	if t != nil && t.Result == rempartv1.RestoreTestPassed && t.Duration != nil {
		msg += fmt.Sprintf(": backup %s restored and verified in %s, within the RTO of %s", t.Backup, t.Duration.Duration.Round(time.Second), spec.RTODuration())
	}
	return ex.Pass(compliance.BackupRestoreTest, "RestoreTestPassed", msg+" (ALM-5.7.3).")
}

// forbiddenReason says why backups may not go to the location, when it lies in a country the
// tenant's DataResidency does not allow, or in a country that cannot be established while a
// DataResidency restricts where the data may go (fail closed); empty otherwise.
func forbiddenReason(o observed) string {
	if o.residency == nil {
		return ""
	}
	policies := strings.Join(o.residency.Policies, ", ")
	switch {
	case o.location == nil:
		return fmt.Sprintf("the storage location cannot be read, so the country the backups would go to is unknown, and DataResidency %s restricts it", policies)
	case o.location.Country == "":
		return fmt.Sprintf("the country of the location's region %q cannot be established, and DataResidency %s restricts where the data may go", o.location.Region, policies)
	case !o.residency.Countries[o.location.Country]:
		return fmt.Sprintf("the location is in %s (%s), outside what DataResidency %s allows", o.location.Region, o.location.Country, policies)
	}
	return ""
}
