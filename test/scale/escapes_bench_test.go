package scale

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/testenv"
)

const (
	bulkPolicies       = 10_000
	bulkAnnotationSize = 16 << 10
)

// BenchmarkTenantObjectsMemory measures the operator's peak memory once a tenant's edit user has
// written 10,000 NetworkPolicies carrying 16 KiB of annotations each (route O1 of
// docs/threat-model.md), beside its peak memory on the same cluster before they were written.
func BenchmarkTenantObjectsMemory(b *testing.B) {
	operatorBinary := operatorUnderTest(b)
	benchResult{Scenario: "tenant-objects-memory", Title: "Operator memory once a tenant wrote 10,000 NetworkPolicies with 16 KiB of annotations each",
		BaselineLabel: "peak RSS before them", Unit: "MiB", Baseline: "the operator's peak memory on the same cluster before the NetworkPolicies were written"}.repeat(b, func() benchRun { return runBulk(b, operatorBinary) })
}

func waitTenant(b *testing.B, c client.Client, name string, want metav1.ConditionStatus) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var ti rempartv1.TenantIsolation
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &ti); err == nil {
			if cond := meta.FindStatusCondition(ti.Status.Conditions, rempartv1.ConditionCompliant); cond != nil &&
				cond.Status == want && cond.ObservedGeneration == ti.Generation {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("tenant %s not Compliant=%s after 10 minutes", name, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func runBulk(b *testing.B, operatorBinary string) benchRun {
	env, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	c := env.Client
	cmd, _, _ := startOperator(b, env, operatorBinary)
	defer stopOperator(cmd)

	for _, name := range []string{"bulk", "neighbour"} {
		if err := c.Create(ctx, &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rempartv1.TenantIsolationSpec{
			Environment: rempartv1.EnvironmentProduction, Namespaces: []rempartv1.NamespaceName{rempartv1.NamespaceName(name + "-app")}}}); err != nil {
			b.Fatal(err)
		}
		waitTenant(b, c, name, metav1.ConditionTrue)
	}
	empty, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}

	padding := strings.Repeat("x", bulkAnnotationSize)
	start := time.Now()
	err = parallel(bulkPolicies, func(i int) error {
		return c.Create(ctx, &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: "bulk-app", Name: fmt.Sprintf("bulk-%05d", i), Annotations: map[string]string{"example.com/padding": padding}},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}}},
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	written := time.Since(start)
	// One bridge after the bulk: once the operator reports it, it has read everything before it.
	if err := c.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "bulk-app", Name: "zz-bridge"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{rempartv1.LabelTenant: "neighbour"}}}}}}}}); err != nil {
		b.Fatal(err)
	}
	waitTenant(b, c, "bulk", metav1.ConditionFalse)
	bulk, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	annotations := float64(bulkPolicies*bulkAnnotationSize) / (1 << 20)
	fmt.Printf("%d tenant NetworkPolicies with %.0f MiB of annotations (written in %.1fs): operator peak RSS %.0f MiB, %.0f MiB before, ratio %.2f\n",
		bulkPolicies, annotations, written.Seconds(), bulk, empty, bulk/empty)
	return benchRun{Baseline: empty, Rempart: bulk, Ratio: bulk / empty, PeakMiB: bulk}
}
