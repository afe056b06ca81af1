package velero

import (
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

var (
	GroupVersion           = schema.GroupVersion{Group: "velero.io", Version: "v1"}
	ScheduleGVK            = GroupVersion.WithKind("Schedule")
	BackupGVK              = GroupVersion.WithKind("Backup")
	RestoreGVK             = GroupVersion.WithKind("Restore")
	LocationGVK            = GroupVersion.WithKind("BackupStorageLocation")
	DeleteBackupRequestGVK = GroupVersion.WithKind("DeleteBackupRequest")
	DownloadRequestGVK     = GroupVersion.WithKind("DownloadRequest")
)

// NewObject is an empty object of a Velero kind, named.
func NewObject(gvk schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// NewList is an empty list of a Velero kind.
func NewList(gvk schema.GroupVersionKind) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	return l
}

// ScheduleName is the Velero Schedule of a policy: one per policy, in Velero's namespace.
func ScheduleName(bp *rempartv1.BackupPolicy) string { return "rempart-" + bp.Name }

// LabelBackupPolicyUID carries the UID of the policy a Velero object was made for: a policy
// deleted and created again under the same name does not inherit the old one's backups.
const LabelBackupPolicyUID = "rempart.io/backup-policy-uid"

// PolicyLabels mark every object the operator creates for a policy, plus any extra pairs.
func PolicyLabels(bp *rempartv1.BackupPolicy, extra ...string) map[string]string {
	return apply.ManagedLabels(append([]string{rempartv1.LabelBackupPolicy, bp.Name, LabelBackupPolicyUID, string(bp.UID)}, extra...)...)
}

// TimeField reads an RFC 3339 time at the given path, zero when absent or malformed.
func TimeField(u *unstructured.Unstructured, path ...string) time.Time {
	s, _, _ := unstructured.NestedString(u.Object, path...)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// IntField reads an integer at the given path, 0 when absent.
func IntField(u *unstructured.Unstructured, path ...string) int32 {
	v, _, _ := unstructured.NestedInt64(u.Object, path...)
	return int32(v)
}

// StringField reads a string at the given path, empty when absent.
func StringField(u *unstructured.Unstructured, path ...string) string {
	s, _, _ := unstructured.NestedString(u.Object, path...)
	return s
}
