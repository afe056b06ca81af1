package scope

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// Scope is what a policy covers.
type Scope struct {
	// Tenants are the selected TenantIsolations' names, sorted; named ones count even before they exist.
	Tenants []string
	// Listed are the namespaces the policy names itself, sorted.
	Listed []string
	// Namespaces are the tenants' namespaces (by their tenant label) and the listed ones, sorted.
	Namespaces []string
}

// ErrInvalidSelector: the tenant selector cannot be read.
var ErrInvalidSelector = fmt.Errorf("spec.tenants.selector is not a valid label selector")

// Resolve reads, from the cache, the tenants a selection picks and their namespaces.
func Resolve(ctx context.Context, c client.Reader, tenants *rempartv1.TenantSelection, listed []rempartv1.NamespaceName) (Scope, error) {
	names := map[string]bool{}
	if tenants != nil {
		for _, n := range tenants.Names {
			names[string(n)] = true
		}
		if tenants.Selector != nil {
			sel, err := metav1.LabelSelectorAsSelector(tenants.Selector)
			if err != nil {
				return Scope{}, fmt.Errorf("%w: %w", ErrInvalidSelector, err)
			}
			var list rempartv1.TenantIsolationList
			if err := c.List(ctx, &list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
				return Scope{}, fmt.Errorf("list tenants: %w", err)
			}
			for _, ti := range list.Items {
				names[ti.Name] = true
			}
		}
	}
	var s Scope
	covered := map[string]bool{}
	for n := range names {
		s.Tenants = append(s.Tenants, n)
	}
	sort.Strings(s.Tenants)
	for _, n := range listed {
		s.Listed = append(s.Listed, string(n))
		covered[string(n)] = true
	}
	sort.Strings(s.Listed)
	if len(s.Tenants) > 0 {
		req, err := labels.NewRequirement(rempartv1.LabelTenant, selection.In, s.Tenants)
		if err != nil {
			return Scope{}, fmt.Errorf("tenant label selector: %w", err)
		}
		var nsList corev1.NamespaceList
		if err := c.List(ctx, &nsList, client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*req)}, client.UnsafeDisableDeepCopy); err != nil {
			return Scope{}, fmt.Errorf("list namespaces: %w", err)
		}
		for _, ns := range nsList.Items {
			covered[ns.Name] = true
		}
	}
	for n := range covered {
		s.Namespaces = append(s.Namespaces, n)
	}
	sort.Strings(s.Namespaces)
	return s, nil
}

// Selectors are namespace selectors for admission bindings: one for the tenants' namespaces by
// their tenant label, one for the listed namespaces by name (a binding takes one selector).
func (s Scope) Selectors() map[string]*metav1.LabelSelector {
	out := map[string]*metav1.LabelSelector{}
	if len(s.Tenants) > 0 {
		out["tenants"] = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpIn, Values: s.Tenants}}}
	}
	if len(s.Listed) > 0 {
		out["namespaces"] = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: s.Listed}}}
	}
	return out
}

// Covers says whether a policy's selection covers the namespace: listed by the policy, or held
// (by its tenant label) by a tenant it selects by name or label. It reads one namespace and at
// most one tenant from the cache, so that an event can be mapped to the policies it concerns.
func Covers(ctx context.Context, c client.Reader, tenants *rempartv1.TenantSelection, listed []rempartv1.NamespaceName, namespace string) (bool, error) {
	for _, n := range listed {
		if string(n) == namespace {
			return true, nil
		}
	}
	if tenants == nil {
		return false, nil
	}
	var ns corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: namespace}, &ns); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	tenant := ns.Labels[rempartv1.LabelTenant]
	if tenant == "" {
		return false, nil
	}
	for _, n := range tenants.Names {
		if string(n) == tenant {
			return true, nil
		}
	}
	if tenants.Selector == nil {
		return false, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(tenants.Selector)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalidSelector, err)
	}
	var ti rempartv1.TenantIsolation
	if err := c.Get(ctx, client.ObjectKey{Name: tenant}, &ti); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return sel.Matches(labels.Set(ti.Labels)), nil
}
