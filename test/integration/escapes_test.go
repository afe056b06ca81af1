package integration

// Routes a tenant could take around its isolation (docs/threat-model.md), each tried against the
// real API server and the operator: refused in Enforce mode with the requirement named, reported
// in Audit mode.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// waitControl waits until a tenant's control, judged at its current generation, is in state.
func waitControl(t *testing.T, tenant string, id rempartv1.ControlID, state rempartv1.ControlState) rempartv1.ControlResult {
	t.Helper()
	var r rempartv1.ControlResult
	eventually(t, fmt.Sprintf("%s of %s to be %s", id, tenant, state), func(ctx context.Context) error {
		var ti rempartv1.TenantIsolation
		if err := env.Client.Get(ctx, client.ObjectKey{Name: tenant}, &ti); err != nil {
			return err
		}
		r = ti.Status.Control(id)
		if ti.Status.ObservedGeneration != ti.Generation || r.State != state {
			return fmt.Errorf("%s at generation %d/%d: %s %s", id, ti.Status.ObservedGeneration, ti.Generation, r.State, r.Message)
		}
		return nil
	})
	return r
}

// tenantUser binds a role with the rights of a tenant's edit user to user in namespace, and
// returns a client acting as that user once the binding is in force.
func tenantUser(t *testing.T, namespace, user string) client.Client {
	t.Helper()
	role := "it-tenant-edit"
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services", "pods", "persistentvolumeclaims", "configmaps"}, Verbs: []string{"*"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: []string{"*"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies", "ingresses"}, Verbs: []string{"*"}},
	}}
	if err := env.Client.Create(context.Background(), cr); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	create(t, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "it-edit-" + strings.ReplaceAll(user, "@", "-")},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: user}}})
	c := as(t, user)
	eventually(t, user+"'s RBAC to apply", func(ctx context.Context) error {
		return c.List(ctx, &corev1.ServiceList{}, client.InNamespace(namespace))
	})
	return c
}

func TestExposureIsDeclaredOrRefused(t *testing.T) {
	ctx := context.Background()
	ti := newTenant("expo", rempartv1.EnvironmentProduction, "expo-app")
	ti.Spec.Exposure = &rempartv1.Exposure{PublicServices: []string{"expo-app/storefront"},
		ExternalIPRanges: []rempartv1.CIDR{"203.0.113.0/28"}, ExternalNames: []string{"db.example.com", "*.saas.example"}}
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "expo") })
	waitCompliant(t, "expo", "True")
	mallory := tenantUser(t, "expo-app", "mallory@expo.example")

	svc := func(name string, mutate func(*corev1.ServiceSpec)) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "expo-app", Name: name},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443}}}}
		mutate(&s.Spec)
		return s
	}
	external := func(target string) func(*corev1.ServiceSpec) {
		return func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName, s.Ports = corev1.ServiceTypeExternalName, target, nil
		}
	}
	// E1: externalIPs outside the declared ranges, CVE-2020-8554.
	eventuallyRefused(t, mallory, svc("intercept", func(s *corev1.ServiceSpec) { s.ExternalIPs = []string{"8.8.8.8"} }), "CVE-2020-8554", "FT-CLD-19")
	// E2: ExternalName into the cluster, whatever the spelling, or undeclared.
	for name, target := range map[string]string{
		"to-other-tenant": "billing.globex-app.svc.cluster.local", "to-svc": "billing.globex-app.svc",
		"to-fqdn-dot": "billing.globex-app.svc.cluster.local.", "to-bare": "billing", "to-ip": "10.96.0.10",
		"to-domain": "kubernetes.default.cluster.local", "undeclared": "evil.example.org",
	} {
		eventuallyRefused(t, mallory, svc(name, external(target)), "FT-CLD-20")
	}
	// E3/E4: LoadBalancer and NodePort by effect, with no label involved.
	eventuallyRefused(t, mallory, svc("lb", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeLoadBalancer }), "FT-CLD-19", "spec.exposure.publicServices")
	eventuallyRefused(t, mallory, svc("np", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeNodePort }), "FT-CLD-19", "NodePort")

	for _, ok := range []*corev1.Service{
		svc("storefront", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeLoadBalancer }),
		svc("vip", func(s *corev1.ServiceSpec) { s.ExternalIPs = []string{"203.0.113.5"} }),
		svc("database", external("db.example.com.")),
		svc("api", external("api.saas.example")),
		svc("internal", func(s *corev1.ServiceSpec) {}),
	} {
		if err := mallory.Create(ctx, ok); err != nil {
			t.Errorf("declared Service %s was refused: %v", ok.Name, err)
		}
	}
	// Widening an accepted Service later is refused the same way.
	var internal corev1.Service
	if err := mallory.Get(ctx, client.ObjectKey{Namespace: "expo-app", Name: "internal"}, &internal); err != nil {
		t.Fatal(err)
	}
	internal.Spec.Type = corev1.ServiceTypeNodePort
	if err := mallory.Update(ctx, &internal); err == nil || !strings.Contains(err.Error(), "FT-CLD-19") {
		t.Errorf("turning a ClusterIP Service into a NodePort: %v, want a refusal", err)
	}
	waitControl(t, "expo", "exposure.declared", rempartv1.ControlCompliant)

	// What was there before the declaration shrank is reported, naming the Service.
	updateTenant(t, "expo", func(ti *rempartv1.TenantIsolation) { ti.Spec.Exposure.ExternalIPRanges = nil })
	r := waitControl(t, "expo", "exposure.declared", rempartv1.ControlNonCompliant)
	if r.Evidence == nil || r.Evidence.Objects[0].Name != "vip" || !strings.Contains(r.Message, "FT-CLD-19") {
		t.Errorf("exposure.declared = %+v, want NonCompliant naming Service vip", r)
	}
}

func TestTenantNetworkPoliciesStayInsideTheTenant(t *testing.T) {
	ctx := context.Background()
	own := newTenant("bridge-a", rempartv1.EnvironmentProduction, "bridge-a-web", "bridge-a-db")
	own.Spec.Network.Ingress = []rempartv1.IngressFlow{{Name: "from-edge", FromNamespaces: []rempartv1.NamespaceName{"bridge-edge"}}}
	create(t, own)
	create(t, newTenant("bridge-b", rempartv1.EnvironmentProduction, "bridge-b-web"))
	t.Cleanup(func() { deleteTenant(t, "bridge-a"); deleteTenant(t, "bridge-b") })
	waitCompliant(t, "bridge-a", "True")
	waitCompliant(t, "bridge-b", "True")
	mallory := tenantUser(t, "bridge-a-web", "mallory@bridge.example")

	policy := func(name string, peers ...networkingv1.NetworkPolicyPeer) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "bridge-a-web", Name: name},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: peers}}}}
	}
	nsSel := func(l map[string]string, exprs ...metav1.LabelSelectorRequirement) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: l, MatchExpressions: exprs}}
	}
	block := func(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
	}
	// N1: selectors that reach another tenant, or every namespace.
	eventuallyRefused(t, mallory, policy("to-b", nsSel(map[string]string{rempartv1.LabelTenant: "bridge-b"})), "FT-CLD-20", "confined")
	eventuallyRefused(t, mallory, policy("everyone", nsSel(nil)), "FT-CLD-20")
	eventuallyRefused(t, mallory, policy("by-name", nsSel(map[string]string{"kubernetes.io/metadata.name": "bridge-b-web"})), "FT-CLD-20")
	eventuallyRefused(t, mallory, policy("not-in", nsSel(nil, metav1.LabelSelectorRequirement{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"x"}})), "FT-CLD-20")
	// N2: a rule without peers admits everything.
	eventuallyRefused(t, mallory, policy("no-peers"), "FT-CLD-20")
	// N3: ipBlocks that cover the cluster's networks (every private range by default).
	eventuallyRefused(t, mallory, policy("world", block("0.0.0.0/0")), "FT-CLD-20", "ipBlock")
	eventuallyRefused(t, mallory, policy("a-pod", block("10.244.1.7/32")), "FT-CLD-20")
	eventuallyRefused(t, mallory, policy("half-excepted", block("0.0.0.0/0", "10.0.0.0/9")), "FT-CLD-20")

	for _, ok := range []*networkingv1.NetworkPolicy{
		policy("same-namespace", networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}}),
		policy("own-tenant", nsSel(map[string]string{rempartv1.LabelTenant: "bridge-a"})),
		policy("own-names", nsSel(nil, metav1.LabelSelectorRequirement{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{"bridge-a-db", "bridge-edge"}})),
		policy("internet", block("0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")),
	} {
		if err := mallory.Create(ctx, ok); err != nil {
			t.Errorf("confined NetworkPolicy %s was refused: %v", ok.Name, err)
		}
	}
	waitControl(t, "bridge-a", "network.tenant-boundary", rempartv1.ControlCompliant)

	// In Audit mode the same bridge is admitted with a warning and reported.
	updateTenant(t, "bridge-a", func(ti *rempartv1.TenantIsolation) { ti.Spec.Enforcement = rempartv1.EnforcementAudit })
	eventually(t, "the audit binding", func(ctx context.Context) error {
		return mallory.Create(ctx, policy("to-b", nsSel(map[string]string{rempartv1.LabelTenant: "bridge-b"})), client.DryRunAll)
	})
	if err := mallory.Create(ctx, policy("to-b", nsSel(map[string]string{rempartv1.LabelTenant: "bridge-b"}))); err != nil {
		t.Fatal(err)
	}
	if r := waitControl(t, "bridge-a", "network.tenant-boundary", rempartv1.ControlNonCompliant); !strings.Contains(r.Message, "bridge-a-web/to-b") {
		t.Errorf("tenant boundary in Audit mode = %+v, want NonCompliant naming bridge-a-web/to-b", r)
	}
}

func TestNamespacesCannotBeSlippedIntoATenant(t *testing.T) {
	ctx := context.Background()
	create(t, newTenant("ns-victim", rempartv1.EnvironmentProduction, "ns-victim-app"))
	t.Cleanup(func() { deleteTenant(t, "ns-victim") })
	waitCompliant(t, "ns-victim", "True")
	// A bot allowed to create and patch namespaces, nothing else.
	create(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "it-namespace-bot"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "create", "update", "patch"}}}})
	create(t, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "it-namespace-bot"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "it-namespace-bot"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "labeller-bot"}}})
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "it-namespace-bot"}})
		_ = env.Client.Delete(context.Background(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "it-namespace-bot"}})
	})
	bot := as(t, "labeller-bot")
	eventually(t, "the bot's RBAC", func(ctx context.Context) error { return bot.List(ctx, &corev1.NamespaceList{}) })

	// S1: born into a tenant, or labelled into one later.
	for name, labels := range map[string]map[string]string{
		"ns-impostor":     {rempartv1.LabelTenant: "ns-victim"},
		"ns-impostor-env": {rempartv1.LabelEnvironment: "production"},
	} {
		eventuallyRefused(t, bot, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, "FT-CLD-20", "written by Rempart only")
	}
	eventuallyRefused(t, bot, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-impostor-origin", Annotations: map[string]string{"rempart.io/origin": "created"}}}, "FT-CLD-20")
	if err := bot.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-plain"}}); err != nil {
		t.Fatalf("an ordinary namespace was refused: %v", err)
	}
	var plain corev1.Namespace
	if err := bot.Get(ctx, client.ObjectKey{Name: "ns-plain"}, &plain); err != nil {
		t.Fatal(err)
	}
	plain.Labels[rempartv1.LabelTenant] = "ns-victim"
	if err := bot.Update(ctx, &plain); err == nil || !strings.Contains(err.Error(), "FT-CLD-20") {
		t.Errorf("labelling a namespace into a tenant: %v, want a refusal", err)
	}

	// S3: an owner reference to nothing hands the namespace to the garbage collector.
	var victim corev1.Namespace
	if err := bot.Get(ctx, client.ObjectKey{Name: "ns-victim-app"}, &victim); err != nil {
		t.Fatal(err)
	}
	withOwner := victim.DeepCopy()
	withOwner.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "gone", UID: "00000000-0000-0000-0000-000000000001"}}
	if err := bot.Update(ctx, withOwner); err == nil || !strings.Contains(err.Error(), "garbage collector") {
		t.Errorf("adding an owner reference to a tenant namespace: %v, want a refusal", err)
	}
	withFinalizer := victim.DeepCopy()
	withFinalizer.Finalizers = append(withFinalizer.Finalizers, "example.com/hold")
	if err := bot.Update(ctx, withFinalizer); err == nil || !strings.Contains(err.Error(), "FT-CLD-20") {
		t.Errorf("adding a finalizer to a tenant namespace: %v, want a refusal", err)
	}
}

func TestSharedNamespacesCannotBeAdopted(t *testing.T) {
	// S4: the cluster's own namespaces are refused by the CRD itself.
	for _, ns := range []rempartv1.NamespaceName{"kube-system", "kube-public", "default"} {
		err := env.Client.Create(context.Background(), newTenant("grab-"+strings.ReplaceAll(string(ns), "kube-", ""), rempartv1.EnvironmentProduction, ns), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "belong to the cluster") {
			t.Errorf("a tenant holding %s: %v, want a refusal", ns, err)
		}
	}
	self := newTenant("grab-self", rempartv1.EnvironmentProduction, "grab-self-app")
	self.Spec.Network.Ingress = []rempartv1.IngressFlow{{Name: "loop", FromNamespaces: []rempartv1.NamespaceName{"grab-self-app"}}}
	if err := env.Client.Create(context.Background(), self, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "flow peer") {
		t.Errorf("a tenant holding its own flow peer: %v, want a refusal", err)
	}
	// The operator's namespace, and a namespace another tenant's flow matrix shares.
	eventuallyRefused(t, env.Client, newTenant("grab-operator", rempartv1.EnvironmentProduction, operatorNamespace), "FT-CLD-20", "reserved")
	edge := newTenant("grab-edge-user", rempartv1.EnvironmentProduction, "grab-edge-user-app")
	edge.Spec.Network.Ingress = []rempartv1.IngressFlow{{Name: "from-ingress", FromNamespaces: []rempartv1.NamespaceName{"grab-ingress-nginx"}}}
	create(t, edge)
	t.Cleanup(func() { deleteTenant(t, "grab-edge-user") })
	waitCompliant(t, "grab-edge-user", "True")
	eventuallyRefused(t, env.Client, newTenant("grab-edge", rempartv1.EnvironmentProduction, "grab-ingress-nginx"), "FT-CLD-20", "flow peer of tenant grab-edge-user")
}

func TestAdoptionReplacesImpostorsAndRepairsWidening(t *testing.T) {
	ctx := context.Background()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "impostor-app"}})
	allowAll := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "impostor-app", Name: "rempart-default-deny"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{}}, Egress: []networkingv1.NetworkPolicyEgressRule{{}}}}
	create(t, allowAll)
	create(t, newTenant("impostor", rempartv1.EnvironmentProduction, "impostor-app"))
	t.Cleanup(func() { deleteTenant(t, "impostor") })
	waitCompliant(t, "impostor", "True")
	key := client.ObjectKeyFromObject(allowAll)
	denies := func(ctx context.Context) error {
		var p networkingv1.NetworkPolicy
		if err := env.Client.Get(ctx, key, &p); err != nil {
			return err
		}
		if len(p.Spec.Ingress) != 0 || len(p.Spec.Egress) != 0 || p.Labels[rempartv1.LabelTenant] != "impostor" {
			return fmt.Errorf("the default deny still has %d ingress and %d egress rules, labels %v", len(p.Spec.Ingress), len(p.Spec.Egress), p.Labels)
		}
		return nil
	}
	eventually(t, "the impostor to be replaced by a real default deny", denies)

	// N5: an administrator (or a bot) adding a rule is drift too.
	var p networkingv1.NetworkPolicy
	if err := env.Client.Get(ctx, key, &p); err != nil {
		t.Fatal(err)
	}
	p.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
	if err := env.Client.Update(ctx, &p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the widened default deny to be repaired", denies)
}

func TestOffboardingKeepsAdoptedNamespaces(t *testing.T) {
	ctx := context.Background()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "offb-legacy"}})
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "offb-legacy", Name: "ledger"}})
	ti := newTenant("offb", rempartv1.EnvironmentProduction, "offb-legacy")
	ti.Spec.DeletionPolicy = rempartv1.DeletionDelete
	create(t, ti)
	waitCompliant(t, "offb", "True")
	var ns corev1.Namespace
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "offb-legacy"}, &ns); err != nil {
		t.Fatal(err)
	}
	if ns.Annotations["rempart.io/origin"] != "adopted" {
		t.Errorf("an adopted namespace is recorded as %q", ns.Annotations["rempart.io/origin"])
	}
	deleteTenant(t, "offb")
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "offb-legacy"}, &ns); err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("offboarding deleted a namespace the tenant adopted: %v %v", err, ns.DeletionTimestamp)
	}
	if _, labelled := ns.Labels[rempartv1.LabelTenant]; labelled {
		t.Errorf("the kept namespace still carries the tenant label: %v", ns.Labels)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "offb-legacy", Name: "ledger"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("offboarding lost the adopted namespace's data: %v", err)
	}
	eventually(t, "an Event naming the kept namespace", func(ctx context.Context) error {
		var events eventsv1.EventList
		if err := env.Client.List(ctx, &events, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == "offb" && e.Reason == "AdoptedNamespacesKept" && strings.Contains(e.Note, "offb-legacy") {
				return nil
			}
		}
		return fmt.Errorf("no AdoptedNamespacesKept Event among %d", len(events.Items))
	})
}

// baselinePod is a pod the baseline Pod Security level admits, so the refusals seen are Rempart's.
func baselinePod(namespace, name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}}
	mutate(&p.Spec)
	return p
}

func deploymentOf(pod *corev1.Pod) *appsv1.Deployment {
	l := map[string]string{"app": pod.Name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: pod.Spec}}}
}

func TestDedicatedNodesStayDedicated(t *testing.T) {
	ctx := context.Background()
	owner := newTenant("pool-owner", rempartv1.EnvironmentProduction, "pool-owner-app")
	owner.Spec.NodeIsolation = &rempartv1.NodeIsolation{NodeSelector: map[string]string{"rempart.io/pool": "owner"},
		Tolerations: []corev1.Toleration{{Key: "rempart.io/dedicated", Operator: corev1.TolerationOpEqual, Value: "owner", Effect: corev1.TaintEffectNoSchedule}}}
	create(t, owner)
	intruder := newTenant("pool-intruder", rempartv1.EnvironmentStaging, "pool-intruder-app")
	intruder.Spec.PodSecurity.Level = rempartv1.PodSecurityBaseline
	create(t, intruder)
	t.Cleanup(func() { deleteTenant(t, "pool-owner"); deleteTenant(t, "pool-intruder") })
	waitCompliant(t, "pool-owner", "True")
	waitCompliant(t, "pool-intruder", "True")
	mallory := tenantUser(t, "pool-intruder-app", "mallory@intruder.example")

	pod := func(name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
		return baselinePod("pool-intruder-app", name, mutate)
	}
	routes := map[string]func(*corev1.PodSpec){
		"by-selector": func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"rempart.io/pool": "owner"} },
		"by-affinity": func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "rempart.io/pool", Operator: corev1.NodeSelectorOpIn, Values: []string{"shared", "owner"}}}}}}}}
		},
		"by-toleration": func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "rempart.io/dedicated", Operator: corev1.TolerationOpExists}}
		},
		"tolerates-all": func(s *corev1.PodSpec) { s.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}} },
	}
	for name, route := range routes {
		eventuallyRefused(t, mallory, pod(name, route), "FLX-3.6", "dedicated to tenant pool-owner")
		eventuallyRefused(t, mallory, deploymentOf(pod(name, route)), "FLX-3.6", "Deployment "+name)
	}
	eventuallyRefused(t, mallory, pod("by-name", func(s *corev1.PodSpec) { s.NodeName = "node-owner-1" }), "FLX-3.6", "nodeName")
	if err := mallory.Create(ctx, pod("elsewhere", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"rempart.io/pool": "shared"} })); err != nil {
		t.Errorf("a pod on shared nodes was refused: %v", err)
	}
	// The owner's own pods are not affected by its pool.
	if err := env.Client.Create(ctx, deploymentOf(restrictedPodWith("pool-owner-app", "own", func(s *corev1.PodSpec) {
		s.NodeSelector = map[string]string{"rempart.io/pool": "owner"}
		s.Tolerations = []corev1.Toleration{{Key: "rempart.io/dedicated", Operator: corev1.TolerationOpEqual, Value: "owner"}}
	}))); err != nil {
		t.Errorf("the pool owner's Deployment was refused: %v", err)
	}
}

func restrictedPodWith(namespace, name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
	p := restrictedPod(namespace, name)
	mutate(&p.Spec)
	return p
}

func TestPodsAndTemplatesFollowTheStorageRule(t *testing.T) {
	ctx := context.Background()
	create(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "it-wl-encrypted"}, Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"encrypted": "true"}})
	create(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "it-wl-plain"}, Provisioner: "ebs.csi.aws.com"})
	ti := newTenant("wlstore", rempartv1.EnvironmentProduction, "wlstore-app")
	ti.Spec.PodSecurity.Level = rempartv1.PodSecurityBaseline
	ti.Spec.Storage.AllowedInlineCSIDrivers = []string{"secrets-store.csi.k8s.io"}
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "wlstore") })
	waitCompliant(t, "wlstore", "True")
	mallory := tenantUser(t, "wlstore-app", "mallory@wlstore.example")

	volume := func(name string, src corev1.VolumeSource) func(*corev1.PodSpec) {
		return func(s *corev1.PodSpec) { s.Volumes = []corev1.Volume{{Name: name, VolumeSource: src}} }
	}
	ephemeral := func(class string) corev1.VolumeSource {
		return corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(class), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}}}
	}
	refused := map[string]func(*corev1.PodSpec){
		"inline-csi": volume("data", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "ebs.csi.aws.com"}}),
		"nfs":        volume("share", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example", Path: "/exports"}}),
		"ephemeral":  volume("scratch", ephemeral("it-wl-plain")),
	}
	for name, route := range refused {
		pod := baselinePod("wlstore-app", name, route)
		eventuallyRefused(t, mallory, pod, "FT-CLD-21")
		eventuallyRefused(t, mallory, deploymentOf(pod), "FT-CLD-21", "Deployment "+name)
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "wlstore-app", Name: "db"},
		Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}}, Spec: baselinePod("", "", func(*corev1.PodSpec) {}).Spec},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("it-wl-plain"), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}}}}
	eventuallyRefused(t, mallory, sts, "FT-CLD-21", "volumeClaimTemplates data")
	// V2: a claim pre-bound by hand to a volume.
	eventuallyRefused(t, mallory, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "wlstore-app", Name: "stolen"},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("it-wl-encrypted"), VolumeName: "pv-of-another-tenant",
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}, "FT-CLD-21", "pre-bound")

	for name, route := range map[string]func(*corev1.PodSpec){
		"secrets":   volume("secrets", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}}),
		"scratch":   volume("scratch", ephemeral("it-wl-encrypted")),
		"configmap": volume("config", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}),
	} {
		if err := mallory.Create(ctx, deploymentOf(baselinePod("wlstore-app", name, route))); err != nil {
			t.Errorf("Deployment %s with allowed volumes was refused: %v", name, err)
		}
	}
}

// D1 reported: a pod admitted onto nodes before they were dedicated is named by the pool owner's
// nodes.dedicated control until it goes.
func TestPodsOnDedicatedNodesAreReported(t *testing.T) {
	ctx := context.Background()
	create(t, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "it-node-pool", Labels: map[string]string{"rempart.io/pool": "it-pool"}}})
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "it-node-pool"}})
	})
	early := newTenant("early", rempartv1.EnvironmentStaging, "early-app")
	early.Spec.PodSecurity.Level = rempartv1.PodSecurityBaseline
	create(t, early)
	t.Cleanup(func() { deleteTenant(t, "early") })
	waitCompliant(t, "early", "True")
	squatter := baselinePod("early-app", "squatter", func(s *corev1.PodSpec) { s.NodeName = "it-node-pool" })
	eventually(t, "a pod bound before any pool is declared", func(ctx context.Context) error {
		return env.Client.Create(ctx, squatter.DeepCopy())
	})

	owner := newTenant("pooled", rempartv1.EnvironmentProduction, "pooled-app")
	owner.Spec.NodeIsolation = &rempartv1.NodeIsolation{NodeSelector: map[string]string{"rempart.io/pool": "it-pool"}}
	create(t, owner)
	t.Cleanup(func() { deleteTenant(t, "pooled") })
	r := waitControl(t, "pooled", "nodes.dedicated", rempartv1.ControlNonCompliant)
	if r.Evidence == nil || r.Evidence.Total != 1 || r.Evidence.Objects[0].Name != "squatter" || !strings.Contains(r.Message, "FLX-3.6") {
		t.Errorf("nodes.dedicated = %+v, want the squatter named", r)
	}
	if err := env.Client.Delete(ctx, squatter, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	waitControl(t, "pooled", "nodes.dedicated", rempartv1.ControlCompliant)
}

// E8: a Gateway API route to an administration Service publishes it; no listener field can
// restrict its sources, so the route is reported.
func TestGatewayRoutesToAdminServicesAreReported(t *testing.T) {
	ctx := context.Background()
	ti := newTenant("gw-admin", rempartv1.EnvironmentProduction, "gw-admin-app")
	ti.Spec.AdminInterfaces = &rempartv1.AdminInterfaces{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"rempart.io/admin-interface": "true"}},
		AllowedSourceRanges: []rempartv1.CIDR{"10.0.0.0/8"}}
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "gw-admin") })
	waitCompliant(t, "gw-admin", "True")
	create(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "gw-admin-app", Name: "console", Labels: map[string]string{"rempart.io/admin-interface": "true"}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 8443}}}})
	route := &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "gw-admin-app", Name: "console"},
		Spec: gwapiv1.HTTPRouteSpec{CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "shared-edge", Namespace: ptr.To(gwapiv1.Namespace("gw-edge"))}}},
			Rules: []gwapiv1.HTTPRouteRule{{BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
				Name: "console", Port: ptr.To(gwapiv1.PortNumber(8443))}}}}}}}}
	create(t, route)
	r := waitControl(t, "gw-admin", "admin-interfaces.private", rempartv1.ControlNonCompliant)
	if r.Evidence == nil || r.Evidence.Objects[0].Kind != "HTTPRoute" || r.Evidence.Objects[0].Name != "console" {
		t.Errorf("admin-interfaces.private = %+v, want the HTTPRoute named", r)
	}
	if err := env.Client.Delete(ctx, route); err != nil {
		t.Fatal(err)
	}
	waitControl(t, "gw-admin", "admin-interfaces.private", rempartv1.ControlCompliant)
}

// V3 reported: a pod that mounted an in-tree network volume before its namespace was adopted is
// named by storage.encrypted, since admission cannot refuse what already runs.
func TestPodsAdmittedBeforeAdoptionAreReported(t *testing.T) {
	ctx := context.Background()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy-share"}})
	create(t, baselinePod("legacy-share", "old-nfs", func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{{Name: "share", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs.example", Path: "/exports"}}}}
	}))
	ti := newTenant("legacy", rempartv1.EnvironmentProduction, "legacy-share")
	ti.Spec.PodSecurity.Level = rempartv1.PodSecurityBaseline
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "legacy") })
	r := waitControl(t, "legacy", "storage.encrypted", rempartv1.ControlNonCompliant)
	if r.Evidence == nil || r.Evidence.Objects[0].Kind != "Pod" || r.Evidence.Objects[0].Name != "old-nfs" {
		t.Errorf("storage.encrypted = %+v, want the old pod named", r)
	}
	if err := env.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "legacy-share", Name: "old-nfs"}}, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	waitControl(t, "legacy", "storage.encrypted", rempartv1.ControlCompliant)
}

// S5: what the operator records about a namespace decides what offboarding may delete.
func TestNamespaceOriginIsRecorded(t *testing.T) {
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "origin-old"}})
	create(t, newTenant("origin", rempartv1.EnvironmentStaging, "origin-old", "origin-new"))
	t.Cleanup(func() { deleteTenant(t, "origin") })
	waitCompliant(t, "origin", "True")
	for name, want := range map[string]string{"origin-old": "adopted", "origin-new": "created"} {
		var ns corev1.Namespace
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, &ns); err != nil {
			t.Fatal(err)
		}
		if got := ns.Annotations["rempart.io/origin"]; got != want {
			t.Errorf("namespace %s recorded as %q, want %q", name, got, want)
		}
	}
}
