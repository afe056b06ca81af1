package scale

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/benchtable"
	"github.com/rempart-io/rempart/test/testenv"
)

// The generate comparison: the same namespaces each given a default-deny NetworkPolicy and a
// ResourceQuota, by a bare client (the floor), by TenantIsolation, by a Kyverno ClusterPolicy
// generate rule (what Kyverno's older documentation shows) and by a Kyverno GeneratingPolicy (its
// current type). Each contender gets a fresh API server; the clock runs from the first write of
// the input (namespaces for Kyverno, TenantIsolations for Rempart) until every namespace holds
// both objects.

const peerNamespaces = 1000

var peerQuota = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("50"), corev1.ResourceRequestsCPU: resource.MustParse("4")}

func peerNamespace(i int) string { return fmt.Sprintf("tenant-%04d", i) }

// peerLabels mark the namespaces the Kyverno policies match.
var peerLabels = map[string]string{"bench.rempart.io/tenant": "true"}

// kyvernoClusterPolicyGenerate is the generate rule as Kyverno's ClusterPolicy writes it.
const kyvernoClusterPolicyGenerate = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: tenant-defaults}
spec:
  rules:
  - name: default-deny
    match: {any: [{resources: {kinds: [Namespace], selector: {matchLabels: {bench.rempart.io/tenant: "true"}}}}]}
    generate:
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      name: default-deny
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      data:
        spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
  - name: quota
    match: {any: [{resources: {kinds: [Namespace], selector: {matchLabels: {bench.rempart.io/tenant: "true"}}}}]}
    generate:
      apiVersion: v1
      kind: ResourceQuota
      name: tenant-quota
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      data:
        spec: {hard: {pods: "50", requests.cpu: "4"}}
`

// kyvernoGeneratingPolicy is the same job as Kyverno's current GeneratingPolicy writes it.
const kyvernoGeneratingPolicy = `apiVersion: policies.kyverno.io/v1
kind: GeneratingPolicy
metadata: {name: tenant-defaults}
spec:
  evaluation:
    synchronize: {enabled: true}
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [namespaces]
    objectSelector:
      matchLabels: {bench.rempart.io/tenant: "true"}
  variables:
  - name: defaults
    expression: >-
      [
        {
          "apiVersion": dyn("networking.k8s.io/v1"),
          "kind": dyn("NetworkPolicy"),
          "metadata": dyn({"name": "default-deny"}),
          "spec": dyn({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
        },
        {
          "apiVersion": dyn("v1"),
          "kind": dyn("ResourceQuota"),
          "metadata": dyn({"name": "tenant-quota"}),
          "spec": dyn({"hard": {"pods": "50", "requests.cpu": "4"}})
        }
      ]
  generate:
  - expression: generator.apply(object.metadata.name, variables.defaults)
`

// generatedWatch counts the namespaces that hold a NetworkPolicy and a ResourceQuota of the
// given names, from watches opened before the clock starts.
type generatedWatch struct {
	mu               sync.Mutex
	policies, quotas map[string]bool
	done             chan struct{}
	want             int
	stops            []func()
}

func watchGenerated(b *testing.B, env *testenv.Env, policyName, quotaName string, want int) *generatedWatch {
	b.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	g := &generatedWatch{policies: map[string]bool{}, quotas: map[string]bool{}, done: make(chan struct{}), want: want}
	ctx := context.Background()
	np, err := cs.NetworkingV1().NetworkPolicies("").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + policyName})
	if err != nil {
		b.Fatal(err)
	}
	q, err := cs.CoreV1().ResourceQuotas("").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + quotaName})
	if err != nil {
		b.Fatal(err)
	}
	g.stops = []func(){np.Stop, q.Stop}
	go g.consume(np, func(obj any) (string, bool) {
		p, ok := obj.(*networkingv1.NetworkPolicy)
		return ptrNamespace(p, ok), ok && len(p.Spec.PolicyTypes) == 2
	}, g.policies)
	go g.consume(q, func(obj any) (string, bool) {
		r, ok := obj.(*corev1.ResourceQuota)
		return ptrNamespace(r, ok), ok && len(r.Spec.Hard) == len(peerQuota)
	}, g.quotas)
	return g
}

func ptrNamespace(obj metav1.Object, ok bool) string {
	if !ok {
		return ""
	}
	return obj.GetNamespace()
}

func (g *generatedWatch) consume(w watch.Interface, read func(any) (string, bool), into map[string]bool) {
	for ev := range w.ResultChan() {
		ns, ok := read(ev.Object)
		if !ok || ev.Type == watch.Deleted || !strings.HasPrefix(ns, "tenant-") {
			continue
		}
		g.mu.Lock()
		into[ns] = true
		complete := len(g.policies) >= g.want && len(g.quotas) >= g.want
		g.mu.Unlock()
		if complete {
			select {
			case <-g.done:
			default:
				close(g.done)
			}
		}
	}
}

// wait returns once every namespace holds both objects, or fails after timeout.
func (g *generatedWatch) wait(b *testing.B, timeout time.Duration, what, logs string) {
	b.Helper()
	defer func() {
		for _, stop := range g.stops {
			stop()
		}
	}()
	select {
	case <-g.done:
	case <-time.After(timeout):
		g.mu.Lock()
		defer g.mu.Unlock()
		b.Fatalf("%s: after %v, %d namespaces have the NetworkPolicy and %d the quota, of %d; logs in %s", what, timeout, len(g.policies), len(g.quotas), g.want, logs)
	}
}

// createNamespaces creates the labelled namespaces on workers goroutines.
func createNamespaces(ctx context.Context, env *testenv.Env, n int) error {
	c, err := unlimitedClient(env)
	if err != nil {
		return err
	}
	return parallel(n, func(i int) error {
		return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: peerNamespace(i), Labels: peerLabels}})
	})
}

// peerFigures are one contender's figures in one run.
type peerFigures struct {
	Seconds float64 `json:"seconds"`
	PeakMiB float64 `json:"peakMiB,omitempty"`
}

// generateRun is one run of the generate comparison.
type generateRun struct {
	Bare                    peerFigures `json:"bare"`
	Rempart                 peerFigures `json:"rempart"`
	RempartCompliantSeconds float64     `json:"rempartCompliantSeconds"`
	KyvernoClusterPolicy    peerFigures `json:"kyvernoClusterPolicy"`
	KyvernoGeneratingPolicy peerFigures `json:"kyvernoGeneratingPolicy"`
}

// generateResult is the generate comparison's runs and the median of Rempart's time as a ratio
// to each Kyverno policy kind's, as written under bin/bench/.
type generateResult struct {
	Scenario                 string           `json:"scenario"`
	Machine                  string           `json:"machine"`
	When                     time.Time        `json:"when"`
	Namespaces               int              `json:"namespaces"`
	Runs                     []generateRun    `json:"runs"`
	MedianToClusterPolicy    float64          `json:"medianRempartToClusterPolicy"`
	MedianToGeneratingPolicy float64          `json:"medianRempartToGeneratingPolicy"`
	Rows                     []benchtable.Row `json:"rows"`
}

// ratios are, per run, Rempart's time over the bare client's and over each Kyverno policy kind's.
func (r *generateResult) ratios() (toBare, toPolicy, toGpol []float64) {
	for _, run := range r.Runs {
		toBare = append(toBare, run.Rempart.Seconds/run.Bare.Seconds)
		toPolicy = append(toPolicy, run.Rempart.Seconds/run.KyvernoClusterPolicy.Seconds)
		toGpol = append(toGpol, run.Rempart.Seconds/run.KyvernoGeneratingPolicy.Seconds)
	}
	return toBare, toPolicy, toGpol
}

// tableRow is the comparison's line of the table.
func (r *generateResult) tableRow() benchtable.Row {
	toBare, toPolicy, toGpol := r.ratios()
	var bare, rempart, policy, gpol, rempartMiB, policyMiB, gpolMiB []float64
	for _, run := range r.Runs {
		bare, rempart = append(bare, run.Bare.Seconds), append(rempart, run.Rempart.Seconds)
		policy, gpol = append(policy, run.KyvernoClusterPolicy.Seconds), append(gpol, run.KyvernoGeneratingPolicy.Seconds)
		rempartMiB, policyMiB, gpolMiB = append(rempartMiB, run.Rempart.PeakMiB), append(policyMiB, run.KyvernoClusterPolicy.PeakMiB), append(gpolMiB, run.KyvernoGeneratingPolicy.PeakMiB)
	}
	return benchtable.Row{
		Scenario: fmt.Sprintf("%d namespaces given a default-deny NetworkPolicy and a quota", r.Namespaces),
		Baseline: "bare client: " + span(bare, "s"), Rempart: "TenantIsolation: " + span(rempart, "s"), Ratio: ratioCell(toBare),
		Peer:          "ClusterPolicy generate: " + span(policy, "s") + "; GeneratingPolicy: " + span(gpol, "s"),
		RempartToPeer: ratioCell(toPolicy) + "; " + ratioCell(toGpol),
		Memory:        "Rempart " + span(rempartMiB, "MiB") + "; Kyverno " + span(policyMiB, "MiB") + " and " + span(gpolMiB, "MiB"),
		Runs:          len(r.Runs),
	}
}

// generateBare is the floor: the bare client writes the namespaces and both objects itself.
func generateBare(b *testing.B) peerFigures {
	env, c := mustFreshServer(b)
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	start := time.Now()
	err := parallel(peerNamespaces, func(i int) error {
		ns := peerNamespace(i)
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: peerLabels}}); err != nil {
			return err
		}
		if err := c.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: ns},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}); err != nil {
			return err
		}
		return c.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "tenant-quota", Namespace: ns}, Spec: corev1.ResourceQuotaSpec{Hard: peerQuota.DeepCopy()}})
	})
	if err != nil {
		b.Fatal(err)
	}
	return peerFigures{Seconds: time.Since(start).Seconds()}
}

// generateRempart gives every namespace its own TenantIsolation that asks for a default-deny
// policy and the quota, nothing else it could leave out; Rempart still writes its admission
// bindings and reports, as it always does.
func generateRempart(b *testing.B, operatorBinary string) (peerFigures, float64) {
	env, c := mustFreshServer(b)
	defer func() { _ = env.Stop() }()
	cmd, _, logPath := startOperator(b, env, operatorBinary)
	defer stopOperator(cmd)
	tenantOf := func(name string) *rempartv1.TenantIsolation {
		return &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rempartv1.TenantIsolationSpec{
			Environment: rempartv1.EnvironmentProduction, Namespaces: []rempartv1.NamespaceName{rempartv1.NamespaceName(name)},
			Network: rempartv1.NetworkIsolation{AllowDNS: ptr.To(false), AllowIntraTenant: ptr.To(false)}, Quota: peerQuota.DeepCopy()}}
	}
	ctx := context.Background()
	// As for Kyverno, the clock starts once the operator is up and has enforced a canary tenant.
	if err := c.Create(ctx, tenantOf("canary")); err != nil {
		b.Fatal(err)
	}
	waitAllCompliant(b, env, 1, time.Now(), logPath)
	watched := watchGenerated(b, env, "rempart-default-deny", "rempart-quota", peerNamespaces)
	start := time.Now()
	if err := parallel(peerNamespaces, func(i int) error { return c.Create(ctx, tenantOf(peerNamespace(i))) }); err != nil {
		b.Fatal(err)
	}
	watched.wait(b, 15*time.Minute, "Rempart", logPath)
	enforced := time.Since(start).Seconds()
	waitAllCompliant(b, env, peerNamespaces+1, start, logPath)
	compliant := time.Since(start).Seconds()
	peak, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	return peerFigures{Seconds: enforced, PeakMiB: peak}, compliant
}

// generateKyverno runs Kyverno with one policy and creates the namespaces it generates into.
func generateKyverno(b *testing.B, manifest, apiVersion, kind string) peerFigures {
	env, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	k := startKyverno(b, env)
	defer k.stop()
	ctx := context.Background()
	if err := applyManifest(ctx, env.Client, manifest); err != nil {
		b.Fatal(err)
	}
	waitKyvernoPolicyReady(b, env.Client, k, apiVersion, kind, "tenant-defaults")
	waitKyvernoServing(b, env.Client, k)
	waitKyvernoGenerates(b, env, k)
	watched := watchGenerated(b, env, "default-deny", "tenant-quota", peerNamespaces)
	start := time.Now()
	if err := createNamespaces(ctx, env, peerNamespaces); err != nil {
		b.Fatal(err)
	}
	watched.wait(b, 15*time.Minute, "Kyverno "+kind, k.logDir)
	took := time.Since(start).Seconds()
	var peak float64
	for _, cmd := range []*os.Process{k.admission.Process, k.background.Process} {
		p, err := peakRSS(cmd.Pid)
		if err != nil {
			b.Fatal(err)
		}
		peak += p
	}
	return peerFigures{Seconds: took, PeakMiB: peak}
}

// waitKyvernoGenerates waits until a canary namespace created now is generated into: Kyverno
// reports a policy ready before its webhook handlers and background controller act on it, and
// namespaces created in that gap are never generated into. A canary that stays empty is replaced.
func waitKyvernoGenerates(b *testing.B, env *testenv.Env, k *kyvernoProcesses) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for attempt := 0; ; attempt++ {
		name := fmt.Sprintf("canary-%d", attempt)
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: peerLabels}}); err != nil {
			b.Fatal(err)
		}
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			var np networkingv1.NetworkPolicy
			var q corev1.ResourceQuota
			if env.Client.Get(ctx, client.ObjectKey{Namespace: name, Name: "default-deny"}, &np) == nil &&
				env.Client.Get(ctx, client.ObjectKey{Namespace: name, Name: "tenant-quota"}, &q) == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("Kyverno generated nothing into a new namespace for 3 minutes; logs in %s", k.logDir)
		}
	}
}

// BenchmarkPeersGenerate1000Namespaces prints, for 1,000 namespaces, the time each contender
// takes to give every one a default-deny NetworkPolicy and a quota, as ratios to the bare client.
func BenchmarkPeersGenerate1000Namespaces(b *testing.B) {
	operatorBinary := operatorUnderTest(b)
	kyvernoBinaries(b)
	for range b.N {
		result := generateResult{Scenario: "peers-generate-1000-namespaces", Machine: machine(), When: time.Now().UTC(), Namespaces: peerNamespaces}
		for n := range benchRuns() {
			var run generateRun
			run.Bare = generateBare(b)
			run.Rempart, run.RempartCompliantSeconds = generateRempart(b, operatorBinary)
			run.KyvernoClusterPolicy = generateKyverno(b, kyvernoClusterPolicyGenerate, "kyverno.io/v1", "ClusterPolicy")
			run.KyvernoGeneratingPolicy = generateKyverno(b, kyvernoGeneratingPolicy, "policies.kyverno.io/v1", "GeneratingPolicy")
			result.Runs = append(result.Runs, run)
			bare := run.Bare.Seconds
			fmt.Printf("run %d: %d namespaces given a default-deny NetworkPolicy and a quota:\n", n+1, peerNamespaces)
			fmt.Printf("  bare client                 %6.1fs\n", bare)
			fmt.Printf("  Rempart TenantIsolation     %6.1fs  x%.2f of bare  peak %.0f MiB  (all Compliant at %.1fs)\n", run.Rempart.Seconds, run.Rempart.Seconds/bare, run.Rempart.PeakMiB, run.RempartCompliantSeconds)
			fmt.Printf("  Kyverno ClusterPolicy       %6.1fs  x%.2f of bare  peak %.0f MiB\n", run.KyvernoClusterPolicy.Seconds, run.KyvernoClusterPolicy.Seconds/bare, run.KyvernoClusterPolicy.PeakMiB)
			fmt.Printf("  Kyverno GeneratingPolicy    %6.1fs  x%.2f of bare  peak %.0f MiB\n", run.KyvernoGeneratingPolicy.Seconds, run.KyvernoGeneratingPolicy.Seconds/bare, run.KyvernoGeneratingPolicy.PeakMiB)
		}
		_, toPolicy, toGpol := result.ratios()
		result.MedianToClusterPolicy, result.MedianToGeneratingPolicy = median(toPolicy), median(toGpol)
		result.Rows = []benchtable.Row{result.tableRow()}
		if err := writeResult(result.Scenario, result); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("Rempart's time over %d runs, median: x%.2f of Kyverno's ClusterPolicy (%.2f-%.2f), x%.2f of its GeneratingPolicy (%.2f-%.2f)\n",
			len(result.Runs), result.MedianToClusterPolicy, slices.Min(toPolicy), slices.Max(toPolicy), result.MedianToGeneratingPolicy, slices.Min(toGpol), slices.Max(toGpol))
		b.ReportMetric(result.MedianToClusterPolicy, "x-clusterpolicy")
		b.ReportMetric(result.MedianToGeneratingPolicy, "x-generatingpolicy")
	}
}
