package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// attack is one route of docs/threat-model.md, written as the tenant would apply it.
type attack struct {
	route    string
	manifest string
	// want are fragments of the refusal, the requirement ID among them.
	want []string
}

// kubectlAs applies a manifest as user through impersonation, the way the tenant meets a refusal.
func kubectlAs(ctx context.Context, user, manifest string) (string, error) {
	cmd := exec.CommandContext(ctx, cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "--as", user, "create", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The attack suite: a tenant admin, holding the real aggregated admin role through an AdminAccess
// (the product's own way), tries every route against the whole local control plane, run by
// kube-controller-manager with per-controller credentials. Each is refused naming its requirement.
func TestTenantAdminCannotEscape(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	victim := &rempartv1.TenantIsolation{}
	victim.Name = "vault"
	victim.Spec = rempartv1.TenantIsolationSpec{Environment: rempartv1.EnvironmentProduction, Namespaces: []rempartv1.NamespaceName{"vault-app"},
		NodeIsolation: &rempartv1.NodeIsolation{NodeSelector: map[string]string{"rempart.io/pool": "vault"},
			Tolerations: []corev1.Toleration{{Key: "rempart.io/dedicated", Operator: corev1.TolerationOpEqual, Value: "vault"}}}}
	attacker := &rempartv1.TenantIsolation{}
	attacker.Name = "raider"
	attacker.Spec = rempartv1.TenantIsolationSpec{Environment: rempartv1.EnvironmentStaging, Namespaces: []rempartv1.NamespaceName{"raider-app"},
		PodSecurity: rempartv1.PodSecurity{Level: rempartv1.PodSecurityBaseline}}
	// A bystander of the other environment, so the reachability check covers more pairs.
	bystander := &rempartv1.TenantIsolation{}
	bystander.Name = "bystander"
	bystander.Spec = rempartv1.TenantIsolationSpec{Environment: rempartv1.EnvironmentDevelopment, Namespaces: []rempartv1.NamespaceName{"bystander-web", "bystander-db"}}
	for _, ti := range []*rempartv1.TenantIsolation{victim, attacker, bystander} {
		if err := c.Create(ctx, ti); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), ti) })
	}
	tenantCompliant(t, c, "vault")
	tenantCompliant(t, c, "raider")
	tenantCompliant(t, c, "bystander")
	const eve = "eve@raider.example"
	access := grant("eve-raider", eve, "raider", time.Now().Add(30*time.Minute))
	if err := c.Create(ctx, access); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), access) })
	waitFor(t, "eve's grant", time.Minute, func(context.Context) (bool, error) { return canCreateDeployments(t, c, eve, "raider-app"), nil })

	pod := func(name, spec string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: raider-app}\nspec:\n  containers: [{name: app, image: registry.example/app:1}]\n%s", name, spec)
	}
	service := func(name, spec string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: raider-app}\nspec:\n%s", name, spec)
	}
	netpol := func(name, from string) string {
		return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: raider-app}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - from: %s\n", name, from)
	}
	attacks := []attack{
		{"E1 externalIPs", service("intercept", "  externalIPs: [8.8.8.8]\n  ports: [{port: 53}]\n"), []string{"CVE-2020-8554", "FT-CLD-19"}},
		{"E2 ExternalName into another tenant", service("bridge", "  type: ExternalName\n  externalName: web.vault-app.svc.cluster.local\n"), []string{"FT-CLD-20"}},
		{"E3 LoadBalancer", service("publish", "  type: LoadBalancer\n  ports: [{port: 443}]\n"), []string{"FT-CLD-19"}},
		{"E3 NodePort", service("nodeport", "  type: NodePort\n  ports: [{port: 443}]\n"), []string{"FT-CLD-19"}},
		{"N1 selector of another tenant", netpol("let-vault", "[{namespaceSelector: {matchLabels: {rempart.io/tenant: vault}}}]"), []string{"FT-CLD-20"}},
		{"N1 every namespace", netpol("let-all", "[{namespaceSelector: {}}]"), []string{"FT-CLD-20"}},
		{"N3 ipBlock over the pods", netpol("let-pods", "[{ipBlock: {cidr: 10.244.0.0/16}}]"), []string{"FT-CLD-20"}},
		{"D1 dedicated nodes by selector", pod("squat", "  nodeSelector: {rempart.io/pool: vault}\n"), []string{"FLX-3.6"}},
		{"D2 dedicated nodes by toleration", pod("tolerate", "  tolerations: [{operator: Exists}]\n"), []string{"FLX-3.6"}},
		{"D3 nodeName", pod("pinned", "  nodeName: anywhere\n"), []string{"FLX-3.6"}},
		{"V3 in-tree network volume", pod("nfs", "  volumes: [{name: share, nfs: {server: nfs.example, path: /exports}}]\n"), []string{"FT-CLD-21"}},
		{"V3 inline CSI", pod("csi", "  volumes: [{name: data, csi: {driver: ebs.csi.aws.com}}]\n"), []string{"FT-CLD-21"}},
		{"V2 pre-bound claim", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: stolen, namespace: raider-app}\nspec:\n  volumeName: pv-of-vault\n  storageClassName: e2e-encrypted\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n", []string{"FT-CLD-21"}},
		{"N4 delete the default deny", "", []string{"FT-CLD-20"}},
	}
	for _, a := range attacks {
		t.Run(a.route, func(t *testing.T) {
			var out string
			var err error
			waitFor(t, a.route+" refused", time.Minute, func(ctx context.Context) (bool, error) {
				if a.manifest == "" {
					cmd := exec.CommandContext(ctx, cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "--as", eve, "delete", "networkpolicy", "-n", "raider-app", "rempart-default-deny")
					b, e := cmd.CombinedOutput()
					out, err = string(b), e
				} else {
					out, err = kubectlAs(ctx, eve, a.manifest)
				}
				if err == nil {
					return false, fmt.Errorf("admitted: %s", out)
				}
				// RBAC must not be what refuses: the route has to reach admission.
				return !strings.Contains(out, "cannot create resource") && !strings.Contains(out, "cannot delete resource"), fmt.Errorf("%s", out)
			})
			for _, w := range a.want {
				if !strings.Contains(out, w) {
					t.Errorf("refusal %q does not name %q", out, w)
				}
			}
		})
	}
	// Nothing a refused attack tried is in the cluster, and both tenants are still compliant.
	var services corev1.ServiceList
	if err := c.List(ctx, &services, client.InNamespace("raider-app")); err != nil {
		t.Fatal(err)
	}
	if len(services.Items) != 0 {
		t.Errorf("refused Services exist in raider-app: %d", len(services.Items))
	}
	tenantCompliant(t, c, "vault")
	reachabilityAgrees(t, c)

	// What Audit mode admits is reported within seconds, naming the object, and the independent
	// evaluator still agrees with the controls once the bridge is live.
	waitFor(t, "raider in Audit mode", 30*time.Second, func(ctx context.Context) (bool, error) {
		var ti rempartv1.TenantIsolation
		if err := c.Get(ctx, client.ObjectKey{Name: "raider"}, &ti); err != nil {
			return false, err
		}
		ti.Spec.Enforcement = rempartv1.EnforcementAudit
		return c.Update(ctx, &ti) == nil, nil
	})
	bridge := netpol("let-vault", "[{namespaceSelector: {matchLabels: {rempart.io/tenant: vault}}}]")
	waitFor(t, "the bridge admitted with a warning in Audit mode", time.Minute, func(ctx context.Context) (bool, error) {
		out, err := kubectlAs(ctx, eve, bridge)
		return err == nil && strings.Contains(out, "FT-CLD-20"), fmt.Errorf("%s", out)
	})
	waitFor(t, "the bridge reported", 30*time.Second, func(ctx context.Context) (bool, error) {
		var ti rempartv1.TenantIsolation
		if err := c.Get(ctx, client.ObjectKey{Name: "raider"}, &ti); err != nil {
			return false, err
		}
		r := ti.Status.Control("network.tenant-boundary")
		return r.State == rempartv1.ControlNonCompliant && strings.Contains(r.Message, "raider-app/let-vault"), fmt.Errorf("%s: %s", r.State, r.Message)
	})
	reachabilityAgrees(t, c)
}
