package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/manifests"
	"github.com/rempart-io/rempart/test/testenv"
)

// testAdminRole stands for admin in envtest, where admin's rules are never aggregated.
const testAdminRole = "rempart-test-admin"

func ensureTestAdminRole(t *testing.T) {
	t.Helper()
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: testAdminRole}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"", "apps"}, Resources: []string{"configmaps", "deployments", "pods"}, Verbs: []string{"*"}},
		// What admin lets a tenant's administrator hand on: bindings, roles, service accounts
		// and their tokens, and reading secrets.
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts", "secrets"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
	}}
	if err := env.Client.Create(context.Background(), cr); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// The people of the grant tests: bob approves (config/rbac's approver role, through a group),
// requesters only ask.
const (
	approver        = "bob@acme.example"
	approversGroup  = "acme:approvers"
	requestersGroup = "acme:requesters"
)

// ensureGrantRoles installs config/rbac's requester and approver ClusterRoles, as a platform team
// would, and binds them to the test groups.
func ensureGrantRoles(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	objs, err := manifests.File(filepath.Join(repoRoot(t), "config", "rbac", "adminaccess_roles.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := manifests.Apply(ctx, env.Client, objs, "rempart-test", false); err != nil {
		t.Fatal(err)
	}
	for group, role := range map[string]string{approversGroup: "rempart-adminaccess-approver", requestersGroup: "rempart-adminaccess-requester"} {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role + "-test"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}}}
		if err := env.Client.Create(ctx, crb); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

func newAccess(name, subject string, tenants []rempartv1.TenantName, notBefore *time.Time, expires time.Time) *rempartv1.AdminAccess {
	aa := &rempartv1.AdminAccess{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rempartv1.AdminAccessSpec{
		Subject: rempartv1.AdminSubject{Name: subject}, Tenants: tenants, Role: testAdminRole,
		Reason:  "INC-4242: database failover stuck",
		Expires: metav1.NewTime(expires.Truncate(time.Second)),
	}}
	if notBefore != nil {
		nb := metav1.NewTime(notBefore.Truncate(time.Second))
		aa.Spec.NotBefore = &nb
	}
	return aa
}

// grantApproved asks for a grant as the test administrator, then has bob approve it.
func grantApproved(t *testing.T, aa *rempartv1.AdminAccess) {
	t.Helper()
	ensureGrantRoles(t)
	create(t, aa)
	if err := testenv.ApproveGrant(context.Background(), as(t, approver, approversGroup), aa.Name, approver); err != nil {
		t.Fatalf("bob approves %s: %v", aa.Name, err)
	}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(aa), aa); err != nil {
		t.Fatal(err)
	}
}

// can asks the API server's authorizer whether user may create deployments in namespace.
func can(t *testing.T, user, namespace string) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: "create", Group: "apps", Resource: "deployments"}}}
	if err := env.Client.Create(context.Background(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

func waitPhase(t *testing.T, name string, want rempartv1.AdminAccessPhase) *rempartv1.AdminAccess {
	t.Helper()
	var aa rempartv1.AdminAccess
	eventually(t, "AdminAccess "+name+" "+string(want), func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &aa); err != nil {
			return err
		}
		if aa.Status.Phase != want || aa.Status.ObservedGeneration != aa.Generation {
			return fmt.Errorf("phase %q at generation %d: %s", aa.Status.Phase, aa.Status.ObservedGeneration, aa.Status.Message)
		}
		return nil
	})
	return &aa
}

func sleepUntil(at time.Time) { time.Sleep(time.Until(at)) }

func TestAdminAccessGrantsForItsWindowOnly(t *testing.T) {
	ensureTestAdminRole(t)
	ns := residencyTenant(t, "granted")
	const alice = "alice@acme.example"
	start := time.Now().Add(3 * time.Second)
	expires := start.Add(5 * time.Second)
	aa := newAccess("alice-incident", alice, []rempartv1.TenantName{"granted"}, &start, expires)
	grantApproved(t, aa)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), aa) })
	start, expires = aa.Spec.NotBefore.Time, aa.Spec.Expires.Time

	waitPhase(t, "alice-incident", rempartv1.AdminAccessPending)
	if can(t, alice, ns) {
		t.Fatal("alice can act before the window opens")
	}
	sleepUntil(start.Add(time.Second))
	if !can(t, alice, ns) {
		t.Errorf("alice cannot act one second after the window opened")
	}
	// Alice really acts, as the API server sees her.
	if err := as(t, alice).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fix"}}); err != nil {
		t.Errorf("alice, granted admin, cannot create a ConfigMap: %v", err)
	}
	active := waitPhase(t, "alice-incident", rempartv1.AdminAccessActive)
	if active.Status.GrantedAt == nil || len(active.Status.Bindings) != 1 || active.Status.Bindings[0].Namespace != ns {
		t.Errorf("active status %+v", active.Status)
	}
	// She may not hand her rights on through the generated binding.
	var rb rbacv1.RoleBinding
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "rempart-aa-alice-incident"}, &rb); err != nil {
		t.Fatal(err)
	}
	rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"})
	if err := as(t, alice).Update(context.Background(), &rb); err == nil || !apierrors.IsForbidden(err) {
		t.Errorf("alice added a subject to her grant's binding: %v", err)
	}

	sleepUntil(expires.Add(time.Second))
	if can(t, alice, ns) {
		t.Errorf("alice can still act one second after the grant expired")
	}
	expired := waitPhase(t, "alice-incident", rempartv1.AdminAccessExpired)
	if expired.Status.ExpiredAt == nil || len(expired.Status.Bindings) != 0 {
		t.Errorf("expired status %+v", expired.Status)
	}
	if lag := expired.Status.ExpiredAt.Sub(expires); lag < 0 || lag > 2*time.Second {
		t.Logf("expiry recorded %v after the deadline", lag)
	}
	for _, reason := range []string{"Granted", "Expired"} {
		eventually(t, "an Event "+reason, func(ctx context.Context) error {
			var list eventsv1.EventList
			if err := env.Client.List(ctx, &list); err != nil {
				return err
			}
			for _, e := range list.Items {
				if e.Reason == reason && e.Regarding.Name == "alice-incident" &&
					strings.Contains(e.Note, alice) && strings.Contains(e.Note, "approved by bob@acme.example") && strings.Contains(e.Note, "INC-4242") {
					return nil
				}
			}
			return fmt.Errorf("none among %d events", len(list.Items))
		})
	}
}

func TestAdminAccessRevocationAndNewNamespaces(t *testing.T) {
	ensureTestAdminRole(t)
	ctx := context.Background()
	ns := residencyTenant(t, "revoked")
	const carol = "carol@acme.example"
	aa := newAccess("carol-oncall", carol, []rempartv1.TenantName{"revoked"}, nil, time.Now().Add(time.Hour))
	grantApproved(t, aa)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, aa) })
	waitPhase(t, "carol-oncall", rempartv1.AdminAccessActive)
	eventually(t, "carol granted", func(context.Context) error {
		if !can(t, carol, ns) {
			return fmt.Errorf("not yet")
		}
		return nil
	})

	// A namespace added to the tenant while the grant is active gets the binding too.
	updateTenant(t, "revoked", func(ti *rempartv1.TenantIsolation) {
		ti.Spec.Namespaces = append(ti.Spec.Namespaces, "revoked-extra")
	})
	eventually(t, "carol granted on the new namespace", func(context.Context) error {
		if !can(t, carol, "revoked-extra") {
			return fmt.Errorf("not yet")
		}
		return nil
	})

	eventually(t, "revoke", func(ctx context.Context) error {
		var current rempartv1.AdminAccess
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "carol-oncall"}, &current); err != nil {
			return err
		}
		current.Spec.Revoked = true
		return env.Client.Update(ctx, &current)
	})
	revoked := waitPhase(t, "carol-oncall", rempartv1.AdminAccessRevoked)
	if revoked.Status.RevokedAt == nil {
		t.Error("no revokedAt")
	}
	if can(t, carol, ns) || can(t, carol, "revoked-extra") {
		t.Error("carol can still act after revocation")
	}
	// A revoked grant stays revoked.
	revoked.Spec.Revoked = false
	if err := env.Client.Update(ctx, revoked); err == nil || !strings.Contains(err.Error(), "a revoked grant stays revoked") {
		t.Errorf("un-revoking: %v", err)
	}
}

func TestAdminAccessDeletedWhileActiveRemovesTheRights(t *testing.T) {
	ensureTestAdminRole(t)
	ctx := context.Background()
	ns := residencyTenant(t, "deleted-grant")
	const dave = "dave@acme.example"
	aa := newAccess("dave-fix", dave, []rempartv1.TenantName{"deleted-grant"}, nil, time.Now().Add(time.Hour))
	grantApproved(t, aa)
	waitPhase(t, "dave-fix", rempartv1.AdminAccessActive)
	if err := env.Client.Delete(ctx, aa); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dave's rights gone and the grant deleted", func(ctx context.Context) error {
		if can(t, dave, ns) {
			return fmt.Errorf("dave can still act")
		}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "dave-fix"}, &rempartv1.AdminAccess{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("grant still there: %v", err)
		}
		return nil
	})
}

// Approval is an act of an identified person: the API server records who asked, an approval is
// made by the approver in their own name with the approve verb, never by the requester or the
// subject, and an approved grant is frozen but for a shorter window and revocation.
func TestAdminAccessApproval(t *testing.T) {
	ensureGrantRoles(t)
	ctx := context.Background()
	const erin, frank = "erin@acme.example", "frank@acme.example"
	expires := time.Now().Add(time.Hour)
	erinAsks := as(t, erin, requestersGroup)

	// Created already approved: refused, whoever the approver named.
	pre := newAccess("frank-preapproved", frank, []rempartv1.TenantName{"anyone"}, nil, expires)
	pre.Spec.ApprovedBy = approver
	eventuallyRefused(t, erinAsks, pre, "created already approved", "kubectl rempart grant approve", "PAS-12.2")

	// The requester is the API server's word: a forged requestedBy is overwritten.
	req := newAccess("frank-fix", frank, []rempartv1.TenantName{"anyone"}, nil, expires)
	req.Spec.RequestedBy = "grace@acme.example"
	if err := erinAsks.Create(ctx, req); err != nil {
		t.Fatalf("erin asks for frank's access: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, req) })
	if req.Spec.RequestedBy != erin {
		t.Errorf("requestedBy %q, want %q recorded by the API server", req.Spec.RequestedBy, erin)
	}
	pending := waitPhase(t, "frank-fix", rempartv1.AdminAccessPending)
	if !strings.Contains(pending.Status.Message, "Awaiting approval") || can(t, frank, "anyone") {
		t.Errorf("unapproved grant: %s", pending.Status.Message)
	}
	// requestedBy never changes.
	pending.Spec.RequestedBy = "grace@acme.example"
	if err := env.Client.Update(ctx, pending); err == nil || !strings.Contains(err.Error(), "requestedBy is recorded by the API server") {
		t.Errorf("rewriting requestedBy: %v", err)
	}

	for _, tt := range []struct {
		who    client.Client
		inName string
		want   string
	}{
		// In someone else's name.
		{as(t, approver, approversGroup), "grace@acme.example", "approved in the name of grace@acme.example by bob@acme.example"},
		// Without the approve verb, though allowed to update grants.
		{as(t, "mallory@acme.example", requestersGroup), "mallory@acme.example", "mallory@acme.example may not approve"},
		// The requester, even holding the approve verb.
		{as(t, erin, requestersGroup, approversGroup), erin, "another person than requestedBy"},
		// The subject, even holding the approve verb.
		{as(t, frank, approversGroup), frank, "another person than the subject"},
	} {
		err := testenv.ApproveGrant(context.Background(), tt.who, "frank-fix", tt.inName)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("approval as %s: %v, want %q", tt.inName, err, tt.want)
		}
	}
	if err := testenv.ApproveGrant(context.Background(), as(t, approver, approversGroup), "frank-fix", approver); err != nil {
		t.Fatalf("bob approves: %v", err)
	}
	active := waitPhase(t, "frank-fix", rempartv1.AdminAccessActive)
	if active.Status.ApprovedAt == nil || active.Spec.ApprovedBy != approver {
		t.Errorf("approved grant %+v / %+v", active.Spec, active.Status)
	}

	// Frozen once approved: a change of scope is a new request; the window only shrinks.
	for what, change := range map[string]func(*rempartv1.AdminAccess){
		"an approved grant is frozen":         func(aa *rempartv1.AdminAccess) { aa.Spec.Role = "edit" },
		"subject, role, tenants, namespaces":  func(aa *rempartv1.AdminAccess) { aa.Spec.Subject.Name = "mallory@acme.example" },
		"never change; revoke it and request": func(aa *rempartv1.AdminAccess) { aa.Spec.Tenants = append(aa.Spec.Tenants, "other") },
		"break-glass never change":            func(aa *rempartv1.AdminAccess) { aa.Spec.Tenants = nil; aa.Spec.BreakGlass = true },
		"window can only shrink":              func(aa *rempartv1.AdminAccess) { aa.Spec.Expires = metav1.NewTime(aa.Spec.Expires.Add(time.Hour)) },
		"an approval is final":                func(aa *rempartv1.AdminAccess) { aa.Spec.ApprovedBy = "grace@acme.example" },
		"reason, enforcement":                 func(aa *rempartv1.AdminAccess) { aa.Spec.Reason = "something else entirely" },
	} {
		changed := active.DeepCopy()
		change(changed)
		if err := env.Client.Update(ctx, changed); err == nil || !strings.Contains(err.Error(), what) {
			t.Errorf("changing an approved grant: %v, want %q", err, what)
		}
	}
	shorter := active.DeepCopy()
	shorter.Spec.Expires = metav1.NewTime(active.Spec.Expires.Add(-10 * time.Minute))
	if err := erinAsks.Update(ctx, shorter); err != nil {
		t.Errorf("shortening an approved grant: %v", err)
	}

	// Asking for one's own access is the usual road; approving it is someone else's.
	own := newAccess("erin-self", erin, []rempartv1.TenantName{"anyone"}, nil, expires)
	if err := erinAsks.Create(ctx, own); err != nil {
		t.Errorf("erin asks for her own access: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, own) })

	// Roles beyond admin, edit and view need the operator's setting.
	wide := newAccess("frank-cluster-admin", frank, []rempartv1.TenantName{"anyone"}, nil, expires)
	wide.Spec.Role = "cluster-admin"
	eventuallyRefused(t, env.Client, wide, "role cluster-admin, which may not be granted")
	// A temporary grant lasts at most 24 hours.
	long := newAccess("frank-long", frank, []rempartv1.TenantName{"anyone"}, nil, time.Now().Add(25*time.Hour))
	eventuallyRefused(t, env.Client, long, "lasts longer than a temporary grant may (24h0m0s)")
}

// Break-glass is asked for only by a member of the break-glass group, for themselves; approved by
// someone else, it opens with a Warning Event and the metric the alert reads.
func TestAdminAccessBreakGlass(t *testing.T) {
	ensureGrantRoles(t)
	ctx := context.Background()
	const ops = "olga@acme.example"
	glass := func(name, subject string) *rempartv1.AdminAccess {
		aa := newAccess(name, subject, nil, nil, time.Now().Add(30*time.Minute))
		aa.Spec.BreakGlass, aa.Spec.Role = true, "view"
		return aa
	}
	eventuallyRefused(t, as(t, ops, requestersGroup), glass("glass-outsider", ops), "only a member of group rempart:break-glass asks for it")
	eventuallyRefused(t, as(t, ops, requestersGroup, "rempart:break-glass"), glass("glass-for-other", "pete@acme.example"), "for themselves")
	aa := glass("glass-olga", ops)
	if err := as(t, ops, requestersGroup, "rempart:break-glass").Create(ctx, aa); err != nil {
		t.Fatalf("olga breaks the glass: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, aa) })
	waitPhase(t, aa.Name, rempartv1.AdminAccessPending)
	if err := testenv.ApproveGrant(context.Background(), as(t, approver, approversGroup), aa.Name, approver); err != nil {
		t.Fatal(err)
	}
	active := waitPhase(t, aa.Name, rempartv1.AdminAccessActive)
	if len(active.Status.Bindings) != 1 || active.Status.Bindings[0].Kind != "ClusterRoleBinding" {
		t.Errorf("break-glass bindings %+v", active.Status.Bindings)
	}
	eventually(t, "a BreakGlass Warning", func(ctx context.Context) error {
		var list eventsv1.EventList
		if err := env.Client.List(ctx, &list); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == "BreakGlass" && e.Type == corev1.EventTypeWarning && e.Regarding.Name == aa.Name && strings.Contains(e.Note, "approved by "+approver) {
				return nil
			}
		}
		return fmt.Errorf("none")
	})
	if v := gauge(t, "rempart_adminaccess_break_glass_active", map[string]string{"adminaccess": aa.Name}); v != 1 {
		t.Errorf("break-glass gauge %v while open, want 1", v)
	}
	// Least privilege is suspended while it is open, and the grant says so.
	if c := active.Status.Control("access.scope"); c.State != rempartv1.ControlNonCompliant || !strings.Contains(c.Message, "Break-glass is open") {
		t.Errorf("access.scope of an open break-glass: %s %s", c.State, c.Message)
	}
	if err := env.Client.Delete(ctx, aa); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the break-glass binding gone", func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: active.Status.Bindings[0].Name}, &rbacv1.ClusterRoleBinding{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there: %v", err)
		}
		return nil
	})
}

// A tenant user able to write RoleBindings cannot hand out admin rights outside an AdminAccess in
// an enforced tenant; in an audited one it can, and the tenant reports it, naming the binding.
func TestUnmanagedAdminBindings(t *testing.T) {
	ctx := context.Background()
	enforced := residencyTenant(t, "guarded")
	audited := "guarded-audit-app"
	ti := newTenant("guarded-audit", rempartv1.EnvironmentProduction, rempartv1.NamespaceName(audited))
	ti.Spec.Enforcement = rempartv1.EnforcementAudit
	// In Audit mode the operator writes no namespace: the platform team made this one.
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: audited, Labels: map[string]string{rempartv1.LabelTenant: "guarded-audit"}}})
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, "guarded-audit") })

	writer := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "rolebinding-writer-for-test"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"rolebindings"}, Verbs: []string{"get", "create", "update"}}}}
	create(t, writer)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, writer) })
	for _, ns := range []string{enforced, audited} {
		create(t, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lead-writes-bindings"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: writer.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "lead@acme.example"}}})
	}
	lead := as(t, "lead@acme.example")
	adminFor := func(ns, name, role string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory@acme.example"}}}
	}
	eventuallyRefused(t, lead, adminFor(enforced, "mallory-admin", "admin"), "binds ClusterRole admin", "AdminAccess", "FT-CLD-16")
	if err := lead.Create(ctx, adminFor(enforced, "mallory-view", "view")); err != nil {
		t.Errorf("binding view was refused: %v", err)
	}
	// A ClusterRole that grants administration is guarded like admin.
	eventuallyRefused(t, lead, adminFor(enforced, "mallory-writer", writer.Name), "binds ClusterRole "+writer.Name)

	// In Audit mode the binding goes through, and the tenant names it.
	eventually(t, "mallory's binding in the audited tenant", func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(lead.Create(ctx, adminFor(audited, "mallory-admin", "admin")))
	})
	eventually(t, "the audited tenant reports mallory", func(ctx context.Context) error {
		var got rempartv1.TenantIsolation
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "guarded-audit"}, &got); err != nil {
			return err
		}
		c := got.Status.Control("access.privileged-subjects")
		if c.State != rempartv1.ControlNonCompliant || !strings.Contains(c.Message, "User mallory@acme.example (admin, ClusterRole/admin, via RoleBinding "+audited+"/mallory-admin)") {
			t.Logf("%s: %s (inventory %+v)", c.State, c.Message, got.Status.PrivilegedSubjects)
			return fmt.Errorf("%s: %s", c.State, c.Message)
		}
		return nil
	})

	// A grant through an AdminAccess is in the inventory, named, and not an offence.
	ensureTestAdminRole(t)
	aa := newAccess("lead-guarded", "lead@acme.example", []rempartv1.TenantName{"guarded"}, nil, time.Now().Add(time.Hour))
	grantApproved(t, aa)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, aa) })
	eventually(t, "the enforced tenant's inventory", func(ctx context.Context) error {
		var got rempartv1.TenantIsolation
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "guarded"}, &got); err != nil {
			return err
		}
		var managed, unmanaged bool
		for _, s := range got.Status.PrivilegedSubjects {
			managed = managed || (s.AdminAccess == "lead-guarded" && s.Name == "lead@acme.example")
			unmanaged = unmanaged || (s.AdminAccess == "" && s.Binding.Name == "lead-writes-bindings")
		}
		c := got.Status.Control("access.privileged-subjects")
		if !managed || !unmanaged || c.State != rempartv1.ControlNonCompliant || strings.Contains(c.Message, "lead-guarded") ||
			!strings.Contains(c.Message, "RoleBinding "+enforced+"/lead-writes-bindings") {
			return fmt.Errorf("inventory %+v; control %s: %s", got.Status.PrivilegedSubjects, c.State, c.Message)
		}
		return nil
	})
}

// A standing grant whose yearly review is overdue passes the API server, which has no clock, and
// is refused by the operator: nothing granted, an Event says why.
func TestAdminAccessOverdueReviewIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "stale-review")
	ensureTestAdminRole(t)
	aa := newAccess("stale-oncall", "ivan@acme.example", []rempartv1.TenantName{"stale-review"}, nil, time.Now().Add(30*24*time.Hour))
	aa.Spec.Standing = true
	reviewed := metav1.NewTime(time.Now().Add(-400 * 24 * time.Hour).Truncate(time.Second))
	aa.Spec.ReviewedAt = &reviewed
	grantApproved(t, aa)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, aa) })
	refused := waitPhase(t, "stale-oncall", rempartv1.AdminAccessRefused)
	if !strings.Contains(refused.Status.Message, "more than a year ago") || len(refused.Status.Bindings) != 0 {
		t.Errorf("refused status %+v", refused.Status)
	}
	assertCatalogued(t, refused.Status.Controls)
	if c := refused.Status.Control("access.review"); c.State != rempartv1.ControlNonCompliant || !strings.Contains(c.Message, "FT-CLD-17") {
		t.Errorf("review control %+v", c)
	}
	if can(t, "ivan@acme.example", ns) {
		t.Error("ivan was granted rights on an overdue review")
	}
	eventually(t, "a Refused event", func(ctx context.Context) error {
		var list eventsv1.EventList
		if err := env.Client.List(ctx, &list); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == "Refused" && e.Regarding.Name == "stale-oncall" && e.Type == corev1.EventTypeWarning {
				return nil
			}
		}
		return fmt.Errorf("none")
	})
}

// A grant never names the operator's namespace, nor a namespace of a tenant it does not name
// (FT-CLD-16); the cluster's own namespaces are refused by the CRD itself.
func TestAdminAccessStaysOutOfOthersNamespaces(t *testing.T) {
	ensureTestAdminRole(t)
	create(t, newTenant("scoped", rempartv1.EnvironmentProduction, "scoped-web"))
	create(t, newTenant("scoped-other", rempartv1.EnvironmentProduction, "scoped-other-app"))
	t.Cleanup(func() { deleteTenant(t, "scoped"); deleteTenant(t, "scoped-other") })
	waitCompliant(t, "scoped", "True")
	waitCompliant(t, "scoped-other", "True")
	expires := time.Now().Add(time.Hour)
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "scoped-platform-tool"}})
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "scoped-platform-tool"}})
	})
	for ns, want := range map[rempartv1.NamespaceName]string{
		"scoped-other-app":     "scoped-other-app (tenant scoped-other)",
		operatorNamespace:      operatorNamespace, // reserved, and no tenant's: either policy may answer first
		"scoped-platform-tool": "scoped-platform-tool (no tenant)",
		"not-yet-created":      "not-yet-created (no tenant)",
	} {
		aa := newAccess("reach-"+string(ns), "carol@acme.example", []rempartv1.TenantName{"scoped"}, nil, expires)
		aa.Spec.Namespaces = []rempartv1.NamespaceName{"scoped-web", ns}
		eventuallyRefused(t, env.Client, aa, "FT-CLD-16", want)
	}
	// Namespaces without their tenants: refused by the CRD.
	bare := newAccess("bare-namespaces", "carol@acme.example", nil, nil, expires)
	bare.Spec.Namespaces = []rempartv1.NamespaceName{"scoped-web"}
	eventuallyRefused(t, env.Client, bare, "name those tenants too")

	// Narrowed to one namespace of a named tenant: only there.
	both := newAccess("both-tenants", "carol@acme.example", []rempartv1.TenantName{"scoped", "scoped-other"}, nil, expires)
	both.Spec.Namespaces = []rempartv1.NamespaceName{"scoped-other-app"}
	grantApproved(t, both)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), both) })
	active := waitPhase(t, both.Name, rempartv1.AdminAccessActive)
	if len(active.Status.Bindings) != 1 || active.Status.Bindings[0].Namespace != "scoped-other-app" {
		t.Errorf("a grant narrowed to scoped-other-app holds bindings %+v", active.Status.Bindings)
	}
	// A namespace that leaves the grant's tenants leaves the grant.
	updateTenant(t, "scoped-other", func(ti *rempartv1.TenantIsolation) {
		ti.Spec.Namespaces = []rempartv1.NamespaceName{"scoped-other-db"}
	})
	eventually(t, "the binding in the released namespace removed", func(ctx context.Context) error {
		var got rempartv1.AdminAccess
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(both), &got); err != nil {
			return err
		}
		if len(got.Status.Bindings) != 0 {
			return fmt.Errorf("bindings %+v", got.Status.Bindings)
		}
		return nil
	})
}
