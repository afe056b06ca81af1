// Package scale measures the operator against the real API server, each figure beside a baseline
// measured in the same run: the same objects created by a bare client.
package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/localcluster"
	"github.com/rempart-io/rempart/test/testenv"
)

const (
	namespacesPerTenant = 3
	workers             = 4 // the bare client gets the operator's default reconcile concurrency
)

func tenant(prefix string, i int) *rempartv1.TenantIsolation {
	name := fmt.Sprintf("%s-%03d", prefix, i)
	ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rempartv1.TenantIsolationSpec{Environment: rempartv1.EnvironmentProduction}}
	for j := range namespacesPerTenant {
		ti.Spec.Namespaces = append(ti.Spec.Namespaces, rempartv1.NamespaceName(fmt.Sprintf("%s-ns%d", name, j)))
	}
	return ti
}

// parallel runs fn for 0..n-1 on workers goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// peakRSS reads the high-water mark of a process's resident memory, in MiB.
func peakRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, err := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmHWM line")
}

// BenchmarkTenantIsolation300Tenants creates 300 tenants of 3 namespaces each and measures the
// time until every one is Compliant, beside a bare client writing the same enforced state on a
// fresh server, and the operator's peak memory and API requests.
func BenchmarkTenantIsolation300Tenants(b *testing.B) {
	benchTenants(b, "tenantisolation-300-tenants", 300)
}

// BenchmarkTenantIsolation1000Tenants is the same at 1,000 tenants (3,000 namespaces).
func BenchmarkTenantIsolation1000Tenants(b *testing.B) {
	benchTenants(b, "tenantisolation-1000-tenants", 1000)
}

func benchTenants(b *testing.B, scenario string, n int) {
	operatorBinary := operatorUnderTest(b)
	for range b.N {
		result := benchResult{Scenario: scenario, Title: fmt.Sprintf("TenantIsolation, %d tenants x %d namespaces, to all Compliant", n, namespacesPerTenant),
			BaselineLabel: "bare client, same enforced state", Unit: "s", Baseline: "a bare client writing the enforced state the operator reached (namespaces, NetworkPolicies, quotas, limits, admission policies, bindings, parameters) on a fresh API server, no rate limiter on either"}
		var state enforcedState
		for run := range benchRuns() {
			// The first run gives the state to replay; later runs alternate which side goes
			// first, each on its own fresh server.
			var r benchRun
			var err error
			if run%2 == 1 {
				r.Baseline, err = baselineRun(state)
				if err != nil {
					b.Fatal(err)
				}
			}
			op, captured := operatorRun(b, operatorBinary, n, run == 0)
			if run == 0 {
				state = captured
			}
			if run%2 == 0 {
				r.Baseline, err = baselineRun(state)
				if err != nil {
					b.Fatal(err)
				}
			}
			r.Rempart, r.PeakMiB, r.RequestsPerTenant, r.BaselineObjects = op.seconds, op.peakMiB, op.requests/float64(n), state.count()
			r.Ratio = r.Rempart / r.Baseline
			fmt.Printf("run %d: %d tenants x %d namespaces: bare client %.1fs (%d objects), operator to all Compliant %.1fs, ratio %.2f, operator peak RSS %.0f MiB, %.1f requests/tenant\n",
				run+1, n, namespacesPerTenant, r.Baseline, r.BaselineObjects, r.Rempart, r.Ratio, r.PeakMiB, r.RequestsPerTenant)
			result.Runs = append(result.Runs, r)
		}
		if err := result.summarize(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(result.MedianRatio, "ratio")
		b.ReportMetric(result.MaxPeakMiB, "peak-MiB")
	}
}

// baselineRun writes the state with a bare client on a fresh API server.
func baselineRun(state enforcedState) (float64, error) {
	env, c, err := freshServer()
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	if err := warmOwnershipParams(context.Background(), c); err != nil {
		return 0, err
	}
	took, err := replay(context.Background(), c, state)
	return took.Seconds(), err
}

// warmOwnershipParams makes a fresh API server start reading NamespaceOwnership objects as
// admission parameters before the clock starts. The server begins to read a parameter kind when a
// policy first names it, and refuses the requests that policy matches until it has ("not yet
// synced"); on the operator's side that happened before its tenants were created, when the
// operator wrote its policies. A probe policy, bound only in a probe namespace, names the kind and
// stays for the run.
func warmOwnershipParams(ctx context.Context, c client.Client) error {
	const probe = "bench-param-probe"
	deny := admissionv1.DenyAction
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probe, Labels: map[string]string{probe: "true"}}},
		&admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: probe}, Spec: admissionv1.ValidatingAdmissionPolicySpec{
			ParamKind: &admissionv1.ParamKind{APIVersion: rempartv1.GroupVersion.String(), Kind: "NamespaceOwnership"},
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}},
			Validations: []admissionv1.Validation{{Expression: "true"}}}},
		&admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: probe}, Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: probe, ParamRef: &admissionv1.ParamRef{Name: rempartv1.NamespaceOwnershipName, ParameterNotFoundAction: &deny},
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{probe: "true"}}}}},
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("create the parameter probe: %w", err)
		}
	}
	// The probe's parameter does not exist, so once the kind is read it refuses every ConfigMap
	// of its namespace for that reason: admitted means not loaded yet, "not yet synced" means the
	// kind is not read yet.
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		last = c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: probe, Name: probe}}, client.DryRunAll)
		if last != nil && !strings.Contains(last.Error(), "not yet synced") {
			return nil
		}
	}
	return fmt.Errorf("the API server did not read NamespaceOwnership parameters within a minute: %w", last)
}

type operatorFigures struct {
	seconds, peakMiB, requests float64
}

// operatorRun starts the operator on a fresh API server, creates n tenants, waits until all are
// Compliant, and captures the enforced state when asked.
func operatorRun(b *testing.B, operatorBinary string, n int, capture bool) (operatorFigures, enforcedState) {
	b.Helper()
	run, stop := tenantsConverged(b, operatorBinary, "ti", n)
	defer stop()
	env, c, ctx := run.env, run.c, context.Background()
	var fig operatorFigures
	var err error
	fig.seconds = run.took.Seconds()
	if fig.peakMiB, err = peakRSS(run.cmd.Process.Pid); err != nil {
		b.Fatal(err)
	}
	requests, err := operatorRequests(run.metricsURL)
	if err != nil {
		b.Fatal(err)
	}
	fig.requests = float64(requests)
	if err := serverWork(env, 15); err != nil {
		b.Fatal(err)
	}
	var state enforcedState
	if capture {
		if state, err = captureEnforcedState(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	return fig, state
}

// convergedRun is a fresh API server with the operator running and n tenants Compliant.
type convergedRun struct {
	env                 *testenv.Env
	c                   client.Client
	cmd                 *exec.Cmd
	metricsURL, logPath string
	// took is the time from the first tenant's creation until all were Compliant.
	took time.Duration
}

// tenantsConverged starts a fresh API server and the operator, creates n tenants named after
// prefix, and waits until all are Compliant; stop ends the operator and the server.
func tenantsConverged(b *testing.B, operatorBinary, prefix string, n int) (convergedRun, func()) {
	b.Helper()
	env, c := mustFreshServer(b)
	cmd, metricsURL, logPath := startOperator(b, env, operatorBinary)
	stop := func() {
		stopOperator(cmd)
		_ = env.Stop()
	}
	start := time.Now()
	if err := parallel(n, func(i int) error { return c.Create(context.Background(), tenant(prefix, i)) }); err != nil {
		stop()
		b.Fatal(err)
	}
	waitAllCompliant(b, env, n, start, logPath)
	return convergedRun{env: env, c: c, cmd: cmd, metricsURL: metricsURL, logPath: logPath, took: time.Since(start)}, stop
}

// waitAllCompliant watches the tenants until n are Compliant at their generation: a watch, not
// a poll, so that measuring costs the API server next to nothing.
func waitAllCompliant(b *testing.B, env *testenv.Env, n int, start time.Time, logPath string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	compliant := map[string]bool{}
	for len(compliant) < n {
		w, err := wc.Watch(ctx, &rempartv1.TenantIsolationList{})
		if err != nil {
			b.Fatalf("%d of %d tenants compliant: %v; operator log in %s", len(compliant), n, err, logPath)
		}
		for ev := range w.ResultChan() {
			ti, ok := ev.Object.(*rempartv1.TenantIsolation)
			if !ok {
				continue
			}
			cond := meta.FindStatusCondition(ti.Status.Conditions, rempartv1.ConditionCompliant)
			if ev.Type != watch.Deleted && cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == ti.Generation {
				compliant[ti.Name] = true
			} else {
				delete(compliant, ti.Name)
			}
			if os.Getenv("REMPART_BENCH_TRACE") != "" {
				fmt.Printf("  %5.1fs %d compliant\n", time.Since(start).Seconds(), len(compliant))
			}
			if len(compliant) == n {
				break
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			b.Fatalf("%d of %d tenants compliant after 15 minutes; operator log in %s", len(compliant), n, logPath)
		}
	}
}

// operatorRequests sums the API requests the operator made, from its client metrics, and prints
// them by verb and code so a regression shows where it comes from.
func operatorRequests(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "controller_runtime_reconcile_total{") && !strings.HasSuffix(line, " 0") {
			fmt.Println("  operator", line)
		}
		if !strings.HasPrefix(line, "rest_client_requests_total{") {
			continue
		}
		fields := strings.Fields(line)
		n, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, err
		}
		total += int(n)
		fmt.Println("  operator", line)
	}
	return total, nil
}

// startOperator runs the operator binary as its own process against the test API server, with
// its metrics on a free port; it dies with the benchmark.
func startOperator(b *testing.B, env *testenv.Env, operatorBinary string) (*exec.Cmd, string, string) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		b.Fatal(err)
	}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rempart-system"}}); err != nil {
		b.Fatal(err)
	}
	logPath := filepath.Join(dir, "operator.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	metricsPort, err := localcluster.FreePorts(1)
	if err != nil {
		b.Fatal(err)
	}
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort[0])
	args := []string{"--leader-elect=false", fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort[0]), "--metrics-secure=false", "--health-probe-bind-address=127.0.0.1:0"}
	// REMPART_OPERATOR_ARGS adds flags, such as --pprof-bind-address to profile a run.
	cmd := exec.Command(operatorBinary, append(args, strings.Fields(os.Getenv("REMPART_OPERATOR_ARGS"))...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "POD_NAMESPACE=rempart-system")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return cmd, metricsURL, logPath
}

func stopOperator(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// operatorUnderTest is the operator binary `make bench` builds and names in REMPART_OPERATOR.
func operatorUnderTest(b *testing.B) string {
	b.Helper()
	binary := os.Getenv("REMPART_OPERATOR")
	if binary == "" {
		b.Fatal("REMPART_OPERATOR is not set: run through `make bench`, which builds the operator")
	}
	return binary
}
