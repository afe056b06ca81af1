package backuppolicy

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/backuppolicy/velero"
)

func TestEncryptionShownOnlyFromDocumentedSettings(t *testing.T) {
	cfg := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		plugin string
		config map[string]string
		want   string
	}{
		{"aws", map[string]string{"serverSideEncryption": "AES256"}, "config.serverSideEncryption=AES256"},
		{"velero.io/aws", map[string]string{"kmsKeyId": "alias/backups"}, "config.kmsKeyId=alias/backups"},
		{"aws", map[string]string{"region": "eu-west-3"}, ""},
		{"gcp", map[string]string{"kmsKeyName": "projects/p/keys/k"}, "config.kmsKeyName=projects/p/keys/k"},
		{"gcp", map[string]string{"serverSideEncryption": "AES256"}, ""},
		{"azure", map[string]string{"encryptionScope": "backups"}, "config.encryptionScope=backups"},
		{"community.example/unknown", map[string]string{"serverSideEncryption": "AES256"}, ""},
	}
	for _, tt := range tests {
		if got := encryptionShown(tt.plugin, cfg(tt.config)); got != tt.want {
			t.Errorf("%s %v: %q, want %q", tt.plugin, tt.config, got, tt.want)
		}
	}
}

func unstructuredStrings(obj map[string]any, path ...string) ([]string, bool, error) {
	return unstructured.NestedStringSlice(obj, path...)
}

// Backups count for the policy that made them, by UID, and only if they hold its namespaces.
func TestBackupsMatchTheirPolicyByUIDAndNamespaces(t *testing.T) {
	created := metav1.NewTime(now.Add(-time.Hour))
	bp := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "acme", UID: "uid-now", CreationTimestamp: created}}
	backup := func(uid string, at time.Time, namespaces ...any) *unstructured.Unstructured {
		b := velero.NewObject(velero.BackupGVK, "velero", "b")
		labels := map[string]string{rempartv1.LabelBackupPolicy: "acme"}
		if uid != "" {
			labels[velero.LabelBackupPolicyUID] = uid
		}
		b.SetLabels(labels)
		b.SetCreationTimestamp(metav1.NewTime(at))
		b.Object["spec"] = map[string]any{"includedNamespaces": namespaces}
		return b
	}
	for _, tt := range []struct {
		name string
		b    *unstructured.Unstructured
		want bool
	}{
		{"its own", backup("uid-now", now, "shop"), true},
		{"an earlier policy of the same name", backup("uid-before", now, "shop"), false},
		{"unlabelled, made after the policy", backup("", now, "shop"), true},
		{"unlabelled, older than the policy", backup("", now.Add(-2*time.Hour), "shop"), false},
		{"another tenant's namespaces", backup("uid-now", now, "elsewhere"), false},
	} {
		if got := backupOfPolicy(tt.b, bp, []string{"shop"}); got != tt.want {
			t.Errorf("%s: counted %v, want %v", tt.name, got, tt.want)
		}
	}
}
