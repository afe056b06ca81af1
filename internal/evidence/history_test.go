package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

const day = 24 * time.Hour

// period seals a tenant's entries, each promising the next within a day and a half hour:
// Compliant, NonCompliant two days later (with an exception on another requirement and a
// grant), Compliant again a day later, then silence for six days (the operator was down), then
// Compliant.
func period(t *testing.T, s *Signer) [][]byte {
	t.Helper()
	type step struct {
		at     time.Duration
		backup rempartv1.ControlState
		waiver bool
		events []string
		reason string
	}
	steps := []step{
		{at: 0, backup: "Compliant", reason: ReasonChange},
		{at: 2 * day, backup: "NonCompliant", waiver: true, events: []string{"AdminAccess oncall: requested -> Active (subject alice@example.com, role admin, approved by bob@example.com)"}, reason: ReasonChange},
		{at: 3 * day, backup: "Compliant", reason: ReasonChange},
		{at: 10 * day, backup: "Compliant", reason: ReasonResumed},
	}
	var log [][]byte
	var prev []byte
	for i, st := range steps {
		tls := rempartv1.ReportedControl{Kind: "CertificatePolicy", Policy: "tls", Control: "tls.expiry", State: "Compliant"}
		if st.waiver {
			tls.State = "Waived"
			tls.Waiver = &rempartv1.Waiver{Reason: "renewal pending", ApprovedBy: "carol@example.com", Expires: metav1Time(start.Add(5 * day))}
		}
		report := rempartv1.ComplianceReportStatus{Requirements: []rempartv1.RequirementResult{
			{ID: "SIS-BACKUP", Rule: "daily backups", State: string(st.backup), Controls: []rempartv1.ReportedControl{{Kind: "BackupPolicy", Policy: "daily", Control: "backup.rpo", State: st.backup}}},
			{ID: "SIS-TLS", Rule: "TLS", State: string(tls.State), Controls: []rempartv1.ReportedControl{tls}},
		}}
		raw, _ := json.Marshal(report)
		at := start.Add(st.at)
		e := Entry{Tenant: "acme", Sequence: int64(i), Time: at, Reason: st.reason, Report: raw, NextBy: at.Add(day + 30*time.Minute), Events: st.events}
		if prev != nil {
			e.Previous = Digest(prev)
		}
		env, err := Seal(context.Background(), s, e)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, env)
		prev = env
	}
	return log
}

func TestHistoryIntervalsGapsRemediationAndWaivers(t *testing.T) {
	pub, s := key(t, 1)
	entries, problems := Verify(context.Background(), pub, period(t, s))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	from, to := start.Add(-day), start.Add(12*day)
	h, err := BuildHistory(entries, from, to, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Requirements) != 2 || h.Requirements[0].ID != "SIS-BACKUP" {
		t.Fatalf("requirements: %+v", h.Requirements)
	}
	backup := h.Requirements[0]
	want := []struct {
		state    string
		from, to time.Duration
	}{
		{StateGap, -day, 0}, {"Compliant", 0, day + 30*time.Minute}, {StateGap, day + 30*time.Minute, 2 * day}, {"NonCompliant", 2 * day, 3 * day}, {"Compliant", 3 * day, 4*day + 30*time.Minute},
		{StateGap, 4*day + 30*time.Minute, 10 * day}, {"Compliant", 10 * day, 11*day + 30*time.Minute}, {StateGap, 11*day + 30*time.Minute, 12 * day},
	}
	if len(backup.Intervals) != len(want) {
		t.Fatalf("SIS-BACKUP intervals: %+v", backup.Intervals)
	}
	for i, w := range want {
		got := backup.Intervals[i]
		if got.State != w.state || !got.From.Equal(start.Add(w.from)) || !got.To.Equal(start.Add(w.to)) {
			t.Errorf("interval %d = %s %s..%s, want %s %s..%s", i, got.State, got.From, got.To, w.state, start.Add(w.from), start.Add(w.to))
		}
	}
	if len(backup.Remediations) != 1 || backup.Remediations[0].Took != day || backup.Remediations[0].Open {
		t.Errorf("remediations: %+v", backup.Remediations)
	}
	if backup.Time[StateGap] != int((day + (day - 30*time.Minute) + (6*day - 30*time.Minute) + (day - 30*time.Minute)).Seconds()) {
		t.Errorf("seconds not recorded: %d", backup.Time[StateGap])
	}
	if len(h.Waivers) != 1 || h.Waivers[0].ApprovedBy != "carol@example.com" || h.Waivers[0].Control != "tls.expiry" {
		t.Errorf("waivers: %+v", h.Waivers)
	}
	if len(h.Events) != 1 || !strings.Contains(h.Events[0].Text, "alice@example.com") {
		t.Errorf("events: %+v", h.Events)
	}
	if len(h.Gaps) != 4 {
		t.Errorf("gaps: %+v", h.Gaps)
	}
	// One requirement asked for: the others are left out.
	only, _ := BuildHistory(entries, from, to, "SIS-TLS")
	if len(only.Requirements) != 1 || only.Requirements[0].ID != "SIS-TLS" || only.Requirements[0].Time["Waived"] != int(day.Seconds()) {
		t.Errorf("SIS-TLS only: %+v", only.Requirements)
	}
}

func TestBundleVerifiesAndNamesTamperedEntries(t *testing.T) {
	pub, s := key(t, 1)
	log := period(t, s)
	pem, _ := PublicKeyPEM(pub)
	m := Manifest{Tenant: "acme", From: start.Add(day), To: start.Add(12 * day), FirstSequence: 0, Entries: len(log), Store: "file:///x", Exported: start.Add(12 * day)}
	entries, _ := Verify(context.Background(), pub, log)
	summary, err := Summarize(m, entries)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SIS-BACKUP", "NotRecorded", "carol@example.com", "alice@example.com", `<rect class="noncompliant"`} {
		if !bytes.Contains(summary, []byte(want)) {
			t.Errorf("summary lacks %q", want)
		}
	}
	write := func(b Bundle) Bundle {
		var buf bytes.Buffer
		if err := WriteBundle(&buf, b); err != nil {
			t.Fatal(err)
		}
		got, err := ReadBundle(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	b := write(Bundle{Manifest: m, PublicKey: []byte(pem), Envelopes: log, Summary: summary})
	if _, problems := VerifyBundle(context.Background(), pub, b); len(problems) != 0 {
		t.Fatalf("an untouched bundle: %v", problems)
	}
	// A hand edit of entry 2's payload.
	edited := append([][]byte(nil), log...)
	edited[2] = bytes.Replace(log[2], []byte(`"payload":"`), []byte(`"payload":"A`), 1)
	_, problems := VerifyBundle(context.Background(), pub, write(Bundle{Manifest: m, PublicKey: []byte(pem), Envelopes: edited}))
	mustProblems(t, problems, 2, "")
	// An entry dropped, and the manifest fixed to match: the chain still names it.
	dropped := append(append([][]byte(nil), log[:1]...), log[2:]...)
	m2 := m
	m2.Entries = len(dropped)
	_, problems = VerifyBundle(context.Background(), pub, write(Bundle{Manifest: m2, PublicKey: []byte(pem), Envelopes: dropped}))
	mustProblems(t, problems, 1, "missing or out of order")
	// Another key.
	other, _ := key(t, 3)
	_, problems = VerifyBundle(context.Background(), other, b)
	mustProblems(t, problems, 0, "signature")
}

func metav1Time(t time.Time) metav1.Time { return metav1.NewTime(t) }

// A snapshot that repeats an earlier entry carries its state forward; one whose base is missing
// from the entries given, or records another state, is refused.
func TestSnapshotsRepeatTheirBase(t *testing.T) {
	report, _ := json.Marshal(rempartv1.ComplianceReportStatus{Requirements: []rempartv1.RequirementResult{{ID: "SIS-BACKUP", State: "NonCompliant"}}})
	base := int64(0)
	entries := []Entry{
		{Tenant: "acme", Sequence: 0, Time: start, Report: report, Content: "c1", NextBy: start.Add(day + time.Hour)},
		{Tenant: "acme", Sequence: 1, Time: start.Add(day), Base: &base, Content: "c1", NextBy: start.Add(2*day + time.Hour)},
	}
	h, err := BuildHistory(entries, start, start.Add(2*day), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Requirements[0].Intervals; len(got) != 1 || got[0].State != "NonCompliant" || !got[0].To.Equal(start.Add(2*day)) {
		t.Errorf("the snapshot did not carry the state forward: %+v", got)
	}
	if _, err := BuildHistory(entries[1:], start, start.Add(2*day), ""); err == nil || !strings.Contains(err.Error(), "not among the entries given") {
		t.Errorf("a snapshot without its base: %v", err)
	}
	entries[1].Content = "c2"
	if _, err := BuildHistory(entries, start, start.Add(2*day), ""); err == nil || !strings.Contains(err.Error(), "records another one") {
		t.Errorf("a snapshot claiming another state: %v", err)
	}
}
