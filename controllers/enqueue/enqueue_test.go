package enqueue

import (
	"context"
	"slices"
	"testing"

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
