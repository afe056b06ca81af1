package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/netpol"
)

// tenantNamespace is one namespace of a tenant, with a stand-in pod for the reachability check.
type tenantNamespace struct {
	tenant   string
	boundary rempartv1.ControlState
	peer     netpol.Endpoint
}

// reachabilityAgrees checks, for every ordered pair of namespaces of different tenants, the live
// NetworkPolicies with an evaluator that is not ours (cyclonus's matcher): where a side admits the
// other tenant, that tenant's network.tenant-boundary control must be NonCompliant; and the
// operator's own evaluator (internal/netpol) must reach the same verdict on the whole flow.
func reachabilityAgrees(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	var tenants rempartv1.TenantIsolationList
	var policies networkingv1.NetworkPolicyList
	var namespaces corev1.NamespaceList
	for _, l := range []client.ObjectList{&tenants, &policies, &namespaces} {
		if err := c.List(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	boundary := map[string]rempartv1.ControlState{}
	for _, ti := range tenants.Items {
		boundary[ti.Name] = ti.Status.Control("network.tenant-boundary").State
	}
	var members []tenantNamespace
	sort.Slice(namespaces.Items, func(i, j int) bool { return namespaces.Items[i].Name < namespaces.Items[j].Name })
	for i, ns := range namespaces.Items {
		tenant := ns.Labels[rempartv1.LabelTenant]
		if _, ok := boundary[tenant]; !ok || ns.DeletionTimestamp != nil {
			continue
		}
		members = append(members, tenantNamespace{tenant: tenant, boundary: boundary[tenant], peer: netpol.Endpoint{
			Namespace: ns.Name, NamespaceLabels: ns.Labels, PodLabels: map[string]string{"app": "web"},
			IP: fmt.Sprintf("10.244.%d.%d", i/250, i%250+1)}})
	}
	if len(members) < 2 {
		t.Fatalf("only %d tenant namespaces to check", len(members))
	}
	pointers := make([]*networkingv1.NetworkPolicy, len(policies.Items))
	for i := range policies.Items {
		pointers[i] = &policies.Items[i]
	}
	independent := matcher.BuildNetworkPolicies(true, pointers)
	port := netpol.Port{Protocol: corev1.ProtocolTCP, Number: 8443}
	peer := func(e netpol.Endpoint) *matcher.TrafficPeer {
		return &matcher.TrafficPeer{IP: e.IP, Internal: &matcher.InternalPeer{Namespace: e.Namespace, NamespaceLabels: e.NamespaceLabels, PodLabels: e.PodLabels}}
	}
	pairs := 0
	for _, src := range members {
		for _, dst := range members {
			if src.tenant == dst.tenant {
				continue
			}
			pairs++
			verdict := independent.IsTrafficAllowed(&matcher.Traffic{Source: peer(src.peer), Destination: peer(dst.peer),
				ResolvedPort: int(port.Number), Protocol: port.Protocol})
			if verdict.Egress.IsAllowed() && src.boundary != rempartv1.ControlNonCompliant {
				t.Errorf("%s lets traffic out to %s (tenant %s), yet tenant %s's network.tenant-boundary is %s",
					src.peer.Namespace, dst.peer.Namespace, dst.tenant, src.tenant, src.boundary)
			}
			if verdict.Ingress.IsAllowed() && dst.boundary != rempartv1.ControlNonCompliant {
				t.Errorf("%s admits traffic from %s (tenant %s), yet tenant %s's network.tenant-boundary is %s",
					dst.peer.Namespace, src.peer.Namespace, src.tenant, dst.tenant, dst.boundary)
			}
			if ours := netpol.Allowed(policies.Items, src.peer, dst.peer, port); ours != verdict.IsAllowed() {
				t.Errorf("%s -> %s: internal/netpol says %v, cyclonus says %v", src.peer.Namespace, dst.peer.Namespace, ours, verdict.IsAllowed())
			}
		}
	}
	t.Logf("reachability checked on %d pairs of namespaces of different tenants", pairs)
}
