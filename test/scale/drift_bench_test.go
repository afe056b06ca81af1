package scale

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

const (
	driftTenants  = 100
	driftDeletes  = 100
	driftedPolicy = "rempart-default-deny"
)

// BenchmarkDriftRepair deletes 100 generated default-deny NetworkPolicies at once, as a cluster
// administrator, and measures the time until each is back, beside the time a bare client takes to
// create the same 100 NetworkPolicies at once: the floor of any repair.
func BenchmarkDriftRepair(b *testing.B) {
	operatorBinary := operatorUnderTest(b)
	for range b.N {
		result := benchResult{Scenario: "drift-repair-100-networkpolicies", Title: "Drift repair: 100 generated NetworkPolicies deleted at once, p99 until back",
			BaselineLabel: "bare client creating them, p99", Unit: "ms", Baseline: "a bare client creating the same 100 NetworkPolicies at once (p99 of their creation latency)"}
		for run := range benchRuns() {
			r := driftRun(b, operatorBinary)
			fmt.Printf("run %d: 100 NetworkPolicies deleted: back after p50 %.0f ms, p99 %.0f ms; bare client p99 %.0f ms; ratio %.2f\n",
				run+1, r.p50*1000, r.Rempart*1000, r.Baseline*1000, r.Ratio)
			r.Detail = fmt.Sprintf("back after p50 %.0f ms", r.p50*1000)
			result.Runs = append(result.Runs, r.benchRun)
		}
		if err := result.summarize(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(result.MedianRatio, "ratio")
	}
}

type driftFigures struct {
	benchRun
	p50 float64
}

func driftRun(b *testing.B, operatorBinary string) driftFigures {
	b.Helper()
	run, stop := tenantsConverged(b, operatorBinary, "drift", driftTenants)
	defer stop()
	env, c, cmd, logPath, ctx := run.env, run.c, run.cmd, run.logPath, context.Background()

	var policies []networkingv1.NetworkPolicy
	var all networkingv1.NetworkPolicyList
	if err := c.List(ctx, &all, client.MatchingLabels{rempartv1.LabelManagedBy: rempartv1.ManagedByValue}); err != nil {
		b.Fatal(err)
	}
	for _, p := range all.Items {
		if p.Name == driftedPolicy && len(policies) < driftDeletes {
			policies = append(policies, p)
		}
	}
	if len(policies) != driftDeletes {
		b.Fatalf("%d default-deny policies, want %d", len(policies), driftDeletes)
	}

	// Watch from now on, then delete them all at once; each is back when a policy of that name
	// and namespace is added again.
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	w, err := wc.Watch(ctx, &networkingv1.NetworkPolicyList{}, client.MatchingLabels{rempartv1.LabelManagedBy: rempartv1.ManagedByValue}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: all.ResourceVersion}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	deletedAt := map[string]time.Time{}
	var mu sync.Mutex
	if err := parallel(len(policies), func(i int) error {
		p := policies[i]
		at := time.Now()
		if err := c.Delete(ctx, &p); err != nil {
			return err
		}
		mu.Lock()
		deletedAt[p.Namespace] = at
		mu.Unlock()
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var repair []float64
	back := map[string]bool{}
	timeout := time.After(5 * time.Minute)
	for len(back) < len(policies) {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*networkingv1.NetworkPolicy)
			if !ok || ev.Type != watch.Added || p.Name != driftedPolicy {
				continue
			}
			mu.Lock()
			at, deleted := deletedAt[p.Namespace]
			mu.Unlock()
			if deleted && !back[p.Namespace] {
				back[p.Namespace] = true
				repair = append(repair, time.Since(at).Seconds())
			}
		case <-timeout:
			b.Fatalf("%d of %d NetworkPolicies back after 5 minutes; operator log in %s", len(back), len(policies), logPath)
		}
	}

	// The floor: the same policies created at once by a bare client, on the same server (the
	// operator is stopped first so that it does not race it).
	stopOperator(cmd)
	for i := range policies {
		if err := c.Delete(ctx, &policies[i]); client.IgnoreNotFound(err) != nil {
			b.Fatal(err)
		}
	}
	var created []float64
	if err := parallel(len(policies), func(i int) error {
		p := policies[i].DeepCopy()
		p.ResourceVersion, p.UID, p.ManagedFields, p.CreationTimestamp = "", "", nil, metav1.Time{}
		at := time.Now()
		if err := c.Create(ctx, p); err != nil {
			return err
		}
		mu.Lock()
		created = append(created, time.Since(at).Seconds())
		mu.Unlock()
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var f driftFigures
	f.p50, f.Rempart, f.Baseline = percentile(repair, 50), percentile(repair, 99), percentile(created, 99)
	f.Ratio = f.Rempart / f.Baseline
	return f
}

// percentile of the values, nearest rank.
func percentile(values []float64, p float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
