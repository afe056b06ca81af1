package apply

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// ManagedLabels are the labels of a generated object: managed by Rempart, and the key/value
// pairs given, which say whose it is (the tenant, the policy).
func ManagedLabels(pairs ...string) map[string]string {
	labels := map[string]string{rempartv1.LabelManagedBy: rempartv1.ManagedByValue}
	for i := 0; i+1 < len(pairs); i += 2 {
		labels[pairs[i]] = pairs[i+1]
	}
	return labels
}

// ControlledBy is the owner reference of a generated object to the Rempart object that wants it
// (kind is one of the API group's kinds): the garbage collector removes the object with its
// owner, and the owner is not gone before it.
func ControlledBy(kind string, owner client.Object) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: rempartv1.GroupVersion.String(), Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}
}

// Generated is the metadata of a generated object: its name, the managed labels with pairs, and
// its owner.
func Generated(kind string, owner client.Object, namespace, name string, pairs ...string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: namespace, Labels: ManagedLabels(pairs...),
		OwnerReferences: []metav1.OwnerReference{ControlledBy(kind, owner)},
	}
}
