package enqueue

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func TestAllEnqueuesEveryPolicy(t *testing.T) {
	s := runtime.NewScheme()
	if err := rempartv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(
		&rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		&rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "b"}},
		&rempartv1.DataResidency{ObjectMeta: metav1.ObjectMeta{Name: "other-kind"}},
	).Build()
	var names []string
	for _, r := range All(c, &rempartv1.BackupPolicyList{})(context.Background(), nil) {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("enqueued %v", names)
	}
}

func TestTenantsOfGrantAreThoseItConcerns(t *testing.T) {
	s := runtime.NewScheme()
	if err := rempartv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(
		&rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "bank"}},
		&rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bank-app", Labels: map[string]string{rempartv1.LabelTenant: "bank"}}},
	).Build()
	names := func(aa *rempartv1.AdminAccess) []string {
		var out []string
		for _, r := range TenantsOfGrant(c)(context.Background(), aa) {
			out = append(out, r.Name)
		}
		slices.Sort(out)
		return out
	}
	aa := &rempartv1.AdminAccess{Spec: rempartv1.AdminAccessSpec{Tenants: []rempartv1.TenantName{"shop"}}}
	aa.Status.Bindings = []rempartv1.ObjectReference{{Kind: "RoleBinding", Namespace: "bank-app", Name: "x"}}
	if got := names(aa); !slices.Equal(got, []string{"bank", "shop"}) {
		t.Errorf("a grant on shop with a binding in bank-app enqueues %v", got)
	}
	aa.Spec.BreakGlass = true
	if got := names(aa); !slices.Equal(got, []string{"bank", "other", "shop"}) {
		t.Errorf("a break-glass grant enqueues %v, want every tenant", got)
	}
}
