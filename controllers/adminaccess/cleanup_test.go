package adminaccess

import (
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func stampedBinding(name, namespace, creator, groups string, created time.Time) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, CreationTimestamp: metav1.NewTime(created),
		Labels:      map[string]string{LabelCreatorStamped: "true"},
		Annotations: map[string]string{AnnotationCreatedBy: creator, AnnotationCreatedByGroups: groups}}}
}

func activeGrant(name, uid string, subject rempartv1.AdminSubject, grantedAt time.Time, namespaces ...string) rempartv1.AdminAccess {
	aa := rempartv1.AdminAccess{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(uid)}, Spec: rempartv1.AdminAccessSpec{Subject: subject}}
	aa.Status.Phase = rempartv1.AdminAccessActive
	aa.Status.GrantedAt = &metav1.Time{Time: grantedAt}
	for _, ns := range namespaces {
		aa.Status.Bindings = append(aa.Status.Bindings, rempartv1.ObjectReference{Kind: "RoleBinding", Namespace: ns, Name: bindingName(&aa)})
	}
	return aa
}

func names(objs []client.Object) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		out[o.GetNamespace()+"/"+o.GetName()] = true
	}
	return out
}

func TestLeftoversAreWhatTheSubjectCreatedWhileTheGrantWasOpen(t *testing.T) {
	granted := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	end := granted.Add(time.Hour)
	alice := rempartv1.AdminSubject{Kind: rempartv1.AdminSubjectUser, Name: "alice"}
	aa := activeGrant("alice-inc", "u1", alice, granted, "shop", "shop-db")
	stamped := []client.Object{
		stampedBinding("friend", "shop", "alice", "", granted.Add(10*time.Minute)),
		stampedBinding("in-db", "shop-db", "alice", "", granted.Add(20*time.Minute)),
		stampedBinding("before", "shop", "alice", "", granted.Add(-time.Hour)),
		stampedBinding("after", "shop", "alice", "", end.Add(time.Hour)),
		stampedBinding("bobs", "shop", "bob", "", granted.Add(10*time.Minute)),
		stampedBinding("elsewhere", "other", "alice", "", granted.Add(10*time.Minute)),
		stampedBinding("still-covered", "shop-db", "alice", "", granted.Add(30*time.Minute)),
	}
	// Another Active grant of alice on shop-db keeps what she created there.
	other := activeGrant("alice-oncall", "u2", alice, granted, "shop-db")
	got := names(leftovers(&aa, NewGrantIndex([]rempartv1.AdminAccess{aa, other}), stamped, end))
	want := map[string]bool{"shop/friend": true}
	if len(got) != len(want) || !got["shop/friend"] {
		t.Errorf("leftovers %v, want %v", got, want)
	}
	// Without the other grant, both of alice's objects in the window go.
	got = names(leftovers(&aa, NewGrantIndex([]rempartv1.AdminAccess{aa}), stamped, end))
	if len(got) != 3 || !got["shop/friend"] || !got["shop-db/in-db"] || !got["shop-db/still-covered"] {
		t.Errorf("leftovers %v, want shop/friend, shop-db/in-db and shop-db/still-covered", got)
	}
	// A grant never opened left nothing.
	never := aa.DeepCopy()
	never.Status.GrantedAt = nil
	if got := leftovers(never, NewGrantIndex(nil), stamped, end); len(got) != 0 {
		t.Errorf("a grant never opened has leftovers %v", names(got))
	}
	// A Group grant: what a member created, recorded with the group.
	team := activeGrant("team", "u3", rempartv1.AdminSubject{Kind: rempartv1.AdminSubjectGroup, Name: "oncall"}, granted, "shop")
	byMember := stampedBinding("by-member", "shop", "carol", "devs,oncall", granted.Add(time.Minute))
	if got := names(leftovers(&team, NewGrantIndex(nil), []client.Object{byMember, stamped[0]}, end)); len(got) != 1 || !got["shop/by-member"] {
		t.Errorf("group grant leftovers %v, want shop/by-member", got)
	}
}

func TestAccountingGrantTrustsOnlyTheOperatorsOwnBindings(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	alice := rempartv1.AdminSubject{Kind: rempartv1.AdminSubjectUser, Name: "alice"}
	aa := activeGrant("alice-inc", "u1", alice, now, "shop")
	real := roleBindings(&aa, []string{"shop"})[0]
	if got := NewGrantIndex([]rempartv1.AdminAccess{aa}).AccountingGrant(real, "RoleBinding"); got != "alice-inc" {
		t.Errorf("the operator's binding is accounted for by %q", got)
	}
	// The same labels, name and owner reference, in a namespace the grant does not hold.
	forged := roleBindings(&aa, []string{"other"})[0]
	if got := NewGrantIndex([]rempartv1.AdminAccess{aa}).AccountingGrant(forged, "RoleBinding"); got != "" {
		t.Errorf("a forged binding in another namespace is accounted for by %q", got)
	}
	// An owner reference with the wrong UID.
	wrongUID := real.DeepCopy()
	wrongUID.OwnerReferences[0].UID = "someone-else"
	if got := NewGrantIndex([]rempartv1.AdminAccess{aa}).AccountingGrant(wrongUID, "RoleBinding"); got != "" {
		t.Errorf("a binding owned by another UID is accounted for by %q", got)
	}
	// The grant has ended.
	ended := aa.DeepCopy()
	ended.Status.Phase = rempartv1.AdminAccessExpired
	if got := NewGrantIndex([]rempartv1.AdminAccess{*ended}).AccountingGrant(real, "RoleBinding"); got != "" {
		t.Errorf("an expired grant accounts for %q", got)
	}
	// What alice created while her grant is open, in its namespace; not bob's.
	if got := NewGrantIndex([]rempartv1.AdminAccess{aa}).AccountingGrant(stampedBinding("app", "shop", "alice", "", now), "RoleBinding"); got != "alice-inc" {
		t.Errorf("alice's own binding is accounted for by %q", got)
	}
	if got := NewGrantIndex([]rempartv1.AdminAccess{aa}).AccountingGrant(stampedBinding("app", "shop", "bob", "", now), "RoleBinding"); got != "" {
		t.Errorf("bob's binding is accounted for by %q", got)
	}
}
