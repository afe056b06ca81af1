package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every Rempart kind.
	GroupVersion = schema.GroupVersion{Group: "rempart.io", Version: "v1alpha1"}

	// SchemeBuilder registers the Rempart kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Rempart kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
