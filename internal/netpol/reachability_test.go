package netpol

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func ep(ns string, nsLabels, pod map[string]string, ip string) Endpoint {
	return Endpoint{Namespace: ns, NamespaceLabels: nsLabels, PodLabels: pod, IP: ip}
}

func TestAllowed(t *testing.T) {
	web := ep("shop", map[string]string{"tenant": "acme"}, map[string]string{"app": "web"}, "10.1.0.5")
	db := ep("data", map[string]string{"tenant": "acme"}, map[string]string{"app": "db"}, "10.1.0.6")
	other := ep("globex", map[string]string{"tenant": "globex"}, map[string]string{"app": "web"}, "10.2.0.5")
	tcp := func(n int32) Port { return Port{Protocol: corev1.ProtocolTCP, Number: n} }
	denyAll := func(ns string) networkingv1.NetworkPolicy {
		return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deny"},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
	}
	sameTenant := func(ns string) networkingv1.NetworkPolicy {
		peers := []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tenant": "acme"}}}}
		return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "same"},
			Spec: networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: peers}},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{To: peers}}}}
	}
	dbPortOnly := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "data", Name: "db-port"},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(5432))}}}}}}
	toCIDR := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "to-net"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.2.0.0/16", Except: []string{"10.2.0.5/32"}}}}}}}}

	tests := []struct {
		name     string
		policies []networkingv1.NetworkPolicy
		src, dst Endpoint
		port     Port
		want     bool
	}{
		{"no policy: open", nil, web, other, tcp(80), true},
		{"deny on destination", []networkingv1.NetworkPolicy{denyAll("globex")}, web, other, tcp(80), false},
		{"deny on source", []networkingv1.NetworkPolicy{denyAll("shop")}, web, other, tcp(80), false},
		{"same tenant both sides", []networkingv1.NetworkPolicy{denyAll("shop"), denyAll("data"), sameTenant("shop"), sameTenant("data")}, web, db, tcp(5432), true},
		{"same tenant rule keeps others out", []networkingv1.NetworkPolicy{denyAll("shop"), denyAll("globex"), sameTenant("shop"), sameTenant("globex")}, other, web, tcp(80), false},
		{"port rule allows its port", []networkingv1.NetworkPolicy{dbPortOnly}, other, db, tcp(5432), true},
		{"port rule refuses another port", []networkingv1.NetworkPolicy{dbPortOnly}, other, db, tcp(22), false},
		{"port rule refuses another protocol", []networkingv1.NetworkPolicy{dbPortOnly}, other, db, Port{Protocol: corev1.ProtocolUDP, Number: 5432}, false},
		{"ip block except", []networkingv1.NetworkPolicy{toCIDR}, web, other, tcp(80), false},
		{"policy in another namespace does not apply", []networkingv1.NetworkPolicy{denyAll("elsewhere")}, web, other, tcp(80), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.policies, tt.src, tt.dst, tt.port); got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// The controls judge an ipBlock by BlockReachesAny; Allowed judges one pod at a time. They must
// agree: a block said not to reach the pod network admits no pod of it.
func TestBlockReachesAnyAgreesWithAllowed(t *testing.T) {
	podNetwork := "10.244.0.0/16"
	pods := []string{"10.244.0.1", "10.244.3.7", "10.244.128.9", "10.244.255.254"}
	blocks := []networkingv1.IPBlock{
		{CIDR: "0.0.0.0/0"},
		{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}},
		{CIDR: "10.244.3.7/32"},
		{CIDR: "10.0.0.0/8", Except: []string{"10.244.0.0/17"}},
		{CIDR: "198.51.100.0/24"},
		{CIDR: "10.244.0.0/16", Except: []string{"10.244.0.0/16"}},
	}
	wantReach := []bool{true, false, true, true, false, false}
	for i, b := range blocks {
		reaches := BlockReachesAny(&b, []string{podNetwork})
		if reaches != wantReach[i] {
			t.Errorf("block %v reaches %s = %v, want %v", b, podNetwork, reaches, wantReach[i])
		}
		admitted := false
		for _, ip := range pods {
			if ipInBlock(ip, &b) {
				admitted = true
			}
		}
		if admitted && !reaches {
			t.Errorf("block %v admits a pod of %s but BlockReachesAny says it does not", b, podNetwork)
		}
	}
	if !BlockReachesAny(&networkingv1.IPBlock{CIDR: "not-a-cidr"}, []string{podNetwork}) {
		t.Error("a malformed block must count as reaching (fail closed)")
	}
}
