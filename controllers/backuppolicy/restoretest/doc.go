// Package restoretest proves a BackupPolicy's backups can be restored: it restores the newest good
// backup into sandbox namespaces that are inert by construction (an allow-list of kinds, Velero
// resource modifiers, deny-all NetworkPolicies, a zero quota), compares what came back with what
// the backup archive holds, records the outcome and the time it took against the RTO, and removes
// the sandboxes (ALM-5.7.3).
package restoretest
