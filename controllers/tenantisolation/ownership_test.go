package tenantisolation

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// Callers that ask while a call runs share the next call; none is answered by a call that started
// before it asked.
func TestCoalescerSharesOneCallAmongWaiters(t *testing.T) {
	var c coalescer
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 16)
	fn := func(context.Context) error {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- c.do(context.Background(), fn) }()
	<-started // the first call runs and holds
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.do(context.Background(), fn); err != nil {
				t.Error(err)
			}
		}()
	}
	// Wait until the five are queued behind the running call.
	for {
		c.mu.Lock()
		n := len(c.waiting)
		c.mu.Unlock()
		if n == 5 {
			break
		}
		runtime.Gosched()
	}
	release <- struct{}{} // first call ends
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-started             // the shared second call starts
	release <- struct{}{} // and ends
	wg.Wait()
	if got := calls.Load(); got != 2 {
		t.Errorf("%d calls for six callers, want 2 (one running, one shared by the five that waited)", got)
	}
}

func TestCoalescerReturnsTheCallsError(t *testing.T) {
	var c coalescer
	want := context.DeadlineExceeded
	if err := c.do(context.Background(), func(context.Context) error { return want }); err != want {
		t.Errorf("error %v, want %v", err, want)
	}
}

func TestSameOwnershipSeesEntriesThatLeft(t *testing.T) {
	a := rempartv1.NamespaceOwnershipSpec{Owners: map[string]string{"a-app": "a", "b-app": "b"}}
	b := rempartv1.NamespaceOwnershipSpec{Owners: map[string]string{"a-app": "a"}}
	if sameOwnership(a, b) {
		t.Error("an index holding an entry more is the same")
	}
	if !sameOwnership(b, rempartv1.NamespaceOwnershipSpec{Owners: map[string]string{"a-app": "a"}, Peers: map[string]string{}}) {
		t.Error("an empty map and no map differ")
	}
	pool := []rempartv1.DedicatedNodePool{{Tenant: "a", NodeSelector: map[string]string{"pool": "a"}}}
	if sameOwnership(rempartv1.NamespaceOwnershipSpec{DedicatedNodes: pool}, rempartv1.NamespaceOwnershipSpec{}) {
		t.Error("a pool that left is not seen")
	}
}
