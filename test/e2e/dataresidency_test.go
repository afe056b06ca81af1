package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

const regionLabel = rempartv1.DefaultRegionLabel

func deployment(namespace, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	pod := restrictedPod(namespace, "", labels)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec},
		},
	}
}

// residencyTenant creates a tenant, a DataResidency for it and waits until the policy is in force.
func residencyTenant(t *testing.T, c client.Client, name string, jurisdictions []rempartv1.Jurisdiction, countries ...rempartv1.CountryCode) string {
	t.Helper()
	ctx := context.Background()
	ns := name + "-app"
	ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rempartv1.TenantIsolationSpec{Environment: rempartv1.EnvironmentProduction, Namespaces: []rempartv1.NamespaceName{rempartv1.NamespaceName(ns)}}}
	dr := &rempartv1.DataResidency{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rempartv1.DataResidencySpec{
		Tenants:              &rempartv1.TenantSelection{Names: []rempartv1.TenantName{rempartv1.TenantName(name)}},
		AllowedJurisdictions: jurisdictions, AllowedCountries: countries,
	}}
	for _, obj := range []client.Object{ti, dr} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = c.Delete(context.Background(), dr)
		ti.Spec.DeletionPolicy = rempartv1.DeletionDelete
		_ = c.Delete(context.Background(), ti)
		_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
	tenantCompliant(t, c, name)
	residencyState(t, c, name, func(dr *rempartv1.DataResidency) error {
		if dr.Status.Pinning != rempartv1.PinningMutation || !slices.Contains(dr.Status.Namespaces, ns) {
			return fmt.Errorf("pinning %q, namespaces %v", dr.Status.Pinning, dr.Status.Namespaces)
		}
		return nil
	})
	// The binding takes effect a moment after it is written: wait until a probe is pinned.
	waitFor(t, "pods of "+ns+" to be pinned", time.Minute, func(ctx context.Context) (bool, error) {
		probe := restrictedPod(ns, "probe", nil)
		if err := c.Create(ctx, probe, client.DryRunAll); err != nil {
			return false, err
		}
		return probe.Spec.Affinity != nil, fmt.Errorf("probe not pinned yet")
	})
	return ns
}

func residencyState(t *testing.T, c client.Client, name string, check func(*rempartv1.DataResidency) error) *rempartv1.DataResidency {
	t.Helper()
	var dr rempartv1.DataResidency
	waitFor(t, "DataResidency "+name, 2*time.Minute, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &dr); err != nil {
			return false, err
		}
		ready := meta.FindStatusCondition(dr.Status.Conditions, rempartv1.ConditionReady)
		if ready == nil || ready.ObservedGeneration != dr.Generation {
			return false, fmt.Errorf("not evaluated yet")
		}
		err := check(&dr)
		return err == nil, err
	})
	return &dr
}

// runningPods waits until the Deployment's pods are all bound and running, and returns them.
func runningPods(t *testing.T, c client.Client, ns, app string, want int) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	waitFor(t, fmt.Sprintf("%d pods of %s running", want, app), 2*time.Minute, func(ctx context.Context) (bool, error) {
		if err := c.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == want && len(pods.Items) == want, fmt.Errorf("%d of %d running", running, len(pods.Items))
	})
	return pods.Items
}

func nodesOf(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		if !slices.Contains(out, p.Spec.NodeName) {
			out = append(out, p.Spec.NodeName)
		}
	}
	slices.Sort(out)
	return out
}

// The real scheduler places an EU tenant's pods on EU nodes only, and a France-only tenant's on
// the French nodes only, across providers; the Deployments themselves are left as written.
func TestResidencyKeepsPodsInTheAllowedCountries(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	euNS := residencyTenant(t, c, "eu-shop", []rempartv1.Jurisdiction{"EU"})
	frNS := residencyTenant(t, c, "fr-bank", nil, "FR")
	for _, d := range []*appsv1.Deployment{deployment(euNS, "web", 12), deployment(frNS, "ledger", 12)} {
		if err := c.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	euNodes := nodesOf(runningPods(t, c, euNS, "web", 12))
	for _, n := range euNodes {
		if n == "aws-virginia-a" {
			t.Errorf("an EU tenant's pod runs in Virginia (nodes used: %v)", euNodes)
		}
	}
	frenchNodes := []string{"aws-paris-a", "aws-paris-b", "azure-paris-1", "gcp-paris-a"}
	frNodes := nodesOf(runningPods(t, c, frNS, "ledger", 12))
	for _, n := range frNodes {
		if !slices.Contains(frenchNodes, n) {
			t.Errorf("a France-only tenant's pod runs on %s (nodes used: %v)", n, frNodes)
		}
	}
	if len(frNodes) < 2 {
		t.Errorf("a France-only tenant's 12 pods use nodes %v: the scheduler should spread them over several French nodes", frNodes)
	}
	var written appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: frNS, Name: "ledger"}, &written); err != nil {
		t.Fatal(err)
	}
	if written.Spec.Template.Spec.Affinity != nil {
		t.Errorf("the Deployment's template was changed: %+v; only pods may be", written.Spec.Template.Spec.Affinity)
	}

	dr := residencyState(t, c, "fr-bank", func(dr *rempartv1.DataResidency) error {
		if c := dr.Status.Control("residency.pods"); c.State != rempartv1.ControlCompliant || !strings.Contains(c.Message, "(12)") {
			return fmt.Errorf("pods control %s: %s", c.State, c.Message)
		}
		return nil
	})
	if dr.Status.AllowedSummary != "FR" || strings.Contains(dr.Status.InUseSummary, "NOT ALLOWED") || !strings.Contains(dr.Status.InUseSummary, "(FR)") {
		t.Errorf("allowed %q, in use %q", dr.Status.AllowedSummary, dr.Status.InUseSummary)
	}
	out, err := exec.CommandContext(ctx, cluster.Kubectl(), "--kubeconfig", cluster.Kubeconfig, "get", "dr", "fr-bank").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "IN-USE") || !strings.Contains(string(out), "(FR)") {
		t.Errorf("kubectl get dr: %v\n%s", err, out)
	}

	// A pod aimed at Virginia is refused, naming the requirement.
	virginia := restrictedPod(frNS, "virginia", nil)
	virginia.Spec.NodeSelector = map[string]string{regionLabel: "us-east-1"}
	if err := c.Create(ctx, virginia); err == nil || !strings.Contains(err.Error(), "FT-CLD-74") || !strings.Contains(err.Error(), "us-east-1") {
		t.Errorf("a pod aimed at us-east-1: %v, want a refusal naming FT-CLD-74", err)
	}

	// A node relabelled to Virginia turns the policy NonCompliant, naming the node and its pods;
	// nothing is evicted, since spec.evictNonCompliant is off.
	moved := frNodes[0]
	relabel := func(region string) {
		waitFor(t, "relabel "+moved, 30*time.Second, func(ctx context.Context) (bool, error) {
			var n corev1.Node
			if err := c.Get(ctx, client.ObjectKey{Name: moved}, &n); err != nil {
				return false, err
			}
			n.Labels[regionLabel] = region
			err := c.Update(ctx, &n)
			return err == nil, err
		})
	}
	original := ""
	var n corev1.Node
	if err := c.Get(ctx, client.ObjectKey{Name: moved}, &n); err != nil {
		t.Fatal(err)
	}
	original = n.Labels[regionLabel]
	relabel("us-east-1")
	t.Cleanup(func() { relabel(original) })
	dr = residencyState(t, c, "fr-bank", func(dr *rempartv1.DataResidency) error {
		pods := dr.Status.Control("residency.pods")
		if pods.State != rempartv1.ControlNonCompliant || !strings.Contains(pods.Message, "node "+moved+" (us-east-1, US)") {
			return fmt.Errorf("pods control %s: %s", pods.State, pods.Message)
		}
		return nil
	})
	if cond := meta.FindStatusCondition(dr.Status.Conditions, rempartv1.ConditionCompliant); cond == nil || cond.Status != metav1.ConditionFalse {
		t.Errorf("Compliant %+v, want False", cond)
	}
	if !strings.Contains(dr.Status.Control("residency.pods").Message, frNS+"/ledger-") {
		t.Errorf("pods control does not name the pods: %s", dr.Status.Control("residency.pods").Message)
	}
	if got := runningPods(t, c, frNS, "ledger", 12); len(got) != 12 {
		t.Errorf("%d pods left, want all 12: the operator never evicts on its own", len(got))
	}
}
