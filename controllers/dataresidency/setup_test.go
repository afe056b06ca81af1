package dataresidency

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A server that does not serve MutatingAdmissionPolicy at v1 gets validation-only pinning.
func TestMutationAvailable(t *testing.T) {
	without := meta.NewDefaultRESTMapper(nil)
	if ok, err := MutationAvailable(without); err != nil || ok {
		t.Errorf("without the kind: %v, %v; want false, nil", ok, err)
	}
	beta := meta.NewDefaultRESTMapper(nil)
	beta.Add(schema.GroupVersionKind{Group: "admissionregistration.k8s.io", Version: "v1beta1", Kind: "MutatingAdmissionPolicy"}, meta.RESTScopeRoot)
	if ok, err := MutationAvailable(beta); err != nil || ok {
		t.Errorf("with v1beta1 only: %v, %v; want false, nil", ok, err)
	}
	ga := meta.NewDefaultRESTMapper(nil)
	ga.Add(schema.GroupVersionKind{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingAdmissionPolicy"}, meta.RESTScopeRoot)
	if ok, err := MutationAvailable(ga); err != nil || !ok {
		t.Errorf("with v1: %v, %v; want true, nil", ok, err)
	}
}
