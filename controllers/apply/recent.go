package apply

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// recentWindow is how long the cache may take to show an object this operator wrote.
const recentWindow = 2 * time.Second

// sweepThreshold is the number of records above which expired ones are swept.
const sweepThreshold = 1024

// Stats counts what one reconcile wrote, and how soon it must look again at writes the cache
// has not shown yet.
type Stats struct {
	Writes int
	Wait   time.Duration
	// Written are the API server's answers to this reconcile's writes: what it stored. Unread is
	// true when some write left nothing to judge from (a deletion, a namespace adopted whose
	// content was not read), so the controls must wait for the cache.
	Written []client.Object
	Unread  bool
}

// Add counts another reconcile step's writes and wait into s.
func (s *Stats) Add(o *Stats) {
	s.Writes += o.Writes
	s.WaitAtLeast(o.Wait)
	s.Written = append(s.Written, o.Written...)
	s.Unread = s.Unread || o.Unread
}

// Removed counts a deletion, which leaves nothing to judge from.
func (s *Stats) Removed() {
	s.Writes++
	s.Unread = true
}

// WaitAtLeast makes the wait at least d.
func (s *Stats) WaitAtLeast(d time.Duration) {
	if d > s.Wait {
		s.Wait = d
	}
}

// Recent remembers what was applied in the last moments, so a reconcile running before
// the cache shows those writes does not send them again.
type Recent struct {
	mu      sync.Mutex
	applied map[string]appliedRecord
	now     func() time.Time
}

type appliedRecord struct {
	digest [sha256.Size]byte
	at     time.Time
}

func objectKey(obj client.Object, scheme *runtime.Scheme) (string, [sha256.Size]byte, bool) {
	u, err := ToUnstructured(obj, scheme)
	if err != nil {
		return "", [sha256.Size]byte{}, false
	}
	b, err := json.Marshal(u.Object)
	if err != nil {
		return "", [sha256.Size]byte{}, false
	}
	return recordKey(u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName()), sha256.Sum256(b), true
}

// recordKey names an object in Recent.
func recordKey(apiVersion, kind, namespace, name string) string {
	return apiVersion + "/" + kind + "/" + namespace + "/" + name
}

func (r *Recent) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// record notes that desired was just applied.
func (r *Recent) record(desired client.Object, scheme *runtime.Scheme) {
	key, digest, ok := objectKey(desired, scheme)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.applied == nil {
		r.applied = map[string]appliedRecord{}
	}
	now := r.clock()
	// Sweep expired records only once the map has grown, not on every write of a busy reconcile.
	if len(r.applied) >= sweepThreshold {
		for k, rec := range r.applied {
			if now.Sub(rec.at) > recentWindow {
				delete(r.applied, k)
			}
		}
	}
	r.applied[key] = appliedRecord{digest: digest, at: now}
}

// forget drops what is remembered of obj: the cache saw it deleted, so it is behind no write of
// this operator, and a deleted generated object is written again at once rather than after the
// window (the window exists for a cache that has not shown a write yet, not for one ahead of it).
func (r *Recent) forget(obj client.Object, scheme *runtime.Scheme) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return
	}
	key := recordKey(gvk.GroupVersion().String(), gvk.Kind, obj.GetNamespace(), obj.GetName())
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.applied, key)
}

// ForgetDeletes wraps an event handler so that a deletion seen in the cache first ends what recent
// remembers of the object.
func ForgetDeletes(h handler.EventHandler, recent *Recent, scheme *runtime.Scheme) handler.EventHandler {
	return forgetDeletes{EventHandler: h, recent: recent, scheme: scheme}
}

// forgetDeletes is an event handler that, before handing a deletion to the handler it wraps, has
// recent forget the deleted object.
type forgetDeletes struct {
	handler.EventHandler
	recent *Recent
	scheme *runtime.Scheme
}

func (f forgetDeletes) Delete(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	f.recent.forget(e.Object, f.scheme)
	f.EventHandler.Delete(ctx, e, q)
}

// pending reports whether exactly desired was applied less than recentWindow ago, and how long
// until that window closes.
func (r *Recent) pending(desired client.Object, scheme *runtime.Scheme) (time.Duration, bool) {
	key, digest, ok := objectKey(desired, scheme)
	if !ok {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, found := r.applied[key]
	if !found || rec.digest != digest {
		return 0, false
	}
	left := recentWindow - r.clock().Sub(rec.at)
	return left, left > 0
}
