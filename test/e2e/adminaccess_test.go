package e2e

import (
	"context"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
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
		Reason: "INC-7: payment queue stuck", ApprovedBy: "head-of-ops@provider.example", Expires: metav1.NewTime(expires.Truncate(time.Second)),
	}}
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
		if err := c.Create(ctx, aa); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), aa) })
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
	restarted, err := cluster.StartOperator(ctx, operatorBinary)
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
