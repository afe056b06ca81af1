package localcluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"time"
)

// SimulatedNodeLabel marks the nodes kwok manages.
const SimulatedNodeLabel = "rempart.io/simulated-node=true"

// Node is a simulated node and where it claims to run.
type Node struct {
	Name string
	// ProviderID is the node's spec.providerID, such as aws:///eu-west-3a/i-1: it names the cloud.
	ProviderID string
	Region     string
	Zone       string
}

// DefaultNodes are simulated nodes in EU regions of several providers and one outside the EU,
// so residency rules have both allowed and forbidden places to choose from.
func DefaultNodes() []Node {
	return []Node{
		{Name: "aws-paris-a", ProviderID: "aws:///eu-west-3a/i-0a1", Region: "eu-west-3", Zone: "eu-west-3a"},
		{Name: "aws-paris-b", ProviderID: "aws:///eu-west-3b/i-0b2", Region: "eu-west-3", Zone: "eu-west-3b"},
		{Name: "gcp-paris-a", ProviderID: "gce://rempart-demo/europe-west9-a/gcp-paris-a", Region: "europe-west9", Zone: "europe-west9-a"},
		{Name: "azure-paris-1", ProviderID: "azure:///subscriptions/demo/resourceGroups/demo/providers/Microsoft.Compute/virtualMachines/azure-paris-1", Region: "francecentral", Zone: "francecentral-1"},
		{Name: "aws-frankfurt-a", ProviderID: "aws:///eu-central-1a/i-0c3", Region: "eu-central-1", Zone: "eu-central-1a"},
		{Name: "aws-virginia-a", ProviderID: "aws:///us-east-1a/i-0d4", Region: "us-east-1", Zone: "us-east-1a"},
	}
}

func (n Node) object() *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.Name,
			Labels: map[string]string{
				"rempart.io/simulated-node":     "true",
				"kubernetes.io/hostname":        n.Name,
				"kubernetes.io/os":              "linux",
				"kubernetes.io/arch":            "amd64",
				"topology.kubernetes.io/region": n.Region,
				"topology.kubernetes.io/zone":   n.Zone,
			},
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0"},
		},
		Spec:   corev1.NodeSpec{ProviderID: n.ProviderID},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

func (c *Cluster) createNodes(ctx context.Context) error {
	for _, n := range c.opts.Nodes {
		if _, err := c.Clientset.CoreV1().Nodes().Create(ctx, n.object(), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
	}
	return c.poll(ctx, "simulated nodes to be Ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		for _, n := range c.opts.Nodes {
			node, err := c.Clientset.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !nodeReady(node) {
				return false, fmt.Errorf("node %s is not Ready", n.Name)
			}
		}
		return true, nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
