package netpol

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Endpoint is one pod, with the labels of its namespace.
type Endpoint struct {
	Namespace       string
	NamespaceLabels map[string]string
	PodLabels       map[string]string
	IP              string
}

// Port is a destination port and its protocol.
type Port struct {
	Protocol corev1.Protocol
	Number   int32
}

// Allowed reports whether src may open a connection to dst on port under policies: the egress
// side of src's namespace and the ingress side of dst's namespace must both allow it.
func Allowed(policies []networkingv1.NetworkPolicy, src, dst Endpoint, port Port) bool {
	return directionAllows(policies, src, dst, port, networkingv1.PolicyTypeEgress) &&
		directionAllows(policies, dst, src, port, networkingv1.PolicyTypeIngress)
}

// directionAllows: subject is the pod whose policies apply (the source for egress, the
// destination for ingress), peer the other end.
func directionAllows(policies []networkingv1.NetworkPolicy, subject, peer Endpoint, port Port, direction networkingv1.PolicyType) bool {
	selected := false
	for i := range policies {
		p := &policies[i]
		if p.Namespace != subject.Namespace || !hasType(p, direction) || !matches(&p.Spec.PodSelector, subject.PodLabels) {
			continue
		}
		selected = true
		if direction == networkingv1.PolicyTypeIngress {
			for _, r := range p.Spec.Ingress {
				if peersMatch(r.From, p.Namespace, peer) && portsMatch(r.Ports, port) {
					return true
				}
			}
		} else {
			for _, r := range p.Spec.Egress {
				if peersMatch(r.To, p.Namespace, peer) && portsMatch(r.Ports, port) {
					return true
				}
			}
		}
	}
	return !selected // a pod no policy selects in a direction is not isolated in it
}

// hasType applies the API's defaulting: Ingress always, Egress when egress rules exist.
func hasType(p *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) > 0 {
		return slices.Contains(p.Spec.PolicyTypes, t)
	}
	return t == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
}

func matches(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(l))
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNamespace string, peer Endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			if ipInBlock(peer.IP, p.IPBlock) {
				return true
			}
			continue
		}
		if p.NamespaceSelector == nil {
			if peer.Namespace == policyNamespace && (p.PodSelector == nil || matches(p.PodSelector, peer.PodLabels)) {
				return true
			}
			continue
		}
		if matches(p.NamespaceSelector, peer.NamespaceLabels) && (p.PodSelector == nil || matches(p.PodSelector, peer.PodLabels)) {
			return true
		}
	}
	return false
}

func ipInBlock(ip string, block *networkingv1.IPBlock) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	cidr, err := netip.ParsePrefix(block.CIDR)
	if err != nil || !cidr.Contains(addr) {
		return false
	}
	for _, e := range block.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Contains(addr) {
			return false
		}
	}
	return true
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, port Port) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != port.Protocol {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.IntVal == 0 { // a named port needs the pod's container ports, which are not modelled
			continue
		}
		end := p.Port.IntVal
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if port.Number >= p.Port.IntVal && port.Number <= end {
			return true
		}
	}
	return false
}

// BlockReachesAny reports whether an ipBlock admits at least one address of any of the networks:
// it overlaps one of them and no exception removes that network whole. A malformed block or
// network is taken to reach (fail closed).
func BlockReachesAny(block *networkingv1.IPBlock, networks []string) bool {
	b, err := netip.ParsePrefix(block.CIDR)
	if err != nil {
		return true
	}
	for _, n := range networks {
		net, err := netip.ParsePrefix(n)
		if err != nil {
			return true
		}
		if !b.Overlaps(net) {
			continue
		}
		excluded := false
		for _, e := range block.Except {
			ex, err := netip.ParsePrefix(e)
			if err == nil && ex.Bits() <= net.Bits() && ex.Contains(net.Masked().Addr()) {
				excluded = true
				break
			}
		}
		if !excluded {
			return true
		}
	}
	return false
}
