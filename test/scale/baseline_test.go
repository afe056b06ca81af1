package scale

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/benchtable"
	"github.com/rempart-io/rempart/test/testenv"
)

// The baseline of a scenario is the enforced state the operator reached, written again by a bare
// client on a fresh API server of its own: exactly the objects the operator wrote (namespaces,
// NetworkPolicies, quotas, limits, admission policies, bindings and their parameters), with the
// operator's client settings (no client-side rate limiter), and nothing of what the operator
// writes only to report (statuses, ComplianceReports, PolicyReports). The policies are in force
// as for the operator: the baseline creates the TenantIsolations (their parameters) and the
// bindings before what they guard.

// enforcedKinds are the kinds that make up a tenant's enforced state.
var enforcedKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Namespace"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
	{Version: "v1", Kind: "ResourceQuota"},
	{Version: "v1", Kind: "LimitRange"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicy"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicyBinding"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingAdmissionPolicy"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingAdmissionPolicyBinding"},
	{Group: rempartv1.GroupVersion.Group, Version: rempartv1.GroupVersion.Version, Kind: "NamespaceOwnership"},
	// The tenants themselves: the user's input, and the parameters of the tenants' bindings.
	{Group: rempartv1.GroupVersion.Group, Version: rempartv1.GroupVersion.Version, Kind: "TenantIsolation"},
}

// enforcedState is what the operator wrote, split into the objects shared by every tenant and
// those of each tenant, ready to be created on another server.
type enforcedState struct {
	shared  []*unstructured.Unstructured
	tenants map[string][]*unstructured.Unstructured
}

func (s enforcedState) count() int {
	n := len(s.shared)
	for _, objs := range s.tenants {
		n += len(objs)
	}
	return n
}

// captureEnforcedState reads the objects the operator wrote, without what the server added.
func captureEnforcedState(ctx context.Context, c client.Client) (enforcedState, error) {
	state := enforcedState{tenants: map[string][]*unstructured.Unstructured{}}
	tenantOfNamespace := map[string]string{}
	var namespaced []*unstructured.Unstructured
	for _, gvk := range enforcedKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		selector := client.MatchingLabels{rempartv1.LabelManagedBy: rempartv1.ManagedByValue}
		if gvk.Kind == "Namespace" || gvk.Kind == "TenantIsolation" {
			selector = client.MatchingLabels{}
		}
		if err := c.List(ctx, list, selector); err != nil {
			return state, fmt.Errorf("list %s: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			tenant := obj.GetLabels()[rempartv1.LabelTenant]
			if gvk.Kind == "TenantIsolation" {
				tenant = obj.GetName()
			}
			if gvk.Kind == "Namespace" && tenant == "" {
				continue // not the operator's
			}
			strip(obj)
			switch {
			case gvk.Kind == "Namespace":
				tenantOfNamespace[obj.GetName()] = tenant
				state.tenants[tenant] = append(state.tenants[tenant], obj)
			case obj.GetNamespace() != "":
				namespaced = append(namespaced, obj)
			case tenant != "":
				state.tenants[tenant] = append(state.tenants[tenant], obj)
			default:
				state.shared = append(state.shared, obj)
			}
		}
	}
	for _, obj := range namespaced {
		tenant := tenantOfNamespace[obj.GetNamespace()]
		state.tenants[tenant] = append(state.tenants[tenant], obj)
	}
	// As the operator meets them: policies, parameters and bindings in force first, so that every
	// write pays the same admission; then namespaces before what they hold.
	order := func(u *unstructured.Unstructured) int {
		switch u.GetKind() {
		case "ValidatingAdmissionPolicy", "MutatingAdmissionPolicy", "NamespaceOwnership":
			return 0
		case "TenantIsolation":
			return 1
		case "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicyBinding":
			return 2
		case "Namespace":
			return 3
		}
		return 4
	}
	sortByOrder := func(objs []*unstructured.Unstructured) {
		sort.SliceStable(objs, func(i, j int) bool { return order(objs[i]) < order(objs[j]) })
	}
	sortByOrder(state.shared)
	for _, objs := range state.tenants {
		sortByOrder(objs)
	}
	return state, nil
}

// strip removes what the server sets, and owner references (the owners do not exist on the
// baseline's server, and the garbage collector would take their objects).
func strip(u *unstructured.Unstructured) {
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "ownerReferences", "finalizers"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	delete(u.Object, "status")
	if u.GetKind() == "Namespace" {
		unstructured.RemoveNestedField(u.Object, "spec")
	}
}

// replay creates the state on the server c talks to, tenants in parallel on workers goroutines,
// and returns how long it took.
func replay(ctx context.Context, c client.Client, state enforcedState) (time.Duration, error) {
	tenants := make([]string, 0, len(state.tenants))
	for t := range state.tenants {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	create := func(objs []*unstructured.Unstructured) error {
		for _, obj := range objs {
			if err := c.Create(ctx, obj.DeepCopy()); err != nil {
				return fmt.Errorf("create %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
			}
		}
		return nil
	}
	start := time.Now()
	if err := create(state.shared); err != nil {
		return 0, err
	}
	err := parallel(len(tenants), func(i int) error { return create(state.tenants[tenants[i]]) })
	return time.Since(start), err
}

// freshServer starts an API server of its own for one side of a comparison, with a client of
// the operator's settings.
func freshServer() (*testenv.Env, client.Client, error) {
	env, err := testenv.Start()
	if err != nil {
		return nil, nil, err
	}
	c, err := unlimitedClient(env)
	if err != nil {
		_ = env.Stop()
		return nil, nil, err
	}
	return env, c, nil
}

// mustFreshServer is freshServer for a benchmark, which stops at the first error.
func mustFreshServer(b *testing.B) (*testenv.Env, client.Client) {
	b.Helper()
	env, c, err := freshServer()
	if err != nil {
		b.Fatal(err)
	}
	return env, c
}

// unlimitedClient is a client of env with the operator's settings: no client-side rate limiter.
func unlimitedClient(env *testenv.Env) (client.Client, error) {
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	return client.New(cfg, client.Options{Scheme: env.Scheme})
}

// benchRun is one run of a scenario: the baseline's figure and Rempart's, in the result's unit
// (seconds for times, MiB for memory).
type benchRun struct {
	Baseline          float64 `json:"baseline"`
	Rempart           float64 `json:"rempart"`
	Ratio             float64 `json:"ratio"`
	PeakMiB           float64 `json:"peakMiB,omitempty"`
	RequestsPerTenant float64 `json:"requestsPerTenant,omitempty"`
	BaselineObjects   int     `json:"baselineObjects,omitempty"`
	// Detail holds the run's other figures, as printed.
	Detail string `json:"detail,omitempty"`
}

// benchResult is a scenario's runs and their summary, as printed and written under bin/bench/.
type benchResult struct {
	Scenario string `json:"scenario"`
	// Title is the scenario as the table names it.
	Title string `json:"title"`
	// Baseline says what the baseline does; BaselineLabel is its short name in the table.
	Baseline      string `json:"baseline"`
	BaselineLabel string `json:"baselineLabel"`
	// Unit of the runs' figures: "s" (shown in seconds), "ms" (seconds shown in milliseconds) or "MiB".
	Unit        string           `json:"unit"`
	Machine     string           `json:"machine"`
	When        time.Time        `json:"when"`
	Runs        []benchRun       `json:"runs"`
	MedianRatio float64          `json:"medianRatio"`
	MinRatio    float64          `json:"minRatio"`
	MaxRatio    float64          `json:"maxRatio"`
	MaxPeakMiB  float64          `json:"maxPeakMiB,omitempty"`
	Rows        []benchtable.Row `json:"rows"`
}

// benchRuns is how many times a scenario runs: REMPART_BENCH_RUNS, 3 by default.
func benchRuns() int {
	if n, err := strconv.Atoi(os.Getenv("REMPART_BENCH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 3
}

func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

// span formats figures in a unit: "s" and "ms" figures are seconds, "MiB" figures MiB.
func span(values []float64, unit string) string {
	switch unit {
	case "ms":
		ms := make([]float64, len(values))
		for i, v := range values {
			ms[i] = v * 1000
		}
		return benchtable.Span(ms, "%.0f", " ms")
	case "MiB":
		return benchtable.Span(values, "%.0f", " MiB")
	default:
		return benchtable.Span(values, "%.1f", " s")
	}
}

// ratioCell is "median (min-max)" over the runs, or the one ratio of a single run.
func ratioCell(ratios []float64) string {
	if len(ratios) == 1 {
		return fmt.Sprintf("%.2f", ratios[0])
	}
	return fmt.Sprintf("%.2f (%.2f-%.2f)", median(ratios), slices.Min(ratios), slices.Max(ratios))
}

// summarize computes the median and spread of the runs' ratios, prints them, and writes the
// result with its table row as JSON under bin/bench/.
func (r *benchResult) summarize() error {
	ratios := make([]float64, 0, len(r.Runs))
	var baselines, rempart, peaks, requests []float64
	for _, run := range r.Runs {
		ratios = append(ratios, run.Ratio)
		baselines, rempart = append(baselines, run.Baseline), append(rempart, run.Rempart)
		r.MaxPeakMiB = max(r.MaxPeakMiB, run.PeakMiB)
		if run.PeakMiB > 0 {
			peaks = append(peaks, run.PeakMiB)
		}
		if run.RequestsPerTenant > 0 {
			requests = append(requests, run.RequestsPerTenant)
		}
	}
	if len(ratios) == 0 {
		return fmt.Errorf("%s: no run", r.Scenario)
	}
	r.MinRatio, r.MaxRatio, r.MedianRatio = slices.Min(ratios), slices.Max(ratios), median(ratios)
	r.When, r.Machine = time.Now().UTC(), machine()
	r.Rows = []benchtable.Row{{
		Scenario: r.Title, Baseline: r.BaselineLabel + ": " + span(baselines, r.Unit), Rempart: span(rempart, r.Unit),
		Ratio: ratioCell(ratios), Memory: span(peaks, "MiB"), Requests: benchtable.Span(requests, "%.0f", ""), Runs: len(r.Runs),
	}}
	fmt.Printf("%-44s ratio median %.2f (min %.2f, max %.2f over %d runs), peak %.0f MiB; baseline: %s\n",
		r.Scenario, r.MedianRatio, r.MinRatio, r.MaxRatio, len(r.Runs), r.MaxPeakMiB, r.Baseline)
	return writeResult(r.Scenario, r)
}

// repeat runs a scenario benchRuns() times, then prints and writes its summary.
func (r benchResult) repeat(b *testing.B, run func() benchRun) {
	for range b.N {
		result := r
		for range benchRuns() {
			result.Runs = append(result.Runs, run())
		}
		if err := result.summarize(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(result.MedianRatio, "ratio")
	}
}

// median is the middle value of values, or the mean of the two middle ones.
func median(values []float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else if n > 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return 0
}

// writeResult writes a scenario's result as JSON under bin/bench/, where runs can be compared.
func writeResult(scenario string, result any) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "bin", "bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, scenario+".json"), b, 0o644)
}

// serverWork prints, from the API server's own metrics, the requests it served and the time it
// spent on them by resource and verb, largest first: where a scenario's cost lies.
func serverWork(env *testenv.Env, top int) error {
	cfg := rest.CopyConfig(env.Config)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		return err
	}
	type key struct{ resource, verb string }
	count, seconds := map[key]float64{}, map[key]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		var into map[key]float64
		switch {
		case strings.HasPrefix(line, "apiserver_request_duration_seconds_sum{"):
			into = seconds
		case strings.HasPrefix(line, "apiserver_request_duration_seconds_count{"):
			into = count
		default:
			continue
		}
		labels, value, _ := strings.Cut(line[strings.Index(line, "{")+1:], "} ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		k := key{label(labels, "resource") + "/" + label(labels, "subresource"), label(labels, "verb")}
		into[k] += v
	}
	keys := make([]key, 0, len(seconds))
	for k := range seconds {
		if k.verb != "WATCH" {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return seconds[keys[i]] > seconds[keys[j]] })
	for i, k := range keys {
		if i == top {
			break
		}
		fmt.Printf("  server %-8s %-50s %7.0f requests %7.1fs\n", k.verb, strings.TrimSuffix(k.resource, "/"), count[k], seconds[k])
	}
	return nil
}

// label reads one label's value from a Prometheus label list.
func label(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
