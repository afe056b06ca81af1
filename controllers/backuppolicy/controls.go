package backuppolicy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/controls"
	"github.com/rempart-io/rempart/internal/backups"
	"github.com/rempart-io/rempart/internal/regions"
	"github.com/rempart-io/rempart/internal/requirements"
)

// Control IDs of BackupPolicy.
const (
	controlSchedule    rempartv1.ControlID = "backup.schedule"
	controlLocation    rempartv1.ControlID = "backup.location"
	controlEncryption  rempartv1.ControlID = "backup.encryption"
	controlVersions    rempartv1.ControlID = "backup.versions"
	controlRPO         rempartv1.ControlID = "backup.rpo"
	controlLastRun     rempartv1.ControlID = "backup.last-run"
	controlRestoreTest rempartv1.ControlID = "backup.restore-test"
)

var knownControls = []rempartv1.ControlID{controlSchedule, controlLocation, controlEncryption, controlVersions, controlRPO, controlLastRun, controlRestoreTest}

// requirementsOf are the requirements each control serves.
var requirementsOf = map[rempartv1.ControlID][]requirements.ID{
	controlSchedule:    {requirements.FTCLD26, requirements.SISBackup},
	controlLocation:    {requirements.FTCLD26, requirements.FTCLD74},
	controlEncryption:  {requirements.SISBackup},
	controlVersions:    {requirements.SISBackup, requirements.ALM573},
	controlRPO:         {requirements.FTCLD26, requirements.SISBackup},
	controlLastRun:     {requirements.SISBackup},
	controlRestoreTest: {requirements.ALM573, requirements.SISBackup},
}

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
	exceptions controls.ExceptionSet
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

// check is one control judged with a message built for this evaluation.
func check(id rempartv1.ControlID, reqs []requirements.ID, ex controls.ExceptionSet, passReason, passMessage, failReason, failMessage string, offender *rempartv1.ObjectReference) rempartv1.ControlResult {
	var offenders []rempartv1.ObjectReference
	if offender != nil {
		offenders = append(offenders, *offender)
	}
	return controls.Judge(controls.Control{ID: id, Requirements: reqs, PassReason: passReason, PassMessage: passMessage, FailReason: failReason, FailMessage: failMessage}, offenders, ex)
}

func unknown(id rempartv1.ControlID, reqs []requirements.ID, reason, message string) rempartv1.ControlResult {
	return rempartv1.ControlResult{ID: id, Requirements: requirements.Strings(reqs...), State: rempartv1.ControlUnknown, Reason: reason, Message: message}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// evaluate judges the backup promise at now.
func evaluate(o observed, veleroNamespace string, now time.Time) evaluation {
	spec := o.policy.Spec
	var ev evaluation
	var exceptionsResult rempartv1.ControlResult
	ev.exceptions, exceptionsResult = controls.NewExceptionSet(now, spec.Exceptions, knownControls)
	policyRef := ref("BackupPolicy", "", o.policy.Name)
	schedRef := ref("Schedule", veleroNamespace, scheduleName(o.policy))
	locRef := ref("BackupStorageLocation", veleroNamespace, spec.StorageLocation.Name)

	// Location: where it is, whether it is another site, whether residency allows it.
	location := locationResult(o, ev.exceptions, locRef, &ev)

	// Schedule.
	var schedule rempartv1.ControlResult
	sched := requirementsOf[controlSchedule]
	switch {
	case len(o.namespaces) == 0:
		schedule = check(controlSchedule, sched, ev.exceptions, "", "", "EmptyScope",
			fmt.Sprintf("The policy covers no namespace of tenant %s: its backups would hold nothing. Check spec.tenant and spec.namespaces, and that the tenant's namespaces exist (SIS-BACKUP).", spec.Tenant), &policyRef)
	case !o.schedule.Found:
		schedule = check(controlSchedule, sched, ev.exceptions, "", "", "ScheduleMissing",
			"The Velero Schedule of the policy does not exist yet, so no backup is taken (SIS-BACKUP).", &schedRef)
	case o.schedule.Paused || (ev.forbidden != "" && spec.Enforcement != rempartv1.EnforcementAudit):
		why := "it is paused"
		if ev.forbidden != "" {
			why = "it is paused because " + ev.forbidden
		}
		schedule = check(controlSchedule, sched, ev.exceptions, "", "", "SchedulePaused",
			fmt.Sprintf("The Velero Schedule takes no backup: %s (SIS-BACKUP).", why), &schedRef)
	case o.schedule.Phase == "FailedValidation":
		schedule = check(controlSchedule, sched, ev.exceptions, "", "", "ScheduleInvalid",
			fmt.Sprintf("Velero refused the Schedule: %s (SIS-BACKUP).", strings.Join(o.schedule.ValidationErrors, "; ")), &schedRef)
	case o.schedule.Phase != "Enabled":
		schedule = unknown(controlSchedule, sched, "ScheduleNotValidated", "Velero has not validated the Schedule yet: is the Velero server running?")
	default:
		schedule = check(controlSchedule, sched, ev.exceptions, "ScheduleEnabled",
			fmt.Sprintf("Velero runs the backups of %s on the schedule %q (SIS-BACKUP).", strings.Join(o.namespaces, ", "), spec.BackupSchedule()), "", "", nil)
	}

	// Encryption: only what the location shows.
	var encryption rempartv1.ControlResult
	enc := requirementsOf[controlEncryption]
	switch {
	case o.location == nil:
		encryption = unknown(controlEncryption, enc, "LocationMissing", fmt.Sprintf("The BackupStorageLocation %s does not exist: its encryption cannot be seen.", spec.StorageLocation.Name))
	case o.location.Encryption != "":
		encryption = check(controlEncryption, enc, ev.exceptions, "EncryptedAtRest",
			fmt.Sprintf("The location encrypts backups at rest: %s (SIS-BACKUP). Velero compresses every backup archive.", o.location.Encryption), "", "", nil)
	case !spec.EncryptionRequired():
		encryption = check(controlEncryption, enc, ev.exceptions, "EncryptionNotRequired",
			"The policy does not require encryption, and the location shows none.", "", "", nil)
	default:
		encryption = check(controlEncryption, enc, ev.exceptions, "", "", "EncryptionNotShown",
			"The location shows no encryption at rest in its configuration (for S3: config.serverSideEncryption or kmsKeyId; GCS: kmsKeyName; Azure: encryptionScope or customerProvidedKeyFile), and Rempart claims none it cannot see: configure it on the BackupStorageLocation (SIS-BACKUP).", &locRef)
	}

	// Versions and RPO.
	ev.versions = backups.Versions(o.backups)
	versions := versionsResult(o, ev, policyRef)
	rpo := requirementsOf[controlRPO]
	var rpoResult rempartv1.ControlResult
	deadline, ok := backups.RPODeadline(o.backups, spec.RPODuration())
	switch {
	case !ok && slices.ContainsFunc(o.backups, backups.Backup.Empty):
		rpoResult = check(controlRPO, rpo, ev.exceptions, "", "", "EmptyBackups",
			fmt.Sprintf("The policy's completed backups hold no object: its scope selects nothing of the tenant, so there is no copy of its data and the RPO of %s is not met (FT-CLD-26, SIS-BACKUP).", spec.RPODuration()), &policyRef)
	case !ok:
		rpoResult = check(controlRPO, rpo, ev.exceptions, "", "", "NoGoodBackup",
			fmt.Sprintf("No backup of the policy has completed: the RPO of %s is not met (FT-CLD-26, SIS-BACKUP).", spec.RPODuration()), &policyRef)
	case !now.Before(deadline):
		ev.deadline = deadline
		newest := ev.versions[0]
		b := ref("Backup", veleroNamespace, newest.Name)
		rpoResult = check(controlRPO, rpo, ev.exceptions, "", "", "RPOBreached",
			fmt.Sprintf("The newest good backup completed at %s, more than the RPO of %s ago (deadline %s): check the Schedule and Velero's logs (FT-CLD-26, SIS-BACKUP).",
				stamp(newest.Completed), spec.RPODuration(), stamp(deadline)), &b)
	default:
		ev.deadline, ev.rpoMet = deadline, true
		rpoResult = check(controlRPO, rpo, ev.exceptions, "WithinRPO",
			fmt.Sprintf("The newest good backup, %s, completed at %s; the RPO of %s holds until %s (FT-CLD-26).", ev.versions[0].Name, stamp(ev.versions[0].Completed), spec.RPODuration(), stamp(deadline)), "", "", nil)
	}

	lastRun := lastRunResult(o, ev.exceptions, veleroNamespace)
	restoreTest := restoreTestResult(o, ev.exceptions, now)

	ev.results = []rempartv1.ControlResult{exceptionsResult, schedule, location, encryption, versions, rpoResult, lastRun, restoreTest}
	controls.SortResults(ev.results)
	return ev
}

func locationResult(o observed, ex controls.ExceptionSet, locRef rempartv1.ObjectReference, ev *evaluation) rempartv1.ControlResult {
	spec := o.policy.Spec
	reqs := requirementsOf[controlLocation]
	if o.location == nil {
		return check(controlLocation, reqs, ex, "", "", "LocationMissing",
			fmt.Sprintf("The BackupStorageLocation %s does not exist in Velero's namespace: create it or name an existing one (FT-CLD-26).", spec.StorageLocation.Name), &locRef)
	}
	ev.forbidden = forbiddenReason(o)
	declared := strings.ToLower(string(spec.StorageLocation.Region))
	if !strings.EqualFold(o.location.Region, declared) {
		return check(controlLocation, reqs, ex, "", "", "RegionMismatch",
			fmt.Sprintf("The policy declares region %s but the location's config.region is %q: correct whichever is wrong (FT-CLD-74).", declared, o.location.Region), &locRef)
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
		return check(controlLocation, reqs, ex, "", "", "LocationNotAllowed", controls.Capitalize(err.Error())+".", &locRef)
	}
	if o.location.Phase != "" && o.location.Phase != "Available" {
		return check(controlLocation, reqs, ex, "", "", "LocationUnavailable",
			fmt.Sprintf("Velero reports the location %s as %s: backups cannot be written there (SIS-BACKUP).", o.location.Name, o.location.Phase), &locRef)
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
	return check(controlLocation, reqs, ex, "LocationOffsiteAndAllowed", msg+" (FT-CLD-26, FT-CLD-74).", "", "", nil)
}

func versionsResult(o observed, ev evaluation, policyRef rempartv1.ObjectReference) rempartv1.ControlResult {
	promised := o.policy.Spec.KeptVersions()
	reqs := requirementsOf[controlVersions]
	kept := len(ev.versions)
	if kept > promised {
		return check(controlVersions, reqs, ev.exceptions, "", "", "PruningPending",
			fmt.Sprintf("%d good backups are kept where the policy promises %d: the oldest are being deleted through Velero (SIS-BACKUP).", kept, promised), &policyRef)
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
		return check(controlVersions, reqs, ev.exceptions, "", "", "VersionsMissing",
			fmt.Sprintf("Only %d of the %d promised versions exist: backups %s did not complete (SIS-BACKUP).", kept, promised, strings.Join(failed, ", ")), &policyRef)
	}
	if kept < promised {
		return check(controlVersions, reqs, ev.exceptions, "VersionsBuildingUp",
			fmt.Sprintf("%d of the %d promised versions exist; every backup since the policy started completed, the count is building up (SIS-BACKUP).", kept, promised), "", "", nil)
	}
	return check(controlVersions, reqs, ev.exceptions, "VersionsKept",
		fmt.Sprintf("The %d promised versions are kept, the newest completed at %s (SIS-BACKUP).", promised, stamp(ev.versions[0].Completed)), "", "", nil)
}

func lastRunResult(o observed, ex controls.ExceptionSet, veleroNamespace string) rempartv1.ControlResult {
	reqs := requirementsOf[controlLastRun]
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
		return unknown(controlLastRun, reqs, "NoBackupFinished", "No backup of the policy has finished yet.")
	}
	if newest.Phase == backups.Completed {
		return check(controlLastRun, reqs, ex, "LastBackupCompleted", fmt.Sprintf("The newest backup, %s, completed at %s (SIS-BACKUP).", newest.Name, stamp(newest.Completed)), "", "", nil)
	}
	counts := o.errorsOf[newest.Name]
	b := ref("Backup", veleroNamespace, newest.Name)
	return check(controlLastRun, reqs, ex, "", "", "LastBackupFailed",
		fmt.Sprintf("The newest backup, %s, ended %s with %d errors and %d warnings at %s: read `velero backup logs %s` and fix the cause (SIS-BACKUP).",
			newest.Name, newest.Phase, counts[0], counts[1], stamp(newest.Completed), newest.Name), &b)
}

func restoreTestResult(o observed, ex controls.ExceptionSet, now time.Time) rempartv1.ControlResult {
	reqs := requirementsOf[controlRestoreTest]
	policyRef := ref("BackupPolicy", "", o.policy.Name)
	spec := o.policy.Spec
	if !spec.RestoreTest.TestsEnabled() {
		return check(controlRestoreTest, reqs, ex, "", "", "RestoreTestsDisabled",
			"Restore tests are disabled: nothing shows the backups can be restored (ALM-5.7.3). Enable spec.restoreTest or record an exception.", &policyRef)
	}
	t := o.lastTest
	if t != nil && t.Result == rempartv1.RestoreTestFailed {
		return check(controlRestoreTest, reqs, ex, "", "", "RestoreTestFailed",
			fmt.Sprintf("The restore test of %s (backup %s) failed: %s (ALM-5.7.3).", stamp(t.Started.Time), t.Backup, t.Message), &policyRef)
	}
	if o.lastPassed == nil {
		if t != nil && t.Result == rempartv1.RestoreTestRunning {
			return unknown(controlRestoreTest, reqs, "RestoreTestRunning", fmt.Sprintf("The first restore test is running since %s (restore %s).", stamp(t.Started.Time), t.Restore))
		}
		return unknown(controlRestoreTest, reqs, "NotTestedYet", "No restore test has run yet: the next one starts on the restore test schedule, or now if spec.restoreTestNow is set (ALM-5.7.3).")
	}
	// A pass proves the backups of its time; after two missed test periods it proves little.
	stale := 2*o.testPeriod + spec.RTODuration()
	if o.testPeriod > 0 && now.Sub(o.lastPassed.Time) > stale {
		return check(controlRestoreTest, reqs, ex, "", "", "RestoreTestStale",
			fmt.Sprintf("The last restore test passed at %s, more than two test periods ago: check why the scheduled tests did not run (ALM-5.7.3).", stamp(o.lastPassed.Time)), &policyRef)
	}
	msg := fmt.Sprintf("The last restore test passed at %s", stamp(o.lastPassed.Time))
	if t != nil && t.Result == rempartv1.RestoreTestPassed && t.Duration != nil {
		msg += fmt.Sprintf(": backup %s restored and verified in %s, within the RTO of %s", t.Backup, t.Duration.Duration.Round(time.Second), spec.RTODuration())
	}
	return check(controlRestoreTest, reqs, ex, "RestoreTestPassed", msg+" (ALM-5.7.3).", "", "", nil)
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
