package tenantisolation

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// routeKind is one Gateway API route kind: every kind can send traffic to a Service (E8).
type routeKind struct {
	kind   string
	object client.Object
	list   func() client.ObjectList
	// routes reduces a list of the kind to what the controls read.
	routes func(client.ObjectList) []gatewayRoute
}

// routeKinds are the route kinds of the Gateway API's standard channel.
var routeKinds = []routeKind{
	{kind: "HTTPRoute", object: &gwapiv1.HTTPRoute{}, list: func() client.ObjectList { return &gwapiv1.HTTPRouteList{} },
		routes: func(l client.ObjectList) []gatewayRoute {
			return routesOf("HTTPRoute", l.(*gwapiv1.HTTPRouteList).Items, func(r *gwapiv1.HTTPRoute) (refs []gwapiv1.BackendRef) {
				for _, rule := range r.Spec.Rules {
					for _, b := range rule.BackendRefs {
						refs = append(refs, b.BackendRef)
					}
				}
				return refs
			})
		}},
	{kind: "GRPCRoute", object: &gwapiv1.GRPCRoute{}, list: func() client.ObjectList { return &gwapiv1.GRPCRouteList{} },
		routes: func(l client.ObjectList) []gatewayRoute {
			return routesOf("GRPCRoute", l.(*gwapiv1.GRPCRouteList).Items, func(r *gwapiv1.GRPCRoute) (refs []gwapiv1.BackendRef) {
				for _, rule := range r.Spec.Rules {
					for _, b := range rule.BackendRefs {
						refs = append(refs, b.BackendRef)
					}
				}
				return refs
			})
		}},
	{kind: "TLSRoute", object: &gwapiv1.TLSRoute{}, list: func() client.ObjectList { return &gwapiv1.TLSRouteList{} },
		routes: func(l client.ObjectList) []gatewayRoute {
			return routesOf("TLSRoute", l.(*gwapiv1.TLSRouteList).Items, func(r *gwapiv1.TLSRoute) (refs []gwapiv1.BackendRef) {
				for _, rule := range r.Spec.Rules {
					refs = append(refs, rule.BackendRefs...)
				}
				return refs
			})
		}},
	{kind: "TCPRoute", object: &gwapiv1.TCPRoute{}, list: func() client.ObjectList { return &gwapiv1.TCPRouteList{} },
		routes: func(l client.ObjectList) []gatewayRoute {
			return routesOf("TCPRoute", l.(*gwapiv1.TCPRouteList).Items, func(r *gwapiv1.TCPRoute) (refs []gwapiv1.BackendRef) {
				for _, rule := range r.Spec.Rules {
					refs = append(refs, rule.BackendRefs...)
				}
				return refs
			})
		}},
	{kind: "UDPRoute", object: &gwapiv1.UDPRoute{}, list: func() client.ObjectList { return &gwapiv1.UDPRouteList{} },
		routes: func(l client.ObjectList) []gatewayRoute {
			return routesOf("UDPRoute", l.(*gwapiv1.UDPRouteList).Items, func(r *gwapiv1.UDPRoute) (refs []gwapiv1.BackendRef) {
				for _, rule := range r.Spec.Rules {
					refs = append(refs, rule.BackendRefs...)
				}
				return refs
			})
		}},
}

// routesOf reduces routes of one kind, given how to read their backend references.
func routesOf[T any, P interface {
	*T
	client.Object
}](kind string, items []T, refs func(P) []gwapiv1.BackendRef) []gatewayRoute {
	out := make([]gatewayRoute, 0, len(items))
	for i := range items {
		r := P(&items[i])
		out = append(out, newGatewayRoute(kind, r.GetNamespace(), r.GetName(), refs(r)))
	}
	return out
}

// newGatewayRoute keeps of a route the Services of its own namespace that its backend references
// name; references to another namespace need a ReferenceGrant there and are that namespace's
// concern.
func newGatewayRoute(kind, namespace, name string, refs []gwapiv1.BackendRef) gatewayRoute {
	out := gatewayRoute{kind: kind, namespace: namespace, name: name}
	for _, r := range refs {
		group, refKind := "", "Service"
		if r.Group != nil {
			group = string(*r.Group)
		}
		if r.Kind != nil {
			refKind = string(*r.Kind)
		}
		if group != "" || refKind != "Service" || (r.Namespace != nil && string(*r.Namespace) != namespace) {
			continue
		}
		out.services = append(out.services, string(r.Name))
	}
	return out
}
