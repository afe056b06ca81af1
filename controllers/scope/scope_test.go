package scope

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func TestCoversNamespacesOfSelectedTenantsAndListedOnes(t *testing.T) {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = rempartv1.AddToScheme(s)
	ns := func(name, tenant string) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if tenant != "" {
			n.Labels = map[string]string{rempartv1.LabelTenant: tenant}
		}
		return n
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(
		ns("acme-web", "acme"), ns("bank-web", "bank"), ns("loose", ""),
		&rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "bank", Labels: map[string]string{"tier": "gold"}}},
	).Build()
	gold := &rempartv1.TenantSelection{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}}
	for _, tt := range []struct {
		name      string
		tenants   *rempartv1.TenantSelection
		listed    []rempartv1.NamespaceName
		namespace string
		want      bool
	}{
		{"a named tenant's namespace", &rempartv1.TenantSelection{Names: []rempartv1.TenantName{"acme"}}, nil, "acme-web", true},
		{"another tenant's namespace", &rempartv1.TenantSelection{Names: []rempartv1.TenantName{"acme"}}, nil, "bank-web", false},
		{"a tenant selected by label", gold, nil, "bank-web", true},
		{"a tenant the selector leaves out", gold, nil, "acme-web", false},
		{"a listed namespace", nil, []rempartv1.NamespaceName{"loose"}, "loose", true},
		{"a namespace of no tenant", gold, nil, "loose", false},
		{"a namespace that does not exist", gold, nil, "gone", false},
	} {
		got, err := Covers(context.Background(), c, tt.tenants, tt.listed, tt.namespace)
		if err != nil || got != tt.want {
			t.Errorf("%s: covers %v (%v), want %v", tt.name, got, err, tt.want)
		}
	}
}
