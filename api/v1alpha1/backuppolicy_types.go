package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// LabelBackupPolicy names the BackupPolicy a Velero Schedule, Backup or Restore, or a restore
	// sandbox namespace, belongs to.
	LabelBackupPolicy = "rempart.io/backup-policy"
	// LabelRestoreSandbox marks a namespace the operator created to test a restore in.
	LabelRestoreSandbox = "rempart.io/restore-sandbox"
)

// CronSchedule is a standard five-field cron expression (minute hour day-of-month month
// day-of-week, in UTC), or one of @hourly, @daily, @weekly, @monthly, @yearly, as Velero reads it.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:XValidation:rule="self.matches('^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([*]|([0-5]?[0-9])(-([0-5]?[0-9]))?)(/[0-9]+)?(,([*]|([0-5]?[0-9])(-([0-5]?[0-9]))?)(/[0-9]+)?)* ([*]|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3]))?)(/[0-9]+)?(,([*]|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3]))?)(/[0-9]+)?)* ([*]|[?]|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01]))?)(/[0-9]+)?(,([*]|[?]|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01]))?)(/[0-9]+)?)* ([*]|(0?[1-9]|1[0-2]|[A-Za-z]{3})(-(0?[1-9]|1[0-2]|[A-Za-z]{3}))?)(/[0-9]+)?(,([*]|(0?[1-9]|1[0-2]|[A-Za-z]{3})(-(0?[1-9]|1[0-2]|[A-Za-z]{3}))?)(/[0-9]+)?)* ([*]|[?]|([0-7]|[A-Za-z]{3})(-([0-7]|[A-Za-z]{3}))?)(/[0-9]+)?(,([*]|[?]|([0-7]|[A-Za-z]{3})(-([0-7]|[A-Za-z]{3}))?)(/[0-9]+)?)*)$')",message="must be a five-field cron expression (minute hour day-of-month month day-of-week, such as '0 2 * * *') or @hourly, @daily, @weekly, @monthly, @yearly"
type CronSchedule string

// BackupStorageLocationRef names the Velero BackupStorageLocation the backups go to, and the
// region it is declared in, which admission checks against the tenant's DataResidency.
type BackupStorageLocationRef struct {
	// Name of the BackupStorageLocation in Velero's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// Region where the location keeps the backups, as its config.region says. Declared here so
	// that a location outside the tenant's allowed countries is refused when the policy is
	// written (FT-CLD-74); the controls check it against the location itself.
	Region RegionCode `json:"region"`
}

// BackupEncryption says what the policy demands of the location's encryption.
type BackupEncryption struct {
	// Required (the default) makes the backup.encryption control fail unless the location
	// shows encryption at rest that Rempart can see in its configuration (SIS-BACKUP).
	// +kubebuilder:default=true
	// +optional
	Required *bool `json:"required,omitempty"`
}

// RestoreVerification says what a restore test checks in the sandbox.
type RestoreVerification struct {
	// Resources to compare between the backup and the sandbox, as resource or resource.group
	// (configmaps, deployments.apps). Empty: every namespaced kind the backup holds, except
	// those controllers rebuild or Velero never restores (pods, events, endpoints, endpoint
	// slices, replica sets).
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +listType=set
	// +optional
	Resources []string `json:"resources,omitempty"`
}

// RestoreTestSpec schedules restore tests: a Velero Restore of the newest good backup into fresh
// sandbox namespaces, checked against what the backup holds and timed against the RTO.
type RestoreTestSpec struct {
	// Enabled (the default) runs restore tests on the schedule.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// Schedule of the tests, weekly by default.
	// +kubebuilder:default="0 4 * * 0"
	// +optional
	Schedule CronSchedule `json:"schedule,omitempty"`
	// SandboxPrefix starts the name of every sandbox namespace.
	// +kubebuilder:default="restore-test"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=24
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	SandboxPrefix string `json:"sandboxPrefix,omitempty"`
	// Verify says what is compared.
	// +optional
	Verify RestoreVerification `json:"verify,omitempty"`
	// Cleanup (the default) deletes the sandbox once the test is judged. Off, the sandbox stays
	// for inspection until the next test replaces it.
	// +kubebuilder:default=true
	// +optional
	Cleanup *bool `json:"cleanup,omitempty"`
}

// BackupPolicySpec is the backup promise made to one tenant (FT-CLD-26, SIS-BACKUP, ALM-5.7.3).
// +kubebuilder:validation:XValidation:rule="has(self.tenant) || (has(self.namespaces) && size(self.namespaces) > 0)",message="say what to back up: a tenant, namespaces or both"
// +kubebuilder:validation:XValidation:rule="!has(self.maxAge) || duration(self.maxAge) >= duration(self.rpo)",message="maxAge must be at least the RPO, or the newest backup would be pruned before the next one is due"
type BackupPolicySpec struct {
	PolicyCommonSpec `json:",inline"`

	// Tenant is the TenantIsolation whose namespaces are backed up.
	// +optional
	Tenant TenantName `json:"tenant,omitempty"`
	// Namespaces backed up besides the tenant's.
	// +kubebuilder:validation:MaxItems=250
	// +listType=set
	// +optional
	Namespaces []NamespaceName `json:"namespaces,omitempty"`

	// Schedule of the backups, daily at 02:00 UTC by default.
	// +kubebuilder:default="0 2 * * *"
	// +optional
	Schedule CronSchedule `json:"schedule,omitempty"`
	// Versions is how many good backups are kept; older ones are deleted through Velero.
	// +kubebuilder:default=7
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Versions int32 `json:"versions,omitempty"`
	// MaxAge prunes good backups older than this, the newest one excepted.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h')",message="maxAge must be at least an hour"
	// +optional
	MaxAge *metav1.Duration `json:"maxAge,omitempty"`

	// StorageLocation is where the backups go.
	StorageLocation BackupStorageLocationRef `json:"storageLocation"`
	// RequireOffsite (the default) demands that the location's region differs from every region
	// the tenant's workloads run in (FT-CLD-26).
	// +kubebuilder:default=true
	// +optional
	RequireOffsite *bool `json:"requireOffsite,omitempty"`
	// Encryption demanded of the location.
	// +kubebuilder:default={}
	// +optional
	Encryption BackupEncryption `json:"encryption,omitempty"`

	// RPO: the newest good backup may never be older than this (8 hours by contract).
	// +kubebuilder:default="8h"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="rpo must be at least one minute"
	// +optional
	RPO *metav1.Duration `json:"rpo,omitempty"`
	// RTO: a restore test must finish within this (8 hours by contract).
	// +kubebuilder:default="8h"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="rto must be at least one minute"
	// +optional
	RTO *metav1.Duration `json:"rto,omitempty"`

	// RestoreTest schedules the restore tests.
	// +kubebuilder:default={}
	// +optional
	RestoreTest RestoreTestSpec `json:"restoreTest,omitempty"`

	// IncludeVolumes asks Velero to back up volume data too (file-system backup of pod
	// volumes), which needs Velero's node agents.
	// +optional
	IncludeVolumes bool `json:"includeVolumes,omitempty"`

	// BackupNow: a new value starts one backup now from the schedule's template, as
	// `velero backup create --from-schedule` does; status.backupNowHandled records it.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	BackupNow string `json:"backupNow,omitempty"`
	// RestoreTestNow: a new value starts one restore test now; status.restoreTestNowHandled
	// records it.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	RestoreTestNow string `json:"restoreTestNow,omitempty"`
}

// BackupVersion is one good backup kept.
type BackupVersion struct {
	Name      string       `json:"name"`
	Completed metav1.Time  `json:"completed"`
	Expires   *metav1.Time `json:"expires,omitempty"`
	// Items is how many Kubernetes objects the backup holds.
	Items int32 `json:"items,omitempty"`
}

// BackupRun is the newest backup of the policy, whatever its outcome.
type BackupRun struct {
	Name      string       `json:"name"`
	Phase     string       `json:"phase"`
	Started   *metav1.Time `json:"started,omitempty"`
	Completed *metav1.Time `json:"completed,omitempty"`
	Errors    int32        `json:"errors,omitempty"`
	Warnings  int32        `json:"warnings,omitempty"`
}

// ResourceCheck compares one kind between the backup and the sandbox.
type ResourceCheck struct {
	// Resource as resource or resource.group.
	Resource string `json:"resource"`
	// InBackup is how many objects of the kind the backup holds in the tested namespaces.
	InBackup int32 `json:"inBackup"`
	// Restored is how many of them are in the sandbox.
	Restored int32 `json:"restored"`
	// Missing names up to five objects that did not come back.
	// +optional
	Missing []string `json:"missing,omitempty"`
	// VerifiedIn says where the kind was verified: Sandbox (restored and found there) or Backup
	// (a kind that would make controllers outside the sandbox act, such as an Ingress, a
	// Certificate or any custom resource, is read from the backup's contents and not restored).
	// +kubebuilder:validation:Enum=Sandbox;Backup
	// +optional
	VerifiedIn string `json:"verifiedIn,omitempty"`
}

// RestoreTestResult values.
const (
	RestoreTestRunning = "Running"
	RestoreTestPassed  = "Passed"
	RestoreTestFailed  = "Failed"
)

// RestoreTestRecord is the newest restore test.
type RestoreTestRecord struct {
	// Restore is the Velero Restore's name.
	Restore string `json:"restore"`
	// Backup restored.
	Backup string `json:"backup"`
	// Sandboxes are the namespaces restored into, source=sandbox.
	Sandboxes []string     `json:"sandboxes"`
	Started   metav1.Time  `json:"started"`
	Finished  *metav1.Time `json:"finished,omitempty"`
	// Duration from the start of the test to its verification, compared with the RTO.
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
	// Result is Running, Passed or Failed.
	Result string `json:"result"`
	// Message says what was found, in a sentence.
	// +optional
	Message string `json:"message,omitempty"`
	// Checks compare each verified kind.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Checks []ResourceCheck `json:"checks,omitempty"`
	// CleanedUp is true once the sandbox namespaces are deleted.
	// +optional
	CleanedUp bool `json:"cleanedUp,omitempty"`
}

// LocationFacts is what Rempart read of the storage location.
type LocationFacts struct {
	Name     string `json:"name"`
	Provider string `json:"provider,omitempty"`
	Region   string `json:"region,omitempty"`
	Country  string `json:"country,omitempty"`
	// Phase is Velero's: Available or Unavailable.
	Phase string `json:"phase,omitempty"`
	// Encryption names the setting that shows encryption at rest, or is empty when none shows.
	Encryption string `json:"encryption,omitempty"`
}

// BackupPolicyStatus is the proof of the backup promise.
type BackupPolicyStatus struct {
	PolicyStatus `json:",inline"`

	// Namespaces backed up.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// Schedule is the Velero Schedule, namespace/name.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// Location as read from Velero.
	// +optional
	Location *LocationFacts `json:"location,omitempty"`
	// LastBackup is the newest backup, whatever its outcome.
	// +optional
	LastBackup *BackupRun `json:"lastBackup,omitempty"`
	// LastGoodBackup is when the newest Completed backup completed.
	// +optional
	LastGoodBackup *metav1.Time `json:"lastGoodBackup,omitempty"`
	// VersionCount is how many good backups are kept.
	VersionCount int32 `json:"versionCount"`
	// Versions, newest first (at most 100).
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Versions []BackupVersion `json:"versions,omitempty"`
	// RPODeadline is when the newest good backup becomes older than the RPO.
	// +optional
	RPODeadline *metav1.Time `json:"rpoDeadline,omitempty"`
	// RPOMet is True while a good backup younger than the RPO exists.
	// +optional
	RPOMet string `json:"rpoMet,omitempty"`
	// LastRestoreTest is the newest restore test.
	// +optional
	LastRestoreTest *RestoreTestRecord `json:"lastRestoreTest,omitempty"`
	// LastPassedRestoreTest is when a restore test last passed.
	// +optional
	LastPassedRestoreTest *metav1.Time `json:"lastPassedRestoreTest,omitempty"`
	// NextRestoreTest is when the next scheduled restore test starts.
	// +optional
	NextRestoreTest *metav1.Time `json:"nextRestoreTest,omitempty"`
	// BackupNowHandled is the last spec.backupNow acted on.
	// +optional
	BackupNowHandled string `json:"backupNowHandled,omitempty"`
	// RestoreTestNowHandled is the last spec.restoreTestNow acted on.
	// +optional
	RestoreTestNowHandled string `json:"restoreTestNowHandled,omitempty"`
	// FirstBackup is the backup started when the policy was created, so the RPO clock starts
	// from a real backup rather than from the first scheduled run.
	// +optional
	FirstBackup string `json:"firstBackup,omitempty"`
}

// BackupPolicy keeps a tenant backed up daily, off-site and encrypted, with the promised number
// of versions, watches freshness against the RPO and proves restores work within the RTO
// (FT-CLD-26, SIS-BACKUP, ALM-5.7.3, FT-CLD-74), through Velero.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=bp,categories=rempart
// +kubebuilder:printcolumn:name="TENANT",type=string,JSONPath=`.spec.tenant`
// +kubebuilder:printcolumn:name="LAST-BACKUP",type=date,JSONPath=`.status.lastGoodBackup`
// +kubebuilder:printcolumn:name="VERSIONS",type=integer,JSONPath=`.status.versionCount`
// +kubebuilder:printcolumn:name="RPO-OK",type=string,JSONPath=`.status.rpoMet`
// +kubebuilder:printcolumn:name="LAST-RESTORE-TEST",type=string,JSONPath=`.status.lastRestoreTest.result`
// +kubebuilder:printcolumn:name="TESTED",type=date,JSONPath=`.status.lastRestoreTest.started`
// +kubebuilder:printcolumn:name="COMPLIANT",type=string,JSONPath=`.status.conditions[?(@.type=="Compliant")].status`
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`,priority=1
type BackupPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupPolicySpec   `json:"spec"`
	Status BackupPolicyStatus `json:"status,omitempty"`
}

// BackupPolicyList is a list of BackupPolicy.
// +kubebuilder:object:root=true
type BackupPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BackupPolicy{}, &BackupPolicyList{})
}

// Defaults, as the API server applies them.
const (
	DefaultRPO             = 8 * time.Hour
	DefaultRTO             = 8 * time.Hour
	DefaultBackupSchedule  = "0 2 * * *"
	DefaultRestoreSchedule = "0 4 * * 0"
	DefaultVersions        = 7
	DefaultSandboxPrefix   = "restore-test"
)

// RPODuration is spec.rpo, or its default.
func (s BackupPolicySpec) RPODuration() time.Duration { return durationOr(s.RPO, DefaultRPO) }

// RTODuration is spec.rto, or its default.
func (s BackupPolicySpec) RTODuration() time.Duration { return durationOr(s.RTO, DefaultRTO) }

// KeptVersions is spec.versions, or its default.
func (s BackupPolicySpec) KeptVersions() int {
	if s.Versions < 1 {
		return DefaultVersions
	}
	return int(s.Versions)
}

// BackupSchedule is spec.schedule, or its default.
func (s BackupPolicySpec) BackupSchedule() string {
	if s.Schedule == "" {
		return DefaultBackupSchedule
	}
	return string(s.Schedule)
}

// Offsite says whether the location must be on another site than the workloads.
func (s BackupPolicySpec) Offsite() bool { return s.RequireOffsite == nil || *s.RequireOffsite }

// EncryptionRequired says whether the location must show encryption at rest.
func (s BackupPolicySpec) EncryptionRequired() bool {
	return s.Encryption.Required == nil || *s.Encryption.Required
}

// TestsEnabled says whether restore tests run on their schedule.
func (r RestoreTestSpec) TestsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// TestSchedule is the restore test schedule, or its default.
func (r RestoreTestSpec) TestSchedule() string {
	if r.Schedule == "" {
		return DefaultRestoreSchedule
	}
	return string(r.Schedule)
}

// Prefix is the sandbox prefix, or its default.
func (r RestoreTestSpec) Prefix() string {
	if r.SandboxPrefix == "" {
		return DefaultSandboxPrefix
	}
	return r.SandboxPrefix
}

// CleansUp says whether the sandbox is deleted after the test.
func (r RestoreTestSpec) CleansUp() bool { return r.Cleanup == nil || *r.Cleanup }
