package adminaccess

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

// BuiltinRoles are the ClusterRoles every grant may use; others need the operator's setting.
var BuiltinRoles = []string{"admin", "edit", "view"}

// roleAllowed says whether a grant may use the role.
func roleAllowed(role string, extra []string) bool {
	return slices.Contains(BuiltinRoles, role) || slices.Contains(extra, role)
}

// bindingName is the name of every binding a grant creates: stable, and short enough whatever
// the grant's name.
func bindingName(aa *rempartv1.AdminAccess) string {
	name := "rempart-aa-" + aa.Name
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(aa.Name))
	return "rempart-aa-" + aa.Name[:200] + "-" + hex.EncodeToString(sum[:8])
}

func bindingMeta(aa *rempartv1.AdminAccess, namespace string) metav1.ObjectMeta {
	m := apply.Generated("AdminAccess", aa, namespace, bindingName(aa), rempartv1.LabelAdminAccess, labelValue(aa.Name))
	m.Annotations = map[string]string{
		"rempart.io/approved-by": aa.Spec.ApprovedBy,
		"rempart.io/expires":     aa.Spec.Expires.UTC().Format("2006-01-02T15:04:05Z"),
		"rempart.io/reason":      aa.Spec.Reason,
	}
	return m
}

// labelValue fits a grant's name in a label value (63 characters).
func labelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:46] + "-" + hex.EncodeToString(sum[:8])
}

func subject(aa *rempartv1.AdminAccess) rbacv1.Subject {
	kind := rbacv1.UserKind
	if aa.Spec.Subject.Kind == rempartv1.AdminSubjectGroup {
		kind = rbacv1.GroupKind
	}
	return rbacv1.Subject{Kind: kind, APIGroup: rbacv1.GroupName, Name: aa.Spec.Subject.Name}
}

func role(aa *rempartv1.AdminAccess) string {
	if aa.Spec.Role == "" {
		return "admin"
	}
	return aa.Spec.Role
}

// roleBindings are the bindings of an active grant, one per namespace in scope.
func roleBindings(aa *rempartv1.AdminAccess, namespaces []string) []*rbacv1.RoleBinding {
	out := make([]*rbacv1.RoleBinding, 0, len(namespaces))
	for _, ns := range namespaces {
		out = append(out, &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: bindingMeta(aa, ns),
			Subjects:   []rbacv1.Subject{subject(aa)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role(aa)},
		})
	}
	return out
}

// clusterRoleBinding is the binding of an active break-glass grant.
func clusterRoleBinding(aa *rempartv1.AdminAccess) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: bindingMeta(aa, ""),
		Subjects:   []rbacv1.Subject{subject(aa)},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role(aa)},
	}
}
