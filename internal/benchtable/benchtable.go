package benchtable

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Row is one scenario's line of the table, as its benchmark summarised it. Figures are text the
// benchmark formatted with their unit and spread.
type Row struct {
	Scenario string `json:"scenario"`
	Baseline string `json:"baseline"`
	Rempart  string `json:"rempart"`
	// Ratio is Rempart's figure over the baseline's: median, then min-max over the runs.
	Ratio string `json:"ratio"`
	// Peer and RempartToPeer are the same job done by the tool users would pick instead.
	Peer          string `json:"peer,omitempty"`
	RempartToPeer string `json:"rempartToPeer,omitempty"`
	Memory        string `json:"memory,omitempty"`
	Requests      string `json:"requests,omitempty"`
	Runs          int    `json:"runs"`
}

// result is the part of a result file the table reads.
type result struct {
	Machine string    `json:"machine"`
	When    time.Time `json:"when"`
	Rows    []Row     `json:"rows"`
}

// Table is every row read from a directory, with when and where the newest was measured.
type Table struct {
	Rows     []Row
	Machines []string
	Oldest   time.Time
	Newest   time.Time
	// Skipped names files that hold no row (written by an older benchmark).
	Skipped []string
}

// Read reads every *.json result in dir, in name order.
func Read(dir string) (Table, error) {
	var t Table
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return t, fmt.Errorf("list results in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return t, fmt.Errorf("no benchmark result in %s: run make bench or make bench-peers first", dir)
	}
	sort.Strings(files)
	machines := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return t, fmt.Errorf("read %s: %w", f, err)
		}
		var r result
		if err := json.Unmarshal(raw, &r); err != nil {
			return t, fmt.Errorf("%s is not a benchmark result: %w", f, err)
		}
		if len(r.Rows) == 0 {
			t.Skipped = append(t.Skipped, filepath.Base(f))
			continue
		}
		t.Rows = append(t.Rows, r.Rows...)
		if r.Machine != "" && !machines[r.Machine] {
			machines[r.Machine] = true
			t.Machines = append(t.Machines, r.Machine)
		}
		if t.Oldest.IsZero() || r.When.Before(t.Oldest) {
			t.Oldest = r.When
		}
		if r.When.After(t.Newest) {
			t.Newest = r.When
		}
	}
	return t, nil
}

var columns = []string{"scenario", "baseline", "Rempart", "ratio to baseline: median (min-max)", "peer", "Rempart / peer", "peak RSS", "requests/tenant", "runs"}

// Markdown writes the table as Markdown, the form the README quotes.
func (t Table) Markdown(w io.Writer) error {
	var b strings.Builder
	if len(t.Rows) > 0 {
		fmt.Fprintf(&b, "Measured %s to %s on %s.\n\n", t.Oldest.UTC().Format(time.DateTime), t.Newest.UTC().Format(time.DateTime), strings.Join(t.Machines, "; "))
	}
	b.WriteString("| " + strings.Join(columns, " | ") + " |\n")
	b.WriteString(strings.Repeat("|---", len(columns)) + "|\n")
	for _, r := range t.Rows {
		cells := []string{r.Scenario, r.Baseline, r.Rempart, r.Ratio, r.Peer, r.RempartToPeer, r.Memory, r.Requests, fmt.Sprint(r.Runs)}
		for i, c := range cells {
			if c == "" {
				c = "-"
			}
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	for _, s := range t.Skipped {
		fmt.Fprintf(&b, "\n%s holds no table row: run its benchmark again.\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Span is "a" when the values agree at the given precision, else "min-max", each followed by unit.
func Span(values []float64, format, unit string) string {
	if len(values) == 0 {
		return ""
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	a, z := fmt.Sprintf(format, lo), fmt.Sprintf(format, hi)
	if a == z {
		return a + unit
	}
	return a + "-" + z + unit
}
