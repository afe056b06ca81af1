package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/netpol"
)

func restrictedPod(namespace, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.0",
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		},
	}
}

func tenantCompliant(t *testing.T, c client.Client, name string) {
	t.Helper()
	waitFor(t, "tenant "+name+" compliant", 2*time.Minute, func(ctx context.Context) (bool, error) {
		var ti rempartv1.TenantIsolation
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &ti); err != nil {
			return false, err
		}
		cond := meta.FindStatusCondition(ti.Status.Conditions, rempartv1.ConditionCompliant)
		if cond == nil || cond.ObservedGeneration != ti.Generation {
			return false, fmt.Errorf("not evaluated yet")
		}
		return cond.Status == metav1.ConditionTrue, fmt.Errorf("%s: %s", cond.Reason, cond.Message)
	})
}

// Two production tenants, one development tenant and the shared ingress controller: the
// reachability computed from the NetworkPolicies live in the cluster is exactly the declared one.
func TestIsolationTruthTableMatchesTheDeclaration(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	fromIngress := []rempartv1.IngressFlow{{Name: "from-ingress", FromNamespaces: []rempartv1.NamespaceName{"ingress-nginx"}, Ports: []rempartv1.FlowPort{{Port: 8443}}}}
	tenants := []*rempartv1.TenantIsolation{
		{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: rempartv1.TenantIsolationSpec{Environment: rempartv1.EnvironmentProduction,
			Namespaces: []rempartv1.NamespaceName{"shop-web", "shop-db"}, Network: rempartv1.NetworkIsolation{Ingress: fromIngress}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "bank"}, Spec: rempartv1.TenantIsolationSpec{Environment: rempartv1.EnvironmentProduction,
			Namespaces: []rempartv1.NamespaceName{"bank-app"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "shop-dev"}, Spec: rempartv1.TenantIsolationSpec{Environment: rempartv1.EnvironmentDevelopment,
			Namespaces: []rempartv1.NamespaceName{"shop-dev-app"}, Network: rempartv1.NetworkIsolation{Ingress: fromIngress}}},
	}
	for _, ns := range []string{"ingress-nginx"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range tenants {
		if err := c.Create(ctx, ti); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, ti := range tenants {
			_ = c.Delete(context.Background(), ti)
		}
	})
	for _, ti := range tenants {
		tenantCompliant(t, c, ti.Name)
	}

	tenantOf := map[string]string{"shop-web": "shop", "shop-db": "shop", "bank-app": "bank", "shop-dev-app": "shop-dev", "ingress-nginx": ""}
	var names []string
	for ns := range tenantOf {
		names = append(names, ns)
		waitFor(t, "service account in "+ns, time.Minute, func(ctx context.Context) (bool, error) {
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{})
			return err == nil, err
		})
		if err := c.Create(ctx, restrictedPod(ns, "probe", map[string]string{"app": "probe"})); err != nil {
			t.Fatalf("create pod in %s: %v", ns, err)
		}
	}
	sort.Strings(names)

	endpoints := map[string]netpol.Endpoint{}
	waitFor(t, "every probe pod running on a simulated node", 2*time.Minute, func(ctx context.Context) (bool, error) {
		for _, ns := range names {
			var pod corev1.Pod
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "probe"}, &pod); err != nil {
				return false, err
			}
			if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" || pod.Spec.NodeName == "" {
				return false, fmt.Errorf("pod in %s is %s", ns, pod.Status.Phase)
			}
			var namespace corev1.Namespace
			if err := c.Get(ctx, client.ObjectKey{Name: ns}, &namespace); err != nil {
				return false, err
			}
			endpoints[ns] = netpol.Endpoint{Namespace: ns, NamespaceLabels: namespace.Labels, PodLabels: pod.Labels, IP: pod.Status.PodIP}
		}
		return true, nil
	})

	var policies networkingv1.NetworkPolicyList
	if err := c.List(ctx, &policies); err != nil {
		t.Fatal(err)
	}
	declared := func(src, dst string) bool {
		switch {
		case tenantOf[src] != "" && tenantOf[src] == tenantOf[dst]:
			return true // traffic inside a tenant
		case src == "ingress-nginx" && (tenantOf[dst] == "shop" || tenantOf[dst] == "shop-dev"):
			return true // the declared flow from the ingress controller
		case tenantOf[dst] == "" && tenantOf[src] == "":
			return true // nothing isolates shared infrastructure from itself
		}
		return false
	}
	var mismatches []string
	port := netpol.Port{Protocol: corev1.ProtocolTCP, Number: 8443}
	for _, src := range names {
		for _, dst := range names {
			if src == dst {
				continue
			}
			if got, want := netpol.Allowed(policies.Items, endpoints[src], endpoints[dst], port), declared(src, dst); got != want {
				mismatches = append(mismatches, fmt.Sprintf("%s -> %s: live policies say %v, declaration says %v", src, dst, got, want))
			}
		}
	}
	if len(mismatches) > 0 {
		t.Errorf("isolation truth table differs from the declaration:\n%s", strings.Join(mismatches, "\n"))
	}
	// Every tenant may resolve names through kube-dns, and only on port 53.
	dns := netpol.Endpoint{Namespace: "kube-system", NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}, PodLabels: map[string]string{"k8s-app": "kube-dns"}, IP: "10.244.9.9"}
	for _, src := range []string{"shop-web", "bank-app", "shop-dev-app"} {
		if !netpol.Allowed(policies.Items, endpoints[src], dns, netpol.Port{Protocol: corev1.ProtocolUDP, Number: 53}) {
			t.Errorf("%s cannot resolve names through kube-dns", src)
		}
		if netpol.Allowed(policies.Items, endpoints[src], dns, netpol.Port{Protocol: corev1.ProtocolTCP, Number: 22}) {
			t.Errorf("%s reaches kube-dns on port 22", src)
		}
	}
}

// Offboarding (deletionPolicy Delete, FT-CLD-76) deletes the tenant's namespaces and everything in
// them through the real namespace controller, and leaves Events saying what and when.
func TestOffboardingDeletesTheTenantsData(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "e2e-encrypted"},
		Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"encrypted": "true"}}); err != nil {
		t.Fatal(err)
	}
	ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "leaving"}, Spec: rempartv1.TenantIsolationSpec{
		Environment: rempartv1.EnvironmentProduction, Namespaces: []rempartv1.NamespaceName{"leaving-app", "leaving-data"},
		DeletionPolicy: rempartv1.DeletionDelete}}
	if err := c.Create(ctx, ti); err != nil {
		t.Fatal(err)
	}
	tenantCompliant(t, c, "leaving")
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "leaving-data", Name: "customer-key"}, StringData: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the storage policy to admit an encrypted claim", time.Minute, func(ctx context.Context) (bool, error) {
		err := c.Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "leaving-data", Name: "db"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("e2e-encrypted"), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}})
		return err == nil, err
	})

	if err := c.Delete(ctx, ti); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tenant, its namespaces and their content to be gone", 3*time.Minute, func(ctx context.Context) (bool, error) {
		for _, ns := range []string{"leaving-app", "leaving-data"} {
			if err := c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
				return false, fmt.Errorf("namespace %s still there (%v)", ns, err)
			}
		}
		if err := c.Get(ctx, client.ObjectKey{Name: "leaving"}, &rempartv1.TenantIsolation{}); !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("tenant still there (%v)", err)
		}
		return true, nil
	})
	if err := c.Get(ctx, client.ObjectKey{Namespace: "leaving-data", Name: "customer-key"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("the tenant's Secret survived offboarding: %v", err)
	}

	var events eventsv1.EventList
	if err := c.List(ctx, &events, client.InNamespace(metav1.NamespaceDefault)); err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, e := range events.Items {
		if e.Regarding.Name == "leaving" {
			reasons[e.Reason] = e.Note
		}
	}
	for _, r := range []string{"Offboarding", "Offboarded"} {
		note, ok := reasons[r]
		if !ok || !strings.Contains(note, "leaving-app, leaving-data") || !strings.Contains(note, "FT-CLD-76") {
			t.Errorf("no %s Event naming the deleted namespaces and FT-CLD-76 (events: %v)", r, reasons)
		}
	}
}
