package scale

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/benchtable"
)

// The admission comparison: pods of namespaces whose data must stay in the EU are pinned to EU
// regions (a required node affinity added on creation) and refused when they select another
// region or name their node. Measured per pod creation request, on one API server, in phases:
// no policy, Rempart's DataResidency (admission policies inside the API server), Kyverno's
// ClusterPolicy mutate+validate rules, Kyverno's MutatingPolicy+ValidatingPolicy (both served by
// its webhooks), and no policy again once Kyverno is gone.

const residencyLabel = "bench.rempart.io/residency"

// peerPhase is one phase's namespaces and latencies.
type peerPhase struct {
	name       string
	namespaces []string
	latency    *latencies
}

func newPhase(name, prefix string) *peerPhase {
	p := &peerPhase{name: name}
	for i := range residencyNamespaces {
		p.namespaces = append(p.namespaces, fmt.Sprintf("%s-%03d", prefix, i))
	}
	return p
}

func (p *peerPhase) createNamespaces(ctx context.Context, c client.Client, label string) error {
	for _, ns := range p.namespaces {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{residencyLabel: label}}}
		if err := c.Create(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

func (p *peerPhase) run(b *testing.B, ctx context.Context, c client.Client, pinned bool) {
	b.Helper()
	l, pods, err := createPods(ctx, c, p.namespaces)
	if err != nil {
		b.Fatalf("%s: %v", p.name, err)
	}
	for _, pod := range pods {
		if pinned && (pod.Spec.Affinity == nil || pod.Spec.Affinity.NodeAffinity == nil) {
			b.Fatalf("%s: pod %s/%s was not pinned", p.name, pod.Namespace, pod.Name)
		}
	}
	p.latency = l
}

// waitPinnedAndGuarded waits until a dry-run pod of ns comes back pinned and one naming its node
// is refused: the phase's mutation and validation are both live.
func waitPinnedAndGuarded(b *testing.B, c client.Client, ns, logs string) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		probe := residencyPod(ns, 99)
		pinnedErr := c.Create(context.Background(), probe, client.DryRunAll)
		bad := residencyPod(ns, 98)
		bad.Spec.NodeName = "node-00"
		badErr := c.Create(context.Background(), bad, client.DryRunAll)
		if pinnedErr == nil && probe.Spec.Affinity != nil && badErr != nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the policies of %s are not live after 2 minutes (pinned: %v, %v; a pod naming its node refused: %v); logs in %s",
				ns, probe.Spec.Affinity != nil, pinnedErr, badErr, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kyvernoResidencyCEL are the validation's CEL expressions shared by both Kyverno policy types:
// the checks Rempart's residency policy makes, over the same allowed regions.
func kyvernoResidencyCEL(regions []string) (variables []map[string]string, validations []map[string]string) {
	list, _ := json.Marshal(regions)
	variables = []map[string]string{
		{"name": "allowed", "expression": string(list)},
		{"name": "selector", "expression": "has(object.spec.nodeSelector) ? object.spec.nodeSelector : {}"},
		{"name": "terms", "expression": "has(object.spec.affinity) && has(object.spec.affinity.nodeAffinity) && " +
			"has(object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution) ? " +
			"object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms : []"},
		{"name": "regionExprs", "expression": "variables.terms.map(t, has(t.matchExpressions) ? t.matchExpressions.filter(e, e.key == '" + rempartv1.DefaultRegionLabel + "' && e.operator == 'In' && has(e.values)) : [])"},
	}
	validations = []map[string]string{
		{"expression": "!('" + rempartv1.DefaultRegionLabel + "' in variables.selector) || variables.selector['" + rempartv1.DefaultRegionLabel + "'] in variables.allowed",
			"message": "the pod selects a region outside the EU"},
		{"expression": "!variables.regionExprs.flatten().exists(e, e.values.exists(v, !(v in variables.allowed)))",
			"message": "the pod requires a region outside the EU"},
		{"expression": "!has(object.spec.nodeName) || object.spec.nodeName == ''", "message": "the pod names its node"},
		{"expression": "('" + rempartv1.DefaultRegionLabel + "' in variables.selector && variables.selector['" + rempartv1.DefaultRegionLabel + "'] in variables.allowed) || " +
			"(size(variables.regionExprs) > 0 && variables.regionExprs.all(x, size(x) > 0))", "message": "the pod does not pin an EU region"},
	}
	return variables, validations
}

// pinAffinity is the node affinity both Kyverno policies add.
func pinAffinity(regions []string) map[string]any {
	return map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
		"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{
			"key": rempartv1.DefaultRegionLabel, "operator": "In", "values": regions}}}}}}}
}

// kyvernoClusterPolicyResidency is the ClusterPolicy: a mutate rule and a validate rule.
func kyvernoClusterPolicyResidency(regions []string) string {
	variables, validations := kyvernoResidencyCEL(regions)
	match := map[string]any{"any": []any{map[string]any{"resources": map[string]any{"kinds": []string{"Pod"}, "operations": []string{"CREATE"},
		"namespaceSelector": map[string]any{"matchLabels": map[string]string{residencyLabel: "kyverno-policy"}}}}}}
	policy := map[string]any{
		"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": map[string]any{"name": "eu-residency"},
		"spec": map[string]any{"rules": []any{
			map[string]any{"name": "pin-to-eu", "match": match,
				"mutate": map[string]any{"patchStrategicMerge": map[string]any{"spec": map[string]any{"affinity": pinAffinity(regions)}}}},
			map[string]any{"name": "stay-in-eu", "match": match,
				"validate": map[string]any{"failureAction": "Enforce", "cel": map[string]any{"variables": variables, "expressions": validations}}},
		}},
	}
	out, _ := json.Marshal(policy)
	return string(out)
}

// kyvernoPoliciesResidency are the MutatingPolicy and the ValidatingPolicy of Kyverno's current
// policy types.
func kyvernoPoliciesResidency(regions []string) string {
	variables, validations := kyvernoResidencyCEL(regions)
	constraints := map[string]any{
		"resourceRules":     []any{map[string]any{"apiGroups": []string{""}, "apiVersions": []string{"v1"}, "operations": []string{"CREATE"}, "resources": []string{"pods"}}},
		"namespaceSelector": map[string]any{"matchLabels": map[string]string{residencyLabel: "kyverno-policies"}},
	}
	list, _ := json.Marshal(regions)
	mutating := map[string]any{
		"apiVersion": "policies.kyverno.io/v1", "kind": "MutatingPolicy", "metadata": map[string]any{"name": "eu-residency"},
		"spec": map[string]any{"matchConstraints": constraints, "mutations": []any{map[string]any{
			// A required node affinity is an atomic struct, which an apply configuration may not
			// merge into: a JSON patch adds it, as Rempart's pin policy does.
			"patchType": "JSONPatch",
			"jsonPatch": map[string]any{"expression": "has(object.spec.affinity) ? [] : [JSONPatch{op: 'add', path: '/spec/affinity', value: " +
				"Object.spec.affinity{nodeAffinity: Object.spec.affinity.nodeAffinity{" +
				"requiredDuringSchedulingIgnoredDuringExecution: Object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution{" +
				"nodeSelectorTerms: [Object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms{" +
				"matchExpressions: [Object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.matchExpressions{" +
				"key: '" + rempartv1.DefaultRegionLabel + "', operator: 'In', values: " + string(list) + "}]}]}}}}]"},
		}}},
	}
	validating := map[string]any{
		"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy", "metadata": map[string]any{"name": "eu-residency"},
		"spec": map[string]any{"matchConstraints": constraints, "validationActions": []string{"Deny"}, "variables": variables, "validations": validations},
	}
	m, _ := json.Marshal(mutating)
	v, _ := json.Marshal(validating)
	return string(m) + "\n---\n" + string(v)
}

// BenchmarkPeersPodAdmission2000Pods prints the creation latency of 2,000 pods (p50, p99) under
// each phase's residency policy, as ratios to no policy at all, all on one API server.
func BenchmarkPeersPodAdmission2000Pods(b *testing.B) {
	operatorBinary := operatorUnderTest(b)
	kyvernoBinaries(b)
	for range b.N {
		result := podAdmissionResult{Scenario: "peers-pod-admission-2000-pods", Machine: machine(), When: time.Now().UTC(), Pods: residencyNamespaces * podsPerNamespace}
		p50 := map[string][]float64{}
		var names []string
		for n := range benchRuns() {
			fmt.Printf("run %d: ", n+1)
			phases := runPodAdmission(b, operatorBinary)
			result.Runs = append(result.Runs, phases)
			for _, p := range phases {
				if _, seen := p50[p.Name]; !seen {
					names = append(names, p.Name)
				}
				p50[p.Name] = append(p50[p.Name], p.P50Ratio)
			}
		}
		fmt.Printf("p50 creation latency as a ratio to no policy, median over %d runs:\n", len(result.Runs))
		for _, name := range names {
			result.MedianP50Ratios = append(result.MedianP50Ratios, namedRatio{Name: name, Ratio: median(p50[name])})
			fmt.Printf("  %-56s x%.2f (%.2f-%.2f)\n", name, median(p50[name]), slices.Min(p50[name]), slices.Max(p50[name]))
		}
		result.Rows = result.tableRows()
		if err := writeResult(result.Scenario, result); err != nil {
			b.Fatal(err)
		}
	}
}

func runPodAdmission(b *testing.B, operatorBinary string) []podPhase {
	env, c := mustFreshServer(b)
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	none := newPhase("no policy", "none")
	rempart := newPhase("Rempart DataResidency (in-server admission policies)", "rempart")
	policy := newPhase("Kyverno ClusterPolicy mutate+validate (webhooks)", "kyverno-policy")
	policies := newPhase("Kyverno MutatingPolicy+ValidatingPolicy (webhooks)", "kyverno-policies")
	after := newPhase("no policy, after Kyverno is gone", "after")
	for _, p := range []*peerPhase{none, rempart, policy, policies, after} {
		if err := p.createNamespaces(ctx, c, strings.TrimSuffix(p.namespaces[0], "-000")); err != nil {
			b.Fatal(err)
		}
	}
	none.run(b, ctx, c, false)

	// Rempart: the operator resolves the allowed regions and writes the admission policies.
	cmd, _, logPath := startOperator(b, env, operatorBinary)
	dr := &rempartv1.DataResidency{ObjectMeta: metav1.ObjectMeta{Name: "eu"}, Spec: rempartv1.DataResidencySpec{
		AllowedJurisdictions: []rempartv1.Jurisdiction{"EU"}}}
	for _, ns := range rempart.namespaces {
		dr.Spec.Namespaces = append(dr.Spec.Namespaces, rempartv1.NamespaceName(ns))
	}
	if err := c.Create(ctx, dr); err != nil {
		b.Fatal(err)
	}
	waitPolicy(b, c, logPath, func(dr *rempartv1.DataResidency) bool { return len(dr.Status.Namespaces) == residencyNamespaces })
	waitPinnedAndGuarded(b, c, rempart.namespaces[0], logPath)
	rempart.run(b, ctx, c, true)
	if err := c.Get(ctx, client.ObjectKeyFromObject(dr), dr); err != nil {
		b.Fatal(err)
	}
	regions := dr.Status.AllowedRegions
	// The operator's policies leave with the DataResidency before Kyverno's phases: its bindings
	// are deleted as the garbage collector (which this API server runs without) would.
	stopOperator(cmd)
	if err := c.Delete(ctx, dr); err != nil {
		b.Fatal(err)
	}
	ofPolicy := client.MatchingLabels{"rempart.io/data-residency": dr.Name}
	for _, obj := range []client.Object{&admissionv1.ValidatingAdmissionPolicyBinding{}, &admissionv1.MutatingAdmissionPolicyBinding{}} {
		if err := c.DeleteAllOf(ctx, obj, ofPolicy); err != nil {
			b.Fatal(err)
		}
	}
	waitNoBindings(b, c, logPath)

	k := startKyverno(b, env)
	defer k.stop()
	if err := applyManifest(ctx, c, kyvernoClusterPolicyResidency(regions)); err != nil {
		b.Fatal(err)
	}
	waitKyvernoPolicyReady(b, c, k, "kyverno.io/v1", "ClusterPolicy", "eu-residency")
	waitKyvernoServing(b, c, k)
	waitPinnedAndGuarded(b, c, policy.namespaces[0], k.logDir)
	policy.run(b, ctx, c, true)
	if err := applyManifest(ctx, c, kyvernoPoliciesResidency(regions)); err != nil {
		b.Fatal(err)
	}
	waitKyvernoPolicyReady(b, c, k, "policies.kyverno.io/v1", "MutatingPolicy", "eu-residency")
	waitKyvernoPolicyReady(b, c, k, "policies.kyverno.io/v1", "ValidatingPolicy", "eu-residency")
	waitPinnedAndGuarded(b, c, policies.namespaces[0], k.logDir)
	policies.run(b, ctx, c, true)

	// Kyverno gone and its webhooks with it: the floor again, to show what the server's growth
	// alone changed.
	k.stop()
	kyvernoWebhooks := client.MatchingLabels{"webhook.kyverno.io/managed-by": "kyverno"}
	for _, obj := range []client.Object{&admissionv1.MutatingWebhookConfiguration{}, &admissionv1.ValidatingWebhookConfiguration{}} {
		if err := c.DeleteAllOf(ctx, obj, kyvernoWebhooks); err != nil {
			b.Fatal(err)
		}
	}
	after.run(b, ctx, c, false)

	fmt.Printf("%d pods in %d namespaces, creation latency per request:\n", residencyNamespaces*podsPerNamespace, residencyNamespaces)
	var phases []podPhase
	for _, p := range []*peerPhase{none, rempart, policy, policies, after} {
		phase := podPhase{Name: p.name, P50Ms: ms(p.latency.quantile(0.5)), P99Ms: ms(p.latency.quantile(0.99))}
		phase.P50Ratio, phase.P99Ratio = phase.P50Ms/ms(none.latency.quantile(0.5)), phase.P99Ms/ms(none.latency.quantile(0.99))
		phases = append(phases, phase)
		fmt.Printf("  %-56s p50 %7.2fms  p99 %7.2fms   x%.2f / x%.2f of no policy\n", phase.Name, phase.P50Ms, phase.P99Ms, phase.P50Ratio, phase.P99Ratio)
	}
	return phases
}

// podAdmissionResult is the admission comparison's runs and the median of each phase's p50
// ratio to no policy, as written under bin/bench/.
type podAdmissionResult struct {
	Scenario        string           `json:"scenario"`
	Machine         string           `json:"machine"`
	When            time.Time        `json:"when"`
	Pods            int              `json:"pods"`
	Runs            [][]podPhase     `json:"runs"`
	MedianP50Ratios []namedRatio     `json:"medianP50Ratios"`
	Rows            []benchtable.Row `json:"rows"`
}

// Phases of a run, in the order runPodAdmission measures them.
const (
	phaseNone = iota
	phaseRempart
	phaseClusterPolicy
	phasePolicies
)

// tableRows are the p50 and p99 lines of the table: Rempart's latency beside no policy's and
// beside each Kyverno policy kind's.
func (r *podAdmissionResult) tableRows() []benchtable.Row {
	var rows []benchtable.Row
	for _, q := range []struct {
		name string
		of   func(podPhase) float64
	}{{"p50", func(p podPhase) float64 { return p.P50Ms }}, {"p99", func(p podPhase) float64 { return p.P99Ms }}} {
		figures := map[int][]float64{}
		var toNone, toPolicy, toPolicies []float64
		for _, run := range r.Runs {
			for i, p := range run {
				figures[i] = append(figures[i], q.of(p))
			}
			rempart := q.of(run[phaseRempart])
			toNone = append(toNone, rempart/q.of(run[phaseNone]))
			toPolicy = append(toPolicy, rempart/q.of(run[phaseClusterPolicy]))
			toPolicies = append(toPolicies, rempart/q.of(run[phasePolicies]))
		}
		ms := func(i int) string { return benchtable.Span(figures[i], "%.1f", " ms") }
		rows = append(rows, benchtable.Row{
			Scenario: fmt.Sprintf("%d pods pinned to EU regions: creation latency %s per request", r.Pods, q.name),
			Baseline: "no policy: " + ms(phaseNone), Rempart: "DataResidency: " + ms(phaseRempart), Ratio: ratioCell(toNone),
			Peer:          "ClusterPolicy mutate+validate: " + ms(phaseClusterPolicy) + "; MutatingPolicy+ValidatingPolicy: " + ms(phasePolicies),
			RempartToPeer: ratioCell(toPolicy) + "; " + ratioCell(toPolicies), Runs: len(r.Runs),
		})
	}
	return rows
}

type namedRatio struct {
	Name  string  `json:"name"`
	Ratio float64 `json:"ratio"`
}

type podPhase struct {
	Name     string  `json:"name"`
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
	P50Ratio float64 `json:"p50Ratio"`
	P99Ratio float64 `json:"p99Ratio"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitNoBindings waits until the operator has removed the DataResidency's admission bindings.
func waitNoBindings(b *testing.B, c client.Client, logPath string) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var vb admissionv1.ValidatingAdmissionPolicyBindingList
		var mb admissionv1.MutatingAdmissionPolicyBindingList
		errV := c.List(context.Background(), &vb)
		errM := c.List(context.Background(), &mb)
		var left []string
		for _, x := range vb.Items {
			if x.Spec.ParamRef != nil && x.Spec.ParamRef.Name == "eu" {
				left = append(left, x.Name)
			}
		}
		for _, x := range mb.Items {
			if x.Spec.ParamRef != nil && x.Spec.ParamRef.Name == "eu" {
				left = append(left, x.Name)
			}
		}
		if errV == nil && errM == nil && len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the DataResidency's bindings %v are still there a minute after its deletion (%v, %v); operator log in %s", left, errV, errM, logPath)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
