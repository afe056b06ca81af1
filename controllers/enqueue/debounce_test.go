package enqueue

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestSpecNowStatusLater(t *testing.T) {
	toPolicy := func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: "policy"}}}
	}
	// An hour: what waits is certainly still waiting when the queue is read.
	h := SpecNowStatusLater(toPolicy, time.Hour)
	base := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", Generation: 1, Labels: map[string]string{"a": "1"}}}
	changed := func(mutate func(*corev1.ConfigMap)) *corev1.ConfigMap {
		c := base.DeepCopy()
		mutate(c)
		return c
	}
	now := metav1.Now()
	for _, tc := range []struct {
		name   string
		send   func(workqueue.TypedRateLimitingInterface[reconcile.Request])
		atOnce bool
	}{
		{"created", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Create(context.Background(), event.CreateEvent{Object: base}, q)
		}, true},
		{"deleted", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Delete(context.Background(), event.DeleteEvent{Object: base}, q)
		}, true},
		{"spec changed", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Update(context.Background(), event.UpdateEvent{ObjectOld: base, ObjectNew: changed(func(c *corev1.ConfigMap) { c.Generation = 2 })}, q)
		}, true},
		{"label changed", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Update(context.Background(), event.UpdateEvent{ObjectOld: base, ObjectNew: changed(func(c *corev1.ConfigMap) { c.Labels["a"] = "2" })}, q)
		}, true},
		{"annotation added", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Update(context.Background(), event.UpdateEvent{ObjectOld: base, ObjectNew: changed(func(c *corev1.ConfigMap) { c.Annotations = map[string]string{"b": "1"} })}, q)
		}, true},
		{"deletion started", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Update(context.Background(), event.UpdateEvent{ObjectOld: base, ObjectNew: changed(func(c *corev1.ConfigMap) { c.DeletionTimestamp = &now })}, q)
		}, true},
		{"status only", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h.Update(context.Background(), event.UpdateEvent{ObjectOld: base, ObjectNew: changed(func(c *corev1.ConfigMap) { c.ResourceVersion = "9" })}, q)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
			defer q.ShutDown()
			tc.send(q)
			if got := q.Len() == 1; got != tc.atOnce {
				t.Errorf("queued at once: %v, want %v (queue length %d)", got, tc.atOnce, q.Len())
			}
		})
	}
}

func TestDebouncedDelaysEveryEvent(t *testing.T) {
	h := Debounced(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: "policy"}}}
	}, time.Hour)
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Generation: 1}}
	h.Create(context.Background(), event.CreateEvent{Object: obj}, q)
	h.Update(context.Background(), event.UpdateEvent{ObjectOld: obj, ObjectNew: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Generation: 2}}}, q)
	h.Delete(context.Background(), event.DeleteEvent{Object: obj}, q)
	if q.Len() != 0 {
		t.Errorf("%d items queued at once, want every event delayed", q.Len())
	}
}
