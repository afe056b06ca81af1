package backuppolicy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/backuppolicy/velero"
	"github.com/rempart-io/rempart/internal/backups"
	"github.com/rempart-io/rempart/internal/regions"
)

// Velero's kinds, read and written as unstructured objects: the operator does not link Velero's
// code, only speaks its API (velero.io/v1).
// scheduleNameLabel is the label Velero puts on the backups a Schedule starts.
const scheduleNameLabel = "velero.io/schedule-name"

// backupTTL keeps a version for a year when the policy sets no maxAge: pruning by count is the
// operator's job; Velero's expiry only bounds what is left behind when a policy is deleted.
const backupTTL = 365 * 24 * time.Hour

// backupOfPolicy says whether a backup labelled with the policy's name is really its own: made
// for this policy (its UID, or, for a backup of an older version without one, not older than the
// policy), and holding at least one namespace the policy covers.
func backupOfPolicy(b *unstructured.Unstructured, bp *rempartv1.BackupPolicy, namespaces []string) bool {
	switch uid := b.GetLabels()[velero.LabelBackupPolicyUID]; {
	case uid != "" && uid != string(bp.UID):
		return false
	case uid == "" && b.GetCreationTimestamp().Time.Before(bp.CreationTimestamp.Time):
		return false
	}
	included, _, _ := unstructured.NestedStringSlice(b.Object, "spec", "includedNamespaces")
	for _, ns := range included {
		if slices.Contains(namespaces, ns) {
			return true
		}
	}
	return false
}

// backupTemplate is the Backup spec of every backup of the policy.
func backupTemplate(bp *rempartv1.BackupPolicy, namespaces []string) map[string]any {
	included := make([]any, 0, len(namespaces))
	for _, ns := range namespaces {
		included = append(included, ns)
	}
	ttl := backupTTL
	if bp.Spec.MaxAge != nil && bp.Spec.MaxAge.Duration > ttl {
		ttl = bp.Spec.MaxAge.Duration
	}
	spec := map[string]any{
		"includedNamespaces":       included,
		"includeClusterResources":  false,
		"storageLocation":          bp.Spec.StorageLocation.Name,
		"ttl":                      ttl.String(),
		"snapshotVolumes":          bp.Spec.IncludeVolumes,
		"defaultVolumesToFsBackup": bp.Spec.IncludeVolumes,
		"metadata": map[string]any{"labels": map[string]any{rempartv1.LabelBackupPolicy: bp.Name, velero.LabelBackupPolicyUID: string(bp.UID),
			rempartv1.LabelManagedBy: rempartv1.ManagedByValue}},
	}
	if len(namespaces) == 0 {
		// An empty list means every namespace to Velero: a policy that covers nothing backs up
		// nothing, never the whole cluster.
		spec["includedNamespaces"] = []any{"rempart-covers-no-namespace"}
	}
	return spec
}

// desiredSchedule is the policy's Velero Schedule, paused when backups may not be sent where the
// location is. It does not own the backups (useOwnerReferencesInBackup false): deleting the policy
// or the Schedule keeps every backup (nothing lost).
func desiredSchedule(bp *rempartv1.BackupPolicy, veleroNamespace string, namespaces []string, paused bool) *unstructured.Unstructured {
	s := velero.NewObject(velero.ScheduleGVK, veleroNamespace, velero.ScheduleName(bp))
	s.SetLabels(velero.PolicyLabels(bp))
	s.SetOwnerReferences([]metav1.OwnerReference{apply.ControlledBy("BackupPolicy", bp)})
	s.Object["spec"] = map[string]any{
		"schedule":                   bp.Spec.BackupSchedule(),
		"paused":                     paused,
		"useOwnerReferencesInBackup": false,
		"skipImmediately":            false,
		"template":                   backupTemplate(bp, namespaces),
	}
	return s
}

// backupFromSchedule is one backup started now from the Schedule's template, as
// `velero backup create --from-schedule` does, labelled so the Schedule's versions include it.
// Its name is fixed by why it is started, so that a retry after a lost status write finds it
// rather than starting another.
func backupFromSchedule(bp *rempartv1.BackupPolicy, veleroNamespace string, namespaces []string, suffix string) *unstructured.Unstructured {
	b := velero.NewObject(velero.BackupGVK, veleroNamespace, velero.ScheduleName(bp)+"-"+suffix)
	b.SetLabels(velero.PolicyLabels(bp, scheduleNameLabel, velero.ScheduleName(bp)))
	spec := backupTemplate(bp, namespaces)
	delete(spec, "metadata")
	b.Object["spec"] = spec
	return b
}

// deleteRequest asks Velero to delete a backup with everything it stored, its own way.
func deleteRequest(bp *rempartv1.BackupPolicy, backup string, veleroNamespace string) *unstructured.Unstructured {
	d := velero.NewObject(velero.DeleteBackupRequestGVK, veleroNamespace, "")
	d.SetGenerateName(backup + "-prune-")
	d.SetLabels(velero.PolicyLabels(bp, "velero.io/backup-name", backup))
	d.Object["spec"] = map[string]any{"backupName": backup}
	return d
}

// backupFacts turns a Velero Backup into what the rules read.
func backupFacts(u *unstructured.Unstructured) backups.Backup {
	phase := backups.Phase(velero.StringField(u, "status", "phase"))
	if u.GetDeletionTimestamp() != nil {
		phase = backups.Deleting
	}
	return backups.Backup{
		Name:      u.GetName(),
		Phase:     phase,
		Started:   velero.TimeField(u, "status", "startTimestamp"),
		Completed: velero.TimeField(u, "status", "completionTimestamp"),
		Items:     int64(velero.IntField(u, "status", "progress", "itemsBackedUp")),
	}
}

// locationFacts reads what a BackupStorageLocation shows of its place and its encryption.
func locationFacts(u *unstructured.Unstructured, catalog *regions.Catalog) (rempartv1.LocationFacts, regions.Provider) {
	f := rempartv1.LocationFacts{
		Name:     u.GetName(),
		Provider: velero.StringField(u, "spec", "provider"),
		Region:   velero.StringField(u, "spec", "config", "region"),
		Phase:    velero.StringField(u, "status", "phase"),
	}
	provider := locationProvider(f.Provider, velero.StringField(u, "spec", "config", "s3Url"))
	if f.Region != "" {
		if res := catalog.Resolve(f.Region, provider); res.Known {
			f.Country = res.Region.Country
		}
	}
	f.Encryption = encryptionShown(f.Provider, func(key string) string { return velero.StringField(u, "spec", "config", key) })
	return f, provider
}

// locationProvider is the cloud a location's region code belongs to. The AWS plugin also talks to
// every S3-compatible store (s3Url set): then the code alone must decide.
func locationProvider(plugin, s3URL string) regions.Provider {
	switch strings.TrimPrefix(plugin, "velero.io/") {
	case "aws":
		if s3URL == "" {
			return regions.AWS
		}
	case "gcp":
		return regions.GCP
	case "azure":
		return regions.Azure
	}
	return ""
}

// encryptionShown names the location setting that encrypts backups at rest, from the settings
// each Velero object-store plugin documents; empty when none shows. Encryption a store applies
// without the location saying so is not claimed.
func encryptionShown(plugin string, config func(string) string) string {
	var keys []string
	switch strings.TrimPrefix(plugin, "velero.io/") {
	case "aws":
		keys = []string{"serverSideEncryption", "kmsKeyId", "customerKeyEncryptionFile"}
	case "gcp":
		keys = []string{"kmsKeyName"}
	case "azure":
		keys = []string{"customerProvidedKeyFile", "encryptionScope"}
	}
	for _, k := range keys {
		if v := config(k); v != "" {
			return fmt.Sprintf("config.%s=%s", k, v)
		}
	}
	return ""
}
