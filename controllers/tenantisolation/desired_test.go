package tenantisolation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func tenant(name string, env rempartv1.Environment, namespaces ...rempartv1.NamespaceName) *rempartv1.TenantIsolation {
	return &rempartv1.TenantIsolation{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec:       rempartv1.TenantIsolationSpec{Namespaces: namespaces, Environment: env},
	}
}

func policyNames(ps []*networkingv1.NetworkPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestNetworkPoliciesDefaults(t *testing.T) {
	ti := tenant("acme", rempartv1.EnvironmentProduction, "acme-web")
	ps := networkPolicies(ti, "acme-web")
	if got := strings.Join(policyNames(ps), ","); got != "rempart-default-deny,rempart-allow-dns,rempart-allow-same-tenant" {
		t.Fatalf("policies = %s", got)
	}
	for _, p := range ps {
		if p.Namespace != "acme-web" || p.Labels[rempartv1.LabelManagedBy] != "rempart" || p.Labels[rempartv1.LabelTenant] != "acme" {
			t.Errorf("%s lacks namespace or managed labels: %+v", p.Name, p.ObjectMeta)
		}
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Name != "acme" || !*p.OwnerReferences[0].Controller {
			t.Errorf("%s is not owned by its TenantIsolation: %+v", p.Name, p.OwnerReferences)
		}
	}
	if !isDefaultDeny(ps[0]) {
		t.Error("rempart-default-deny does not deny everything")
	}
	dns := ps[1].Spec.Egress[0]
	if len(dns.Ports) != 2 || dns.To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" {
		t.Errorf("DNS egress is not limited to kube-dns port 53: %+v", dns)
	}
	same := ps[2].Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels
	if same[rempartv1.LabelTenant] != "acme" || same[rempartv1.LabelEnvironment] != "production" {
		t.Errorf("same-tenant policy selects %v", same)
	}
}

func TestNetworkPoliciesCanBeTurnedOff(t *testing.T) {
	ti := tenant("acme", rempartv1.EnvironmentStaging, "acme-web")
	ti.Spec.Network = rempartv1.NetworkIsolation{DefaultDeny: ptr.To(false), AllowDNS: ptr.To(false), AllowIntraTenant: ptr.To(false)}
	if ps := networkPolicies(ti, "acme-web"); len(ps) != 0 {
		t.Fatalf("policies rendered although every default is off: %v", policyNames(ps))
	}
}

func TestFlowMatrixIsRenderedWithTheEnvironmentGuard(t *testing.T) {
	ti := tenant("acme", rempartv1.EnvironmentProduction, "acme-web")
	ti.Spec.Network.Ingress = []rempartv1.IngressFlow{{
		Name: "from-ingress-controller", FromNamespaces: []rempartv1.NamespaceName{"ingress-nginx"},
		ToPodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Ports:         []rempartv1.FlowPort{{Port: 8443}},
	}}
	ti.Spec.Network.Egress = []rempartv1.EgressFlow{{
		Name: "to-database", ToCIDRs: []rempartv1.CIDR{"10.20.0.0/16"}, Ports: []rempartv1.FlowPort{{Protocol: corev1.ProtocolTCP, Port: 5432}},
	}, {
		Name: "to-everything-labelled", ToNamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shared"}},
	}}
	ps := networkPolicies(ti, "acme-web")
	byName := map[string]*networkingv1.NetworkPolicy{}
	for _, p := range ps {
		byName[p.Name] = p
	}
	in := byName["rempart-ingress-from-ingress-controller"]
	if in == nil {
		t.Fatalf("no ingress flow policy among %v", policyNames(ps))
	}
	sel, err := metav1.LabelSelectorAsSelector(in.Spec.Ingress[0].From[0].NamespaceSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set{labelNamespaceName: "ingress-nginx"}) {
		t.Error("ingress flow does not admit the named namespace")
	}
	if sel.Matches(labels.Set{labelNamespaceName: "ingress-nginx", rempartv1.LabelEnvironment: "staging"}) {
		t.Error("a production flow admits a staging namespace (FT-CLD-25)")
	}
	if in.Spec.PodSelector.MatchLabels["app"] != "web" || in.Spec.Ingress[0].Ports[0].Port.IntVal != 8443 ||
		*in.Spec.Ingress[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("ingress flow pods or ports wrong: %+v", in.Spec)
	}
	db := byName["rempart-egress-to-database"]
	if db == nil || db.Spec.Egress[0].To[0].IPBlock.CIDR != "10.20.0.0/16" {
		t.Fatalf("egress CIDR flow wrong: %+v", db)
	}
	labelled := byName["rempart-egress-to-everything-labelled"]
	sel, _ = metav1.LabelSelectorAsSelector(labelled.Spec.Egress[0].To[0].NamespaceSelector)
	if !sel.Matches(labels.Set{"team": "shared"}) || sel.Matches(labels.Set{"team": "shared", rempartv1.LabelEnvironment: "development"}) {
		t.Error("egress selector flow does not keep the label selector and the environment guard")
	}

	matrix := flowMatrix(ti)
	if len(matrix) != 6 {
		t.Fatalf("flow matrix has %d rows, want 6: %+v", len(matrix), matrix)
	}
	row := matrix[3]
	if row.Name != "from-ingress-controller" || row.Direction != "Ingress" || row.Ports != "TCP/8443" ||
		!strings.Contains(row.Peer, "ingress-nginx") || !strings.Contains(row.Peer, "never non-production") ||
		row.NetworkPolicy != "rempart-ingress-from-ingress-controller" {
		t.Errorf("flow matrix row = %+v", row)
	}
}

func TestNamespaceLabelsPinPodSecurity(t *testing.T) {
	ti := tenant("acme", rempartv1.EnvironmentStaging, "acme-web")
	l := namespaceLabels(ti)
	if l[rempartv1.LabelTenant] != "acme" || l[rempartv1.LabelEnvironment] != "staging" ||
		l[psaEnforce] != "restricted" || l[psaEnforceVersion] != "v1.37" || l[psaWarn] != "restricted" || l[psaAudit] != "restricted" {
		t.Errorf("labels = %v", l)
	}
	ti.Spec.PodSecurity = rempartv1.PodSecurity{Level: rempartv1.PodSecurityBaseline, Version: "v1.36"}
	l = namespaceLabels(ti)
	if l[psaEnforce] != "baseline" || l[psaEnforceVersion] != "v1.36" {
		t.Errorf("labels = %v", l)
	}
}

func TestQuotaAndLimitsOnlyWhenDeclared(t *testing.T) {
	ti := tenant("acme", rempartv1.EnvironmentProduction, "acme-web")
	if resourceQuota(ti, "acme-web") != nil || limitRange(ti, "acme-web") != nil {
		t.Fatal("quota or limits rendered although none is declared")
	}
	ti.Spec.Quota = corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("4")}
	ti.Spec.Limits = []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}}
	q, l := resourceQuota(ti, "acme-web"), limitRange(ti, "acme-web")
	if q == nil || q.Name != quotaName || !q.Spec.Hard[corev1.ResourceRequestsCPU].Equal(resource.MustParse("4")) {
		t.Errorf("quota = %+v", q)
	}
	if l == nil || l.Name != limitRangeName || len(l.Spec.Limits) != 1 {
		t.Errorf("limit range = %+v", l)
	}
	ti.Spec.Quota[corev1.ResourceRequestsCPU] = resource.MustParse("8")
	if q.Spec.Hard[corev1.ResourceRequestsCPU].Equal(resource.MustParse("8")) {
		t.Error("the rendered quota shares memory with the spec")
	}
}
