package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// rbacRefusal is how the API server words a refusal by RBAC, which an attack must get past to test
// Rempart at all.
var rbacRefusal = regexp.MustCompile(`cannot \w+ resource`)

// attack is one route of docs/threat-model.md, written as the attacker would run it.
type attack struct {
	route    string
	manifest string
	// want are fragments of the refusal, the requirement ID among them.
	want []string
	// user runs the attack; the tenant admin when empty.
	user string
	// args are kubectl's arguments; create -f - (the manifest) when empty.
	args []string
}

// kubectlAs runs kubectl as user through impersonation, the way the attacker meets a refusal;
// without args it creates the manifest.
func kubectlAs(ctx context.Context, user, manifest string, args ...string) (string, error) {
	if len(args) == 0 {
		args = []string{"create", "-f", "-"}
	}
	cmd := exec.CommandContext(ctx, cluster.Kubectl(), append([]string{"--kubeconfig", cluster.Kubeconfig, "--as", user}, args...)...)
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
		PodSecurity: rempartv1.PodSecurity{Level: rempartv1.PodSecurityBaseline},
		AdminInterfaces: &rempartv1.AdminInterfaces{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"rempart.io/admin-interface": "true"}},
			AllowedSourceRanges: []rempartv1.CIDR{"10.0.0.0/8"}}}
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
	requestApproved(t, c, access)
	waitFor(t, "eve's grant", time.Minute, func(context.Context) (bool, error) { return canCreateDeployments(t, c, eve, "raider-app"), nil })

	// A bot allowed to create and patch namespaces, nothing else.
	const bot = "labeller-bot"
	botRole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-namespace-bot"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "create", "update", "patch"}}}}
	botBinding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-namespace-bot"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: botRole.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: bot}}}
	for _, obj := range []client.Object{botRole, botBinding} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), obj) })
	}
	// A requester, who may create and update AdminAccess objects and nothing more.
	const rick = "rick@raider.example"
	requester := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-requester"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rempart-adminaccess-requester"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: rick}}}
	if err := c.Create(ctx, requester); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), requester) })
	// An application Role of the raider's admin, which may be bound to its service accounts only.
	if out, err := kubectlAs(ctx, eve, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: app-reader, namespace: raider-app}\nrules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}]\n"); err != nil {
		t.Fatalf("the tenant admin cannot create an application Role: %s", out)
	}
	// An admin interface of the raider, which its admin may not relabel out of the rule.
	if out, err := kubectlAs(ctx, eve, "apiVersion: v1\nkind: Service\nmetadata: {name: console, namespace: raider-app, labels: {rempart.io/admin-interface: \"true\"}}\nspec:\n  ports: [{port: 8443}]\n"); err != nil {
		t.Fatalf("the tenant admin cannot create a private admin Service: %s", out)
	}

	// A grant of eve's awaiting approval, which a requester and an outsider try to approve.
	pending := grant("eve-pending", eve, "raider", time.Now().Add(time.Hour))
	if err := c.Create(ctx, pending); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), pending) })
	mallory := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-mallory-requester"},
		RoleRef:  requester.RoleRef,
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory@raider.example"}}}
	if err := c.Create(ctx, mallory); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), mallory) })

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
		{"E1 externalIPs", service("intercept", "  externalIPs: [8.8.8.8]\n  ports: [{port: 53}]\n"), []string{"CVE-2020-8554", "FT-CLD-19"}, "", nil},
		{"E2 ExternalName into another tenant", service("bridge", "  type: ExternalName\n  externalName: web.vault-app.svc.cluster.local\n"), []string{"FT-CLD-20"}, "", nil},
		{"E3 LoadBalancer", service("publish", "  type: LoadBalancer\n  ports: [{port: 443}]\n"), []string{"FT-CLD-19"}, "", nil},
		{"E3 NodePort", service("nodeport", "  type: NodePort\n  ports: [{port: 443}]\n"), []string{"FT-CLD-19"}, "", nil},
		{"N1 selector of another tenant", netpol("let-vault", "[{namespaceSelector: {matchLabels: {rempart.io/tenant: vault}}}]"), []string{"FT-CLD-20"}, "", nil},
		{"N1 every namespace", netpol("let-all", "[{namespaceSelector: {}}]"), []string{"FT-CLD-20"}, "", nil},
		{"N3 ipBlock over the pods", netpol("let-pods", "[{ipBlock: {cidr: 10.244.0.0/16}}]"), []string{"FT-CLD-20"}, "", nil},
		{"D1 dedicated nodes by selector", pod("squat", "  nodeSelector: {rempart.io/pool: vault}\n"), []string{"FLX-3.6"}, "", nil},
		{"D2 dedicated nodes by toleration", pod("tolerate", "  tolerations: [{operator: Exists}]\n"), []string{"FLX-3.6"}, "", nil},
		{"D3 nodeName", pod("pinned", "  nodeName: anywhere\n"), []string{"FLX-3.6"}, "", nil},
		{"V3 in-tree network volume", pod("nfs", "  volumes: [{name: share, nfs: {server: nfs.example, path: /exports}}]\n"), []string{"FT-CLD-21"}, "", nil},
		{"V3 inline CSI", pod("csi", "  volumes: [{name: data, csi: {driver: ebs.csi.aws.com}}]\n"), []string{"FT-CLD-21"}, "", nil},
		{"V2 pre-bound claim", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: stolen, namespace: raider-app}\nspec:\n  volumeName: pv-of-vault\n  storageClassName: e2e-encrypted\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n", []string{"FT-CLD-21"}, "", nil},
		{"N4 delete the default deny", "", []string{"FT-CLD-20"}, "", []string{"delete", "networkpolicy", "-n", "raider-app", "rempart-default-deny"}},
		{"N2 a rule without peers", netpol("let-any", "[]"), []string{"FT-CLD-20"}, "", nil},
		{"E5 an admin interface drops its label", "", []string{"FT-CLD-19", "stays one"}, "", []string{"label", "service", "-n", "raider-app", "console", "rempart.io/admin-interface-"}},
		{"V4 a Deployment whose pods could never run", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: share, namespace: raider-app}\nspec:\n  selector: {matchLabels: {app: share}}\n  template:\n    metadata: {labels: {app: share}}\n    spec:\n      containers: [{name: app, image: registry.example/app:1}]\n      volumes: [{name: share, nfs: {server: nfs.example, path: /exports}}]\n",
			[]string{"FT-CLD-21", "Deployment share"}, "", nil},
		{"S1 a namespace born into a tenant", "apiVersion: v1\nkind: Namespace\nmetadata: {name: vault-annex, labels: {rempart.io/tenant: vault}}\n", []string{"FT-CLD-20"}, bot, nil},
		{"S1 a namespace labelled into a tenant", "", []string{"FT-CLD-20"}, bot, []string{"label", "namespace", "default", "rempart.io/tenant=vault"}},
		{"S3 an owner reference hands a tenant namespace to the garbage collector", "", []string{"FT-CLD-20", "garbage collector"}, bot,
			[]string{"patch", "namespace", "vault-app", "--type=merge", "-p", `{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"gone","uid":"00000000-0000-0000-0000-000000000001"}]}}`}},
		{"S3 a finalizer on a tenant namespace", "", []string{"FT-CLD-20"}, bot, []string{"patch", "namespace", "vault-app", "--type=merge", "-p", `{"metadata":{"finalizers":["example.com/hold"]}}`}},
		{"A1 a grant created already approved", "apiVersion: rempart.io/v1alpha1\nkind: AdminAccess\nmetadata: {name: rick-self}\nspec:\n  subject: {name: rick@raider.example}\n  tenants: [raider]\n  reason: INC-9 need access now\n  approvedBy: head-of-ops@provider.example\n  expires: \"2099-01-01T00:00:00Z\"\n",
			[]string{"created already approved", "PAS-12.2"}, rick, nil},
		{"A2 a grant approved in someone else's name", "", []string{"in the name of head-of-ops@provider.example", "FT-CLD-16"}, rick,
			[]string{"patch", "adminaccess", "eve-pending", "--type=merge", "-p", `{"spec":{"approvedBy":"head-of-ops@provider.example"}}`}},
		{"A3 a grant approved without the approve verb", "", []string{"may not approve", "FT-CLD-16"}, "mallory@raider.example",
			[]string{"patch", "adminaccess", "eve-pending", "--type=merge", "-p", `{"spec":{"approvedBy":"mallory@raider.example"}}`}},
		{"A4 an approved grant re-scoped", "", []string{"an approved grant is frozen", "FT-CLD-16"}, rick,
			[]string{"patch", "adminaccess", "eve-raider", "--type=merge", "-p", `{"spec":{"tenants":["raider","vault"]}}`}},
		{"A5 break-glass for someone outside the group", "apiVersion: rempart.io/v1alpha1\nkind: AdminAccess\nmetadata: {name: rick-glass}\nspec:\n  subject: {name: rick@raider.example}\n  breakGlass: true\n  reason: INC-9 need access now\n  expires: \"2099-01-01T00:00:00Z\"\n",
			[]string{"only a member of group rempart:break-glass", "FT-CLD-16"}, rick, nil},
		{"R1 a binding to every authenticated user", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: everyone, namespace: raider-app}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: \"system:authenticated\"}]\n",
			[]string{"reach beyond the tenant", "FT-CLD-16"}, "", nil},
		{"R1 a service account spelled as a user", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ci, namespace: raider-app}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: \"system:serviceaccount:vault-app:default\"}]\n",
			[]string{"reach beyond the tenant", "FT-CLD-16"}, "", nil},
		{"R2 a Role with admin rules", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: keys, namespace: raider-app}\nrules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get, list]}]\n",
			[]string{"gives admin rights", "FT-CLD-16"}, "", nil},
		{"R3 a Role bound to a colleague", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: friend, namespace: raider-app}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app-reader}\nsubjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: mallory@raider.example}]\n",
			[]string{"people receive rights on a tenant through an AdminAccess", "FT-CLD-18"}, "", nil},
		{"R4 edit for a colleague", "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: friend-edit, namespace: raider-app}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\nsubjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: mallory@raider.example}]\n",
			[]string{"gives write or admin rights", "FT-CLD-16"}, "", nil},
		{"R5 a token that never expires", "apiVersion: v1\nkind: Secret\nmetadata: {name: forever, namespace: raider-app, annotations: {kubernetes.io/service-account.name: default}}\ntype: kubernetes.io/service-account-token\n",
			[]string{"never expires", "FT-CLD-16"}, "", nil},
		{"R5 a token for a day", "", []string{"at most 3600 seconds", "FT-CLD-16"}, "", []string{"create", "token", "default", "-n", "raider-app", "--duration", "24h"}},
	}
	// The API server loads newly written bindings on its own schedule (about a second later), so
	// the attacks start once a dry run of the first one is refused; from then on an attack that is
	// admitted even once fails the test, it is not retried.
	waitFor(t, "raider's bindings loaded by the API server", time.Minute, func(ctx context.Context) (bool, error) {
		out, err := kubectlAs(ctx, eve, attacks[0].manifest, "create", "--dry-run=server", "-f", "-")
		return err != nil && strings.Contains(out, attacks[0].want[0]), fmt.Errorf("%s", out)
	})
	for _, a := range attacks {
		t.Run(a.route, func(t *testing.T) {
			var out string
			var err error
			user := a.user
			if user == "" {
				user = eve
			}
			waitFor(t, a.route+" refused", time.Minute, func(ctx context.Context) (bool, error) {
				out, err = kubectlAs(ctx, user, a.manifest, a.args...)
				if err == nil {
					t.Fatalf("admitted: %s", out)
				}
				// RBAC must not be what refuses: the route has to reach admission.
				return !rbacRefusal.MatchString(out), fmt.Errorf("%s", out)
			})
			for _, w := range a.want {
				if !strings.Contains(out, w) {
					t.Errorf("refusal %q does not name %q", out, w)
				}
			}
		})
	}
	// Nothing a refused attack tried is in the cluster, and once the bot (which may rewrite every
	// namespace, so every tenant reports it) is gone, the victim is compliant.
	var services corev1.ServiceList
	if err := c.List(ctx, &services, client.InNamespace("raider-app")); err != nil {
		t.Fatal(err)
	}
	for _, svc := range services.Items {
		if svc.Name != "console" {
			t.Errorf("refused Service %s exists in raider-app", svc.Name)
		}
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "vault-annex"}, &corev1.Namespace{}); err == nil {
		t.Error("the refused namespace vault-annex exists")
	}
	for _, obj := range []client.Object{botBinding, botRole} {
		if err := c.Delete(ctx, obj); err != nil {
			t.Fatal(err)
		}
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
