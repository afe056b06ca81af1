package apply

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

func TestUpToDate(t *testing.T) {
	desired := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "n", Labels: map[string]string{"a": "1"}},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}
	existing := desired.DeepCopy()
	existing.ResourceVersion = "42"
	existing.UID = "u"
	existing.Labels["added-by-someone"] = "x"
	existing.CreationTimestamp = metav1.Now()
	ok, err := UpToDate(desired, existing, clientgoscheme.Scheme)
	if err != nil || !ok {
		t.Fatalf("an object with extra server fields is not up to date: %v %v", ok, err)
	}
	existing.Spec.PolicyTypes = append(existing.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	if ok, _ := UpToDate(desired, existing, clientgoscheme.Scheme); ok {
		t.Error("a changed list is up to date")
	}
	existing = desired.DeepCopy()
	existing.Labels["a"] = "2"
	if ok, _ := UpToDate(desired, existing, clientgoscheme.Scheme); ok {
		t.Error("a changed label is up to date")
	}
	existing = desired.DeepCopy()
	delete(existing.Labels, "a")
	if ok, _ := UpToDate(desired, existing, clientgoscheme.Scheme); ok {
		t.Error("a removed label is up to date")
	}

	// Defaults the server adds inside list elements do not make an object out of date.
	withDefaults := desired.DeepCopy()
	desired.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{}}}}
	withDefaults.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptrTo(corev1.ProtocolTCP)}}}}
	if ok, _ := UpToDate(desired, withDefaults, clientgoscheme.Scheme); !ok {
		t.Error("a default inside a list element makes the object out of date")
	}
	withDefaults.Spec.Ingress = append(withDefaults.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
	if ok, _ := UpToDate(desired, withDefaults, clientgoscheme.Scheme); ok {
		t.Error("an extra list element is up to date")
	}

	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "n"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}}
	q2 := q.DeepCopy()
	q2.Spec.Hard[corev1.ResourcePods] = resource.MustParse("11")
	if ok, _ := UpToDate(q, q2, clientgoscheme.Scheme); ok {
		t.Error("a changed quantity is up to date")
	}
}

func TestToUnstructuredDropsServerFields(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n", CreationTimestamp: metav1.Now()}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	u, err := ToUnstructured(ns, clientgoscheme.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	if u.GetKind() != "Namespace" || u.GetAPIVersion() != "v1" {
		t.Errorf("kind = %s %s", u.GetAPIVersion(), u.GetKind())
	}
	if _, found := u.Object["status"]; found {
		t.Error("status is applied")
	}
	if _, found := u.Object["metadata"].(map[string]any)["creationTimestamp"]; found {
		t.Error("creationTimestamp is applied")
	}
}

func ptrTo[T any](v T) *T { return &v }
