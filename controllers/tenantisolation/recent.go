package tenantisolation

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rempart-io/rempart/controllers/apply"
)

// recentWindow is how long the cache may take to show an object this operator wrote.
const recentWindow = 2 * time.Second

// sweepThreshold is the number of records above which expired ones are swept.
const sweepThreshold = 1024

// applyStats counts what one reconcile wrote, and how soon it must look again at writes the
// cache has not shown yet.
type applyStats struct {
	writes int
	wait   time.Duration
	// written are the API server's answers to this reconcile's writes: what it stored. unread is
	// true when some write left nothing to judge from (a deletion, a namespace adopted whose
	// content was not read), so the controls must wait for the cache.
	written []client.Object
	unread  bool
}

// add counts another reconcile step's writes and wait into s.
func (s *applyStats) add(o *applyStats) {
	s.writes += o.writes
	s.waitAtLeast(o.wait)
	s.written = append(s.written, o.written...)
	s.unread = s.unread || o.unread
}

// removed counts a deletion, which leaves nothing to judge from.
func (s *applyStats) removed() {
	s.writes++
	s.unread = true
}

func (s *applyStats) waitAtLeast(d time.Duration) {
	if d > s.wait {
		s.wait = d
	}
}

// recentApplies remembers what was applied in the last moments, so a reconcile running before
// the cache shows those writes does not send them again.
type recentApplies struct {
	mu      sync.Mutex
	applied map[string]appliedRecord
	now     func() time.Time
}

type appliedRecord struct {
	digest [sha256.Size]byte
	at     time.Time
}

func objectKey(obj client.Object, scheme *runtime.Scheme) (string, [sha256.Size]byte, bool) {
	u, err := apply.ToUnstructured(obj, scheme)
	if err != nil {
		return "", [sha256.Size]byte{}, false
	}
	b, err := json.Marshal(u.Object)
	if err != nil {
		return "", [sha256.Size]byte{}, false
	}
	return u.GetAPIVersion() + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName(), sha256.Sum256(b), true
}

func (r *recentApplies) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// record notes that desired was just applied.
func (r *recentApplies) record(desired client.Object, scheme *runtime.Scheme) {
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

// pending reports whether exactly desired was applied less than recentWindow ago, and how long
// until that window closes.
func (r *recentApplies) pending(desired client.Object, scheme *runtime.Scheme) (time.Duration, bool) {
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
