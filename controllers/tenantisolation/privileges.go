package tenantisolation

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/adminaccess"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/privileges"
)

// BuiltinPrivilegedRoles are the ClusterRoles a RoleBinding in a tenant namespace may bind only
// through an AdminAccess; ClusterRoles that grant "*" on "*" or RBAC writes are added to them.
var BuiltinPrivilegedRoles = []string{"admin", "edit", "cluster-admin"}

// The cluster's own identities, which hold their rights by construction and are not reported.
// Every other system: name is: system:authenticated, system:serviceaccounts and a User spelled
// system:serviceaccount:... reach far more than their names suggest.
var (
	clusterUsers  = []string{"system:kube-controller-manager", "system:kube-scheduler", "system:kube-proxy", "system:apiserver"}
	clusterGroups = []string{"system:masters", "system:nodes", "system:monitoring"}
)

// controllerIdentity is true for the cluster's own identities: its components, its nodes, and
// the service accounts of kube-system, however spelled.
func controllerIdentity(s rbacv1.Subject) bool {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return s.Namespace == "kube-system"
	case rbacv1.GroupKind:
		return slices.Contains(clusterGroups, s.Name)
	}
	return slices.Contains(clusterUsers, s.Name) || strings.HasPrefix(s.Name, "system:node:") || strings.HasPrefix(s.Name, "system:serviceaccount:kube-system:")
}

// privilegeReport is the tenant's privileged grants, system identities left out, and the bindings
// of those neither managed by an AdminAccess nor held by a trusted account, with words for each.
type privilegeReport struct {
	inventory []rempartv1.PrivilegedSubject
	offenders []rempartv1.ObjectReference
	words     []string
}

// privilegeInventory resolves the tenant's privileges once per reconcile, for the control and the
// status alike.
func privilegeInventory(o observed) privilegeReport {
	owners := map[string]string{}
	grants := adminaccess.NewGrantIndex(o.grants)
	for i := range o.rbac.RoleBindings {
		rb := &o.rbac.RoleBindings[i]
		owners["RoleBinding/"+rb.Namespace+"/"+rb.Name] = grants.AccountingGrant(rb, "RoleBinding")
	}
	for i := range o.rbac.ClusterRoleBindings {
		crb := &o.rbac.ClusterRoleBindings[i]
		owners["ClusterRoleBinding//"+crb.Name] = grants.AccountingGrant(crb, "ClusterRoleBinding")
	}
	var inventory []rempartv1.PrivilegedSubject
	var offenders []rempartv1.ObjectReference
	var words []string
	seen := map[string]bool{}
	for _, g := range privileges.InNamespaces(o.rbac, o.ownNamespaces()) {
		if controllerIdentity(g.Subject) {
			continue
		}
		user := privileges.Username(g.Subject)
		grant := owners[g.BindingKind+"/"+g.BindingNamespace+"/"+g.BindingName]
		binding := ref(g.BindingKind, g.BindingNamespace, g.BindingName)
		binding.APIVersion = "rbac.authorization.k8s.io/v1"
		inventory = append(inventory, rempartv1.PrivilegedSubject{Kind: g.Subject.Kind, Name: user, Level: string(g.Level), Namespace: g.Namespace,
			Binding: binding, Role: g.RoleKind + "/" + g.RoleName, AdminAccess: grant})
		if grant != "" || slices.Contains(o.trustedUsers, user) {
			continue
		}
		key := g.BindingKind + "/" + g.BindingNamespace + "/" + g.BindingName
		if !seen[key] {
			seen[key] = true
			offenders = append(offenders, binding)
		}
		where := g.BindingKind + " " + g.BindingName
		if g.BindingNamespace != "" {
			where = g.BindingKind + " " + g.BindingNamespace + "/" + g.BindingName
		}
		words = append(words, fmt.Sprintf("%s %s (%s, %s/%s, via %s)", g.Subject.Kind, user, strings.ToLower(string(g.Level)), g.RoleKind, g.RoleName, where))
	}
	return privilegeReport{inventory: inventory, offenders: offenders, words: words}
}

// judgePrivileges is the control on unmanaged privileges, naming each subject and binding.
func judgePrivileges(p privilegeReport, j compliance.ExceptionSet) rempartv1.ControlResult {
	return j.Detailed(compliance.PrivilegedSubjects, p.offenders, func() string {
		shown := p.words
		if len(shown) > 10 {
			shown = append(shown[:10:10], fmt.Sprintf("and %d more", len(p.words)-10))
		}
		return fmt.Sprintf("%d grants of write or admin rights on the tenant's namespaces are outside any AdminAccess (FT-CLD-16): %s. Replace them with AdminAccess grants or remove them.",
			len(p.words), strings.Join(shown, "; "))
	})
}

// privilegedRoles are the ClusterRoles the admin-bindings policy guards: the built-in ones and
// every ClusterRole whose rules grant write or admin rights.
func privilegedRoles(clusterRoles []rbacv1.ClusterRole) []string {
	out := slices.Clone(BuiltinPrivilegedRoles)
	for _, cr := range clusterRoles {
		if _, ok := privileges.RuleLevel(cr.Rules); ok && !slices.Contains(out, cr.Name) {
			out = append(out, cr.Name)
		}
	}
	slices.Sort(out)
	return out
}
