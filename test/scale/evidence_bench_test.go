package scale

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/evidencelog"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/evidence"
	"github.com/rempart-io/rempart/internal/requirements"
)

func init() {
	// The recorder logs through controller-runtime; a benchmark keeps quiet.
	ctrllog.SetLogger(logr.Discard())
}

const (
	evidenceTenants = 1000
	simulatedDays   = 365
	// Each tenant's report changes about every 12 days (a control failing or mending, a grant,
	// an exception), at a random time.
	changesPerTenant = 30
)

// BenchmarkEvidenceLogYear1000Tenants runs the evidence recorder over a simulated year of 1,000
// tenants with an injected clock: their reports change about every 12 days, the operator is down
// for two days in March, and the recorder writes on change, daily and on resuming. It reports the
// log's size and the write rate, and the time to write it against a baseline writing the same
// reports on the same schedule unsigned and unchained, in the same run. The store counts the
// entries' bytes instead of keeping them (a year is gigabytes); one tenant's log is kept and
// verified whole.
func BenchmarkEvidenceLogYear1000Tenants(b *testing.B) {
	benchResult{Scenario: "evidence-log-year-1000-tenants", Title: "Evidence log, 1,000 tenants over a simulated year (write time)",
		BaselineLabel: "same reports written unsigned", Unit: "s",
		Baseline: "the same reports on the same schedule marshalled and stored without signature or chain, same run"}.repeat(b, func() benchRun { return runEvidenceYear(b) })
}

// yearSchedule is when each tenant's report changes, in simulated time, and the variant it
// changes to.
type yearChange struct {
	at      time.Time
	tenant  int
	variant int
}

func yearSchedule(start time.Time) []yearChange {
	rng := rand.New(rand.NewPCG(42, 19))
	var out []yearChange
	for t := 0; t < evidenceTenants; t++ {
		for range changesPerTenant {
			out = append(out, yearChange{at: start.Add(time.Duration(rng.Int64N(int64(simulatedDays * 24 * time.Hour)))), tenant: t, variant: rng.IntN(len(reportVariants))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// reportVariants are full-size reports (every requirement, every control of the catalog with its
// words) in a few states, as a tenant's report moves between them.
var reportVariants = func() []rempartv1.ComplianceReportStatus {
	var out []rempartv1.ComplianceReportStatus
	for v := range 6 {
		var status rempartv1.ComplianceReportStatus
		for _, r := range requirements.All() {
			res := rempartv1.RequirementResult{ID: string(r.ID), Rule: r.Rule, Source: fmt.Sprintf("%s %s", r.Source, r.Section), EnforcedBy: r.EnforcedBy, State: "Compliant"}
			for i, id := range compliance.IDs() {
				c, _ := compliance.Lookup(id)
				cites := false
				for _, req := range c.Requirements {
					cites = cites || req == r.ID
				}
				if !cites {
					continue
				}
				rc := rempartv1.ReportedControl{Kind: c.Kind, Policy: "policy-" + c.Kind, Control: c.ID, State: rempartv1.ControlCompliant, Reason: c.PassReason, Message: c.PassMessage}
				if i%6 == v && v > 0 {
					rc.State, rc.Reason, rc.Message, res.State = rempartv1.ControlNonCompliant, c.FailReason, c.FailMessage, "NonCompliant"
				}
				res.Controls = append(res.Controls, rc)
			}
			if len(res.Controls) == 0 {
				res.State = rempartv1.RequirementNotCovered
			}
			status.Requirements = append(status.Requirements, res)
		}
		status.Inventory.Namespaces = []string{"app", "data", "web"}
		if v%2 == 1 {
			status.Inventory.AdminGrants = []rempartv1.AdminGrantEntry{{Name: "oncall", Subject: "alice@provider.example", Role: "admin", Phase: "Active", ApprovedBy: "bob@provider.example", Reason: "incident"}}
		}
		out = append(out, status)
	}
	return out
}()

// countingStore keeps what a bucket would hold as counts and bytes, and the whole log of one
// tenant to verify.
type countingStore struct {
	mu      sync.Mutex
	entries int
	bytes   int64
	perDay  map[int]int
	start   time.Time
	now     func() time.Time
	keep    string
	kept    [][]byte
}

func (s *countingStore) Append(_ context.Context, tenant string, seq int64, envelope []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries++
	s.bytes += int64(len(envelope))
	s.perDay[int(s.now().Sub(s.start)/(24*time.Hour))]++
	if tenant == s.keep {
		s.kept = append(s.kept, bytes.Clone(envelope))
	}
	return nil
}
func (s *countingStore) Sequences(context.Context, string) ([]int64, error) { return nil, nil }
func (s *countingStore) Read(context.Context, string, int64) ([]byte, error) {
	return nil, fmt.Errorf("not kept")
}
func (s *countingStore) Describe() string { return "memory" }

type lockedForAYear struct{}

func (lockedForAYear) CheckLock(context.Context) (evidence.Lock, error) {
	return evidence.Lock{Enabled: true, Retention: evidence.MinRetention}, nil
}

// lookQueue orders tenants by when the operator looks at them next, as the report controller's
// requeue does (entries superseded by a later requeue are skipped when popped).
type lookQueue []tenantLook

type tenantLook struct {
	at     time.Time
	tenant int
}

func (q lookQueue) Len() int           { return len(q) }
func (q lookQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q lookQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *lookQueue) Push(x any)        { *q = append(*q, x.(tenantLook)) }
func (q *lookQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// simulateYear plays the year in time order: each change of a tenant's report is recorded when
// it happens, and each tenant is looked at again when record asks (the recorder's requeue: when
// its snapshot is due), except during the two-day outage, after which the restarted operator
// looks at every tenant. The clock moves with the events.
func simulateYear(clock *clocktesting.FakeClock, start time.Time, record func(tenant int, report rempartv1.ComplianceReportStatus) time.Duration) {
	schedule := yearSchedule(start)
	end := start.Add(simulatedDays * 24 * time.Hour)
	outageFrom, outageTo := start.Add(70*24*time.Hour), start.Add(72*24*time.Hour)
	state := make([]int, evidenceTenants)
	nextAt := make([]time.Time, evidenceTenants)
	q := &lookQueue{}
	for t := range evidenceTenants {
		nextAt[t] = start.Add(time.Duration(t) * time.Second)
		heap.Push(q, tenantLook{at: nextAt[t], tenant: t})
	}
	look := func(t int, at time.Time) {
		if !at.Before(outageFrom) && at.Before(outageTo) {
			// Nobody looks while the operator is down; it looks at everyone when it is back.
			nextAt[t] = outageTo.Add(time.Duration(t) * time.Second)
		} else {
			clock.SetTime(at)
			nextAt[t] = at.Add(record(t, reportVariants[state[t]]))
		}
		heap.Push(q, tenantLook{at: nextAt[t], tenant: t})
	}
	next := 0
	for q.Len() > 0 {
		top := (*q)[0]
		if next < len(schedule) && schedule[next].at.Before(top.at) {
			c := schedule[next]
			next++
			state[c.tenant] = c.variant
			look(c.tenant, c.at)
			continue
		}
		heap.Pop(q)
		if !top.at.Equal(nextAt[top.tenant]) {
			continue
		}
		if !top.at.Before(end) {
			continue
		}
		look(top.tenant, top.at)
	}
}

func runEvidenceYear(b *testing.B) benchRun {
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	policies := []evidencelog.Source{{Kind: "TenantIsolation", Object: &metav1.ObjectMeta{Name: "tenant", ResourceVersion: "1", Generation: 1},
		Spec: json.RawMessage(`{"environment":"production","namespaces":["app","data","web"]}`)}}
	names := make([]string, evidenceTenants)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%04d", i)
	}

	// Baseline: the same decisions (on change, daily), the report marshalled and stored as is.
	baseClock := clocktesting.NewFakeClock(start)
	baseStore := &countingStore{perDay: map[int]int{}, start: start, now: baseClock.Now}
	type last struct {
		digest [32]byte
		at     time.Time
		seen   bool
	}
	lastOf := make([]last, evidenceTenants)
	began := time.Now()
	simulateYear(baseClock, start, func(t int, report rempartv1.ComplianceReportStatus) time.Duration {
		raw, _ := json.Marshal(report)
		d := sha256.Sum256(raw)
		l := &lastOf[t]
		if l.seen && d == l.digest && baseClock.Now().Sub(l.at) < 24*time.Hour {
			return l.at.Add(24 * time.Hour).Sub(baseClock.Now())
		}
		*l = last{digest: d, at: baseClock.Now(), seen: true}
		_ = baseStore.Append(ctx, names[t], 0, raw)
		return 24 * time.Hour
	})
	baseline := time.Since(began).Seconds()

	clock := clocktesting.NewFakeClock(start)
	store := &countingStore{perDay: map[int]int{}, start: start, now: clock.Now, keep: names[7]}
	signer, err := evidence.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)))
	if err != nil {
		b.Fatal(err)
	}
	rec, err := evidencelog.NewRecorder(evidencelog.Options{Store: store, Lock: lockedForAYear{}, Signer: signer, Clock: clock, SnapshotInterval: 24 * time.Hour, Slack: 30 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	began = time.Now()
	simulateYear(clock, start, func(t int, report rempartv1.ComplianceReportStatus) time.Duration {
		now := metav1.NewTime(clock.Now())
		report.LastEvaluated = &now
		_, next := rec.Record(ctx, names[t], report, policies)
		return next
	})
	elapsed := time.Since(began).Seconds()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	// The kept tenant's year verifies whole, and its history shows the outage as a gap.
	entries, problems := evidence.Verify(ctx, signer.Public(), store.kept)
	if len(problems) > 0 {
		b.Fatalf("the simulated log does not verify: %v", problems)
	}
	h, err := evidence.BuildHistory(entries, entries[0].Time, start.Add(simulatedDays*24*time.Hour), "FT-CLD-20")
	if err != nil {
		b.Fatal(err)
	}
	if len(h.Gaps) != 1 || h.Gaps[0].Duration() < 24*time.Hour {
		b.Fatalf("the two-day outage is not one gap in the history: %+v", h.Gaps)
	}
	if store.entries != baseStore.entries+evidenceTenants {
		// Each tenant gets one RecordingResumed entry more than the baseline after the outage.
		b.Logf("entries: %d signed, %d in the baseline", store.entries, baseStore.entries)
	}
	peakDay := 0
	for _, n := range store.perDay {
		peakDay = max(peakDay, n)
	}
	detail := fmt.Sprintf("%d entries (%.0f per tenant-year), %.2f GiB (%.1f MiB per tenant-year, %.1f KiB per entry; the whole report every time: %.2f GiB), %.0f entries per simulated day (peak %d, %.3f per second), %.0f entries/s written, heap growth %.0f MiB",
		store.entries, float64(store.entries)/evidenceTenants, float64(store.bytes)/(1<<30), float64(store.bytes)/evidenceTenants/(1<<20),
		float64(store.bytes)/float64(store.entries)/1024, float64(baseStore.bytes)/(1<<30), float64(store.entries)/simulatedDays, peakDay, float64(peakDay)/86400,
		float64(store.entries)/elapsed, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20))
	fmt.Println("evidence-log-year-1000-tenants:", detail)
	return benchRun{Baseline: baseline, Rempart: elapsed, Ratio: elapsed / baseline, Detail: detail}
}
