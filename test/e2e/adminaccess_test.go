package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers"
	"github.com/rempart-io/rempart/test/testenv"
)

func canCreateDeployments(t *testing.T, c client.Client, user, namespace string) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: "create", Group: "apps", Resource: "deployments"}}}
	if err := c.Create(context.Background(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

func grant(name, subject, tenant string, expires time.Time) *rempartv1.AdminAccess {
	return &rempartv1.AdminAccess{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rempartv1.AdminAccessSpec{
		Subject: rempartv1.AdminSubject{Name: subject}, Tenants: []rempartv1.TenantName{rempartv1.TenantName(tenant)},
		Reason: "INC-7: payment queue stuck", Expires: metav1.NewTime(expires.Truncate(time.Second)),
	}}
}

// The approver of the end-to-end grants, holding config/rbac's approver role through a group.
const (
	approver       = "head-of-ops@provider.example"
	approversGroup = "provider:approvers"
)

// impersonate returns a client acting as user in groups, as the API server sees a person.
func impersonate(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requestApproved creates a grant as the administrator and has the approver approve it in their
// own name, as kubectl rempart grant approve does.
func requestApproved(t *testing.T, c client.Client, aa *rempartv1.AdminAccess) {
	t.Helper()
	if err := c.Create(context.Background(), aa); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), aa) })
	approve(t, c, aa)
}

// approve has the approver, holding config/rbac's approver role through a group, approve a grant
// in their own name.
func approve(t *testing.T, c client.Client, aa *rempartv1.AdminAccess) {
	t.Helper()
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-approvers"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rempart-adminaccess-approver"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: approversGroup}}}
	if err := c.Create(context.Background(), crb); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	bob := impersonate(t, approver, approversGroup)
	// Retried while the new binding reaches the authorizer.
	waitFor(t, "the approval of "+aa.Name, 30*time.Second, func(ctx context.Context) (bool, error) {
		err := testenv.ApproveGrant(ctx, bob, aa.Name, approver)
		return err == nil, err
	})
}

// With the real admin role (aggregated by the controller-manager), a grant gives its subject the
// rights on the tenant for its window; restarting the operator in the middle neither drops a grant
// nor extends one whose end passed while it was down.
func TestAdminAccessSurvivesAnOperatorRestart(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := residencyTenant(t, c, "oncall-shop", []rempartv1.Jurisdiction{"EU"})
	start := time.Now()
	long := grant("zoe-incident", "zoe@provider.example", "oncall-shop", start.Add(40*time.Second))
	short := grant("yann-incident", "yann@provider.example", "oncall-shop", start.Add(12*time.Second))
	for _, aa := range []*rempartv1.AdminAccess{long, short} {
		requestApproved(t, c, aa)
	}
	for _, user := range []string{"zoe@provider.example", "yann@provider.example"} {
		waitFor(t, user+" granted", 30*time.Second, func(context.Context) (bool, error) {
			return canCreateDeployments(t, c, user, ns), nil
		})
	}

	operator.Stop()
	time.Sleep(time.Until(short.Spec.Expires.Add(2 * time.Second)))
	// Nobody removed yann's binding while the operator was down; zoe's grant was not dropped.
	if !canCreateDeployments(t, c, "zoe@provider.example", ns) {
		t.Error("zoe's grant was dropped while the operator was down")
	}
	restarted, err := cluster.StartOperator(ctx, operatorBinary, evidenceArgs...)
	if err != nil {
		t.Fatal(err)
	}
	operator = restarted
	waitFor(t, "yann's expired grant removed after the restart", 30*time.Second, func(context.Context) (bool, error) {
		return !canCreateDeployments(t, c, "yann@provider.example", ns), nil
	})
	if !canCreateDeployments(t, c, "zoe@provider.example", ns) {
		t.Error("zoe's grant was dropped by the restart")
	}
	time.Sleep(time.Until(long.Spec.Expires.Add(time.Second)))
	if canCreateDeployments(t, c, "zoe@provider.example", ns) {
		t.Error("zoe can still act one second after her grant expired: the restart extended it")
	}
	var got rempartv1.AdminAccess
	waitFor(t, "zoe's grant Expired", 30*time.Second, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(long), &got); err != nil {
			return false, err
		}
		return got.Status.Phase == rempartv1.AdminAccessExpired && got.Status.GrantedAt != nil && got.Status.ExpiredAt != nil, nil
	})
}

// A member of the break-glass group asks for break-glass for herself; once another person
// approves it, she holds the role on the whole cluster, and the metrics the RempartBreakGlassActive
// alert reads say so, as those of RempartNoLeader say a replica leads.
func TestBreakGlassIsApprovedAndAlerted(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	const olga = "olga@provider.example"
	requesters := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-break-glass-requesters"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rempart-adminaccess-requester"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "rempart:break-glass"}}}
	if err := c.Create(ctx, requesters); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), requesters) })
	aa := &rempartv1.AdminAccess{ObjectMeta: metav1.ObjectMeta{Name: "olga-glass"}, Spec: rempartv1.AdminAccessSpec{
		Subject: rempartv1.AdminSubject{Name: olga}, BreakGlass: true, Role: "view",
		Reason: "INC-12: the platform's SSO is down", Expires: metav1.NewTime(time.Now().Add(20 * time.Minute).Truncate(time.Second))}}
	if err := impersonate(t, olga, "rempart:break-glass").Create(ctx, aa); err != nil {
		t.Fatalf("olga breaks the glass: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), aa) })
	// Not granted before another person approves.
	time.Sleep(2 * time.Second)
	if err := c.Get(ctx, client.ObjectKeyFromObject(aa), aa); err != nil {
		t.Fatal(err)
	}
	if aa.Status.Phase == rempartv1.AdminAccessActive {
		t.Fatal("break-glass is active without approval")
	}
	approve(t, c, aa)
	waitFor(t, "break-glass active", 30*time.Second, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(aa), aa); err != nil {
			return false, err
		}
		return aa.Status.Phase == rempartv1.AdminAccessActive && len(aa.Status.Bindings) == 1, nil
	})
	checkAlertsAgainstMetrics(t, "RempartBreakGlassActive", "RempartNoLeader")
	_, body := get(t, operator.MetricsURL+"/metrics")
	if want := `rempart_adminaccess_break_glass_active{adminaccess="olga-glass",approved_by="` + approver + `",subject="` + olga + `"} 1`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
