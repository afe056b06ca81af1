package evidence

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// StateGap is the state of time no entry covers: the operator was not running or could not
// write. It is never counted as compliant.
const StateGap = "NotRecorded"

// Interval is a span of time a requirement spent in one state.
type Interval struct {
	State    string    `json:"state"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Sequence int64     `json:"sequence"` // the entry that opened it; -1 for a gap
}

// Duration of the interval.
func (i Interval) Duration() time.Duration { return i.To.Sub(i.From) }

// Remediation is one NonCompliant episode of a requirement and how long it took to be Compliant
// again; Open when it was not by the end of the period.
type Remediation struct {
	From time.Time     `json:"from"`
	To   time.Time     `json:"to"`
	Took time.Duration `json:"took"`
	Open bool          `json:"open"`
}

// RequirementHistory is one requirement over the period.
type RequirementHistory struct {
	ID           string         `json:"id"`
	Rule         string         `json:"rule"`
	Intervals    []Interval     `json:"intervals"`
	Remediations []Remediation  `json:"remediations,omitempty"`
	Time         map[string]int `json:"secondsInState"`
}

// WaiverRecord is an exception seen in force over the period.
type WaiverRecord struct {
	Control    string    `json:"control"`
	Policy     string    `json:"policy"`
	ApprovedBy string    `json:"approvedBy"`
	Reason     string    `json:"reason"`
	Expires    time.Time `json:"expires"`
	From       time.Time `json:"firstSeen"`
	To         time.Time `json:"lastSeen"`
}

// Event is an entry's event, with its time.
type Event struct {
	Time     time.Time `json:"time"`
	Sequence int64     `json:"sequence"`
	Text     string    `json:"text"`
}

// History is a tenant's compliance over a period, read from verified entries.
type History struct {
	Tenant       string               `json:"tenant"`
	From         time.Time            `json:"from"`
	To           time.Time            `json:"to"`
	Requirements []RequirementHistory `json:"requirements"`
	Waivers      []WaiverRecord       `json:"waivers,omitempty"`
	Events       []Event              `json:"events,omitempty"`
	// Gaps are the spans no entry covers, the same for every requirement.
	Gaps []Interval `json:"gaps,omitempty"`
}

// span is the time one entry's state holds within [from, to), and the gap after it, if any.
type span struct {
	entry    Entry
	report   rempartv1.ComplianceReportStatus
	from, to time.Time
}

// BuildHistory turns a tenant's entries (in sequence order, verified) into the history of
// [from, to): each entry's state holds until the next entry or its NextBy, whichever is first;
// the time after NextBy until the next entry, and before the first entry, is a gap. requirement,
// when not empty, keeps that one requirement only.
func BuildHistory(entries []Entry, from, to time.Time, requirement string) (History, error) {
	h := History{From: from, To: to}
	var spans []span
	cursor := from
	reports := map[int64]recorded{}
	for i, e := range entries {
		report, err := stateOf(e, reports)
		if err != nil {
			return h, err
		}
		if h.Tenant == "" {
			h.Tenant = e.Tenant
		}
		end := e.NextBy
		if i+1 < len(entries) && entries[i+1].Time.Before(end) {
			end = entries[i+1].Time
		}
		start := maxTime(e.Time, from)
		end = minTime(end, to)
		if !end.After(start) {
			continue
		}
		if start.After(cursor) {
			h.Gaps = append(h.Gaps, Interval{State: StateGap, From: cursor, To: start, Sequence: -1})
		}
		spans = append(spans, span{entry: e, report: report, from: start, to: end})
		cursor = end
	}
	if cursor.Before(to) {
		h.Gaps = append(h.Gaps, Interval{State: StateGap, From: cursor, To: to, Sequence: -1})
	}
	for _, e := range entries {
		if e.Time.Before(from) || !e.Time.Before(to) {
			continue
		}
		for _, text := range e.Events {
			h.Events = append(h.Events, Event{Time: e.Time, Sequence: e.Sequence, Text: text})
		}
	}
	h.Requirements = requirementHistories(spans, h.Gaps, requirement)
	h.Waivers = waivers(spans)
	return h, nil
}

// stateOf is the report an entry records: its own, or that of the entry it repeats, which must
// come before it in the entries given and hold the same content.
func stateOf(e Entry, reports map[int64]recorded) (rempartv1.ComplianceReportStatus, error) {
	if e.Base != nil {
		base, ok := reports[*e.Base]
		if !ok {
			return base.report, fmt.Errorf("entry %d repeats the state of entry %d, which is not among the entries given", e.Sequence, *e.Base)
		}
		if base.content != e.Content {
			return base.report, fmt.Errorf("entry %d says it repeats the state of entry %d, which records another one", e.Sequence, *e.Base)
		}
		reports[e.Sequence] = base
		return base.report, nil
	}
	var report rempartv1.ComplianceReportStatus
	if err := json.Unmarshal(e.Report, &report); err != nil {
		return report, fmt.Errorf("entry %d holds no report: %w", e.Sequence, err)
	}
	reports[e.Sequence] = recorded{report: report, content: e.Content}
	return report, nil
}

// recorded is the state an entry holds or repeats.
type recorded struct {
	report  rempartv1.ComplianceReportStatus
	content string
}

func requirementHistories(spans []span, gaps []Interval, only string) []RequirementHistory {
	byID := map[string]*RequirementHistory{}
	var order []string
	for _, s := range spans {
		for _, r := range s.report.Requirements {
			if only != "" && r.ID != only {
				continue
			}
			rh := byID[r.ID]
			if rh == nil {
				rh = &RequirementHistory{ID: r.ID, Rule: r.Rule}
				byID[r.ID] = rh
				order = append(order, r.ID)
			}
			rh.Intervals = append(rh.Intervals, Interval{State: r.State, From: s.from, To: s.to, Sequence: s.entry.Sequence})
		}
	}
	out := make([]RequirementHistory, 0, len(order))
	for _, id := range order {
		rh := byID[id]
		rh.Intervals = merge(append(rh.Intervals, gaps...))
		rh.Time = map[string]int{}
		for _, i := range rh.Intervals {
			rh.Time[i.State] += int(i.Duration().Seconds())
		}
		rh.Remediations = remediations(rh.Intervals)
		out = append(out, *rh)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// merge sorts intervals and joins touching ones in the same state.
func merge(in []Interval) []Interval {
	sort.Slice(in, func(i, j int) bool { return in[i].From.Before(in[j].From) })
	var out []Interval
	for _, i := range in {
		if n := len(out); n > 0 && out[n-1].State == i.State && !out[n-1].To.Before(i.From) {
			if i.To.After(out[n-1].To) {
				out[n-1].To = i.To
			}
			continue
		}
		out = append(out, i)
	}
	return out
}

// remediations finds each NonCompliant episode and when the requirement was Compliant again; a
// gap in between does not end it (nobody knows what happened then).
func remediations(intervals []Interval) []Remediation {
	var out []Remediation
	var open *Remediation
	for _, i := range intervals {
		switch i.State {
		case string(rempartv1.ControlNonCompliant):
			if open == nil {
				open = &Remediation{From: i.From}
			}
		case string(rempartv1.ControlCompliant):
			if open != nil {
				open.To, open.Took = i.From, i.From.Sub(open.From)
				out = append(out, *open)
				open = nil
			}
		}
	}
	if open != nil {
		last := intervals[len(intervals)-1].To
		open.To, open.Took, open.Open = last, last.Sub(open.From), true
		out = append(out, *open)
	}
	return out
}

func waivers(spans []span) []WaiverRecord {
	byKey := map[string]*WaiverRecord{}
	var order []string
	for _, s := range spans {
		for _, r := range s.report.Requirements {
			for _, c := range r.Controls {
				if c.Waiver == nil {
					continue
				}
				key := fmt.Sprintf("%s|%s/%s|%s|%s", c.Control, c.Kind, c.Policy, c.Waiver.ApprovedBy, c.Waiver.Expires.UTC())
				w := byKey[key]
				if w == nil {
					w = &WaiverRecord{Control: string(c.Control), Policy: c.Kind + "/" + c.Policy, ApprovedBy: c.Waiver.ApprovedBy,
						Reason: c.Waiver.Reason, Expires: c.Waiver.Expires.UTC(), From: s.from}
					byKey[key] = w
					order = append(order, key)
				}
				if s.to.After(w.To) {
					w.To = s.to
				}
			}
		}
	}
	out := make([]WaiverRecord, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
