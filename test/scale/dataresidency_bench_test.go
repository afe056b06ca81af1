package scale

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/testenv"
)

const (
	residencyNamespaces = 200
	podsPerNamespace    = 10
	residencyNodes      = 50
	outsideNodes        = 10 // of residencyNodes, in us-east-1; the others in EU regions
)

var euRegions = []string{"eu-west-3", "europe-west9", "francecentral", "eu-central-1", "eu-west-1"}

func residencyPod(ns string, i int) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%02d", i)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}}}
}

// latencies collects request durations from several goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) mean() time.Duration {
	var sum time.Duration
	for _, d := range l.d {
		sum += d
	}
	return sum / time.Duration(len(l.d))
}

func (l *latencies) quantile(q float64) time.Duration {
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// createPods creates podsPerNamespace pods in every namespace, timing each request.
func createPods(ctx context.Context, c client.Client, namespaces []string) (*latencies, []*corev1.Pod, error) {
	l := &latencies{}
	pods := make([]*corev1.Pod, len(namespaces)*podsPerNamespace)
	err := parallel(len(pods), func(i int) error {
		p := residencyPod(namespaces[i/podsPerNamespace], i%podsPerNamespace)
		start := time.Now()
		if err := c.Create(ctx, p); err != nil {
			return fmt.Errorf("create pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		l.add(time.Since(start))
		pods[i] = p
		return nil
	})
	return l, pods, err
}

// BenchmarkDataResidency2000Pods creates 2,000 pods in 200 namespaces with 50 nodes, first where
// no policy applies (the baseline), then where a DataResidency pins them, and reports the
// creation latency of each and their ratio; then it binds the pinned pods to EU nodes, relabels
// one node to us-east-1 and measures the time until the policy reports its pods.
func BenchmarkDataResidency2000Pods(b *testing.B) {
	operatorBinary := operatorUnderTest(b)
	benchResult{Scenario: "dataresidency-2000-pods", Title: "DataResidency, 2,000 pods in 200 namespaces: creation latency (mean) pinned to EU regions",
		BaselineLabel: "no policy, same server and operator", Unit: "ms", Baseline: "the same pods created in namespaces no policy covers, on the same server with the operator running"}.repeat(b, func() benchRun { return runResidency(b, operatorBinary) })
}

func runResidency(b *testing.B, operatorBinary string) benchRun {
	env, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	c := env.Client

	var nodes []string
	for i := range residencyNodes {
		region := euRegions[i%len(euRegions)]
		if i < outsideNodes {
			region = "us-east-1"
		}
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%02d", i), Labels: map[string]string{rempartv1.DefaultRegionLabel: region}}}
		if err := c.Create(ctx, n); err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, n.Name)
	}
	var plain, covered []string
	for i := range residencyNamespaces {
		plain, covered = append(plain, fmt.Sprintf("plain-%03d", i)), append(covered, fmt.Sprintf("covered-%03d", i))
	}
	for _, ns := range append(slices.Clone(plain), covered...) {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			b.Fatal(err)
		}
	}

	cmd, metricsURL, logPath := startOperator(b, env, operatorBinary)
	defer stopOperator(cmd)
	dr := &rempartv1.DataResidency{ObjectMeta: metav1.ObjectMeta{Name: "eu"}, Spec: rempartv1.DataResidencySpec{
		AllowedJurisdictions: []rempartv1.Jurisdiction{"EU"}}}
	for _, ns := range covered {
		dr.Spec.Namespaces = append(dr.Spec.Namespaces, rempartv1.NamespaceName(ns))
	}
	if err := c.Create(ctx, dr); err != nil {
		b.Fatal(err)
	}
	waitPolicy(b, c, logPath, func(dr *rempartv1.DataResidency) bool { return len(dr.Status.Namespaces) == residencyNamespaces })
	// The bindings are live once a probe pod is pinned and one naming its node refused.
	waitPinnedAndGuarded(b, c, covered[0], logPath)

	// Same API server, same operator running, same number of pods: only the admission differs.
	base, _, err := createPods(ctx, c, plain)
	if err != nil {
		b.Fatal(err)
	}
	pinned, pods, err := createPods(ctx, c, covered)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range pods {
		if p.Spec.Affinity == nil {
			b.Fatalf("pod %s/%s was not pinned", p.Namespace, p.Name)
		}
	}

	// Bind the pinned pods to EU nodes, as the scheduler would, then relabel one node.
	var eu []string
	for i, n := range nodes {
		if i >= outsideNodes {
			eu = append(eu, n)
		}
	}
	if err := parallel(len(pods), func(i int) error {
		p := pods[i]
		binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: eu[i%len(eu)]}}
		return c.SubResource("binding").Create(ctx, p, binding)
	}); err != nil {
		b.Fatal(err)
	}
	waitPolicy(b, c, logPath, func(dr *rempartv1.DataResidency) bool {
		pods := dr.Status.Control("residency.pods")
		return pods.State == rempartv1.ControlCompliant && strings.Contains(pods.Message, fmt.Sprintf("(%d)", residencyNamespaces*podsPerNamespace))
	})
	moved := eu[0]
	var node corev1.Node
	if err := c.Get(ctx, client.ObjectKey{Name: moved}, &node); err != nil {
		b.Fatal(err)
	}
	node.Labels[rempartv1.DefaultRegionLabel] = "us-east-1"
	relabelled := time.Now()
	if err := c.Update(ctx, &node); err != nil {
		b.Fatal(err)
	}
	waitPolicy(b, c, logPath, func(dr *rempartv1.DataResidency) bool {
		pods := dr.Status.Control("residency.pods")
		return pods.State == rempartv1.ControlNonCompliant && strings.Contains(pods.Message, "node "+moved+" (us-east-1, US)")
	})
	reflected := time.Since(relabelled)
	peak, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := operatorRequests(metricsURL); err != nil {
		b.Fatal(err)
	}

	ratio := pinned.mean().Seconds() / base.mean().Seconds()
	detail := fmt.Sprintf("p99 %v without policy, %v pinned; node relabel reported in %v", base.quantile(0.99).Round(time.Millisecond), pinned.quantile(0.99).Round(time.Millisecond), reflected.Round(time.Millisecond))
	fmt.Printf("%d pods in %d namespaces, %d nodes: creation without policy mean %v p99 %v; pinned and validated mean %v p99 %v; ratio %.2f; "+
		"node relabel reported in %v; operator peak RSS %.0f MiB\n",
		len(pods), residencyNamespaces, residencyNodes, base.mean().Round(time.Microsecond), base.quantile(0.99).Round(time.Microsecond),
		pinned.mean().Round(time.Microsecond), pinned.quantile(0.99).Round(time.Microsecond), ratio, reflected.Round(time.Millisecond), peak)
	return benchRun{Baseline: base.mean().Seconds(), Rempart: pinned.mean().Seconds(), Ratio: ratio, PeakMiB: peak, Detail: detail}
}

func waitPolicy(b *testing.B, c client.Client, logPath string, done func(*rempartv1.DataResidency) bool) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var dr rempartv1.DataResidency
		if err := c.Get(context.Background(), client.ObjectKey{Name: "eu"}, &dr); err != nil {
			b.Fatal(err)
		}
		ready := meta.FindStatusCondition(dr.Status.Conditions, rempartv1.ConditionReady)
		if ready != nil && ready.ObservedGeneration == dr.Generation && done(&dr) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the policy did not reach the expected state in 5 minutes: %+v; operator log in %s", dr.Status.Controls, logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
