package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rempart-io/rempart/test/manifests"
	"github.com/rempart-io/rempart/test/testenv"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func renderKustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := manifests.Build(filepath.Join(repoRoot(t), dir))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func renderHelm(t *testing.T, values ...string) []*unstructured.Unstructured {
	t.Helper()
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Fatal("HELM is not set: run through `make test-integration`, which builds the pinned Helm")
	}
	if !filepath.IsAbs(helm) && strings.ContainsRune(helm, filepath.Separator) {
		helm = filepath.Join(repoRoot(t), helm) // a path relative to the checkout, as the README writes it
	}
	args := []string{"template", "rempart", filepath.Join(repoRoot(t), "charts", "rempart"), "--namespace", "rempart-system", "--include-crds"}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	cmd := exec.Command(helm, args...)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("helm template: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("helm template: %v", err)
	}
	objs, err := manifests.Decode(string(out))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func byKind(objs []*unstructured.Unstructured, kind string) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetKind() == kind {
			m[o.GetName()] = o
		}
	}
	return m
}

func TestDefaultOverlayAppliesToTheAPIServer(t *testing.T) {
	objs := renderKustomize(t, "config/default")
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
	}
	for _, want := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment"} {
		if kinds[want] == 0 {
			t.Errorf("config/default renders no %s (got %v)", want, kinds)
		}
	}
	if err := manifests.Apply(context.Background(), env.Client, objs, "rempart-test", true); err != nil {
		t.Fatalf("the API server refused config/default: %v", err)
	}
}

func TestSamplesApplyToTheAPIServer(t *testing.T) {
	objs := renderKustomize(t, "config/samples")
	if err := manifests.Apply(context.Background(), env.Client, objs, "rempart-test", true); err != nil {
		t.Fatalf("the API server refused config/samples: %v", err)
	}
}

// The manager's Deployment must satisfy the restricted Pod Security profile and run with the
// hardening a security review expects.
func TestManagerDeploymentIsHardened(t *testing.T) {
	deps := byKind(renderKustomize(t, "config/default"), "Deployment")
	dep, ok := deps["rempart"]
	if !ok {
		t.Fatalf("no Deployment rempart in config/default: %v", deps)
	}
	assertHardened(t, dep)
}

func assertHardened(t *testing.T, dep *unstructured.Unstructured) {
	t.Helper()
	get := func(path ...string) any {
		v, _, _ := unstructured.NestedFieldNoCopy(dep.Object, path...)
		return v
	}
	if r := asFloat(get("spec", "replicas")); r < 2 {
		t.Errorf("%s runs %v replicas, want at least 2 with leader election", dep.GetName(), get("spec", "replicas"))
	}
	if get("spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("pod does not require runAsNonRoot")
	}
	if get("spec", "template", "spec", "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Error("pod does not use the RuntimeDefault seccomp profile")
	}
	containers, _ := get("spec", "template", "spec", "containers").([]any)
	if len(containers) != 1 {
		t.Fatalf("want one container, got %d", len(containers))
	}
	c := containers[0].(map[string]any)
	cget := func(path ...string) any {
		v, _, _ := unstructured.NestedFieldNoCopy(c, path...)
		return v
	}
	if cget("securityContext", "readOnlyRootFilesystem") != true || cget("securityContext", "allowPrivilegeEscalation") != false {
		t.Error("container root filesystem is writable or privilege escalation is allowed")
	}
	if drop, _ := cget("securityContext", "capabilities", "drop").([]any); len(drop) != 1 || drop[0] != "ALL" {
		t.Errorf("container drops capabilities %v, want [ALL]", drop)
	}
	for _, r := range []string{"requests", "limits"} {
		if res, _ := cget("resources", r).(map[string]any); res["cpu"] == nil || res["memory"] == nil {
			t.Errorf("container has no cpu and memory %s", r)
		}
	}
	if cget("livenessProbe", "httpGet", "path") != "/healthz" || cget("readinessProbe", "httpGet", "path") != "/readyz" {
		t.Error("container lacks the /healthz liveness and /readyz readiness probes")
	}
	args, _ := cget("args").([]any)
	hasLeaderElect := false
	for _, a := range args {
		if a == "--leader-elect" || a == "--leader-elect=true" {
			hasLeaderElect = true
		}
	}
	if !hasLeaderElect {
		t.Errorf("manager args %v do not turn leader election on", args)
	}
}

func sortedRules(t *testing.T, o *unstructured.Unstructured) []any {
	t.Helper()
	rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
	sort.Slice(rules, func(i, j int) bool { return reflect.ValueOf(rules[i]).String() < reflect.ValueOf(rules[j]).String() })
	return rules
}

func TestHelmChartMatchesKustomize(t *testing.T) {
	kust := renderKustomize(t, "config/default")
	chart := renderHelm(t)

	kCRDs, hCRDs := byKind(kust, "CustomResourceDefinition"), byKind(chart, "CustomResourceDefinition")
	if len(kCRDs) != len(hCRDs) {
		t.Errorf("kustomize has %d CRDs, the chart %d", len(kCRDs), len(hCRDs))
	}
	for name, k := range kCRDs {
		h, ok := hCRDs[name]
		if !ok {
			t.Errorf("the chart lacks CRD %s", name)
			continue
		}
		if !reflect.DeepEqual(k.Object["spec"], h.Object["spec"]) {
			t.Errorf("CRD %s differs between kustomize and the chart: run make manifests", name)
		}
	}

	for _, kind := range []string{"ClusterRole", "Role"} {
		k, h := byKind(kust, kind), byKind(chart, kind)
		if len(k) != len(h) {
			t.Errorf("kustomize has %d %ss, the chart %d", len(k), kind, len(h))
		}
		for name, ko := range k {
			ho, ok := h[name] // the chart's release "rempart" yields the same names
			if !ok {
				t.Errorf("the chart lacks %s %s", kind, name)
				continue
			}
			if !reflect.DeepEqual(sortedRules(t, ko), sortedRules(t, ho)) {
				t.Errorf("%s %s rules differ between kustomize and the chart:\nkustomize: %v\nchart:     %v", kind, name, ko.Object["rules"], ho.Object["rules"])
			}
		}
	}
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding", "ServiceAccount"} {
		k, h := byKind(kust, kind), byKind(chart, kind)
		for name := range k {
			if _, ok := h[name]; !ok {
				t.Errorf("the chart lacks %s %s", kind, name)
			}
		}
	}

	if _, ok := byKind(chart, "Service")["rempart-metrics"]; !ok {
		t.Error("the chart renders no metrics Service rempart-metrics")
	}
	if _, ok := byKind(kust, "Service")["rempart-metrics"]; !ok {
		t.Error("kustomize renders no metrics Service rempart-metrics")
	}
	if len(byKind(chart, "PrometheusRule"))+len(byKind(chart, "ServiceMonitor")) != 0 {
		t.Error("the chart renders Prometheus Operator objects by default, which fail without its CRDs")
	}
	monitored := renderHelm(t, "metrics.prometheusRule.enabled=true", "metrics.serviceMonitor.enabled=true")
	prom := renderKustomize(t, "config/prometheus")
	if len(prom) != 2 || len(byKind(monitored, "ServiceMonitor")) != 1 {
		t.Fatalf("config/prometheus renders %d objects, the chart %d ServiceMonitors", len(prom), len(byKind(monitored, "ServiceMonitor")))
	}
	if pr := byKind(monitored, "PrometheusRule")["rempart"]; pr == nil || !reflect.DeepEqual(pr.Object["spec"], byKind(prom, "PrometheusRule")["rempart"].Object["spec"]) {
		t.Error("the chart's PrometheusRule differs from config/prometheus/rules.yaml: run make manifests")
	}
	// Both scrape over HTTPS with a token the manager has the API server check.
	for name, sm := range map[string]*unstructured.Unstructured{"chart": byKind(monitored, "ServiceMonitor")["rempart"], "kustomize": byKind(prom, "ServiceMonitor")["rempart"]} {
		if sm == nil {
			t.Errorf("%s renders no ServiceMonitor rempart", name)
			continue
		}
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		if len(endpoints) != 1 {
			t.Errorf("%s ServiceMonitor endpoints %v", name, endpoints)
			continue
		}
		ep := endpoints[0].(map[string]any)
		if ep["scheme"] != "https" || ep["bearerTokenFile"] == nil || ep["port"] != "metrics" {
			t.Errorf("%s ServiceMonitor does not scrape over HTTPS with a token: %v", name, ep)
		}
	}

	deps := byKind(chart, "Deployment")
	dep, ok := deps["rempart"]
	if !ok {
		t.Fatalf("the chart renders no Deployment rempart: %v", deps)
	}
	assertHardened(t, dep)

	// The chart installs into an existing namespace, as `helm install -n` does.
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName("rempart-system")
	if err := manifests.Apply(context.Background(), env.Client, append(chart, ns), "rempart-test", true); err != nil {
		t.Fatalf("the API server refused the chart: %v", err)
	}
}

func TestCertManagerCRDsAreInstalled(t *testing.T) {
	crd := &unstructured.Unstructured{}
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: "certificates.cert-manager.io"}, crd); err != nil {
		t.Fatalf("cert-manager's Certificate CRD is not installed: %v", err)
	}
}

// asFloat reads a number decoded from YAML or JSON, whichever numeric type the decoder chose.
func asFloat(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

// A typo or a wrong type in values fails at install, named, instead of being ignored.
func TestHelmValuesSchemaRefusesBadValues(t *testing.T) {
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Fatal("HELM is not set: run through `make test-integration`, which builds the pinned Helm")
	}
	for value, want := range map[string]string{
		"imagee.tag=v1":                "additional properties 'imagee' not allowed",
		"replicaCount=0":               "/replicaCount",
		"policyReports=maybe":          "/policyReports",
		"resyncPeriod=soon":            "/resyncPeriod",
		"metrics.port=70000":           "/metrics/port",
		"adminAccess.maxTemporary=1d":  "/adminAccess/maxTemporary",
		"evidence.bucket=Evidence_Log": "/evidence/bucket",
		"evidence.retention=1y":        "/evidence/retention",
		"evidence.s3URL=ftp://store":   "/evidence/s3URL",
	} {
		cmd := exec.Command(helm, "template", "rempart", filepath.Join(repoRoot(t), "charts", "rempart"), "--set", value)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("--set %s: %v, output lacks %q:\n%s", value, err, want, out)
		}
	}
}

// The evidence log's values reach the operator as flags, its credentials Secret mounted read-only;
// without a bucket no evidence flag is set.
func TestHelmEvidenceValues(t *testing.T) {
	args := func(values ...string) string {
		dep := byKind(renderHelm(t, values...), "Deployment")["rempart"]
		containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		a, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
		mounts, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "volumeMounts")
		return fmt.Sprint(a, mounts)
	}
	if got := args(); strings.Contains(got, "--evidence") {
		t.Errorf("evidence flags without a bucket: %s", got)
	}
	got := args("evidence.bucket=rempart-evidence", "evidence.s3URL=https://s3.gra.io.cloud.ovh.net", "evidence.region=gra", "evidence.credentialsSecret=evidence-credentials")
	for _, want := range []string{"--evidence-bucket=rempart-evidence", "--evidence-s3-url=https://s3.gra.io.cloud.ovh.net", "--evidence-region=gra",
		"--evidence-retention=8760h", "--evidence-credentials-file=/etc/rempart/evidence/cloud", "mountPath:/etc/rempart/evidence", "readOnly:true"} {
		if !strings.Contains(got, want) {
			t.Errorf("the chart's operator lacks %q: %s", want, got)
		}
	}
}

// What kustomize gives the operator for availability and isolation, the chart gives too: a
// PodDisruptionBudget, replicas spread over nodes, and a restricted Pod Security namespace.
func TestHelmChartAvailabilityAndNamespaceParity(t *testing.T) {
	kust := renderKustomize(t, "config/default")
	chart := renderHelm(t, "namespace.create=true")
	kp, hp := byKind(kust, "PodDisruptionBudget")["rempart"], byKind(chart, "PodDisruptionBudget")["rempart"]
	if kp == nil || hp == nil {
		t.Fatalf("PodDisruptionBudget: kustomize %v, chart %v", kp != nil, hp != nil)
	}
	if a, b := kp.Object["spec"].(map[string]any)["minAvailable"], hp.Object["spec"].(map[string]any)["minAvailable"]; asFloat(a) != 1 || asFloat(b) != 1 {
		t.Errorf("minAvailable: kustomize %v, chart %v", a, b)
	}
	if single := renderHelm(t, "replicaCount=1"); len(byKind(single, "PodDisruptionBudget")) != 0 {
		t.Error("a single replica gets a PodDisruptionBudget that would block every drain")
	}
	spread, _, _ := unstructured.NestedSlice(byKind(chart, "Deployment")["rempart"].Object, "spec", "template", "spec", "topologySpreadConstraints")
	if len(spread) != 1 || spread[0].(map[string]any)["topologyKey"] != "kubernetes.io/hostname" {
		t.Errorf("the chart's replicas are not spread over nodes: %v", spread)
	}
	kns, hns := byKind(kust, "Namespace")["rempart-system"], byKind(chart, "Namespace")["rempart-system"]
	if kns == nil || hns == nil {
		t.Fatalf("Namespace: kustomize %v, chart %v", kns != nil, hns != nil)
	}
	for _, l := range []string{"pod-security.kubernetes.io/enforce", "pod-security.kubernetes.io/enforce-version"} {
		if kns.GetLabels()[l] == "" || kns.GetLabels()[l] != hns.GetLabels()[l] {
			t.Errorf("label %s: kustomize %q, chart %q", l, kns.GetLabels()[l], hns.GetLabels()[l])
		}
	}
	if len(byKind(renderHelm(t), "Namespace")) != 0 {
		t.Error("the chart renders the namespace by default, which clashes with helm install --create-namespace")
	}
}
