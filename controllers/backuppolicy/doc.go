// Package backuppolicy is the BackupPolicy controller: it keeps a Velero Schedule per policy,
// starts the first and requested backups, prunes versions beyond the promised count, runs the
// restore tests (package restoretest) and judges the backup promise (FT-CLD-26, SIS-BACKUP,
// ALM-5.7.3) into the policy's status.
package backuppolicy
