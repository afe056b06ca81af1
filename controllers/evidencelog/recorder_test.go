package evidencelog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/evidence"
)

type fixedLock evidence.Lock

func (l fixedLock) CheckLock(context.Context) (evidence.Lock, error) { return evidence.Lock(l), nil }

var year = fixedLock{Enabled: true, Retention: evidence.MinRetention}

func newRecorder(t *testing.T, store evidence.Store, lock evidence.LockChecker) (*Recorder, *clocktesting.FakeClock) {
	t.Helper()
	signer, err := evidence.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC))
	r, err := NewRecorder(Options{Store: store, Lock: lock, Signer: signer, Clock: clk, SnapshotInterval: 24 * time.Hour, Slack: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return r, clk
}

func report(state rempartv1.ControlState, grants ...rempartv1.AdminGrantEntry) rempartv1.ComplianceReportStatus {
	now := metav1.Now()
	return rempartv1.ComplianceReportStatus{
		LastEvaluated: &now,
		Requirements:  []rempartv1.RequirementResult{{ID: "SIS-BACKUP", State: string(state), Controls: []rempartv1.ReportedControl{{Kind: "BackupPolicy", Policy: "daily", Control: "backup.rpo", State: state}}}},
		Inventory:     rempartv1.ReportInventory{AdminGrants: grants},
	}
}

func entries(t *testing.T, r *Recorder, tenant string) []evidence.Entry {
	t.Helper()
	log, err := evidence.ReadAll(context.Background(), r.store, tenant, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, problems := evidence.Verify(context.Background(), r.signer.Public(), log)
	if len(problems) > 0 {
		t.Fatalf("the written log does not verify: %v", problems)
	}
	return got
}

// An entry on each change and at the daily snapshot, none in between; a restart carries on the
// chain; a long silence is marked resumed.
func TestEntriesOnChangeSnapshotAndResume(t *testing.T) {
	ctx := context.Background()
	store := evidence.DirStore{Dir: t.TempDir()}
	r, clk := newRecorder(t, store, year)
	policies := []Source{{Kind: "BackupPolicy", Object: &metav1.ObjectMeta{Name: "daily", ResourceVersion: "10", Generation: 1}, Spec: json.RawMessage(`{"rpo":"8h"}`)}}

	r.Record(ctx, "acme", report(rempartv1.ControlCompliant), policies)
	clk.Step(10 * time.Minute)
	r.Record(ctx, "acme", report(rempartv1.ControlCompliant), policies) // same content, other evaluation time
	clk.Step(time.Hour)
	st, _ := r.Record(ctx, "acme", report(rempartv1.ControlNonCompliant), policies)
	if st.Entries != 2 || st.LastEntry == nil || st.PublicKey == "" || st.Retention != "" {
		t.Errorf("status after two entries: %+v", st)
	}
	clk.Step(24 * time.Hour)
	r.Record(ctx, "acme", report(rempartv1.ControlNonCompliant), policies)
	got := entries(t, r, "acme")
	if len(got) != 3 || got[0].Reason != evidence.ReasonChange || got[1].Reason != evidence.ReasonChange || got[2].Reason != evidence.ReasonSnapshot {
		t.Fatalf("entries: %+v", got)
	}
	if got[2].Base == nil || *got[2].Base != 1 || got[2].Report != nil || got[2].Content != got[1].Content || got[1].Base != nil {
		t.Errorf("the snapshot does not repeat entry 1 by reference: base %v, %d bytes of report", got[2].Base, len(got[2].Report))
	}
	if !got[2].NextBy.Equal(got[2].Time.Add(24*time.Hour + 30*time.Minute)) {
		t.Errorf("NextBy %s for an entry at %s", got[2].NextBy, got[2].Time)
	}

	// Another process (a restart, a new leader) reads the head from the store and carries on:
	// the same report within the day writes nothing...
	r2, _ := newRecorder(t, store, year)
	r2.clock = clk
	clk.Step(time.Hour)
	r2.Record(ctx, "acme", report(rempartv1.ControlNonCompliant), policies)
	if got := entries(t, r2, "acme"); len(got) != 3 {
		t.Fatalf("a restart with an unchanged report wrote an entry: %d entries", len(got))
	}
	// ... and a long silence is a gap, closed by a resumed entry.
	clk.Step(3 * 24 * time.Hour)
	r2.Record(ctx, "acme", report(rempartv1.ControlNonCompliant), policies)
	got = entries(t, r2, "acme")
	if len(got) != 4 || got[3].Reason != evidence.ReasonResumed || got[3].Previous != evidence.Digest(mustRead(t, store, "acme", 2)) {
		t.Fatalf("after a three-day stop: %+v", got[len(got)-1])
	}
}

func mustRead(t *testing.T, s evidence.Store, tenant string, seq int64) []byte {
	raw, err := s.Read(context.Background(), tenant, seq)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Access granted and revoked, and exceptions, are named as events.
func TestAccessAndExceptionsAreEvents(t *testing.T) {
	ctx := context.Background()
	r, clk := newRecorder(t, evidence.DirStore{Dir: t.TempDir()}, year)
	grant := rempartv1.AdminGrantEntry{Name: "oncall", Subject: "alice@example.com", Role: "admin", Phase: "Active", ApprovedBy: "bob@example.com"}
	r.Record(ctx, "acme", report(rempartv1.ControlCompliant), nil)
	clk.Step(time.Minute)
	r.Record(ctx, "acme", report(rempartv1.ControlCompliant, grant), nil)
	grant.Phase = "Revoked"
	clk.Step(time.Minute)
	r.Record(ctx, "acme", report(rempartv1.ControlCompliant, grant), nil)
	waived := report(rempartv1.ControlWaived, grant)
	waived.Requirements[0].Controls[0].Waiver = &rempartv1.Waiver{Reason: "migration", ApprovedBy: "carol@example.com", Expires: metav1.NewTime(clk.Now().Add(48 * time.Hour))}
	clk.Step(time.Minute)
	r.Record(ctx, "acme", waived, nil)
	clk.Step(time.Minute)
	r.Record(ctx, "acme", report(rempartv1.ControlCompliant, grant), nil)
	// An exception declared in a policy's spec, waiving nothing yet, is an event too; so is its
	// withdrawal.
	declared := []Source{{Kind: "TenantIsolation", Object: &metav1.ObjectMeta{Name: "acme", Generation: 2},
		Spec: json.RawMessage(`{"exceptions":[{"control":"storage.encrypted","reason":"legacy volume","approvedBy":"dpo@example.com","expires":"2026-06-01T00:00:00Z"}]}`)}}
	clk.Step(time.Minute)
	r.Record(ctx, "acme", report(rempartv1.ControlCompliant, grant), declared)
	clk.Step(time.Minute)
	r.Record(ctx, "acme", report(rempartv1.ControlCompliant, grant), []Source{{Kind: "TenantIsolation", Object: &metav1.ObjectMeta{Name: "acme", Generation: 3}, Spec: json.RawMessage(`{}`)}})
	got := entries(t, r, "acme")
	want := []string{
		"AdminAccess oncall: requested -> Active (subject alice@example.com, role admin, approved by bob@example.com)",
		"AdminAccess oncall: Active -> Revoked",
		"Exception on backup.rpo BackupPolicy/daily in force, approved by carol@example.com",
		"Exception on backup.rpo BackupPolicy/daily (approved by carol@example.com) no longer applies",
		"Exception declared on storage.encrypted TenantIsolation/acme, approved by dpo@example.com until 2026-06-01T00:00:00Z: legacy volume",
		"Exception on storage.encrypted TenantIsolation/acme (approved by dpo@example.com) withdrawn",
	}
	if len(got) != 7 {
		t.Fatalf("%d entries, want 7", len(got))
	}
	for i, w := range want {
		if len(got[i+1].Events) != 1 || !strings.HasPrefix(got[i+1].Events[0], w) {
			t.Errorf("entry %d events %q, want one starting %q", i+1, got[i+1].Events, w)
		}
	}
}

// The control turns NonCompliant when the store locks nothing, when an entry cannot be written,
// and when the stored chain was altered; Compliant otherwise.
func TestEvidenceControlCanFail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, clk := newRecorder(t, evidence.DirStore{Dir: dir}, year)
	r.Record(ctx, "acme", report(rempartv1.ControlCompliant), nil)
	clk.Step(time.Minute)
	r.Record(ctx, "acme", report(rempartv1.ControlNonCompliant), nil)
	r.Check(ctx)
	if c := r.Control(ctx, "acme"); c.State != rempartv1.ControlCompliant {
		t.Fatalf("a whole, locked log: %+v", c)
	}

	unlocked, _ := newRecorder(t, evidence.DirStore{Dir: t.TempDir()}, fixedLock{})
	if c := unlocked.Control(ctx, "acme"); c.State != rempartv1.ControlNonCompliant || c.Reason != "EntriesNotLocked" {
		t.Errorf("a store without Object Lock: %+v", c)
	}
	short, _ := newRecorder(t, evidence.DirStore{Dir: t.TempDir()}, fixedLock{Enabled: true, Retention: 30 * 24 * time.Hour})
	if c := short.Control(ctx, "acme"); c.State != rempartv1.ControlNonCompliant || c.Reason != "RetentionTooShort" {
		t.Errorf("a 30-day lock: %+v", c)
	}

	// Someone edits the first stored entry: the next check names it.
	name := filepath.Join(dir, "tenants", "acme", "000000000000.json")
	raw, _ := os.ReadFile(name)
	os.Chmod(name, 0o644)
	if err := os.WriteFile(name, bytes.Replace(raw, []byte(`"payload":"`), []byte(`"payload":"e`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, _ := newRecorder(t, evidence.DirStore{Dir: dir}, year)
	fresh.Record(ctx, "acme", report(rempartv1.ControlNonCompliant), nil)
	fresh.Check(ctx)
	c := fresh.Control(ctx, "acme")
	if c.State != rempartv1.ControlNonCompliant || c.Reason != "ChainDoesNotVerify" || !strings.Contains(c.Message, "entry 0") {
		t.Errorf("an altered entry: %+v", c)
	}
	// Removing an entry is named too.
	os.Remove(filepath.Join(dir, "tenants", "acme", "000000000001.json"))
	fresh.Check(ctx)
	if c := fresh.Control(ctx, "acme"); c.State != rempartv1.ControlNonCompliant || !strings.Contains(c.Message, "entry 1 is missing") {
		t.Errorf("a removed entry: %+v", c)
	}

	// A store that refuses writes: the control says so, and the next success clears it.
	failing := &flakyStore{Store: evidence.DirStore{Dir: t.TempDir()}, fail: true}
	fr, fclk := newRecorder(t, failing, year)
	fr.Record(ctx, "acme", report(rempartv1.ControlCompliant), nil)
	if c := fr.Control(ctx, "acme"); c.State != rempartv1.ControlNonCompliant || c.Reason != "EntryNotWritten" {
		t.Errorf("a store refusing writes: %+v", c)
	}
	failing.fail = false
	fclk.Step(time.Minute)
	fr.Record(ctx, "acme", report(rempartv1.ControlCompliant), nil)
	if c := fr.Control(ctx, "acme"); c.State != rempartv1.ControlCompliant {
		t.Errorf("after the store recovered: %+v", c)
	}
}

type flakyStore struct {
	evidence.Store
	fail bool
}

func (f *flakyStore) Append(ctx context.Context, tenant string, seq int64, envelope []byte) error {
	if f.fail {
		return errors.New("access denied")
	}
	return f.Store.Append(ctx, tenant, seq, envelope)
}
