// Package backups holds the rules of a backup policy that do not need a cluster: which backups
// count as versions and which to prune, when the RPO deadline falls, and whether a storage
// location is off-site and in an allowed region (FT-CLD-26, SIS-BACKUP, ALM-5.7.3, FT-CLD-74).
// The controller reads Velero's objects and passes their facts here.
package backups
