package tenantisolation

import (
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// backendServices are the Services of the route's own namespace that backend references name;
// references to another namespace need a ReferenceGrant there and are that namespace's concern.
func backendServices(namespace string, refs []gwapiv1.BackendRef) []string {
	var out []string
	for _, r := range refs {
		group, kind := "", "Service"
		if r.Group != nil {
			group = string(*r.Group)
		}
		if r.Kind != nil {
			kind = string(*r.Kind)
		}
		if group != "" || kind != "Service" || (r.Namespace != nil && string(*r.Namespace) != namespace) {
			continue
		}
		out = append(out, string(r.Name))
	}
	return out
}

func httpRoute(r *gwapiv1.HTTPRoute) gatewayRoute {
	out := gatewayRoute{kind: "HTTPRoute", namespace: r.Namespace, name: r.Name}
	for _, rule := range r.Spec.Rules {
		for _, b := range rule.BackendRefs {
			out.services = append(out.services, backendServices(r.Namespace, []gwapiv1.BackendRef{b.BackendRef})...)
		}
	}
	return out
}

func grpcRoute(r *gwapiv1.GRPCRoute) gatewayRoute {
	out := gatewayRoute{kind: "GRPCRoute", namespace: r.Namespace, name: r.Name}
	for _, rule := range r.Spec.Rules {
		for _, b := range rule.BackendRefs {
			out.services = append(out.services, backendServices(r.Namespace, []gwapiv1.BackendRef{b.BackendRef})...)
		}
	}
	return out
}
