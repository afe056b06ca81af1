package apply

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	networkingv1 "k8s.io/api/networking/v1"
)

// networkPolicy is a generated object as a controller would write it.
func networkPolicy(namespace, name string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: ManagedLabels("rempart.io/tenant", "acme")},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}},
	}
}

func TestRecentAppliesHoldsOnlyTheSameObjectWithinTheWindow(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	r := Recent{now: func() time.Time { return now }}
	deny := networkPolicy("acme-web", "rempart-default-deny")
	if _, recent := r.pending(deny, clientgoscheme.Scheme); recent {
		t.Fatal("an object never applied is pending")
	}
	r.record(deny, clientgoscheme.Scheme)
	now = now.Add(500 * time.Millisecond)
	if wait, recent := r.pending(deny, clientgoscheme.Scheme); !recent || wait != 1500*time.Millisecond {
		t.Errorf("pending = %v %v, want 1.5s", wait, recent)
	}
	changed := deny.DeepCopy()
	changed.Labels["extra"] = "x"
	if _, recent := r.pending(changed, clientgoscheme.Scheme); recent {
		t.Error("a different desired object is held back")
	}
	now = now.Add(2 * time.Second)
	if _, recent := r.pending(deny, clientgoscheme.Scheme); recent {
		t.Error("an object is held back after the window")
	}
}

// A generated object deleted a moment after it was written is written again at once: the deletion
// seen in the cache ends the memory of the write.
func TestDeletionSeenEndsTheMemoryOfAWrite(t *testing.T) {
	r := Recent{}
	deny := networkPolicy("acme-web", "rempart-default-deny")
	other := networkPolicy("acme-web", "rempart-allow-dns")
	r.record(deny, clientgoscheme.Scheme)
	r.record(other, clientgoscheme.Scheme)
	enqueued := 0
	inner := handler.Funcs{DeleteFunc: func(context.Context, event.DeleteEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		enqueued++
	}}
	h := forgetDeletes{EventHandler: inner, recent: &r, scheme: clientgoscheme.Scheme}
	seen := deny.DeepCopy()
	seen.TypeMeta = metav1.TypeMeta{} // as the cache hands it
	h.Delete(context.Background(), event.DeleteEvent{Object: seen}, nil)
	if _, recent := r.pending(deny, clientgoscheme.Scheme); recent {
		t.Error("the deleted object is still held back")
	}
	if _, recent := r.pending(other, clientgoscheme.Scheme); !recent {
		t.Error("another object's write was forgotten")
	}
	if enqueued != 1 {
		t.Errorf("the wrapped handler saw %d deletions, want 1", enqueued)
	}
}
