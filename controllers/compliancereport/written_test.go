package compliancereport

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func TestWrittenReportsSkipOnlyUnchangedRecentReports(t *testing.T) {
	report := func(ns, result string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"namespace": ns}, "summary": map[string]any{"fail": result}}}
		return u
	}
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var w writtenReports
	a := []*unstructured.Unstructured{report("a", "0"), report("b", "1")}
	if w.current("acme", a, now, time.Hour) {
		t.Fatal("a report never written counts as current")
	}
	w.record("acme", a, now)
	if !w.current("acme", []*unstructured.Unstructured{report("b", "1"), report("a", "0")}, now.Add(time.Minute), time.Hour) {
		t.Error("the same reports in another order are not current")
	}
	if w.current("acme", []*unstructured.Unstructured{report("a", "1"), report("b", "1")}, now.Add(time.Minute), time.Hour) {
		t.Error("a changed report counts as current: it would never be written")
	}
	if w.current("acme", a, now.Add(2*time.Hour), time.Hour) {
		t.Error("a record older than the resync counts as current: drift would never be repaired")
	}
	w.forget("acme")
	if w.current("acme", a, now, time.Hour) {
		t.Error("a forgotten tenant counts as current")
	}
}

func TestWrittenReportsSayWhenToReadAndWhenToLookForStaleOnes(t *testing.T) {
	report := func(ns, result string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"namespace": ns}, "summary": map[string]any{"fail": result}}}
	}
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var w writtenReports
	if state, stale := w.state("acme", []*unstructured.Unstructured{report("a", "0")}, now, time.Hour); state != reportsUnknown || !stale {
		t.Errorf("never written: %v, stale %v; want read, compare and look for stale reports", state, stale)
	}
	w.record("acme", []*unstructured.Unstructured{report("a", "0"), report("b", "0")}, now)
	if state, stale := w.state("acme", []*unstructured.Unstructured{report("a", "1"), report("b", "0")}, now, time.Hour); state != reportsChanged || stale {
		t.Errorf("changed content: %v, stale %v", state, stale)
	}
	if state, stale := w.state("acme", []*unstructured.Unstructured{report("a", "0")}, now, time.Hour); state != reportsChanged || !stale {
		t.Errorf("namespace b left: %v, stale %v; its report must be looked for", state, stale)
	}
}

func TestStaleReportsComeFromTheStartAndFromLastWrites(t *testing.T) {
	report := func(ns, tenant string) unstructured.Unstructured {
		return unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"namespace": ns, "labels": map[string]any{"tenant": tenant}}}}
	}
	var w writtenReports
	if !w.needsSeed() {
		t.Fatal("a fresh record needs the reports in place")
	}
	w.seed([]unstructured.Unstructured{report("a", "acme"), report("old", "acme"), report("b", "bank")}, "tenant")
	if w.needsSeed() {
		t.Error("seeded twice")
	}
	inPlace := w.inPlace("acme")
	if got := w.staleNamespaces("acme", inPlace, map[string]bool{"a": true}); len(got) != 1 || got[0] != "old" {
		t.Errorf("stale at start %v, want [old]", got)
	}
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	r := report("a", "acme")
	w.record("acme", []*unstructured.Unstructured{&r}, now)
	if w.inPlace("acme") != nil {
		t.Error("the start's reports are kept after the tenant's first write")
	}
	if got := w.staleNamespaces("acme", nil, map[string]bool{}); len(got) != 1 || got[0] != "a" {
		t.Errorf("stale after a write %v, want [a]", got)
	}
}

func TestWrittenStatusesAskForAWriteOnChangeOrAnotherWriter(t *testing.T) {
	var w writtenStatuses
	st := rempartv1.ComplianceReportStatus{Summary: rempartv1.ReportSummary{Score: 80}}
	if w.unchanged("acme", "10", st) {
		t.Fatal("a report never written counts as unchanged")
	}
	w.record("acme", "10", "11", st)
	for _, rv := range []string{"10", "11"} {
		if !w.unchanged("acme", rv, st) {
			t.Errorf("the same status at version %s (the cache before or after the write) asks for a write", rv)
		}
	}
	if w.unchanged("acme", "12", st) {
		t.Error("a report written by someone else since is not rewritten")
	}
	changed := st
	changed.Summary.Score = 50
	if w.unchanged("acme", "11", changed) {
		t.Error("a changed status is not written")
	}
	later := st
	later.LastEvaluated = &metav1.Time{Time: time.Now()}
	if !w.unchanged("acme", "11", later) {
		t.Error("only the evaluation time changed: no write is needed")
	}
}
