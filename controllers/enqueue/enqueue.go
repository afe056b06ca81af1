package enqueue

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// All enqueues every cluster-scoped object of the list's kind, whatever changed: for the policy
// kinds, which are few, and whose reconcile reads the cache.
func All(c client.Reader, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []reconcile.Request {
		l := list.DeepCopyObject().(client.ObjectList)
		if err := c.List(ctx, l); err != nil {
			return ListFailed(ctx, err, fmt.Sprintf("%T", l))
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(items))
		for _, item := range items {
			if o, ok := item.(client.Object); ok {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: o.GetName()}})
			}
		}
		return out
	}
}

// ListFailed logs a List that failed in a map function and enqueues nothing: the event is lost
// until the next resync, which whoever runs the operator must be able to see.
func ListFailed(ctx context.Context, err error, what string) []reconcile.Request {
	log.FromContext(ctx).Error(err, "cannot map an event to the policies it concerns: they are evaluated again at the next resync", "list", what)
	return nil
}
