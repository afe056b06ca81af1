package enqueue

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// TenantsOfGrant enqueues the tenants an AdminAccess concerns: those it names, and those holding
// the namespaces it names or has bindings in; every tenant for a break-glass grant. A grant opening
// or closing changes only their inventories and reports.
func TenantsOfGrant(c client.Reader) handler.MapFunc {
	every := All(c, &rempartv1.TenantIsolationList{})
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		aa, ok := obj.(*rempartv1.AdminAccess)
		if !ok {
			return nil
		}
		if aa.Spec.BreakGlass {
			return every(ctx, obj)
		}
		seen := map[string]bool{}
		var out []reconcile.Request
		add := func(tenant string) {
			if tenant != "" && !seen[tenant] {
				seen[tenant] = true
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: tenant}})
			}
		}
		for _, t := range aa.Spec.Tenants {
			add(string(t))
		}
		namespaces := map[string]bool{}
		for _, n := range aa.Spec.Namespaces {
			namespaces[string(n)] = true
		}
		for _, b := range aa.Status.Bindings {
			namespaces[b.Namespace] = true
		}
		for n := range namespaces {
			var ns corev1.Namespace
			if err := c.Get(ctx, client.ObjectKey{Name: n}, &ns); err == nil {
				add(ns.Labels[rempartv1.LabelTenant])
			}
		}
		return out
	}
}
