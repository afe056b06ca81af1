package evidence

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed templates/summary.html
var summaryFS embed.FS

var summaryTemplate = template.Must(template.New("summary.html").Funcs(template.FuncMap{
	"stamp":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"duration": HumanDuration,
	"class":    func(state string) string { return strings.ToLower(state) },
	"pct":      func(f float64) string { return fmt.Sprintf("%.3f", f) },
}).ParseFS(summaryFS, "templates/summary.html"))

// segment is one interval drawn on a requirement's timeline, in percent of the period.
type segment struct {
	Interval
	X, Width float64
}

type timeline struct {
	RequirementHistory
	Segments []segment
	Share    []stateShare
}

type stateShare struct {
	State   string
	Percent float64
}

// timelineStates orders the legend and the shares.
var timelineStates = []string{"Compliant", "Waived", "NonCompliant", "Unknown", "NotCovered", StateGap}

// RenderHTML writes the summary of a period: one timeline per requirement, the share of the
// period in each state, remediation times, exceptions with their approver, events and gaps. One
// self-contained page, no script, no remote resource.
func RenderHTML(w io.Writer, m Manifest, h History) error {
	total := h.To.Sub(h.From).Seconds()
	var lines []timeline
	for _, r := range h.Requirements {
		tl := timeline{RequirementHistory: r}
		for _, i := range r.Intervals {
			if total <= 0 {
				break
			}
			tl.Segments = append(tl.Segments, segment{Interval: i, X: i.From.Sub(h.From).Seconds() / total * 100, Width: i.Duration().Seconds() / total * 100})
		}
		for _, s := range timelineStates {
			if secs := r.Time[s]; secs > 0 && total > 0 {
				tl.Share = append(tl.Share, stateShare{State: s, Percent: float64(secs) / total * 100})
			}
		}
		lines = append(lines, tl)
	}
	return summaryTemplate.Execute(w, map[string]any{"M": m, "H": h, "Lines": lines, "States": timelineStates})
}

// HumanDuration writes a duration as a reader of a history wants it: days, hours, minutes or
// seconds.
func HumanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= time.Minute:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d s", int(d.Seconds()))
}
