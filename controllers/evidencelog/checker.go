package evidencelog

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/rempart-io/rempart/internal/evidence"
)

// Check reads the store's lock and, for every tenant the recorder knows, the stored chain from
// where the previous check stopped: every entry's signature and link, and that no entry is
// missing. What it finds is the evidence.log control's result and the metrics the alerts read.
func (r *Recorder) Check(ctx context.Context) {
	r.checkStore(ctx)
	r.mu.Lock()
	names := make([]string, 0, len(r.tenants))
	for name := range r.tenants {
		names = append(names, name)
	}
	r.mu.Unlock()
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		r.checkTenant(ctx, name)
	}
}

// checkStore reads the store's lock.
func (r *Recorder) checkStore(ctx context.Context) {
	st := storeState{checked: true}
	if r.lock != nil {
		lock, err := r.lock.CheckLock(ctx)
		st.lock = lock
		if err != nil {
			st.err = err.Error()
		}
	}
	r.mu.Lock()
	r.storeCheck = st
	r.mu.Unlock()
	storeLocked.Set(boolValue(st.lock.Enabled && st.err == ""))
}

func (r *Recorder) checkTenant(ctx context.Context, name string) {
	t := r.tenant(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	problems, err := r.verifyStored(ctx, name, t)
	if err != nil {
		// The store could not be read: the next check tries again; it says nothing of the chain.
		log.FromContext(ctx).Error(err, "cannot check the evidence log", "tenant", name)
		checkFailures.Inc()
		return
	}
	t.problems = problems
	chainProblems.WithLabelValues(name).Set(float64(len(problems)))
}

// verifyStored checks the tenant's stored entries after t.verified and advances it over those
// that verify.
func (r *Recorder) verifyStored(ctx context.Context, name string, t *tenantLog) ([]string, error) {
	seqs, err := r.store.Sequences(ctx, name)
	if err != nil {
		return nil, err
	}
	var problems []string
	for i, seq := range seqs {
		if seq != int64(i) {
			problems = append(problems, fmt.Sprintf("entry %d is missing from the store", i))
			break
		}
	}
	if t.loaded && int64(len(seqs)) < t.next {
		problems = append(problems, fmt.Sprintf("entry %d is missing from the store (%d entries were written)", len(seqs), t.next))
	}
	if len(problems) > 0 {
		return problems, nil
	}
	// The listing above is contiguous from 0: the entries not checked yet are those after verified.
	var run [][]byte
	for _, seq := range seqs[min(t.verified, int64(len(seqs))):] {
		raw, err := r.store.Read(ctx, name, seq)
		if err != nil {
			return nil, err
		}
		run = append(run, raw)
	}
	if len(run) == 0 {
		return nil, nil
	}
	entries, found := evidence.VerifyFrom(ctx, r.signer.Public(), t.verified, run)
	for _, p := range found {
		problems = append(problems, fmt.Sprintf("entry %d: %s", t.verified+int64(p.Index), p.What))
	}
	if len(found) == 0 && len(entries) > 0 && entries[0].Previous != t.verifiedDigest {
		problems = append(problems, fmt.Sprintf("entry %d does not name the digest of entry %d, checked before", t.verified, t.verified-1))
	}
	if len(problems) == 0 {
		t.verified += int64(len(run))
		t.verifiedDigest = evidence.Digest(run[len(run)-1])
		verifiedEntries.Add(float64(len(run)))
	}
	return problems, nil
}

// Run checks the log every period until ctx ends; the first check is at once.
func (r *Recorder) Run(ctx context.Context, period time.Duration) error {
	for {
		r.Check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(period):
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
