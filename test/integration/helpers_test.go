package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// eventually polls cond until it holds, failing the test with the last reason after timeout.
func eventually(t *testing.T, what string, cond func(ctx context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = cond(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, last)
	}
}

// as returns a client acting as user, through impersonation, as the API server sees a tenant.
func as(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tenantState reads a TenantIsolation and says whether its Compliant condition has the wanted
// status for its current generation.
func waitCompliant(t *testing.T, name string, want string) *rempartv1.TenantIsolation {
	t.Helper()
	var ti rempartv1.TenantIsolation
	eventually(t, "tenant "+name+" Compliant="+want, func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &ti); err != nil {
			return err
		}
		c := meta.FindStatusCondition(ti.Status.Conditions, rempartv1.ConditionCompliant)
		if c == nil || c.ObservedGeneration != ti.Generation || string(c.Status) != want {
			return fmt.Errorf("condition %+v at generation %d; controls %s", c, ti.Generation, summarize(ti.Status.Controls))
		}
		return nil
	})
	return &ti
}

func summarize(results []rempartv1.ControlResult) string {
	out := ""
	for _, r := range results {
		if r.State != rempartv1.ControlCompliant {
			out += fmt.Sprintf("[%s %s: %s] ", r.ID, r.State, r.Message)
		}
	}
	return out
}

// eventuallyRefused waits until the API server refuses obj (admission policies take effect a
// moment after their binding is written), probing with server-side dry runs so nothing is ever
// persisted, then creates it for real and checks the refusal names every fragment of want.
func eventuallyRefused(t *testing.T, c client.Client, obj client.Object, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s to be refused", obj, obj.GetName()), func(ctx context.Context) error {
		if err := c.Create(ctx, obj.DeepCopyObject().(client.Object), client.DryRunAll); err == nil {
			return fmt.Errorf("accepted")
		}
		return nil
	})
	err := c.Create(context.Background(), obj.DeepCopyObject().(client.Object))
	if err == nil {
		t.Fatalf("%s %s was accepted", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName())
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal of %s %q does not contain %q", obj.GetName(), err, w)
		}
	}
}

// updateTenant changes a TenantIsolation's spec, retrying when the operator wrote it meanwhile.
func updateTenant(t *testing.T, name string, mutate func(*rempartv1.TenantIsolation)) {
	t.Helper()
	eventually(t, "update tenant "+name, func(ctx context.Context) error {
		var ti rempartv1.TenantIsolation
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &ti); err != nil {
			return err
		}
		mutate(&ti)
		return env.Client.Update(ctx, &ti)
	})
}

// gauge reads a gauge of the operator running in this process, by name and labels; -1 when the
// series does not exist.
func gauge(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// withClusterRole gives user, through a ClusterRole and its binding both named name, the rules,
// and returns a client acting as that user; both go when the test ends.
func withClusterRole(t *testing.T, name, user string, rules ...rbacv1.PolicyRule) client.Client {
	t.Helper()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
	create(t, role)
	create(t, binding)
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), binding)
		_ = env.Client.Delete(context.Background(), role)
	})
	return as(t, user)
}
