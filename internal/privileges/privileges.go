package privileges

import (
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Level is how much a binding lets its subjects do.
type Level string

const (
	// Write: the subject may create, change or delete objects.
	Write Level = "Write"
	// Admin: the subject may also change RBAC, impersonate, or do anything ("*" on "*").
	Admin Level = "Admin"
)

// Grant is one subject's rights on one namespace, or on every namespace, through one binding.
type Grant struct {
	Subject rbacv1.Subject
	// Namespace the rights apply to; empty for a ClusterRoleBinding, which covers every namespace.
	Namespace string
	// BindingKind is RoleBinding or ClusterRoleBinding; BindingNamespace is empty for the latter.
	BindingKind      string
	BindingNamespace string
	BindingName      string
	// RoleKind and RoleName are the role the binding refers to.
	RoleKind string
	RoleName string
	Level    Level
}

// RBAC is the cluster's RBAC objects, as a caller read them.
type RBAC struct {
	Roles               []rbacv1.Role
	ClusterRoles        []rbacv1.ClusterRole
	RoleBindings        []rbacv1.RoleBinding
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
}

// WellKnown are Kubernetes' user-facing ClusterRoles, whose level is known by name: their rules
// are aggregated by the controller-manager and may lag behind, or be missing on a bare API server.
var WellKnown = map[string]Level{"cluster-admin": Admin, "admin": Admin, "edit": Write}

// PolicyGroup is the API group of Rempart's policies.
const PolicyGroup = "rempart.io"

// WriteVerbs change objects.
var WriteVerbs = []string{"*", "create", "update", "patch", "delete", "deletecollection"}

// EscalatingVerbs let a subject give itself more rights.
var EscalatingVerbs = []string{"escalate", "bind", "impersonate"}

// RBACResources are the objects that hand rights on.
var RBACResources = []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"}

// RemoteAccessResources run commands in, or act as, something else: a shell in a pod, a proxy to
// it or to a node, a token of a service account.
var RemoteAccessResources = []string{"pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "pods/ephemeralcontainers",
	"services/proxy", "nodes/proxy", "serviceaccounts/token"}

// reviewResources are created to ask a question, and store nothing.
var reviewResources = []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews", "subjectaccessreviews",
	"localsubjectaccessreviews", "tokenreviews"}

// AdminRule says whether a rule gives admin-level rights: any verb "*", escalate, bind or
// impersonate; any resource "*", a remote-access subresource or secrets (unless limited to named
// secrets); a write on RBAC objects.
func AdminRule(r rbacv1.PolicyRule) bool {
	has := func(list, set []string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return slices.Contains(set, x) })
	}
	switch {
	case slices.Contains(r.Verbs, "*") || has(r.Verbs, EscalatingVerbs):
		return true
	case slices.Contains(r.Resources, "*") || has(r.Resources, RemoteAccessResources):
		return true
	case slices.Contains(r.Resources, "secrets") && len(r.ResourceNames) == 0:
		return true
	}
	return has(r.Resources, RBACResources) && has(r.Verbs, WriteVerbs)
}

// RuleLevel is the level a set of policy rules grants, and false when they only read.
func RuleLevel(rules []rbacv1.PolicyRule) (Level, bool) {
	level, privileged := Level(""), false
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 && len(r.Resources) == 0 {
			continue // non-resource URLs (/healthz, /metrics) hold no tenant data
		}
		if len(r.APIGroups) > 0 && !slices.ContainsFunc(r.APIGroups, func(g string) bool { return g != PolicyGroup }) {
			// Rempart's own kinds are cluster-scoped policies, not objects in a tenant's
			// namespaces; their writes are guarded by admission and reported where they act.
			continue
		}
		if AdminRule(r) {
			return Admin, true
		}
		writes := slices.ContainsFunc(r.Verbs, func(v string) bool { return slices.Contains(WriteVerbs, v) })
		questionsOnly := !slices.ContainsFunc(r.Resources, func(res string) bool { return !slices.Contains(reviewResources, res) })
		if writes && !questionsOnly {
			level, privileged = Write, true
		}
	}
	return level, privileged
}

// InNamespaces lists the grants of write or administration rights on the given namespaces:
// RoleBindings in them, and every ClusterRoleBinding to a privileged ClusterRole. Bindings to a
// role that does not exist grant nothing and are left out. The result is sorted.
func InNamespaces(rbac RBAC, namespaces []string) []Grant {
	inScope := map[string]bool{}
	for _, n := range namespaces {
		inScope[n] = true
	}
	clusterRoles := map[string]*rbacv1.ClusterRole{}
	for i := range rbac.ClusterRoles {
		clusterRoles[rbac.ClusterRoles[i].Name] = &rbac.ClusterRoles[i]
	}
	roles := map[string]*rbacv1.Role{}
	for i := range rbac.Roles {
		roles[rbac.Roles[i].Namespace+"/"+rbac.Roles[i].Name] = &rbac.Roles[i]
	}
	levelOf := func(kind, namespace, name string) (Level, bool) {
		switch kind {
		case "ClusterRole":
			if level, ok := WellKnown[name]; ok {
				return level, true
			}
			if cr, ok := clusterRoles[name]; ok {
				return RuleLevel(cr.Rules)
			}
		case "Role":
			if r, ok := roles[namespace+"/"+name]; ok {
				return RuleLevel(r.Rules)
			}
		}
		return "", false
	}

	var out []Grant
	for _, rb := range rbac.RoleBindings {
		if !inScope[rb.Namespace] {
			continue
		}
		level, ok := levelOf(rb.RoleRef.Kind, rb.Namespace, rb.RoleRef.Name)
		if !ok {
			continue
		}
		for _, s := range rb.Subjects {
			out = append(out, Grant{Subject: normalize(s, rb.Namespace), Namespace: rb.Namespace,
				BindingKind: "RoleBinding", BindingNamespace: rb.Namespace, BindingName: rb.Name,
				RoleKind: rb.RoleRef.Kind, RoleName: rb.RoleRef.Name, Level: level})
		}
	}
	for _, crb := range rbac.ClusterRoleBindings {
		level, ok := levelOf(crb.RoleRef.Kind, "", crb.RoleRef.Name)
		if !ok {
			continue
		}
		for _, s := range crb.Subjects {
			out = append(out, Grant{Subject: normalize(s, ""), BindingKind: "ClusterRoleBinding", BindingName: crb.Name,
				RoleKind: crb.RoleRef.Kind, RoleName: crb.RoleRef.Name, Level: level})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// normalize fills the namespace of a service account subject written without one, which RBAC
// reads as the binding's namespace.
func normalize(s rbacv1.Subject, bindingNamespace string) rbacv1.Subject {
	if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
		s.Namespace = bindingNamespace
	}
	return s
}

func (g Grant) key() string {
	return strings.Join([]string{g.Namespace, g.Subject.Kind, g.Subject.Namespace, g.Subject.Name, g.BindingKind, g.BindingNamespace, g.BindingName}, "\x00")
}

// Username is how the API server names the subject in a request: the user or group name, or
// system:serviceaccount:<namespace>:<name> for a service account.
func Username(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return "system:serviceaccount:" + s.Namespace + ":" + s.Name
	}
	return s.Name
}
