package tenantisolation

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func ns(name string, l map[string]string) *corev1.Namespace {
	if l == nil {
		l = map[string]string{}
	}
	l[labelNamespaceName] = name
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

// world is two production tenants, a staging tenant and shared infrastructure, with acme's
// generated objects all in place.
func world() observed {
	acme := tenant("acme", rempartv1.EnvironmentProduction, "acme-web", "acme-db")
	o := observed{tenant: acme, namespaces: map[string]*corev1.Namespace{}, conflicts: map[string]string{}}
	for _, n := range acme.Spec.Namespaces {
		o.namespaces[string(n)] = ns(string(n), namespaceLabels(acme))
		for _, p := range networkPolicies(acme, string(n)) {
			o.networkPolicies = append(o.networkPolicies, *p)
		}
	}
	globex := tenant("globex", rempartv1.EnvironmentProduction, "globex-web")
	o.namespaces["globex-web"] = ns("globex-web", namespaceLabels(globex))
	acmeStaging := tenant("acme-staging", rempartv1.EnvironmentStaging, "acme-staging-web")
	o.namespaces["acme-staging-web"] = ns("acme-staging-web", namespaceLabels(acmeStaging))
	o.namespaces["ingress-nginx"] = ns("ingress-nginx", nil)
	o.namespaces["kube-system"] = ns("kube-system", nil)
	return o
}

func resultByID(results []rempartv1.ControlResult, id rempartv1.ControlID) rempartv1.ControlResult {
	for _, r := range results {
		if r.ID == id {
			return r
		}
	}
	return rempartv1.ControlResult{}
}

func evidenceNames(r rempartv1.ControlResult) string {
	if r.Evidence == nil {
		return ""
	}
	var out []string
	for _, o := range r.Evidence.Objects {
		out = append(out, o.Kind+":"+o.Namespace+"/"+o.Name)
	}
	return strings.Join(out, ",")
}

func tenantPolicy(namespace, name string, spec networkingv1.NetworkPolicySpec) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: spec}
}

func fromNamespaces(sel map[string]string) networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: sel}}}}},
	}
}

func TestAFullySetUpTenantIsCompliant(t *testing.T) {
	results, _ := evaluate(world(), now)
	if missing, undeclared := compliance.Coverage(compliance.KindTenantIsolation, results); len(missing)+len(undeclared) > 0 {
		t.Errorf("evaluate and the catalog disagree: missing %v, undeclared %v", missing, undeclared)
	}
	for _, r := range results {
		if r.State != rempartv1.ControlCompliant {
			t.Errorf("%s = %s: %s", r.ID, r.State, r.Message)
		}
	}
	if len(results) != len(compliance.ForKind(compliance.KindTenantIsolation))+1 {
		t.Errorf("%d results, want one per control plus policy.exceptions", len(results))
	}
}

func TestFlowControls(t *testing.T) {
	tests := []struct {
		name            string
		extra           networkingv1.NetworkPolicy
		wantTenant      string // evidence of network.tenant-boundary, empty when compliant
		wantEnvironment string
	}{
		{name: "tenant opens ingress from another tenant by name",
			extra:      tenantPolicy("acme-web", "allow-globex", fromNamespaces(map[string]string{labelNamespaceName: "globex-web"})),
			wantTenant: "NetworkPolicy:acme-web/allow-globex"},
		{name: "tenant opens ingress from every namespace",
			extra:      tenantPolicy("acme-web", "allow-all-namespaces", fromNamespaces(map[string]string{})),
			wantTenant: "NetworkPolicy:acme-web/allow-all-namespaces", wantEnvironment: "NetworkPolicy:acme-web/allow-all-namespaces"},
		{name: "tenant opens egress with no peer at all",
			extra: tenantPolicy("acme-db", "egress-anywhere", networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: []networkingv1.NetworkPolicyEgressRule{{}}}),
			wantTenant: "NetworkPolicy:acme-db/egress-anywhere", wantEnvironment: "NetworkPolicy:acme-db/egress-anywhere"},
		{name: "tenant opens ingress from its own staging",
			extra:           tenantPolicy("acme-web", "from-staging", fromNamespaces(map[string]string{rempartv1.LabelEnvironment: "staging"})),
			wantTenant:      "NetworkPolicy:acme-web/from-staging",
			wantEnvironment: "NetworkPolicy:acme-web/from-staging"},
		{name: "tenant opens ingress from shared infrastructure",
			extra: tenantPolicy("acme-web", "from-ingress", fromNamespaces(map[string]string{labelNamespaceName: "ingress-nginx"}))},
		{name: "tenant opens ingress between its own namespaces",
			extra: tenantPolicy("acme-web", "from-db", fromNamespaces(map[string]string{labelNamespaceName: "acme-db"}))},
		{name: "tenant opens ingress from pods of its namespace only",
			extra: tenantPolicy("acme-web", "same-namespace", networkingv1.NetworkPolicySpec{
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}}})},
		{name: "tenant allows an external network",
			extra: tenantPolicy("acme-web", "to-saas", networkingv1.NetworkPolicySpec{
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "203.0.113.0/24"}}}}}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := world()
			o.networkPolicies = append(o.networkPolicies, tt.extra)
			results, _ := evaluate(o, now)
			for id, want := range map[rempartv1.ControlID]string{compliance.NetworkTenantBoundary.ID: tt.wantTenant, compliance.NetworkEnvironmentSeparation.ID: tt.wantEnvironment} {
				r := resultByID(results, id)
				if want == "" {
					if r.State != rempartv1.ControlCompliant {
						t.Errorf("%s = %s (%s), want Compliant", id, r.State, r.Message)
					}
					continue
				}
				if r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != want {
					t.Errorf("%s = %s with evidence %q, want NonCompliant naming %s", id, r.State, evidenceNames(r), want)
				}
				if !strings.Contains(r.Message, tt.extra.Name) {
					t.Errorf("%s message %q does not name the policy", id, r.Message)
				}
			}
		})
	}
}

func TestDeclaredFlowToAnotherTenantIsReported(t *testing.T) {
	o := world()
	o.tenant.Spec.Network.Egress = []rempartv1.EgressFlow{{Name: "to-globex", ToNamespaces: []rempartv1.NamespaceName{"globex-web"}}}
	for _, p := range networkPolicies(o.tenant, "acme-web") {
		if p.Name == "rempart-egress-to-globex" {
			o.networkPolicies = append(o.networkPolicies, *p)
		}
	}
	results, _ := evaluate(o, now)
	if r := resultByID(results, compliance.NetworkTenantBoundary.ID); r.State != rempartv1.ControlNonCompliant || !strings.Contains(evidenceNames(r), "rempart-egress-to-globex") {
		t.Errorf("a declared flow to another tenant is not reported: %+v", r)
	}
	// A declared flow to staging namespaces is rendered with the guard and so never crosses.
	o = world()
	o.tenant.Spec.Network.Egress = []rempartv1.EgressFlow{{Name: "to-staging", ToNamespaces: []rempartv1.NamespaceName{"acme-staging-web"}}}
	for _, p := range networkPolicies(o.tenant, "acme-web") {
		if p.Name == "rempart-egress-to-staging" {
			o.networkPolicies = append(o.networkPolicies, *p)
		}
	}
	results, _ = evaluate(o, now)
	if r := resultByID(results, compliance.NetworkEnvironmentSeparation.ID); r.State != rempartv1.ControlCompliant {
		t.Errorf("a guarded flow is reported as crossing environments: %s", r.Message)
	}
}

func TestNamespaceAndPolicyControls(t *testing.T) {
	t.Run("missing default deny", func(t *testing.T) {
		o := world()
		var kept []networkingv1.NetworkPolicy
		for _, p := range o.networkPolicies {
			if !(p.Namespace == "acme-db" && p.Name == policyDefaultDeny) {
				kept = append(kept, p)
			}
		}
		o.networkPolicies = kept
		r := resultByID(mustEvaluate(o), compliance.NetworkDefaultDeny.ID)
		if r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != "Namespace:/acme-db" {
			t.Errorf("default deny = %s %q", r.State, evidenceNames(r))
		}
	})
	t.Run("namespace held by another tenant", func(t *testing.T) {
		o := world()
		o.conflicts["acme-db"] = "globex"
		results := mustEvaluate(o)
		if r := resultByID(results, compliance.NamespacesOwned.ID); r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != "Namespace:/acme-db" {
			t.Errorf("namespaces = %s %q", r.State, evidenceNames(r))
		}
	})
	t.Run("relabelled pod security", func(t *testing.T) {
		o := world()
		o.namespaces["acme-web"].Labels[psaEnforce] = "baseline"
		if r := resultByID(mustEvaluate(o), compliance.PodSecurityEnforced.ID); r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != "Namespace:/acme-web" {
			t.Errorf("pod security = %s %q", r.State, evidenceNames(r))
		}
	})
	t.Run("missing quota", func(t *testing.T) {
		o := world()
		o.tenant.Spec.Quota = corev1.ResourceList{corev1.ResourcePods: *resourceQuantity("20")}
		q := resourceQuota(o.tenant, "acme-web")
		o.quotas = []corev1.ResourceQuota{*q}
		if r := resultByID(mustEvaluate(o), compliance.QuotaInPlace.ID); r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != "ResourceQuota:acme-db/rempart-quota" {
			t.Errorf("quota = %s %q", r.State, evidenceNames(r))
		}
	})
}

func mustEvaluate(o observed) []rempartv1.ControlResult {
	r, _ := evaluate(o, now)
	return r
}

func TestStorageControl(t *testing.T) {
	classes := []storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "gp3-encrypted"}, Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"encrypted": "true"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "gp3"}, Provisioner: "ebs.csi.aws.com"},
		{ObjectMeta: metav1.ObjectMeta{Name: "ceph-encrypted"}, Provisioner: "rbd.csi.ceph.com", Parameters: map[string]string{"encrypted": "true"}},
	}
	pvc := func(name string, class *string) corev1.PersistentVolumeClaim {
		return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-db", Name: name}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: class}}
	}
	tests := []struct {
		name    string
		allowed []rempartv1.StorageClassName
		require *bool
		pvcs    []corev1.PersistentVolumeClaim
		want    string
	}{
		{name: "encrypted class", pvcs: []corev1.PersistentVolumeClaim{pvc("data", ptr.To("gp3-encrypted"))}},
		{name: "plain class", pvcs: []corev1.PersistentVolumeClaim{pvc("data", ptr.To("gp3"))}, want: "PersistentVolumeClaim:acme-db/data"},
		{name: "no class", pvcs: []corev1.PersistentVolumeClaim{pvc("data", nil)}, want: "PersistentVolumeClaim:acme-db/data"},
		{name: "unknown class", pvcs: []corev1.PersistentVolumeClaim{pvc("data", ptr.To("vanished"))}, want: "PersistentVolumeClaim:acme-db/data"},
		{name: "encrypted but not allowed", allowed: []rempartv1.StorageClassName{"ceph-encrypted"},
			pvcs: []corev1.PersistentVolumeClaim{pvc("data", ptr.To("gp3-encrypted")), pvc("logs", ptr.To("ceph-encrypted"))}, want: "PersistentVolumeClaim:acme-db/data"},
		{name: "encryption not required", require: ptr.To(false), pvcs: []corev1.PersistentVolumeClaim{pvc("data", ptr.To("gp3"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := world()
			o.storageClasses = classes
			o.pvcs = tt.pvcs
			o.tenant.Spec.Storage = rempartv1.StorageIsolation{RequireEncryption: tt.require, AllowedStorageClasses: tt.allowed}
			r := resultByID(mustEvaluate(o), compliance.StorageEncrypted.ID)
			if got := evidenceNames(r); got != tt.want {
				t.Errorf("storage = %s with evidence %q, want %q (%s)", r.State, got, tt.want, r.Message)
			}
		})
	}
}

func TestAdminInterfacesControl(t *testing.T) {
	admin := map[string]string{"rempart.io/admin": "true"}
	svc := func(name string, typ corev1.ServiceType, l map[string]string, ranges ...string) corev1.Service {
		s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: name, Labels: l},
			Spec: corev1.ServiceSpec{Type: typ, LoadBalancerSourceRanges: ranges}}
		if typ == corev1.ServiceTypeLoadBalancer {
			s.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
		}
		return s
	}
	ing := func(name, class string, l map[string]string, annotations ...string) networkingv1.Ingress {
		i := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: name, Labels: l, Annotations: map[string]string{}},
			Spec: networkingv1.IngressSpec{IngressClassName: ptr.To(class)}}
		for k := 0; k+1 < len(annotations); k += 2 {
			i.Annotations[annotations[k]] = annotations[k+1]
		}
		return i
	}
	const white, allow = "nginx.ingress.kubernetes.io/whitelist-source-range", "nginx.ingress.kubernetes.io/allowlist-source-range"
	o := world()
	o.ingressClasses = map[string]string{"nginx": familyNginx, "haproxy": familyHAProxy}
	o.tenant.Spec.AdminInterfaces = &rempartv1.AdminInterfaces{
		Selector: metav1.LabelSelector{MatchLabels: admin}, AllowedSourceRanges: []rempartv1.CIDR{"10.0.0.0/8", "192.0.2.0/24"}}
	nodePortsOpen := svc("console-lb-nodeports", corev1.ServiceTypeLoadBalancer, admin, "10.1.0.0/16")
	nodePortsOpen.Spec.AllocateLoadBalancerNodePorts = nil
	o.services = []corev1.Service{
		svc("console-internal", corev1.ServiceTypeClusterIP, admin),
		svc("console-lb-restricted", corev1.ServiceTypeLoadBalancer, admin, "10.1.0.0/16", "192.0.2.10/32"),
		svc("console-lb-open", corev1.ServiceTypeLoadBalancer, admin),
		svc("console-lb-too-wide", corev1.ServiceTypeLoadBalancer, admin, "10.0.0.0/7"),
		nodePortsOpen,
		svc("console-nodeport", corev1.ServiceTypeNodePort, admin),
		svc("shop-lb", corev1.ServiceTypeLoadBalancer, nil),
	}
	unlabelled := ing("console-by-backend", "nginx", nil)
	unlabelled.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "console-internal"}}
	o.ingresses = []networkingv1.Ingress{
		ing("console", "nginx", admin, white, "10.2.0.0/16"),
		ing("console-allowlist", "nginx", admin, allow, "10.2.0.0/16", white, "10.2.0.0/16"),
		ing("console-conflict", "nginx", admin, allow, "10.2.0.0/16", white, "0.0.0.0/0"),
		ing("console-haproxy", "haproxy", admin, "haproxy.org/allow-list", "192.0.2.0/25"),
		ing("console-haproxy-nginx-annotation", "haproxy", admin, white, "10.2.0.0/16"),
		ing("console-unknown-class", "traefik", admin, white, "10.2.0.0/16"),
		ing("console-public", "nginx", admin),
		ing("console-world", "nginx", admin, white, "0.0.0.0/0"),
		unlabelled,
		ing("shop", "nginx", nil),
	}
	r := resultByID(mustEvaluate(o), compliance.AdminInterfacesPrivate.ID)
	want := "Ingress:acme-web/console-by-backend,Ingress:acme-web/console-conflict,Ingress:acme-web/console-haproxy-nginx-annotation," +
		"Ingress:acme-web/console-public,Ingress:acme-web/console-unknown-class,Ingress:acme-web/console-world," +
		"Service:acme-web/console-lb-nodeports,Service:acme-web/console-lb-open,Service:acme-web/console-lb-too-wide,Service:acme-web/console-nodeport"
	if r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != want {
		t.Errorf("admin interfaces = %s\n got  %s\n want %s", r.State, evidenceNames(r), want)
	}
}

func TestExposureControl(t *testing.T) {
	svc := func(name string, mutate func(*corev1.ServiceSpec)) corev1.Service {
		s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: name}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}}
		mutate(&s.Spec)
		return s
	}
	o := world()
	if r := resultByID(mustEvaluate(o), compliance.ExposureDeclared.ID); r.State != rempartv1.ControlCompliant {
		t.Fatalf("exposure with no Service = %s", r.State)
	}
	o.tenant.Spec.Exposure = &rempartv1.Exposure{PublicServices: []string{"acme-web/shop", "acme-web/shop-nodeport"},
		ExternalIPRanges: []rempartv1.CIDR{"203.0.113.0/28"}, ExternalNames: []string{"db.example.com", "*.saas.example"}}
	o.tenant.Spec.AdminInterfaces = &rempartv1.AdminInterfaces{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"admin": "true"}},
		AllowedSourceRanges: []rempartv1.CIDR{"10.0.0.0/8"}}
	o.services = []corev1.Service{
		svc("plain", func(s *corev1.ServiceSpec) {}),
		svc("shop", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeLoadBalancer }),
		svc("shop-nodeport", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeNodePort }),
		svc("lb-undeclared", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeLoadBalancer }),
		svc("lb-restricted", func(s *corev1.ServiceSpec) {
			s.Type, s.LoadBalancerSourceRanges, s.AllocateLoadBalancerNodePorts = corev1.ServiceTypeLoadBalancer, []string{"10.1.0.0/16"}, ptr.To(false)
		}),
		svc("lb-restricted-nodeports", func(s *corev1.ServiceSpec) {
			s.Type, s.LoadBalancerSourceRanges = corev1.ServiceTypeLoadBalancer, []string{"10.1.0.0/16"}
		}),
		svc("nodeport-undeclared", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeNodePort }),
		svc("external-ip-declared", func(s *corev1.ServiceSpec) { s.ExternalIPs = []string{"203.0.113.5"} }),
		svc("external-ip-stolen", func(s *corev1.ServiceSpec) { s.ExternalIPs = []string{"8.8.8.8"} }),
		svc("name-declared", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName = corev1.ServiceTypeExternalName, "DB.example.com."
		}),
		svc("name-suffix", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName = corev1.ServiceTypeExternalName, "api.saas.example"
		}),
		svc("name-other-tenant", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName = corev1.ServiceTypeExternalName, "billing.globex-web.svc.cluster.local"
		}),
		svc("name-svc", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName = corev1.ServiceTypeExternalName, "billing.globex-web.svc"
		}),
		svc("name-bare", func(s *corev1.ServiceSpec) { s.Type, s.ExternalName = corev1.ServiceTypeExternalName, "billing" }),
		svc("name-ip", func(s *corev1.ServiceSpec) { s.Type, s.ExternalName = corev1.ServiceTypeExternalName, "10.96.0.10" }),
		svc("name-undeclared", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName = corev1.ServiceTypeExternalName, "evil.example.org"
		}),
	}
	r := resultByID(mustEvaluate(o), compliance.ExposureDeclared.ID)
	want := "Service:acme-web/external-ip-stolen,Service:acme-web/lb-restricted-nodeports,Service:acme-web/lb-undeclared," +
		"Service:acme-web/name-bare,Service:acme-web/name-ip,Service:acme-web/name-other-tenant,Service:acme-web/name-svc,Service:acme-web/name-undeclared," +
		"Service:acme-web/nodeport-undeclared"
	if r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != want {
		t.Errorf("exposure = %s\n got  %s\n want %s", r.State, evidenceNames(r), want)
	}
}

func TestIPBlocksReachingTheClusterCrossTheBoundary(t *testing.T) {
	block := func(name, cidr string, except ...string) networkingv1.NetworkPolicy {
		return tenantPolicy("acme-web", name, networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}}}}})
	}
	o := world()
	o.clusterCIDRs = []string{"10.244.0.0/16", "10.96.0.0/12"}
	o.networkPolicies = append(o.networkPolicies,
		block("internet", "0.0.0.0/0", "10.0.0.0/8"),
		block("partner", "198.51.100.0/24"),
		block("everything", "0.0.0.0/0"),
		block("one-pod", "10.244.3.7/32"),
		block("half-excepted", "10.0.0.0/8", "10.244.0.0/17", "10.96.0.0/12"),
	)
	r := resultByID(mustEvaluate(o), compliance.NetworkTenantBoundary.ID)
	want := "NetworkPolicy:acme-web/everything,NetworkPolicy:acme-web/half-excepted,NetworkPolicy:acme-web/one-pod"
	if r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != want {
		t.Errorf("tenant boundary = %s\n got  %s\n want %s", r.State, evidenceNames(r), want)
	}
	if r := resultByID(mustEvaluate(o), compliance.NetworkEnvironmentSeparation.ID); evidenceNames(r) != want {
		t.Errorf("environment separation evidence = %s, want %s", evidenceNames(r), want)
	}
}

func TestExceptionWaivesAControlUntilItExpires(t *testing.T) {
	o := world()
	o.networkPolicies = append(o.networkPolicies, tenantPolicy("acme-web", "allow-globex", fromNamespaces(map[string]string{labelNamespaceName: "globex-web"})))
	o.tenant.Spec.Exceptions = []rempartv1.Exception{{Control: compliance.NetworkTenantBoundary.ID, Namespaces: []rempartv1.NamespaceName{"acme-web"},
		Reason: "CHG-77: shared payment API during migration", ApprovedBy: "rssi@acme.example", Expires: metav1.NewTime(now.Add(time.Hour))}}
	results, exceptions := evaluate(o, now)
	if r := resultByID(results, compliance.NetworkTenantBoundary.ID); r.State != rempartv1.ControlWaived || r.Waiver == nil {
		t.Errorf("tenant boundary = %s, want Waived", r.State)
	}
	if next, ok := exceptions.NextExpiry(); !ok || !next.Equal(now.Add(time.Hour)) {
		t.Errorf("next expiry = %v %v", next, ok)
	}
	results, _ = evaluate(o, now.Add(time.Hour))
	if r := resultByID(results, compliance.NetworkTenantBoundary.ID); r.State != rempartv1.ControlNonCompliant {
		t.Errorf("after expiry tenant boundary = %s, want NonCompliant", r.State)
	}
}

func resourceQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

func TestGatewayRoutesToAdminServicesAreReported(t *testing.T) {
	o := world()
	o.tenant.Spec.AdminInterfaces = &rempartv1.AdminInterfaces{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"admin": "true"}}}
	o.services = []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: "console", Labels: map[string]string{"admin": "true"}}}}
	svcKind, other := gwapiv1.Kind("Service"), gwapiv1.Namespace("globex-web")
	refs := func(names ...string) []gwapiv1.HTTPBackendRef {
		var out []gwapiv1.HTTPBackendRef
		for _, n := range names {
			out = append(out, gwapiv1.HTTPBackendRef{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{Name: gwapiv1.ObjectName(n), Kind: &svcKind}}})
		}
		return out
	}
	toConsole := &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: "console"},
		Spec: gwapiv1.HTTPRouteSpec{Rules: []gwapiv1.HTTPRouteRule{{BackendRefs: refs("shop")}, {BackendRefs: refs("console")}}}}
	toShop := &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: "shop"},
		Spec: gwapiv1.HTTPRouteSpec{Rules: []gwapiv1.HTTPRouteRule{{BackendRefs: refs("shop")}}}}
	elsewhere := refs("console")
	elsewhere[0].Namespace = &other
	toOtherNamespace := &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: "other"},
		Spec: gwapiv1.HTTPRouteSpec{Rules: []gwapiv1.HTTPRouteRule{{BackendRefs: elsewhere}}}}
	o.routes = routeKinds[0].routes(&gwapiv1.HTTPRouteList{Items: []gwapiv1.HTTPRoute{*toConsole, *toShop, *toOtherNamespace}})
	tls := gwapiv1.TLSRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: "console-tls"},
		Spec: gwapiv1.TLSRouteSpec{Rules: []gwapiv1.TLSRouteRule{{BackendRefs: []gwapiv1.BackendRef{refs("console")[0].BackendRef}}}}}
	o.routes = append(o.routes, routeKinds[2].routes(&gwapiv1.TLSRouteList{Items: []gwapiv1.TLSRoute{tls}})...)
	r := resultByID(mustEvaluate(o), compliance.AdminInterfacesPrivate.ID)
	if r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != "HTTPRoute:acme-web/console,TLSRoute:acme-web/console-tls" {
		t.Errorf("admin interfaces with routes = %s %s, want the route to console only", r.State, evidenceNames(r))
	}
}

func TestPodsOfOtherTenantsOnDedicatedNodesAreReported(t *testing.T) {
	o := world()
	if r := resultByID(mustEvaluate(o), compliance.NodesDedicated.ID); r.State != rempartv1.ControlCompliant {
		t.Fatalf("dedicated nodes with no intruder = %s", r.State)
	}
	o.poolIntruders = []rempartv1.ObjectReference{ref("Pod", "globex-web", "squatter")}
	if r := resultByID(mustEvaluate(o), compliance.NodesDedicated.ID); r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != "Pod:globex-web/squatter" {
		t.Errorf("dedicated nodes = %s %s", r.State, evidenceNames(r))
	}
}

func TestPodsMountingVolumesOutsideTheClassesAreReported(t *testing.T) {
	o := world()
	o.tenant.Spec.Storage.AllowedInlineCSIDrivers = []string{"secrets-store.csi.k8s.io"}
	pod := func(name string, src corev1.VolumeSource) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-web", Name: name},
			Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}, {Name: "v", VolumeSource: src}}}}
	}
	o.pods = []corev1.Pod{
		pod("nfs", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example", Path: "/"}}),
		pod("hostpath", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var"}}),
		pod("inline-ebs", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "ebs.csi.aws.com"}}),
		pod("inline-secrets", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}}),
		pod("scratch", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}),
		pod("claim", corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}),
		pod("ephemeral-unknown-class", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("plain")}}}}),
	}
	r := resultByID(mustEvaluate(o), compliance.StorageEncrypted.ID)
	want := "Pod:acme-web/ephemeral-unknown-class,Pod:acme-web/hostpath,Pod:acme-web/inline-ebs,Pod:acme-web/nfs"
	if r.State != rempartv1.ControlNonCompliant || evidenceNames(r) != want {
		t.Errorf("storage = %s\n got  %s\n want %s", r.State, evidenceNames(r), want)
	}
}

// A selector is resolved through its most selective required label, and only a selector that
// requires none reads every namespace.
func TestRequiredLabelValuesPickTheMostSelectivePair(t *testing.T) {
	for _, tt := range []struct {
		sel  *metav1.LabelSelector
		want []string
		ok   bool
	}{
		{&metav1.LabelSelector{MatchLabels: map[string]string{rempartv1.LabelEnvironment: "production", rempartv1.LabelTenant: "acme"}}, []string{rempartv1.LabelTenant + "=acme"}, true},
		{&metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system", rempartv1.LabelTenant: "acme"}}, []string{"kubernetes.io/metadata.name=kube-system"}, true},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}}, []string{"team=a", "team=b"}, true},
		{&metav1.LabelSelector{}, nil, false},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"x"}}}}, nil, false},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpExists}}}, nil, false},
	} {
		got, ok := requiredLabelValues(tt.sel)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("requiredLabelValues(%v) = %v, %v; want %v, %v", tt.sel, got, ok, tt.want, tt.ok)
		}
	}
}
