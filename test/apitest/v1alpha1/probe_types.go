package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

var (
	// GroupVersion of the test-only kinds.
	GroupVersion = schema.GroupVersion{Group: "apitest.rempart.io", Version: "v1alpha1"}
	// SchemeBuilder registers the test-only kinds.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	// AddToScheme adds the test-only kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// PolicyProbeSpec embeds the shared policy spec.
type PolicyProbeSpec struct {
	rempartv1.PolicyCommonSpec `json:",inline"`
}

// PolicyProbe carries the shared spec and status of a policy and nothing else.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
type PolicyProbe struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PolicyProbeSpec        `json:"spec,omitempty"`
	Status rempartv1.PolicyStatus `json:"status,omitempty"`
}

// PolicyProbeList is a list of PolicyProbe.
// +kubebuilder:object:root=true
type PolicyProbeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PolicyProbe `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PolicyProbe{}, &PolicyProbeList{})
}
