package privileges

import (
	"fmt"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func rule(groups, resources, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
}

func TestRuleLevel(t *testing.T) {
	all := []string{"*"}
	tests := []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  Level
		ok    bool
	}{
		{"read only", []rbacv1.PolicyRule{rule([]string{""}, []string{"pods", "services"}, []string{"get", "list", "watch"})}, "", false},
		{"no rules", nil, "", false},
		{"writes pods", []rbacv1.PolicyRule{rule([]string{""}, []string{"pods"}, []string{"get", "delete"})}, Write, true},
		{"patches deployments", []rbacv1.PolicyRule{rule([]string{"apps"}, []string{"deployments"}, []string{"patch"})}, Write, true},
		{"everything", []rbacv1.PolicyRule{rule(all, all, all)}, Admin, true},
		{"writes role bindings", []rbacv1.PolicyRule{rule([]string{"rbac.authorization.k8s.io"}, []string{"rolebindings"}, []string{"create"})}, Admin, true},
		{"writes any resource of any group", []rbacv1.PolicyRule{rule(all, all, []string{"update"})}, Admin, true},
		{"impersonates", []rbacv1.PolicyRule{rule([]string{""}, []string{"users"}, []string{"impersonate"})}, Admin, true},
		{"binds roles", []rbacv1.PolicyRule{rule([]string{"rbac.authorization.k8s.io"}, []string{"clusterroles"}, []string{"bind"})}, Admin, true},
		{"reads role bindings", []rbacv1.PolicyRule{rule([]string{"rbac.authorization.k8s.io"}, []string{"rolebindings"}, []string{"get"})}, "", false},
		{"non-resource URLs", []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"*"}}}, "", false},
		{"reads secrets", []rbacv1.PolicyRule{rule([]string{""}, []string{"secrets"}, []string{"get"})}, Admin, true},
		{"reads one named secret", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"app-tls"}, Verbs: []string{"get"}}}, "", false},
		{"execs in pods", []rbacv1.PolicyRule{rule([]string{""}, []string{"pods/exec"}, []string{"create"})}, Admin, true},
		{"attaches to pods, read verb", []rbacv1.PolicyRule{rule([]string{""}, []string{"pods/attach"}, []string{"get"})}, Admin, true},
		{"mints tokens", []rbacv1.PolicyRule{rule([]string{""}, []string{"serviceaccounts/token"}, []string{"create"})}, Admin, true},
		{"any verb on config maps", []rbacv1.PolicyRule{rule([]string{""}, []string{"configmaps"}, all)}, Admin, true},
		{"reads every resource", []rbacv1.PolicyRule{rule(all, all, []string{"list"})}, Admin, true},
		{"asks questions only", []rbacv1.PolicyRule{rule([]string{"authorization.k8s.io"}, []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"}, []string{"create"})}, "", false},
		{"writes Rempart's cluster-scoped policies", []rbacv1.PolicyRule{rule([]string{PolicyGroup}, []string{"adminaccesses"}, []string{"create", "update"})}, "", false},
		{"writes Rempart's policies and pods", []rbacv1.PolicyRule{rule([]string{PolicyGroup, ""}, []string{"adminaccesses", "pods"}, []string{"create"})}, Write, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RuleLevel(tt.rules)
			if got != tt.want || ok != tt.ok {
				t.Errorf("RuleLevel = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestInNamespaces(t *testing.T) {
	user := func(name string) rbacv1.Subject { return rbacv1.Subject{Kind: rbacv1.UserKind, Name: name} }
	sa := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "deployer"}
	rbac := RBAC{
		ClusterRoles: []rbacv1.ClusterRole{
			{ObjectMeta: metav1.ObjectMeta{Name: "admin"}, Rules: []rbacv1.PolicyRule{rule([]string{"rbac.authorization.k8s.io"}, []string{"rolebindings"}, []string{"create"})}},
			{ObjectMeta: metav1.ObjectMeta{Name: "view"}, Rules: []rbacv1.PolicyRule{rule([]string{""}, []string{"pods"}, []string{"get"})}},
			{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin"}, Rules: []rbacv1.PolicyRule{rule([]string{"*"}, []string{"*"}, []string{"*"})}},
		},
		Roles: []rbacv1.Role{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-shop", Name: "deploy"}, Rules: []rbacv1.PolicyRule{rule([]string{"apps"}, []string{"deployments"}, []string{"update"})}},
		},
		RoleBindings: []rbacv1.RoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-shop", Name: "alice-admin"}, Subjects: []rbacv1.Subject{user("alice@acme.example")},
				RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-shop", Name: "everyone-views"}, Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "acme:staff"}},
				RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-shop", Name: "ci"}, Subjects: []rbacv1.Subject{sa},
				RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "deploy"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-shop", Name: "dangling"}, Subjects: []rbacv1.Subject{user("mallory")},
				RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "missing"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "other-tenant", Name: "bob-admin"}, Subjects: []rbacv1.Subject{user("bob")},
				RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin"}},
			// edit's rules are not aggregated yet: its name says what it grants.
			{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-api", Name: "erin-edit"}, Subjects: []rbacv1.Subject{user("erin")},
				RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"}},
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Name: "ops"}, Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "platform:ops"}},
				RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}},
			{ObjectMeta: metav1.ObjectMeta{Name: "auditors"}, Subjects: []rbacv1.Subject{user("carol")},
				RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}},
		},
	}
	var got []string
	for _, g := range InNamespaces(rbac, []string{"acme-shop", "acme-api"}) {
		got = append(got, fmt.Sprintf("%s|%s|%s/%s|%s", g.Namespace, Username(g.Subject), g.BindingKind, g.BindingName, g.Level))
	}
	want := []string{
		"|platform:ops|ClusterRoleBinding/ops|Admin",
		"acme-api|erin|RoleBinding/erin-edit|Write",
		// Sorted by namespace, then subject kind and name: ServiceAccount before User.
		"acme-shop|system:serviceaccount:acme-shop:deployer|RoleBinding/ci|Write",
		"acme-shop|alice@acme.example|RoleBinding/alice-admin|Admin",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("grants\n got %v\nwant %v", got, want)
	}
}
