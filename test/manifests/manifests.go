package manifests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Build renders a kustomize directory into objects.
func Build(dir string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", dir, err)
	}
	return Decode(string(out))
}

// Decode splits a multi-document YAML stream into objects, skipping empty documents.
func Decode(stream string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode manifest: %w", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		objs = append(objs, u)
	}
}

// applyOrder puts the objects others depend on first: namespaces and CRDs, then RBAC, then the rest.
func applyOrder(u *unstructured.Unstructured) int {
	switch u.GetKind() {
	case "Namespace", "CustomResourceDefinition":
		return 0
	case "ServiceAccount", "ClusterRole", "Role":
		return 1
	case "ClusterRoleBinding", "RoleBinding":
		return 2
	default:
		return 3
	}
}

// Apply server-side applies the objects as fieldManager, dependencies first. With dryRun the API
// server validates and admits every object but persists nothing; namespaces are then still created
// for real, since a namespaced object cannot be dry-run into a namespace that does not exist.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, fieldManager string, dryRun bool) error {
	sorted := append([]*unstructured.Unstructured(nil), objs...)
	sort.SliceStable(sorted, func(i, j int) bool { return applyOrder(sorted[i]) < applyOrder(sorted[j]) })
	for _, u := range sorted {
		opts := []client.ApplyOption{client.FieldOwner(fieldManager), client.ForceOwnership}
		if dryRun && u.GetKind() != "Namespace" {
			opts = append(opts, client.DryRunAll)
		}
		if err := applyWhenServed(ctx, c, u, opts); err != nil {
			return fmt.Errorf("apply %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(u), err)
		}
	}
	return nil
}

// applyWhenServed retries while the API server does not serve the object's kind yet, which
// happens for a few seconds after its CRD is created.
func applyWhenServed(ctx context.Context, c client.Client, u *unstructured.Unstructured, opts []client.ApplyOption) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		lastErr = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), opts...)
		if lastErr == nil {
			return true, nil
		}
		// A kind whose CRD was just created is briefly not served: the server answers NoMatch, or
		// 404 on the resource itself (not on a missing namespace, which retrying cannot fix).
		if meta.IsNoMatchError(lastErr) || (apierrors.IsNotFound(lastErr) && !isMissingNamespace(lastErr)) {
			return false, nil
		}
		return false, lastErr
	})
	if err != nil && lastErr != nil {
		return lastErr
	}
	return err
}

func isMissingNamespace(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Kind == "namespaces"
}

// File decodes the objects of one YAML file.
func File(path string) ([]*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(string(b))
}
