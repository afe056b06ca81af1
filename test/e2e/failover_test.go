package e2e

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/localcluster"
)

// leaseDuration is the operator's default --leader-lease-duration, the bound README states.
const leaseDuration = 10 * time.Second

// Two replicas with leader election; the leader is killed (SIGKILL: no lease released, no
// reconcile finished) just before a grant ends. The standby takes the lease once it lapses and
// revokes the grant: the rights outlive the grant by about a lease duration, never indefinitely.
func TestStandbyRevokesWhenTheLeaderDies(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := residencyTenant(t, c, "failover-shop", []rempartv1.Jurisdiction{"EU"})
	standby, err := cluster.StartOperator(ctx, operatorBinary, evidenceArgs...)
	if err != nil {
		t.Fatal(err)
	}
	leader := operator
	holder := func(ctx context.Context) string {
		var lease coordinationv1.Lease
		if err := c.Get(ctx, client.ObjectKey{Namespace: localcluster.OperatorNamespace, Name: "rempart.rempart.io"}, &lease); err != nil || lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}
	first := holder(ctx)
	if first == "" {
		t.Fatal("no replica holds the lease")
	}

	const user = "una@provider.example"
	aa := grant("una-incident", user, "failover-shop", time.Now().Add(25*time.Second))
	requestApproved(t, c, aa)
	waitFor(t, "una granted", 30*time.Second, func(context.Context) (bool, error) { return canCreateDeployments(t, c, user, ns), nil })

	// Kill the leader two seconds before the grant ends.
	time.Sleep(time.Until(aa.Spec.Expires.Add(-2 * time.Second)))
	leader.Kill()
	operator = standby // the suite's operator from now on
	killed := time.Now()
	waitFor(t, "una's rights removed by the standby", 2*leaseDuration+20*time.Second, func(context.Context) (bool, error) {
		return !canCreateDeployments(t, c, user, ns), nil
	})
	lag := time.Since(aa.Spec.Expires.Time)
	if second := holder(ctx); second == "" || second == first {
		t.Errorf("the lease is held by %q, was %q: the standby did not take over", second, first)
	}
	t.Logf("leader killed %v before the grant's end; rights removed %v after it (lease duration %v)", aa.Spec.Expires.Sub(killed).Round(time.Millisecond), lag.Round(time.Millisecond), leaseDuration)
	// The bound README states: the lease duration plus the retry period and a reconcile.
	if lag > leaseDuration+10*time.Second {
		t.Errorf("the rights outlived the grant by %v, more than the lease duration (%v) allows", lag, leaseDuration)
	}
	var got rempartv1.AdminAccess
	waitFor(t, "the grant Expired", 30*time.Second, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(aa), &got); err != nil {
			return false, err
		}
		return got.Status.Phase == rempartv1.AdminAccessExpired, nil
	})
}
