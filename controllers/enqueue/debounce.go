package enqueue

import (
	"context"
	"maps"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// SettleDelay is how long events that only feed inventories and reports gather before the policy
// is reconciled once for all of them.
const SettleDelay = time.Second

// Debounced enqueues what fn maps an event to after delay: a burst of events for the same policy
// (a thousand grants closing, a controller rewriting its bindings) waits in the queue as one item
// and costs one reconcile per delay, not one per event. For what only the inventory and the report
// read; what enforcement depends on is enqueued at once.
func Debounced(fn handler.MapFunc, delay time.Duration) handler.EventHandler {
	return timed(fn, delay, false, func(event.UpdateEvent) bool { return false })
}

// SpecNowStatusLater enqueues at once for an object created or deleted, or whose spec, labels,
// annotations or deletion changed, and after delay for an update of its status alone: another
// controller's progress (cert-manager issuing hundreds of certificates) feeds the policy's status
// and report in one reconcile per delay, while what the policy acts on is seen at once.
func SpecNowStatusLater(fn handler.MapFunc, delay time.Duration) handler.EventHandler {
	return timed(fn, delay, true, specChanged)
}

// specChanged says whether an update touched more than the object's status.
func specChanged(e event.UpdateEvent) bool {
	return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
		!maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) ||
		!maps.Equal(e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()) ||
		!e.ObjectOld.GetDeletionTimestamp().Equal(e.ObjectNew.GetDeletionTimestamp())
}

// timed enqueues at once the events that are urgent (creations and deletions when lifecycleNow,
// the updates urgent says), every other one after delay.
func timed(fn handler.MapFunc, delay time.Duration, lifecycleNow bool, urgent func(event.UpdateEvent) bool) handler.EventHandler {
	add := func(ctx context.Context, obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request], now bool) {
		for _, r := range fn(ctx, obj) {
			if now {
				q.Add(r)
			} else {
				q.AddAfter(r, delay)
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q, lifecycleNow)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			now := urgent(e)
			add(ctx, e.ObjectOld, q, now)
			add(ctx, e.ObjectNew, q, now)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q, lifecycleNow)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q, lifecycleNow)
		},
	}
}
