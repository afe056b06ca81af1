package evidencelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/evidence"
)

// Recorder writes tenants' entries. One Recorder serves every tenant; calls for one tenant are
// serialised by the report controller's queue, and a lock per tenant keeps the checker apart.
type Recorder struct {
	store  evidence.Store
	lock   evidence.LockChecker
	signer *evidence.Signer
	status rempartv1.EvidenceLogStatus
	clock  clock.PassiveClock
	// interval is the longest time between two entries of a running operator (the snapshot);
	// slack is added to it for an entry's NextBy, to cover the report's resync and a busy queue.
	interval, slack time.Duration

	mu         sync.Mutex
	tenants    map[string]*tenantLog
	storeCheck storeState
}

// storeState is what the last periodic check saw of the store as a whole.
type storeState struct {
	checked bool
	lock    evidence.Lock
	err     string
}

// tenantLog is what the recorder knows of one tenant's log.
type tenantLog struct {
	mu sync.Mutex
	// loaded: the head below was read from the store (or the log is empty there).
	loaded     bool
	next       int64
	lastDigest string
	lastTime   time.Time
	nextBy     time.Time
	content    string
	// base is the sequence of the newest entry holding a whole report, which snapshots repeat.
	base   int64
	access accessAndWaivers
	// writeErr is the last failure to write or read the log, cleared by the next success.
	writeErr string
	// problems are what the last check of the stored chain found.
	problems []string
	// verified is the sequence up to which (excluded) the stored chain was checked, and the
	// digest of the entry before it.
	verified       int64
	verifiedDigest string
}

// Options configure a Recorder.
type Options struct {
	Store evidence.Store
	// Lock reads the store's Object Lock; nil for a store that locks nothing.
	Lock   evidence.LockChecker
	Signer *evidence.Signer
	Clock  clock.PassiveClock
	// SnapshotInterval: an entry is written at least this often while the operator runs.
	SnapshotInterval time.Duration
	// Slack is added to the interval before a missing entry counts as a gap.
	Slack time.Duration
}

// NewRecorder records with the signer into the store.
func NewRecorder(o Options) (*Recorder, error) {
	if o.Store == nil || o.Signer == nil {
		return nil, errors.New("an evidence log needs a store and a signing key")
	}
	if o.SnapshotInterval <= 0 || o.SnapshotInterval > 24*time.Hour {
		return nil, fmt.Errorf("the snapshot interval %s is not between 0 and 24h", o.SnapshotInterval)
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	pem, err := evidence.PublicKeyPEM(o.Signer.Public())
	if err != nil {
		return nil, err
	}
	id, _ := o.Signer.KeyID()
	return &Recorder{
		store: o.Store, lock: o.Lock, signer: o.Signer, clock: o.Clock, interval: o.SnapshotInterval, slack: o.Slack,
		status:  rempartv1.EvidenceLogStatus{PublicKey: pem, KeyID: id, Store: o.Store.Describe()},
		tenants: map[string]*tenantLog{},
	}, nil
}

func (r *Recorder) tenant(name string) *tenantLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenants[name]
	if t == nil {
		t = &tenantLog{}
		r.tenants[name] = t
	}
	return t
}

// Forget drops what is known of a tenant whose TenantIsolation is gone; its entries stay in the
// store.
func (r *Recorder) Forget(name string) {
	r.mu.Lock()
	delete(r.tenants, name)
	r.mu.Unlock()
	forgetMetrics(name)
}

// Record writes an entry for the tenant when its report changed, its snapshot is due, or the
// record resumes after a gap, and returns the log's description for the report's status and
// when the tenant should be seen again at the latest. A failure to write is not returned: it is
// the evidence.log control's NonCompliant, and the next call tries again.
func (r *Recorder) Record(ctx context.Context, tenant string, status rempartv1.ComplianceReportStatus, sources []Source) (*rempartv1.EvidenceLogStatus, time.Duration) {
	t := r.tenant(tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := r.clock.Now()
	retry := time.Minute
	if err := r.load(ctx, tenant, t); err != nil {
		t.writeErr = err.Error()
		writeFailures.Inc()
		log.FromContext(ctx).Error(err, "cannot read the evidence log", "tenant", tenant)
		return r.describe(t), retry
	}
	report, err := json.Marshal(recordedReport(status))
	if err != nil {
		t.writeErr = err.Error()
		return r.describe(t), retry
	}
	content := contentDigest(report, sourceGenerations(sources))
	reason := r.due(t, content, now)
	if reason == "" {
		return r.describe(t), t.lastTime.Add(r.interval).Sub(now) + time.Second
	}
	policies, err := encode(sources)
	if err != nil {
		t.writeErr = err.Error()
		return r.describe(t), retry
	}
	access := accessAndWaiversOf(status, policies)
	e := evidence.Entry{
		Tenant: tenant, Sequence: t.next, Time: now.UTC(), Reason: reason, Previous: t.lastDigest, Content: content,
		Report: report, Policies: policies, NextBy: now.Add(r.interval + r.slack).UTC(), Events: events(t.access, access),
	}
	if reason == evidence.ReasonSnapshot {
		// Nothing changed: the snapshot names the entry holding the report instead of repeating
		// it, a few hundred bytes instead of tens of kilobytes.
		base := t.base
		e.Report, e.Policies, e.Base = nil, nil, &base
	}
	envelope, err := evidence.Seal(ctx, r.signer, e)
	if err == nil {
		err = r.store.Append(ctx, tenant, t.next, envelope)
	}
	if err != nil {
		// Read the head again next time: another writer, or a partial failure, may have moved it.
		t.loaded = false
		t.writeErr = fmt.Sprintf("entry %d could not be written at %s: %v", e.Sequence, now.UTC().Format(time.RFC3339), err)
		writeFailures.Inc()
		log.FromContext(ctx).Error(err, "cannot write an evidence entry", "tenant", tenant, "sequence", e.Sequence)
		return r.describe(t), retry
	}
	t.writeErr = ""
	t.next++
	t.lastDigest = evidence.Digest(envelope)
	t.lastTime, t.nextBy = e.Time, e.NextBy
	t.content, t.access = content, access
	if e.Base == nil {
		t.base = e.Sequence
	}
	entriesWritten.WithLabelValues(reason).Inc()
	entryBytes.Add(float64(len(envelope)))
	lastEntry.WithLabelValues(tenant).Set(float64(e.Time.Unix()))
	log.FromContext(ctx).V(1).Info("evidence entry written", "tenant", tenant, "sequence", e.Sequence, "reason", reason, "events", len(e.Events))
	return r.describe(t), r.interval
}

// due says why an entry is needed now, or "" when none is.
func (r *Recorder) due(t *tenantLog, content string, now time.Time) string {
	switch {
	case t.next == 0:
		return evidence.ReasonChange
	case now.After(t.nextBy):
		return evidence.ReasonResumed
	case content != t.content:
		return evidence.ReasonChange
	case !now.Before(t.lastTime.Add(r.interval)):
		return evidence.ReasonSnapshot
	}
	return ""
}

// load reads the head of the tenant's log from the store, once: its newest entry, checked with
// the operator's own key.
func (r *Recorder) load(ctx context.Context, tenant string, t *tenantLog) error {
	if t.loaded {
		return nil
	}
	seqs, err := r.store.Sequences(ctx, tenant)
	if err != nil {
		return err
	}
	if len(seqs) == 0 {
		t.loaded, t.next, t.lastDigest, t.lastTime, t.content = true, 0, "", time.Time{}, ""
		t.access = accessAndWaivers{}
		return nil
	}
	last := seqs[len(seqs)-1]
	raw, err := r.store.Read(ctx, tenant, last)
	if err != nil {
		return err
	}
	untrusted := func(problems []string) error {
		// The head cannot be trusted: say so, and go on from it, so that the record continues
		// and the next entry (a whole one, after a gap) still names what is stored.
		t.problems = problems
		t.loaded, t.next, t.lastDigest, t.base = true, last+1, evidence.Digest(raw), last
		t.lastTime, t.nextBy, t.content = time.Time{}, time.Time{}, ""
		t.access = accessAndWaivers{}
		return nil
	}
	entries, problems := evidence.VerifyFrom(ctx, r.signer.Public(), last, [][]byte{raw})
	if len(problems) > 0 || len(entries) != 1 {
		var found []string
		for _, p := range problems {
			found = append(found, fmt.Sprintf("entry %d: %s", last, p.What))
		}
		return untrusted(found)
	}
	e := entries[0]
	full := e
	if e.Base != nil {
		// A snapshot: the state is in the entry it names.
		baseRaw, err := r.store.Read(ctx, tenant, *e.Base)
		if err != nil {
			return err
		}
		based, problems := evidence.VerifyFrom(ctx, r.signer.Public(), *e.Base, [][]byte{baseRaw})
		if len(problems) > 0 || len(based) != 1 || based[0].Content != e.Content {
			return untrusted([]string{fmt.Sprintf("entry %d repeats entry %d, which does not verify or records another state", last, *e.Base)})
		}
		full = based[0]
	}
	var report rempartv1.ComplianceReportStatus
	if err := json.Unmarshal(full.Report, &report); err != nil {
		return untrusted([]string{fmt.Sprintf("entry %d holds no report: %v", full.Sequence, err)})
	}
	t.loaded, t.next, t.lastDigest, t.base = true, last+1, evidence.Digest(raw), full.Sequence
	t.lastTime, t.nextBy = e.Time, e.NextBy
	t.content, t.access = contentDigest(full.Report, policyGenerations(full.Policies)), accessAndWaiversOf(report, full.Policies)
	lastEntry.WithLabelValues(tenant).Set(float64(e.Time.Unix()))
	return nil
}

// describe is the status the report shows of the tenant's log.
func (r *Recorder) describe(t *tenantLog) *rempartv1.EvidenceLogStatus {
	s := r.status
	s.Entries, s.LastDigest = t.next, t.lastDigest
	if !t.lastTime.IsZero() {
		s.LastEntry = &metav1.Time{Time: t.lastTime}
	}
	r.mu.Lock()
	if r.storeCheck.lock.Enabled {
		s.Retention = r.storeCheck.lock.Retention.String()
	}
	r.mu.Unlock()
	return &s
}

// Control is the evidence.log result for the tenant, from what the recorder and the last check
// saw (the store's lock is read first if no check ran yet). Its words do not change with each
// entry, so that they do not make a report change.
func (r *Recorder) Control(ctx context.Context, tenant string) rempartv1.ControlResult {
	r.mu.Lock()
	checked := r.storeCheck.checked
	r.mu.Unlock()
	if !checked {
		r.checkStore(ctx)
	}
	t := r.tenant(tenant)
	t.mu.Lock()
	writeErr, problems := t.writeErr, append([]string(nil), t.problems...)
	t.mu.Unlock()
	r.mu.Lock()
	st := r.storeCheck
	r.mu.Unlock()
	c := compliance.EvidenceLogKept
	var none compliance.ExceptionSet
	switch {
	case writeErr != "":
		return none.Fail(c, "EntryNotWritten", fmt.Sprintf("The evidence log of this tenant could not be written or read: %s. Until it is, this period is a gap in the record; check the store's credentials and reachability (FT-CLD-28).", writeErr))
	case len(problems) > 0:
		return none.Fail(c, "ChainDoesNotVerify", fmt.Sprintf("The stored evidence log does not verify: %s. An entry was altered, removed or written by another key; keep the store as is and investigate (FT-CLD-28).", joinCapped(problems, 3)))
	case !st.checked:
		return compliance.Unknown(c, "StoreNotChecked", "The evidence store's lock has not been checked yet (FT-CLD-28).")
	case st.err != "":
		return none.Fail(c, "StoreUnreadable", fmt.Sprintf("The evidence store's configuration could not be read: %s (FT-CLD-28).", st.err))
	case !st.lock.Enabled:
		return none.Fail(c, "EntriesNotLocked", fmt.Sprintf("The store %s has no Object Lock: whoever holds its credentials can rewrite or delete entries. Use a bucket created with Object Lock (FT-CLD-28).", r.status.Store))
	case st.lock.Retention < evidence.MinRetention:
		return none.Fail(c, "RetentionTooShort", fmt.Sprintf("Entries are locked for %s, less than the 12 months FT-CLD-28 keeps security events.", st.lock.Retention))
	}
	return none.Pass(c, "", fmt.Sprintf("Entries are signed (key %s), chained, written to %s and locked for %s in compliance mode; the chain read back verifies.", shortID(r.status.KeyID), r.status.Store, st.lock.Retention))
}

func shortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

func joinCapped(items []string, n int) string {
	out := ""
	for i, s := range items {
		if i == n {
			return out + fmt.Sprintf("; and %d more", len(items)-n)
		}
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}
