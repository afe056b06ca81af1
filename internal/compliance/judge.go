package compliance

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/requirements"
)

// Judge returns the result of a control given the objects that break it: NonCompliant if any of
// them is not covered by an exception in force, Waived if every one is, Compliant if there are
// none. Every kind's controls are judged through it, so an exception waives the same way
// whatever the kind.
func (exceptions ExceptionSet) Judge(c Control, offenders []rempartv1.ObjectReference) rempartv1.ControlResult {
	result := rempartv1.ControlResult{
		ID:           c.ID,
		Requirements: requirements.Strings(c.Requirements...),
	}
	if len(offenders) == 0 {
		result.State = rempartv1.ControlCompliant
		result.Reason = c.PassReason
		result.Message = c.PassMessage
		return result
	}

	var unwaived []rempartv1.ObjectReference
	var waiver *rempartv1.Waiver
	for _, o := range offenders {
		w := exceptions.Waiver(c.ID, o.Namespace)
		if w == nil {
			unwaived = append(unwaived, o)
			continue
		}
		if waiver == nil || w.Expires.Before(&waiver.Expires) {
			waiver = w // the soonest expiry is the one the auditor must know about
		}
	}

	if len(unwaived) > 0 {
		result.State = rempartv1.ControlNonCompliant
		result.Reason = c.FailReason
		result.Message = fmt.Sprintf("%s %s", c.FailMessage, describe(unwaived))
		result.Evidence = NewEvidence(unwaived)
		return result
	}
	result.State = rempartv1.ControlWaived
	result.Reason = rempartv1.ReasonWaived
	result.Message = fmt.Sprintf("%s %s Waived until %s, approved by %s: %s",
		c.FailMessage, describe(offenders), waiver.Expires.UTC().Format("2006-01-02T15:04:05Z"), waiver.ApprovedBy, waiver.Reason)
	result.Evidence = NewEvidence(offenders)
	result.Waiver = waiver
	return result
}

// Detailed judges as Judge does, and when the result is NonCompliant replaces its message with
// detail: a sentence built from what the controller saw, which names the offenders itself.
func (exceptions ExceptionSet) Detailed(c Control, offenders []rempartv1.ObjectReference, detail func() string) rempartv1.ControlResult {
	r := exceptions.Judge(c, offenders)
	if r.State == rempartv1.ControlNonCompliant {
		r.Message = detail()
	}
	return r
}

// Pass is a Compliant result with words built for this evaluation.
func (exceptions ExceptionSet) Pass(c Control, reason, message string) rempartv1.ControlResult {
	return exceptions.Judge(c.Passing(reason, message), nil)
}

// Fail judges the offenders of a control with words built for this evaluation: NonCompliant, or
// Waived when an exception in force covers every one. With no offender it still fails, naming
// nothing: a promise broken by no object in particular (no backup at all) is still broken.
func (exceptions ExceptionSet) Fail(c Control, reason, message string, offenders ...rempartv1.ObjectReference) rempartv1.ControlResult {
	c = c.Failing(reason, message)
	if len(offenders) == 0 {
		return rempartv1.ControlResult{ID: c.ID, Requirements: requirements.Strings(c.Requirements...),
			State: rempartv1.ControlNonCompliant, Reason: c.FailReason, Message: c.FailMessage}
	}
	return exceptions.Judge(c, offenders)
}

// Unknown is the result of a control that could not be evaluated: it never counts as compliant.
func Unknown(c Control, reason, message string) rempartv1.ControlResult {
	return rempartv1.ControlResult{ID: c.ID, Requirements: requirements.Strings(c.Requirements...),
		State: rempartv1.ControlUnknown, Reason: reason, Message: message}
}

// Results gathers one evaluation's results in a stable order (by control ID), so a status does
// not change when only the order of evaluation did.
func Results(results ...rempartv1.ControlResult) []rempartv1.ControlResult {
	SortResults(results)
	return results
}

// NewEvidence keeps the exact count and at most MaxEvidenceObjects references, in a stable
// order so that a status does not change when only the order of a list did.
func NewEvidence(objects []rempartv1.ObjectReference) *rempartv1.Evidence {
	sorted := append([]rempartv1.ObjectReference(nil), objects...)
	sort.Slice(sorted, func(i, j int) bool { return refKey(sorted[i]) < refKey(sorted[j]) })
	if len(sorted) > rempartv1.MaxEvidenceObjects {
		sorted = sorted[:rempartv1.MaxEvidenceObjects]
	}
	return &rempartv1.Evidence{Objects: sorted, Total: int32(len(objects))}
}

func refKey(r rempartv1.ObjectReference) string {
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// describe names up to three objects and the total, for a message.
func describe(objects []rempartv1.ObjectReference) string {
	ev := NewEvidence(objects)
	names := make([]string, 0, 3)
	for i, o := range ev.Objects {
		if i == 3 {
			break
		}
		name := o.Name
		if o.Namespace != "" {
			name = o.Namespace + "/" + o.Name
		}
		names = append(names, o.Kind+" "+name)
	}
	if len(objects) > len(names) {
		return fmt.Sprintf("Offending: %s and %d more.", strings.Join(names, ", "), len(objects)-len(names))
	}
	return fmt.Sprintf("Offending: %s.", strings.Join(names, ", "))
}

// Summarize counts results by state.
func Summarize(results []rempartv1.ControlResult) rempartv1.ControlSummary {
	var s rempartv1.ControlSummary
	for _, r := range results {
		s.Total++
		switch r.State {
		case rempartv1.ControlCompliant:
			s.Compliant++
		case rempartv1.ControlNonCompliant:
			s.NonCompliant++
		case rempartv1.ControlWaived:
			s.Waived++
		default:
			s.Unknown++
		}
	}
	return s
}

// ComplianceCondition derives the Compliant condition from the results: True only when every
// control is Compliant or Waived. A control that could not be evaluated never counts as
// compliant.
func ComplianceCondition(results []rempartv1.ControlResult, generation int64) metav1.Condition {
	s := Summarize(results)
	cond := metav1.Condition{Type: rempartv1.ConditionCompliant, ObservedGeneration: generation}
	switch {
	case s.NonCompliant > 0:
		cond.Status = metav1.ConditionFalse
		cond.Reason = rempartv1.ReasonViolations
		cond.Message = fmt.Sprintf("%d of %d controls are not compliant: %s.", s.NonCompliant, s.Total, idsIn(results, rempartv1.ControlNonCompliant))
	case s.Unknown > 0 || s.Total == 0:
		cond.Status = metav1.ConditionUnknown
		cond.Reason = rempartv1.ReasonNotEvaluated
		cond.Message = fmt.Sprintf("%d of %d controls could not be evaluated: %s.", s.Unknown, s.Total, idsIn(results, rempartv1.ControlUnknown))
		if s.Total == 0 {
			cond.Message = "No control has been evaluated yet."
		}
	default:
		cond.Status = metav1.ConditionTrue
		cond.Reason = rempartv1.ReasonAllControlsPass
		cond.Message = fmt.Sprintf("All %d controls pass (%d waived by exception).", s.Total, s.Waived)
	}
	return cond
}

func idsIn(results []rempartv1.ControlResult, state rempartv1.ControlState) string {
	var ids []string
	for _, r := range results {
		if r.State == state {
			ids = append(ids, string(r.ID))
		}
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// SortResults orders results by control ID, so status is stable across reconciles.
func SortResults(results []rempartv1.ControlResult) {
	sort.Slice(results, func(i, j int) bool { return results[i].ID < results[j].ID })
}

// AllUnknown is every control of kind, Unknown for one reason: what a policy reports when what
// its controls read cannot be read at all (a missing CRD), rather than claiming any result.
func AllUnknown(kind, reason, message string) []rempartv1.ControlResult {
	var out []rempartv1.ControlResult
	for _, c := range catalog {
		if c.Kind == kind {
			out = append(out, Unknown(*c, reason, message))
		}
	}
	return Results(out...)
}
