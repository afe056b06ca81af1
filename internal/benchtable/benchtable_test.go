package benchtable

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeJSON(t *testing.T, dir, name string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadRendersEveryRowInFileOrder(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	writeJSON(t, dir, "b-peers.json", map[string]any{"machine": "linux/amd64, 2 CPUs", "when": at.Add(time.Hour), "rows": []Row{
		{Scenario: "generate", Baseline: "bare client: 5.5 s", Rempart: "61.3 s", Ratio: "11.1", Peer: "Kyverno: 117 s", RempartToPeer: "0.52", Runs: 1}}})
	writeJSON(t, dir, "a-tenants.json", map[string]any{"machine": "linux/amd64, 2 CPUs", "when": at, "rows": []Row{
		{Scenario: "TenantIsolation | 300", Baseline: "bare client: 12.5-14.6 s", Rempart: "26-30 s", Ratio: "2.15 (1.79-2.33)", Memory: "80 MiB", Requests: "24", Runs: 3}}})
	writeJSON(t, dir, "old.json", map[string]any{"scenario": "old", "medianRatio": 2})

	table, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := table.Markdown(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	lines := strings.Split(text, "\n")
	want := []string{
		"Measured 2026-12-02 09:00:00 to 2026-12-02 10:00:00 on linux/amd64, 2 CPUs.",
		"| TenantIsolation \\| 300 | bare client: 12.5-14.6 s | 26-30 s | 2.15 (1.79-2.33) | - | - | 80 MiB | 24 | 3 |",
		"| generate | bare client: 5.5 s | 61.3 s | 11.1 | Kyverno: 117 s | 0.52 | - | - | 1 |",
		"old.json holds no table row: run its benchmark again.",
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l == w {
				found = true
			}
		}
		if !found {
			t.Errorf("table lacks the line %q:\n%s", w, text)
		}
	}
	if strings.Index(text, "TenantIsolation") > strings.Index(text, "| generate") {
		t.Errorf("rows are not in file name order:\n%s", text)
	}
}

func TestReadRefusesAnEmptyDirectoryAndAForeignFile(t *testing.T) {
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), "make bench") {
		t.Errorf("empty directory: error %v, want one pointing at make bench", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.json"), []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "x.json") {
		t.Errorf("foreign file: error %v, want one naming x.json", err)
	}
}

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		values []float64
		want   string
	}{
		{nil, ""},
		{[]float64{1.02, 0.98}, "1.0 s"},
		{[]float64{12.5, 14.61, 13}, "12.5-14.6 s"},
	} {
		if got := Span(tc.values, "%.1f", " s"); got != tc.want {
			t.Errorf("Span(%v) = %q, want %q", tc.values, got, tc.want)
		}
	}
}
