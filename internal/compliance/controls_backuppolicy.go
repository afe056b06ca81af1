package compliance

import "github.com/rempart-io/rempart/internal/requirements"

// The controls of a BackupPolicy. Their results name what Velero showed (the backup, its time,
// the RPO's deadline), so the controller builds their words at each evaluation; the words here
// say what a failure means in general.
var (
	BackupSchedule = Control{
		ID: "backup.schedule", Kind: KindBackupPolicy, Requirements: []req{requirements.FTCLD26, requirements.SISBackup},
		Checks:     "The policy's Velero Schedule exists, is enabled and valid.",
		PassReason: "ScheduleEnabled", FailReason: "ScheduleMissing",
		FailMessage: "The policy's Velero Schedule takes no backup: check that it exists, is not paused and that Velero accepted it (SIS-BACKUP).",
	}
	BackupLocation = Control{
		ID: "backup.location", Kind: KindBackupPolicy, Requirements: []req{requirements.FTCLD26, requirements.FTCLD74},
		Checks:     "The Velero location is available, in the declared region, off-site from the tenant's workloads and inside its DataResidency.",
		PassReason: "LocationOffsiteAndAllowed", FailReason: "LocationNotAllowed",
		FailMessage: "The Velero location is missing, unavailable, not in the declared region, not off-site or outside the tenant's DataResidency (FT-CLD-26, FT-CLD-74).",
	}
	BackupEncryption = Control{
		ID: "backup.encryption", Kind: KindBackupPolicy, Requirements: []req{requirements.SISBackup},
		Checks:     "The location's configuration shows encryption at rest; none is claimed that cannot be seen.",
		PassReason: "EncryptedAtRest", FailReason: "EncryptionNotShown",
		FailMessage: "The location shows no encryption at rest in its configuration: configure it on the BackupStorageLocation (SIS-BACKUP).",
	}
	BackupVersions = Control{
		ID: "backup.versions", Kind: KindBackupPolicy, Requirements: []req{requirements.SISBackup, requirements.ALM573},
		Checks:     "The promised number of good backups is kept: no more (pruning works), no fewer because backups failed.",
		PassReason: "VersionsKept", FailReason: "VersionsMissing",
		FailMessage: "The policy does not keep the promised number of good backups (SIS-BACKUP).",
	}
	BackupRPO = Control{
		ID: "backup.rpo", Kind: KindBackupPolicy, Requirements: []req{requirements.FTCLD26, requirements.SISBackup},
		Checks:     "The newest good backup is younger than the RPO.",
		PassReason: "WithinRPO", FailReason: "RPOBreached",
		FailMessage: "No good backup is younger than the RPO: check the Schedule and Velero's logs (FT-CLD-26, SIS-BACKUP).",
	}
	BackupLastRun = Control{
		ID: "backup.last-run", Kind: KindBackupPolicy, Requirements: []req{requirements.SISBackup},
		Checks:     "The newest finished backup completed without error.",
		PassReason: "LastBackupCompleted", FailReason: "LastBackupFailed",
		FailMessage: "The newest backup did not complete: read its Velero logs and fix the cause (SIS-BACKUP).",
	}
	BackupRestoreTest = Control{
		ID: "backup.restore-test", Kind: KindBackupPolicy, Requirements: []req{requirements.ALM573, requirements.SISBackup},
		Checks:     "The last restore test brought back every verified object within the RTO, and is not older than two test periods.",
		PassReason: "RestoreTestPassed", FailReason: "RestoreTestFailed",
		FailMessage: "No recent restore test shows the backups can be restored within the RTO (ALM-5.7.3).",
	}
)
