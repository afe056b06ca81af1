package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/adminaccess"
)

func roleBindingTo(ns, name string, role rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, RoleRef: role, Subjects: subjects}
}

func clusterRoleRef(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

// A tenant's administrator, holding an approved AdminAccess, cannot hand rights on outside it:
// no system: or foreign subject, no Role bound to a person, no admin-level Role, no token that
// outlives the grant. What the administrator may create (a Role for an application's service
// account) is accounted for by the grant while it is open, and removed when it ends.
func TestGrantHoldersCannotOpenBackDoors(t *testing.T) {
	ensureTestAdminRole(t)
	ctx := context.Background()
	ns := residencyTenant(t, "backdoor")
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "backdoor-outside"}})
	t.Cleanup(func() {
		_ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "backdoor-outside"}})
	})
	const carol = "carol@backdoor.example"
	aa := newAccess("carol-backdoor", carol, []rempartv1.TenantName{"backdoor"}, nil, time.Now().Add(time.Hour))
	grantApproved(t, aa)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, aa) })
	waitPhase(t, aa.Name, rempartv1.AdminAccessActive)
	eventually(t, "carol granted", func(context.Context) error {
		if !can(t, carol, ns) {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	c := as(t, carol)

	// Refused, whatever the role: subjects beyond the tenant.
	for _, s := range []rbacv1.Subject{
		group("system:authenticated"), group("system:serviceaccounts"), group("system:serviceaccounts:backdoor-outside"),
		user("system:serviceaccount:backdoor-outside:default"), user("system:anonymous"),
		{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: "backdoor-outside"},
	} {
		eventuallyRefused(t, c, roleBindingTo(ns, "wide-"+strings.ToLower(s.Kind), clusterRoleRef("view"), s), "reach beyond the tenant", "FT-CLD-16")
	}
	// An admin-level Role, judged by its rules.
	for name, rule := range map[string]rbacv1.PolicyRule{
		"reads-secrets":  {APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		"writes-rbac":    {APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"rolebindings"}, Verbs: []string{"create"}},
		"mints-tokens":   {APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
		"any-verb":       {APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"*"}},
		"execs-in-pods":  {APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
		"every-resource": {APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get"}},
	} {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: []rbacv1.PolicyRule{rule}}
		err := c.Create(ctx, role)
		// Rules carol does not hold herself are refused by RBAC before admission: either way,
		// the Role does not exist.
		if err == nil {
			t.Errorf("carol created Role %s with %v", name, rule)
			continue
		}
		if !apierrors.IsForbidden(err) {
			t.Errorf("Role %s: %v", name, err)
		}
	}
	secretsReader := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reads-secrets"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}}
	eventuallyRefused(t, c, secretsReader, "gives admin rights", "AdminAccess only (FT-CLD-16)")

	// An application's Role, bound to its service account: allowed, and stamped with carol.
	appRole := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-writer"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create", "update"}}}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "helper"}}
	appBinding := roleBindingTo(ns, "helper-writes", rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "app-writer"},
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "helper"})
	for _, obj := range []client.Object{appRole, sa, appBinding} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("carol creates %T %s: %v", obj, obj.GetName(), err)
		}
		if obj.GetAnnotations()[adminaccess.AnnotationCreatedBy] != carol || obj.GetLabels()[adminaccess.LabelCreatorStamped] != "true" {
			t.Errorf("%T %s is not stamped with its creator: %v %v", obj, obj.GetName(), obj.GetLabels(), obj.GetAnnotations())
		}
	}
	// The stamp cannot be rewritten to keep the object past the grant.
	sa.Annotations[adminaccess.AnnotationCreatedBy] = "platform@backdoor.example"
	if err := c.Update(ctx, sa); err == nil || !strings.Contains(err.Error(), "records who created it") {
		t.Errorf("rewriting the creator: %v", err)
	}
	// The same Role bound to a person: people get rights through an AdminAccess.
	eventuallyRefused(t, c, roleBindingTo(ns, "friend-writes", appBinding.RoleRef, user("mallory@backdoor.example")), "people receive rights on a tenant through an AdminAccess")

	// Tokens: never a long-lived Secret, never longer than an hour.
	tokenSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "helper-token",
		Annotations: map[string]string{corev1.ServiceAccountNameKey: "helper"}}, Type: corev1.SecretTypeServiceAccountToken}
	eventuallyRefused(t, c, tokenSecret, "never expires", "FT-CLD-16")
	long := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](7200)}}
	if err := c.SubResource("token").Create(ctx, sa, long); err == nil || !strings.Contains(err.Error(), "at most 3600 seconds") {
		t.Errorf("a two-hour token: %v", err)
	}
	short := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
	if err := c.SubResource("token").Create(ctx, sa, short); err != nil {
		t.Errorf("a ten-minute token: %v", err)
	}

	// While the grant is open, the service account's rights are accounted for by it.
	helper := "system:serviceaccount:" + ns + ":helper"
	eventually(t, "the helper accounted for by carol's grant", func(ctx context.Context) error {
		var ti rempartv1.TenantIsolation
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "backdoor"}, &ti); err != nil {
			return err
		}
		i := slices.IndexFunc(ti.Status.PrivilegedSubjects, func(s rempartv1.PrivilegedSubject) bool { return s.Name == helper })
		if i < 0 || ti.Status.PrivilegedSubjects[i].AdminAccess != aa.Name {
			return fmt.Errorf("inventory %+v", ti.Status.PrivilegedSubjects)
		}
		if c := ti.Status.Control("access.privileged-subjects"); c.State != rempartv1.ControlCompliant {
			return fmt.Errorf("%s: %s", c.State, c.Message)
		}
		return nil
	})

	// Revoked: the grant's bindings go, and so does what carol created with them.
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(aa), aa); err != nil {
		t.Fatal(err)
	}
	aa.Spec.Revoked = true
	if err := env.Client.Update(ctx, aa); err != nil {
		t.Fatal(err)
	}
	revoked := waitPhase(t, aa.Name, rempartv1.AdminAccessRevoked)
	var removed []string
	for _, r := range revoked.Status.Removed {
		removed = append(removed, r.Kind+"/"+r.Name)
	}
	slices.Sort(removed)
	if want := []string{"Role/app-writer", "RoleBinding/helper-writes", "ServiceAccount/helper"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, obj := range []client.Object{&rbacv1.Role{}, &corev1.ServiceAccount{}, &rbacv1.RoleBinding{}} {
		name := map[string]string{"*v1.Role": "app-writer", "*v1.ServiceAccount": "helper", "*v1.RoleBinding": "helper-writes"}[fmt.Sprintf("%T", obj)]
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s outlived the grant: %v", obj, name, err)
		}
	}
	eventually(t, "the Revoked event lists what was removed", func(ctx context.Context) error {
		var list eventsv1.EventList
		if err := env.Client.List(ctx, &list); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == "Revoked" && e.Regarding.Name == aa.Name && strings.Contains(e.Note, "RoleBinding "+ns+"/helper-writes") {
				return nil
			}
		}
		return fmt.Errorf("none")
	})
}

// In an audited tenant nothing is refused, and the inventory tells the truth: broad system:
// subjects are reported, and a binding dressed as a grant's (labels, name, owner reference) is
// not trusted as managed.
func TestInventoryReportsBroadSubjectsAndForgedGrantBindings(t *testing.T) {
	ensureTestAdminRole(t)
	ctx := context.Background()
	ns := "wideopen-app"
	ti := newTenant("wideopen", rempartv1.EnvironmentProduction, rempartv1.NamespaceName(ns))
	ti.Spec.Enforcement = rempartv1.EnforcementAudit
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{rempartv1.LabelTenant: "wideopen"}}})
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "wideopen") })

	// A real, approved grant on another tenant, whose binding is copied here.
	other := residencyTenant(t, "wideopen-other")
	aa := newAccess("dan-other", "dan@wideopen.example", []rempartv1.TenantName{"wideopen-other"}, nil, time.Now().Add(time.Hour))
	grantApproved(t, aa)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, aa) })
	active := waitPhase(t, aa.Name, rempartv1.AdminAccessActive)
	var real rbacv1.RoleBinding
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: other, Name: active.Status.Bindings[0].Name}, &real); err != nil {
		t.Fatal(err)
	}
	// Its exact copy, labels and owner reference included, is removed by the operator: the grant
	// holds no binding in this namespace.
	copied := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: real.Name, Labels: real.Labels, OwnerReferences: real.OwnerReferences},
		RoleRef: real.RoleRef, Subjects: real.Subjects}
	create(t, copied)
	eventually(t, "the copied grant binding removed", func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(copied), &rbacv1.RoleBinding{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there: %v", err)
		}
		return nil
	})
	// An owner reference alone proves nothing.
	forged := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "owned-by-a-grant", OwnerReferences: real.OwnerReferences},
		RoleRef: real.RoleRef, Subjects: real.Subjects}
	create(t, forged)
	create(t, roleBindingTo(ns, "all-service-accounts", clusterRoleRef("edit"), group("system:serviceaccounts")))
	create(t, roleBindingTo(ns, "sa-as-user", clusterRoleRef("edit"), user("system:serviceaccount:elsewhere:ci")))

	var seen string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last privileged-subjects control: %s", seen)
		}
	})
	eventually(t, "the audited tenant reports all three", func(ctx context.Context) error {
		var got rempartv1.TenantIsolation
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "wideopen"}, &got); err != nil {
			return err
		}
		c := got.Status.Control("access.privileged-subjects")
		seen = string(c.State) + ": " + c.Message
		for _, want := range []string{
			"User dan@wideopen.example (admin, ClusterRole/" + testAdminRole + ", via RoleBinding " + ns + "/owned-by-a-grant)",
			"Group system:serviceaccounts (write, ClusterRole/edit, via RoleBinding " + ns + "/all-service-accounts)",
			"User system:serviceaccount:elsewhere:ci (write, ClusterRole/edit, via RoleBinding " + ns + "/sa-as-user)",
		} {
			if c.State != rempartv1.ControlNonCompliant || !strings.Contains(c.Message, want) {
				return fmt.Errorf("%s: %s; want %q", c.State, c.Message, want)
			}
		}
		return nil
	})
}
