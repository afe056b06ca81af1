package scale

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/testenv"
)

const (
	grants          = 1000
	grantNamespaces = 10
	expiryWindow    = time.Minute
)

// deletions records when each RoleBinding of a namespace set disappears, from a watch.
type deletions struct {
	mu sync.Mutex
	at map[string]time.Time
}

func watchDeletions(ctx context.Context, cs kubernetes.Interface, selector string) (*deletions, error) {
	d := &deletions{at: map[string]time.Time{}}
	w, err := cs.RbacV1().RoleBindings("").Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Deleted {
				continue
			}
			rb := ev.Object.(*rbacv1.RoleBinding)
			d.mu.Lock()
			d.at[rb.Namespace+"/"+rb.Name] = time.Now()
			d.mu.Unlock()
		}
	}()
	return d, nil
}

func (d *deletions) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.at)
}

// lags are the delays between each binding's deadline and its deletion.
func (d *deletions) lags(deadlines map[string]time.Time) []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []time.Duration
	for key, deadline := range deadlines {
		out = append(out, d.at[key].Sub(deadline))
	}
	slices.Sort(out)
	return out
}

// waitCount waits until want bindings are removed, at most two minutes after the last expiry.
func waitCount(b *testing.B, d *deletions, want int, lastExpiry time.Time, what, logPath string) {
	b.Helper()
	deadline := lastExpiry.Add(2 * time.Minute)
	for d.count() < want {
		if time.Now().After(deadline) {
			tail := ""
			if logPath != "" {
				if raw, err := os.ReadFile(logPath); err == nil {
					tail = string(raw[max(0, len(raw)-4000):])
				}
			}
			b.Fatalf("%s: %d of %d bindings removed\n%s", what, d.count(), want, tail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BenchmarkAdminAccess1000Expiries creates 1,000 grants on 10 tenants, each requested and then
// approved by another person, expiring within the same minute, and measures the lag between each
// grant's expiry and the removal of its RoleBinding, beside a bare client deleting 1,000
// RoleBindings on timers at the same instants in the same run. The tenants' reports and inventories
// follow every grant as it opens and closes, as on a real platform.
func BenchmarkAdminAccess1000Expiries(b *testing.B) {
	operatorBinary := operatorUnderTest(b)
	benchResult{Scenario: "adminaccess-1000-expiries", Title: "AdminAccess, 1,000 grants expiring within a minute: worst lag until the binding is removed",
		BaselineLabel: "bare client deleting on timers, worst lag", Unit: "ms", Baseline: "a bare client deleting 1,000 RoleBindings on timers at the same instants, in the same run"}.repeat(b, func() benchRun { return runExpiries(b, operatorBinary) })
}

func runExpiries(b *testing.B, operatorBinary string) benchRun {
	env, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := env.Client
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	var namespaces []string
	for i := range grantNamespaces {
		ns := fmt.Sprintf("grants-%02d", i)
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			b.Fatal(err)
		}
		namespaces = append(namespaces, ns)
	}

	// Baseline: the same number of bindings, deleted by a bare client on timers.
	bare, err := watchDeletions(ctx, cs, "bench=bare")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(20 * time.Second)
	bareDeadlines := map[string]time.Time{}
	var timers sync.WaitGroup
	if err := parallel(grants, func(i int) error {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespaces[i%grantNamespaces], Name: fmt.Sprintf("bare-%04d", i), Labels: map[string]string{"bench": "bare"}},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("user-%04d@example.com", i)}}}
		return c.Create(ctx, rb)
	}); err != nil {
		b.Fatal(err)
	}
	for i := range grants {
		key := fmt.Sprintf("%s/bare-%04d", namespaces[i%grantNamespaces], i)
		at := start.Add(time.Duration(i) * expiryWindow / grants).Truncate(time.Second)
		bareDeadlines[key] = at
		timers.Add(1)
		time.AfterFunc(time.Until(at), func() {
			defer timers.Done()
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespaces[i%grantNamespaces], Name: fmt.Sprintf("bare-%04d", i)}}
			_ = c.Delete(ctx, rb)
		})
	}
	waitCount(b, bare, grants, start.Add(expiryWindow), "baseline", "")
	timers.Wait()
	baseline := bare.lags(bareDeadlines)

	// The operator: 1,000 grants expiring within one minute, once all are active.
	cmd, metricsURL, logPath := startOperator(b, env, operatorBinary)
	defer stopOperator(cmd)
	managed, err := watchDeletions(ctx, cs, rempartv1.LabelAdminAccess)
	if err != nil {
		b.Fatal(err)
	}
	approver, err := approverClient(ctx, env)
	if err != nil {
		b.Fatal(err)
	}
	// Each namespace is a tenant's: a grant reaches only namespaces of the tenants it names.
	for _, ns := range namespaces {
		ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: ns}, Spec: rempartv1.TenantIsolationSpec{
			Environment: rempartv1.EnvironmentProduction, Namespaces: []rempartv1.NamespaceName{rempartv1.NamespaceName(ns)}}}
		if err := c.Create(ctx, ti); err != nil {
			b.Fatal(err)
		}
	}
	for _, ns := range namespaces {
		waitTenant(b, c, ns, metav1.ConditionTrue)
	}
	start = time.Now().Add(2 * time.Minute)
	deadlines := map[string]time.Time{}
	var mu sync.Mutex
	created := time.Now()
	// Each grant is requested, then approved by another person: the flow a platform runs.
	err = parallel(grants, func(i int) error {
		expires := start.Add(time.Duration(i) * expiryWindow / grants).Truncate(time.Second)
		aa := &rempartv1.AdminAccess{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("grant-%04d", i)}, Spec: rempartv1.AdminAccessSpec{
			Subject: rempartv1.AdminSubject{Name: fmt.Sprintf("user-%04d@example.com", i)}, Role: "view",
			Tenants: []rempartv1.TenantName{rempartv1.TenantName(namespaces[i%grantNamespaces])},
			Reason:  "benchmark of expiries", Expires: metav1.NewTime(expires)}}
		if err := c.Create(ctx, aa); err != nil {
			return err
		}
		if err := testenv.ApproveGrant(ctx, approver, aa.Name, approverName); err != nil {
			return err
		}
		mu.Lock()
		deadlines[namespaces[i%grantNamespaces]+"/rempart-aa-"+aa.Name] = expires
		mu.Unlock()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for {
		var list rbacv1.RoleBindingList
		if err := c.List(ctx, &list, client.HasLabels{rempartv1.LabelAdminAccess}); err != nil {
			b.Fatal(err)
		}
		if len(list.Items) == grants {
			break
		}
		if time.Now().After(start.Add(-5 * time.Second)) {
			b.Fatalf("only %d of %d grants active before the first expiry; operator log in %s", len(list.Items), grants, logPath)
		}
		time.Sleep(250 * time.Millisecond)
	}
	activated := time.Since(created)
	waitCount(b, managed, grants, start.Add(expiryWindow), "operator", logPath)
	lags := managed.lags(deadlines)
	peak, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := operatorRequests(metricsURL); err != nil {
		b.Fatal(err)
	}
	median, worst := lags[len(lags)/2], lags[len(lags)-1]
	baseMedian, baseWorst := baseline[len(baseline)/2], baseline[len(baseline)-1]
	fmt.Printf("%d grants expiring within %v: binding removed after expiry median %v, worst %v (bare client on timers: median %v, worst %v); "+
		"all active %v after creation began; operator peak RSS %.0f MiB\n",
		grants, expiryWindow, median.Round(time.Millisecond), worst.Round(time.Millisecond), baseMedian.Round(time.Millisecond), baseWorst.Round(time.Millisecond),
		activated.Round(time.Second), peak)
	baseWorst = max(baseWorst, time.Millisecond)
	return benchRun{Baseline: baseWorst.Seconds(), Rempart: worst.Seconds(), Ratio: worst.Seconds() / baseWorst.Seconds(), PeakMiB: peak,
		Detail: fmt.Sprintf("median lag %v (bare client %v); all active %v after creation began", median.Round(time.Millisecond), baseMedian.Round(time.Millisecond), activated.Round(time.Second))}
}

// approverName approves the benchmark's grants, holding the approve verb.
const approverName = "approver@example.com"

// approverClient gives the approver the approve verb, waits until the operator's policies guard
// grants (a grant created before is refused), and returns a client acting as the approver.
func approverClient(ctx context.Context, env *testenv.Env) (client.Client, error) {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "bench-approver"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{rempartv1.GroupVersion.Group}, Resources: []string{"adminaccesses"}, Verbs: []string{"get", "update", "patch", "approve"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bench-approver"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: approverName}}}
	for _, obj := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, obj); err != nil {
			return nil, err
		}
	}
	if err := testenv.WaitForGrantGuards(ctx, env.Client); err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: approverName, Groups: []string{"system:authenticated"}}
	return client.New(cfg, client.Options{Scheme: env.Scheme})
}
