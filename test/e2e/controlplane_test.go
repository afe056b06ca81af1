package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

func waitFor(t *testing.T, what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: %v (last: %v)", what, err, last)
	}
}

// Pods of a Deployment are placed by the real scheduler onto simulated nodes, run, and go away
// with their namespace through the real namespace controller.
func TestDeploymentRunsOnSimulatedNodesAndNamespaceDeletionCompletes(t *testing.T) {
	ctx := context.Background()
	cs := cluster.Clientset
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-workload"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1.0"}},
					// Keep the workload in the EU regions, as a residency rule will.
					Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
							MatchExpressions: []corev1.NodeSelectorRequirement{{
								Key: "topology.kubernetes.io/region", Operator: corev1.NodeSelectorOpIn,
								Values: []string{"eu-west-3", "europe-west9"},
							}},
						}}},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns.Name).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "4 Running pods on EU nodes", 2*time.Minute, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName == "" || p.Status.PodIP == "" {
				continue
			}
			node, err := cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if r := node.Labels["topology.kubernetes.io/region"]; r != "eu-west-3" && r != "europe-west9" {
				t.Fatalf("pod %s was scheduled onto %s in region %s, outside its required affinity", p.Name, node.Name, r)
			}
			running++
		}
		return running == 4, fmt.Errorf("%d of %d pods running", running, len(pods.Items))
	})
	waitFor(t, "the Deployment to report 4 available replicas", time.Minute, func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments(ns.Name).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.AvailableReplicas == 4, fmt.Errorf("%d available", d.Status.AvailableReplicas)
	})

	if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the namespace to be deleted with its pods", 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// Pods that require a region no node is in stay Pending: the scheduler really filters.
func TestPodsRequiringAnAbsentRegionStayPending(t *testing.T) {
	ctx := context.Background()
	cs := cluster.Clientset
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-unschedulable"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	waitFor(t, "the default service account", time.Minute, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nowhere", Namespace: ns.Name},
		Spec: corev1.PodSpec{
			Containers:   []corev1.Container{{Name: "app", Image: "registry.example/app:1.0"}},
			NodeSelector: map[string]string{"topology.kubernetes.io/region": "ap-southeast-2"},
		},
	}
	if _, err := cs.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scheduler to report the pod unschedulable", time.Minute, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns.Name).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("pod requiring an absent region was bound to %s", p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				if !strings.Contains(c.Message, "node(s) didn't match") {
					t.Errorf("unschedulable message %q does not say why", c.Message)
				}
				return true, nil
			}
		}
		return false, fmt.Errorf("conditions %v", p.Status.Conditions)
	})
}
