package tenantisolation

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

// sameOwnership reports whether two indexes hold the same entries.
func sameOwnership(a, b rempartv1.NamespaceOwnershipSpec) bool {
	return maps.Equal(a.Owners, b.Owners) && maps.Equal(a.Peers, b.Peers) &&
		(len(a.DedicatedNodes) == 0 && len(b.DedicatedNodes) == 0 || equality.Semantic.DeepEqual(a.DedicatedNodes, b.DedicatedNodes))
}

// ownershipWriteTimeout bounds one rebuild and write of the ownership index.
const ownershipWriteTimeout = time.Minute

// coalescer runs one call of a function for every caller that asked while the previous call ran:
// reconciles of many new tenants, which each need the ownership index written, share one rebuild
// and one write instead of each rebuilding an index of every tenant.
type coalescer struct {
	mu      sync.Mutex
	waiting []chan error
	running bool
}

// do returns the error of the first call of fn that starts after do was called: that call reads
// everything the caller had seen.
func (c *coalescer) do(ctx context.Context, fn func(context.Context) error) error {
	done := make(chan error, 1)
	c.mu.Lock()
	c.waiting = append(c.waiting, done)
	if !c.running {
		c.running = true
		go c.run(fn)
	}
	c.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *coalescer) run(fn func(context.Context) error) {
	for {
		c.mu.Lock()
		batch := c.waiting
		c.waiting = nil
		if len(batch) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), ownershipWriteTimeout)
		err := fn(ctx)
		cancel()
		for _, done := range batch {
			done <- err
		}
	}
}

// syncOwnership writes which tenant holds which namespace, for the admission policy that refuses
// a second claim, when the entries of ti are not what they should be. ti is nil after a deletion.
func (r *Reconciler) syncOwnership(ctx context.Context, ti *rempartv1.TenantIsolation, o observed) error {
	if ti != nil {
		var current rempartv1.NamespaceOwnership
		err := r.Client.Get(ctx, client.ObjectKey{Name: rempartv1.NamespaceOwnershipName}, &current, client.UnsafeDisableDeepCopy)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("get namespace ownership: %w", err)
		}
		if err == nil && ownershipCurrent(current.Spec, ti, o) {
			return nil
		}
	}
	return r.ownershipWrites.do(ctx, r.writeOwnership)
}

// writeOwnership rebuilds the ownership index from every tenant in the cache and applies it,
// unless the cache or a write of the last moments already holds it.
func (r *Reconciler) writeOwnership(ctx context.Context) error {
	var tenants rempartv1.TenantIsolationList
	if err := r.Client.List(ctx, &tenants, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	owners := map[string]string{}
	kept := tenants.Items[:0:0]
	listed := map[types.UID]bool{}
	for _, t := range tenants.Items {
		listed[t.UID] = true
		if _, gone := r.finalized.Load(t.UID); gone {
			// Released already; the cache has not seen it go.
			continue
		}
		kept = append(kept, t)
		for _, n := range t.Spec.Namespaces {
			var ns *corev1.Namespace
			var got corev1.Namespace
			if err := r.Client.Get(ctx, client.ObjectKey{Name: string(n)}, &got, client.UnsafeDisableDeepCopy); err == nil {
				ns = &got
			}
			holder, err := r.holder(ctx, string(n), ns)
			if err != nil {
				return err
			}
			if holder != "" {
				owners[string(n)] = holder
			}
		}
	}
	// A released tenant the cache no longer shows need not be remembered.
	r.finalized.Range(func(uid, _ any) bool {
		if !listed[uid.(types.UID)] {
			r.finalized.Delete(uid)
		}
		return true
	})
	// Always applied, never created: a create would not land the entries of an object another
	// write created first.
	index := namespaceOwnership(owners, sharedPeers(kept, owners), dedicatedPools(kept))
	if sameOwnership(index.Spec, rempartv1.NamespaceOwnershipSpec{}) {
		// The last tenant left. An apply cannot empty the spec (the server would drop it whole),
		// so the index goes; the policies reading it admit while it is absent, as no namespace
		// is held.
		return apply.Delete(ctx, r.Client, index, "the last tenant left")
	}
	var existing rempartv1.NamespaceOwnership
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(index), &existing, client.UnsafeDisableDeepCopy); err == nil {
		// The spec is compared whole: an entry of a tenant gone must leave, which a comparison
		// of only the fields applied would not see.
		upToDate, err := apply.UpToDate(index, &existing, r.Client.Scheme())
		if err != nil || (upToDate && sameOwnership(index.Spec, existing.Spec)) {
			return err
		}
	}
	// Not sent again when written a moment ago and the cache has not shown it yet.
	return r.writer.Write(ctx, index, &apply.Stats{}, "tenants changed", func() (client.Object, error) {
		return nil, apply.Apply(ctx, r.Client, index)
	})
}
