package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func newTenant(name string, env rempartv1.Environment, namespaces ...rempartv1.NamespaceName) *rempartv1.TenantIsolation {
	return &rempartv1.TenantIsolation{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       rempartv1.TenantIsolationSpec{Namespaces: namespaces, Environment: env},
	}
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func deleteTenant(t *testing.T, name string) {
	t.Helper()
	ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_ = env.Client.Delete(context.Background(), ti)
	eventually(t, "tenant "+name+" deleted", func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ti)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (finalizers %v): %v", ti.Finalizers, err)
	})
}

func TestTenantIsSetUpAndCompliant(t *testing.T) {
	ctx := context.Background()
	ti := newTenant("setup", rempartv1.EnvironmentProduction, "setup-web", "setup-db")
	ti.Spec.Quota = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("50")}
	ti.Spec.Network.Ingress = []rempartv1.IngressFlow{{Name: "from-ingress", FromNamespaces: []rempartv1.NamespaceName{"ingress-nginx"}, Ports: []rempartv1.FlowPort{{Port: 8080}}}}
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "setup") })
	got := waitCompliant(t, "setup", "True")

	if got.Status.NamespaceCount != 2 || len(got.Status.FlowMatrix) != 4 {
		t.Errorf("status counts %d namespaces and %d flows: %+v", got.Status.NamespaceCount, len(got.Status.FlowMatrix), got.Status.FlowMatrix)
	}
	if got.Spec.Enforcement != rempartv1.EnforcementEnforce || got.Spec.DeletionPolicy != rempartv1.DeletionRetain ||
		got.Spec.PodSecurity.Level != rempartv1.PodSecurityRestricted || !*got.Spec.Network.DefaultDeny {
		t.Errorf("defaults not applied: %+v", got.Spec)
	}
	for _, name := range []string{"setup-web", "setup-db"} {
		var ns corev1.Namespace
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
			t.Fatal(err)
		}
		if ns.Labels[rempartv1.LabelTenant] != "setup" || ns.Labels[rempartv1.LabelEnvironment] != "production" ||
			ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" || ns.Labels["pod-security.kubernetes.io/enforce-version"] != "v1.37" {
			t.Errorf("namespace %s labels = %v", name, ns.Labels)
		}
		var policies networkingv1.NetworkPolicyList
		if err := env.Client.List(ctx, &policies, client.InNamespace(name)); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range policies.Items {
			names = append(names, p.Name)
		}
		if strings.Join(names, ",") != "rempart-allow-dns,rempart-allow-same-tenant,rempart-default-deny,rempart-ingress-from-ingress" {
			t.Errorf("NetworkPolicies in %s = %v", name, names)
		}
		var quota corev1.ResourceQuota
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: name, Name: "rempart-quota"}, &quota); err != nil {
			t.Errorf("quota in %s: %v", name, err)
		}
	}
}

func TestExistingNamespaceIsAdoptedWithItsContent(t *testing.T) {
	ctx := context.Background()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "adopt-legacy", Labels: map[string]string{"team": "billing"}}})
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "adopt-legacy", Name: "settings"}})
	create(t, newTenant("adopt", rempartv1.EnvironmentStaging, "adopt-legacy"))
	t.Cleanup(func() { deleteTenant(t, "adopt") })
	waitCompliant(t, "adopt", "True")
	var ns corev1.Namespace
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "adopt-legacy"}, &ns); err != nil {
		t.Fatal(err)
	}
	if ns.Labels["team"] != "billing" || ns.Labels[rempartv1.LabelTenant] != "adopt" {
		t.Errorf("adopted namespace labels = %v", ns.Labels)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "adopt-legacy", Name: "settings"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("adoption lost existing content: %v", err)
	}
}

func TestSecondClaimOnANamespaceIsRefused(t *testing.T) {
	create(t, newTenant("claim-first", rempartv1.EnvironmentProduction, "claim-shared"))
	t.Cleanup(func() { deleteTenant(t, "claim-first") })
	waitCompliant(t, "claim-first", "True")

	second := newTenant("claim-second", rempartv1.EnvironmentProduction, "claim-own", "claim-shared")
	eventuallyRefused(t, env.Client, second, "claim-shared (tenant claim-first)", "FT-CLD-20")
	var ns corev1.Namespace
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: "claim-own"}, &ns); !apierrors.IsNotFound(err) {
		t.Errorf("a refused tenant changed the cluster: namespace claim-own exists (%v)", err)
	}
}

func TestTenantAdminCannotWeakenIsolation(t *testing.T) {
	ctx := context.Background()
	create(t, newTenant("locked", rempartv1.EnvironmentProduction, "locked-app"))
	t.Cleanup(func() { deleteTenant(t, "locked") })
	waitCompliant(t, "locked", "True")
	// The test API server runs no controller-manager, so the built-in admin role is not aggregated:
	// this role grants what admin grants on the objects at stake.
	create(t, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant-admin-for-test"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"*"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"*"}},
		},
	})
	create(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "locked-app", Name: "alice-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "tenant-admin-for-test"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "alice@locked.example"}},
	})
	alice := as(t, "alice@locked.example")

	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "locked-app", Name: "rempart-default-deny"}}
	eventually(t, "alice's RBAC to apply", func(ctx context.Context) error {
		return alice.Get(ctx, client.ObjectKeyFromObject(deny), &networkingv1.NetworkPolicy{})
	})
	err := alice.Delete(ctx, deny)
	if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "FT-CLD-20") {
		t.Fatalf("tenant admin deleting the default deny: %v, want a refusal naming FT-CLD-20", err)
	}
	var policy networkingv1.NetworkPolicy
	if err := alice.Get(ctx, client.ObjectKeyFromObject(deny), &policy); err != nil {
		t.Fatal(err)
	}
	policy.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if err := alice.Update(ctx, &policy); err == nil || !strings.Contains(err.Error(), "FT-CLD-20") {
		t.Errorf("tenant admin editing the default deny: %v, want a refusal naming FT-CLD-20", err)
	}

	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "locked-app", Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1"}}},
			},
		},
	}
	if err := alice.Create(ctx, dep); err != nil {
		t.Errorf("tenant admin cannot create an ordinary Deployment: %v", err)
	}
}

func TestNamespaceLabelsAreProtected(t *testing.T) {
	ctx := context.Background()
	create(t, newTenant("labels", rempartv1.EnvironmentProduction, "labels-app"))
	t.Cleanup(func() { deleteTenant(t, "labels") })
	waitCompliant(t, "labels", "True")
	create(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bob-namespace-editor"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit-namespaces-for-test"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "bob"}},
	})
	create(t, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "edit-namespaces-for-test"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "update", "patch", "delete"}}},
	})
	// Bob may delete every namespace: every tenant reports him until he is gone.
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-namespace-editor"}})
		_ = env.Client.Delete(context.Background(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "edit-namespaces-for-test"}})
	})
	bob := as(t, "bob")
	eventually(t, "bob's RBAC to apply", func(ctx context.Context) error {
		return bob.Get(ctx, client.ObjectKey{Name: "labels-app"}, &corev1.Namespace{})
	})
	var ns corev1.Namespace
	if err := bob.Get(ctx, client.ObjectKey{Name: "labels-app"}, &ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
	if err := bob.Update(ctx, &ns); err == nil || !strings.Contains(err.Error(), "FT-CLD-20") {
		t.Errorf("weakening Pod Security: %v, want a refusal naming FT-CLD-20", err)
	}
	if err := bob.Get(ctx, client.ObjectKey{Name: "labels-app"}, &ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels["team"] = "payments"
	if err := bob.Update(ctx, &ns); err != nil {
		t.Errorf("an unrelated label change was refused: %v", err)
	}
	if err := bob.Delete(ctx, &ns); err == nil || !strings.Contains(err.Error(), "FT-CLD-20") {
		t.Errorf("deleting a tenant namespace: %v, want a refusal naming FT-CLD-20", err)
	}
	// Not even an administrator may move a namespace to another tenant.
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "labels-app"}, &ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels[rempartv1.LabelTenant] = "someone-else"
	if err := env.Client.Update(ctx, &ns); err == nil || !strings.Contains(err.Error(), "one tenant only") {
		t.Errorf("moving a namespace to another tenant: %v, want a refusal", err)
	}
}

func TestDriftIsRepaired(t *testing.T) {
	ctx := context.Background()
	create(t, newTenant("drift", rempartv1.EnvironmentDevelopment, "drift-app"))
	t.Cleanup(func() { deleteTenant(t, "drift") })
	waitCompliant(t, "drift", "True")

	key := client.ObjectKey{Namespace: "drift-app", Name: "rempart-default-deny"}
	var policy networkingv1.NetworkPolicy
	if err := env.Client.Get(ctx, key, &policy); err != nil {
		t.Fatal(err)
	}
	oldUID := policy.UID
	if err := env.Client.Delete(ctx, &policy); err != nil {
		t.Fatalf("a cluster administrator cannot delete the policy: %v", err)
	}
	eventually(t, "the default deny to come back", func(ctx context.Context) error {
		var p networkingv1.NetworkPolicy
		if err := env.Client.Get(ctx, key, &p); err != nil {
			return err
		}
		if p.UID == oldUID {
			return fmt.Errorf("not deleted yet")
		}
		return nil
	})

	if err := env.Client.Get(ctx, key, &policy); err != nil {
		t.Fatal(err)
	}
	policy.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if err := env.Client.Update(ctx, &policy); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edited default deny to be restored", func(ctx context.Context) error {
		var p networkingv1.NetworkPolicy
		if err := env.Client.Get(ctx, key, &p); err != nil {
			return err
		}
		if len(p.Spec.PolicyTypes) != 2 {
			return fmt.Errorf("policy types %v", p.Spec.PolicyTypes)
		}
		return nil
	})
}

func TestTenantAddedCrossTenantPolicyIsReported(t *testing.T) {
	ctx := context.Background()
	create(t, newTenant("cross-a", rempartv1.EnvironmentProduction, "cross-a-app"))
	create(t, newTenant("cross-b", rempartv1.EnvironmentProduction, "cross-b-app"))
	t.Cleanup(func() { deleteTenant(t, "cross-a"); deleteTenant(t, "cross-b") })
	waitCompliant(t, "cross-a", "True")
	waitCompliant(t, "cross-b", "True")

	create(t, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "cross-a-app", Name: "let-b-in"},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{rempartv1.LabelTenant: "cross-b"}}}}}}},
	})
	ti := waitCompliant(t, "cross-a", "False")
	r := ti.Status.Control("network.tenant-boundary")
	if r.State != rempartv1.ControlNonCompliant || !strings.Contains(r.Message, "cross-a-app/let-b-in") ||
		r.Evidence == nil || r.Evidence.Total != 1 || r.Evidence.Objects[0].Name != "let-b-in" {
		t.Errorf("tenant boundary = %+v", r)
	}
	if ti.Status.Summary.NonCompliant != 1 {
		t.Errorf("summary = %+v", ti.Status.Summary)
	}
	if err := env.Client.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "cross-a-app", Name: "let-b-in"}}); err != nil {
		t.Fatal(err)
	}
	waitCompliant(t, "cross-a", "True")
}

func TestStorageAdmission(t *testing.T) {
	create(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "it-encrypted"}, Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"encrypted": "true"}})
	create(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "it-plain"}, Provisioner: "ebs.csi.aws.com"})
	create(t, newTenant("store", rempartv1.EnvironmentProduction, "store-app"))
	t.Cleanup(func() { deleteTenant(t, "store") })
	waitCompliant(t, "store", "True")

	pvc := func(name string, class *string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: "store-app", Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}
	}
	eventually(t, "the storage policy to allow the encrypted class", func(ctx context.Context) error {
		return env.Client.Create(ctx, pvc("encrypted", ptr.To("it-encrypted")))
	})
	for name, class := range map[string]*string{"plain": ptr.To("it-plain"), "no-class": nil, "unknown": ptr.To("it-missing")} {
		eventuallyRefused(t, env.Client, pvc(name, class), "FT-CLD-21", "Use one of: it-encrypted")
	}
	waitCompliant(t, "store", "True")
}

func TestAdminInterfaceAdmission(t *testing.T) {
	ctx := context.Background()
	create(t, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "it-nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}})
	create(t, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "it-unknown"}, Spec: networkingv1.IngressClassSpec{Controller: "example.com/edge"}})
	t.Cleanup(func() {
		for _, name := range []string{"it-nginx", "it-unknown"} {
			_ = env.Client.Delete(context.Background(), &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	})
	ti := newTenant("admin-ui", rempartv1.EnvironmentProduction, "admin-ui-app")
	ti.Spec.AdminInterfaces = &rempartv1.AdminInterfaces{
		Selector:            metav1.LabelSelector{MatchLabels: map[string]string{"rempart.io/admin-interface": "true"}},
		AllowedSourceRanges: []rempartv1.CIDR{"10.0.0.0/8"},
	}
	ti.Spec.Exposure = &rempartv1.Exposure{PublicServices: []string{"admin-ui-app/shop"}}
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "admin-ui") })
	waitCompliant(t, "admin-ui", "True")

	admin := map[string]string{"rempart.io/admin-interface": "true"}
	svc := func(name string, typ corev1.ServiceType, l map[string]string, ranges ...string) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "admin-ui-app", Name: name, Labels: l},
			Spec: corev1.ServiceSpec{Type: typ, LoadBalancerSourceRanges: ranges, Ports: []corev1.ServicePort{{Port: 443}}}}
		if typ == corev1.ServiceTypeLoadBalancer {
			s.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
		}
		return s
	}
	eventually(t, "a restricted admin LoadBalancer to be accepted", func(ctx context.Context) error {
		return env.Client.Create(ctx, svc("console-private", corev1.ServiceTypeLoadBalancer, admin, "10.1.0.0/16"))
	})
	eventuallyRefused(t, env.Client, svc("console-open", corev1.ServiceTypeLoadBalancer, admin), "FT-CLD-19", "loadBalancerSourceRanges within 10.0.0.0/8")
	eventuallyRefused(t, env.Client, svc("console-wide", corev1.ServiceTypeLoadBalancer, admin, "0.0.0.0/0"), "FT-CLD-19")
	eventuallyRefused(t, env.Client, svc("console-nodeport", corev1.ServiceTypeNodePort, admin), "FT-CLD-19", "NodePort")
	nodePorts := svc("console-nodeports", corev1.ServiceTypeLoadBalancer, admin, "10.1.0.0/16")
	nodePorts.Spec.AllocateLoadBalancerNodePorts = nil
	eventuallyRefused(t, env.Client, nodePorts, "FT-CLD-19", "allocateLoadBalancerNodePorts")
	if err := env.Client.Create(ctx, svc("shop", corev1.ServiceTypeLoadBalancer, nil)); err != nil {
		t.Errorf("a declared public Service that is not an admin interface was refused: %v", err)
	}

	// E5: an admin interface cannot shed its label, then be widened.
	var private corev1.Service
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "admin-ui-app", Name: "console-private"}, &private); err != nil {
		t.Fatal(err)
	}
	delete(private.Labels, "rempart.io/admin-interface")
	if err := env.Client.Update(ctx, &private); err == nil || !strings.Contains(err.Error(), "stays one") {
		t.Errorf("removing the admin label: %v, want a refusal", err)
	}

	// E6: the source range is read as the class's controller reads it.
	ing := func(name, class string, annotations map[string]string) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "admin-ui-app", Name: name, Labels: admin, Annotations: annotations},
			Spec: networkingv1.IngressSpec{IngressClassName: ptr.To(class),
				DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "console-private", Port: networkingv1.ServiceBackendPort{Number: 443}}}}}
	}
	const white, allow = "nginx.ingress.kubernetes.io/whitelist-source-range", "nginx.ingress.kubernetes.io/allowlist-source-range"
	eventuallyRefused(t, env.Client, ing("console", "it-nginx", nil), "FT-CLD-19", "allowlist-source-range")
	eventuallyRefused(t, env.Client, ing("console-conflict", "it-nginx", map[string]string{allow: "0.0.0.0/0", white: "10.2.0.0/16"}), "FT-CLD-19", "two source-range annotations")
	eventuallyRefused(t, env.Client, ing("console-unknown", "it-unknown", map[string]string{white: "10.2.0.0/16"}), "FT-CLD-19", "does not know")
	eventuallyRefused(t, env.Client, ing("console-haproxy-annotation", "it-nginx", map[string]string{"haproxy.org/allow-list": "10.2.0.0/16"}), "FT-CLD-19")
	if err := env.Client.Create(ctx, ing("console", "it-nginx", map[string]string{white: "10.2.0.0/16, 10.3.0.0/16"})); err != nil {
		t.Errorf("admin Ingress restricted to allowed ranges was refused: %v", err)
	}
	if err := env.Client.Create(ctx, ing("console-allow", "it-nginx", map[string]string{allow: "10.2.0.0/16", white: "10.2.0.0/16"})); err != nil {
		t.Errorf("admin Ingress with agreeing annotations was refused: %v", err)
	}
	waitCompliant(t, "admin-ui", "True")
}

func TestNodeIsolationAdmission(t *testing.T) {
	ctx := context.Background()
	ti := newTenant("dedicated", rempartv1.EnvironmentProduction, "dedicated-app")
	ti.Spec.NodeIsolation = &rempartv1.NodeIsolation{NodeSelector: map[string]string{"rempart.io/pool": "dedicated"}}
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "dedicated") })
	waitCompliant(t, "dedicated", "True")
	pod := func(name string, sel map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "dedicated-app", Name: name},
			Spec: corev1.PodSpec{NodeSelector: sel, Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1",
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}}}}}
	}
	for name, sel := range map[string]map[string]string{"anywhere": nil, "elsewhere": {"rempart.io/pool": "shared"}} {
		eventuallyRefused(t, env.Client, pod(name, sel), "FLX-3.6", "rempart.io/pool=dedicated")
	}
	if err := env.Client.Create(ctx, pod("placed", map[string]string{"rempart.io/pool": "dedicated"})); err != nil {
		t.Errorf("a pod on the dedicated nodes was refused: %v", err)
	}
}

func TestRemovedNamespaceIsReleasedAndKept(t *testing.T) {
	create(t, newTenant("shrink", rempartv1.EnvironmentStaging, "shrink-a", "shrink-b"))
	t.Cleanup(func() { deleteTenant(t, "shrink") })
	waitCompliant(t, "shrink", "True")
	updateTenant(t, "shrink", func(ti *rempartv1.TenantIsolation) { ti.Spec.Namespaces = []rempartv1.NamespaceName{"shrink-a"} })
	eventually(t, "shrink-b to be released", func(ctx context.Context) error {
		var ns corev1.Namespace
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "shrink-b"}, &ns); err != nil {
			return err
		}
		if len(ns.Labels) != 1 { // only kubernetes.io/metadata.name is left
			return fmt.Errorf("labels %v", ns.Labels)
		}
		var policies networkingv1.NetworkPolicyList
		if err := env.Client.List(ctx, &policies, client.InNamespace("shrink-b")); err != nil {
			return err
		}
		if len(policies.Items) != 0 {
			return fmt.Errorf("%d NetworkPolicies left", len(policies.Items))
		}
		return nil
	})
}

func TestRetainDeletionKeepsNamespacesAndData(t *testing.T) {
	ctx := context.Background()
	create(t, newTenant("retain", rempartv1.EnvironmentProduction, "retain-app"))
	waitCompliant(t, "retain", "True")
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "retain-app", Name: "db-password"}, StringData: map[string]string{"p": "s3cret"}})
	// The claim uses an encrypted class, which the tenant's storage policy allows once the
	// operator has seen it.
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "it-encrypted-retain"}, Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"encrypted": "true"}}
	create(t, class)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), class) })
	eventually(t, "the retained claim created", func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(env.Client.Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "retain-app", Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To("it-encrypted-retain"),
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}))
	})
	ownedBy := func(ctx context.Context) (string, error) {
		var index rempartv1.NamespaceOwnership
		// No index at all when no tenant is left: nothing is held.
		err := client.IgnoreNotFound(env.Client.Get(ctx, client.ObjectKey{Name: rempartv1.NamespaceOwnershipName}, &index))
		return index.Spec.Owners["retain-app"], err
	}
	eventually(t, "the ownership index names the tenant", func(ctx context.Context) error {
		if owner, err := ownedBy(ctx); err != nil || owner != "retain" {
			return fmt.Errorf("retain-app held by %q (%v)", owner, err)
		}
		return nil
	})
	deleteTenant(t, "retain")
	// A tenant gone leaves the index: its namespaces may be claimed again.
	eventually(t, "the tenant's entry gone from the ownership index", func(ctx context.Context) error {
		if owner, err := ownedBy(ctx); err != nil || owner != "" {
			return fmt.Errorf("retain-app still held by %q (%v)", owner, err)
		}
		return nil
	})

	var ns corev1.Namespace
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "retain-app"}, &ns); err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("Retain deleted the namespace: %v %v", err, ns.DeletionTimestamp)
	}
	if _, labelled := ns.Labels[rempartv1.LabelTenant]; labelled {
		t.Errorf("the tenant label stays: %v", ns.Labels)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "retain-app", Name: "db-password"}, &corev1.Secret{}); err != nil {
		t.Errorf("Retain lost the Secret: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "retain-app", Name: "data"}, &corev1.PersistentVolumeClaim{}); err != nil {
		t.Errorf("Retain lost the PVC: %v", err)
	}
	var policies networkingv1.NetworkPolicyList
	if err := env.Client.List(ctx, &policies, client.InNamespace("retain-app")); err != nil || len(policies.Items) != 0 {
		t.Errorf("generated NetworkPolicies stay: %d (%v)", len(policies.Items), err)
	}
}

// In Audit mode nothing is refused and no namespace is changed: the controls still report.
func TestAuditModeReportsWithoutRefusing(t *testing.T) {
	ctx := context.Background()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "audit-app"}})
	create(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "it-audit-plain"}, Provisioner: "ebs.csi.aws.com"})
	ti := newTenant("audit", rempartv1.EnvironmentProduction, "audit-app")
	ti.Spec.Enforcement = rempartv1.EnforcementAudit
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "audit") })
	got := waitCompliant(t, "audit", "False")
	for _, id := range []string{"namespaces.owned", "network.default-deny", "pod-security.enforced"} {
		if r := got.Status.Control(rempartv1.ControlID(id)); r.State != rempartv1.ControlNonCompliant {
			t.Errorf("%s = %s in Audit mode on an untouched namespace, want NonCompliant", id, r.State)
		}
	}
	var ns corev1.Namespace
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "audit-app"}, &ns); err != nil {
		t.Fatal(err)
	}
	if _, labelled := ns.Labels[rempartv1.LabelTenant]; labelled {
		t.Errorf("Audit mode labelled the namespace: %v", ns.Labels)
	}
	var policies networkingv1.NetworkPolicyList
	if err := env.Client.List(ctx, &policies, client.InNamespace("audit-app")); err != nil || len(policies.Items) != 0 {
		t.Errorf("Audit mode wrote %d NetworkPolicies (%v)", len(policies.Items), err)
	}
	var binding admissionv1.ValidatingAdmissionPolicyBinding
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "rempart-tenant-storage.audit"}, &binding); err != nil {
		t.Fatal(err)
	}
	if got := binding.Spec.ValidationActions; len(got) != 2 || got[0] != admissionv1.Warn || got[1] != admissionv1.Audit {
		t.Errorf("Audit mode binding actions = %v, want Warn and Audit", got)
	}
}
