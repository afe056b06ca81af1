package apply

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func TestPruneDeletesOnlyWhatIsNotKept(t *testing.T) {
	quota := func(ns, name string, labels map[string]string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
	}
	mine := ManagedLabels(rempartv1.LabelTenant, "acme")
	c := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(
		quota("acme-web", "wanted", mine), quota("acme-web", "stale", mine),
		quota("acme-web", "users", nil), quota("other", "stale", mine)).Build()
	stats := &Stats{}
	err := Prune(context.Background(), c, &corev1.ResourceQuotaList{}, KeepNames(map[string]bool{"acme-web/wanted": true}),
		"test", stats, client.InNamespace("acme-web"), client.MatchingLabels(mine))
	if err != nil {
		t.Fatal(err)
	}
	var left corev1.ResourceQuotaList
	if err := c.List(context.Background(), &left); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, q := range left.Items {
		got[q.Namespace+"/"+q.Name] = true
	}
	want := map[string]bool{"acme-web/wanted": true, "acme-web/users": true, "other/stale": true}
	if len(got) != len(want) || !got["acme-web/wanted"] || !got["acme-web/users"] || !got["other/stale"] {
		t.Errorf("left %v, want %v: only the tenant's unwanted generated quota goes", got, want)
	}
	if stats.Writes != 1 || !stats.Unread {
		t.Errorf("stats = %+v, want one deletion counted", stats)
	}
	// Deleting what is already gone is fine.
	if err := Delete(context.Background(), c, quota("acme-web", "stale", nil), "test"); err != nil {
		t.Errorf("deleting a deleted object: %v", err)
	}
}

func TestGeneratedMetadataNamesItsOwner(t *testing.T) {
	owner := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "acme", UID: "uid-1"}}
	m := Generated("TenantIsolation", owner, "acme-web", "rempart-quota", rempartv1.LabelTenant, "acme")
	if m.Labels[rempartv1.LabelManagedBy] != rempartv1.ManagedByValue || m.Labels[rempartv1.LabelTenant] != "acme" {
		t.Errorf("labels = %v", m.Labels)
	}
	if len(m.OwnerReferences) != 1 {
		t.Fatalf("owners = %v", m.OwnerReferences)
	}
	o := m.OwnerReferences[0]
	if o.UID != "uid-1" || o.Kind != "TenantIsolation" || o.APIVersion != rempartv1.GroupVersion.String() || o.Controller == nil || !*o.Controller || o.BlockOwnerDeletion == nil || !*o.BlockOwnerDeletion {
		t.Errorf("owner = %+v", o)
	}
}
