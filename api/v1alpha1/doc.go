// Package v1alpha1 holds the rempart.io/v1alpha1 API: the policy kinds a platform team writes and
// the shared shapes (enforcement mode, exceptions, control results) every one of them embeds.
// +kubebuilder:object:generate=true
// +groupName=rempart.io
package v1alpha1
