package compliance

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/requirements"
)

// MaxExceptionLifetime is how far ahead an exception may expire (PAS-11: a derogation is
// reviewed at least yearly). The API server cannot check it, since CEL on custom resources has no
// clock, so the controller does, at every evaluation.
const MaxExceptionLifetime = 366 * 24 * time.Hour

// PolicyExceptions is the control every policy with exceptions carries about them.
var PolicyExceptions = Control{
	ID: "policy.exceptions", Kind: KindEveryPolicy, Requirements: []requirements.ID{requirements.PAS11},
	Checks:     "Every exception of the policy expires within a year and names a control the policy has; others are not honoured.",
	PassReason: rempartv1.ReasonExceptionsValid, PassMessage: "Every exception names a control of this policy and expires within one year (PAS-11).",
	FailReason: rempartv1.ReasonExceptionUnknownControl, FailMessage: "Some exceptions are not honoured: name a control from status.controls and expire within a year (PAS-11).",
}

// ExceptionsOf is NewExceptionSet for a policy of kind: the controls its exceptions may name are
// the kind's in the catalog.
func ExceptionsOf(kind string, now time.Time, exceptions []rempartv1.Exception) (ExceptionSet, rempartv1.ControlResult) {
	return NewExceptionSet(now, exceptions, ForKind(kind))
}

// ExceptionSet holds the exceptions that are in force at one instant.
type ExceptionSet struct {
	now    time.Time
	active []rempartv1.Exception
}

// NewExceptionSet keeps the exceptions in force at now: not expired, expiring at most
// MaxExceptionLifetime ahead, and naming a control in knownControls. It also returns the result of
// PolicyExceptions, NonCompliant when an exception was refused, so a derogation that is not
// honoured is reported rather than silently ignored.
func NewExceptionSet(now time.Time, exceptions []rempartv1.Exception, knownControls []rempartv1.ControlID) (ExceptionSet, rempartv1.ControlResult) {
	set := ExceptionSet{now: now}
	var tooLong, unknown []string
	for _, e := range exceptions {
		switch {
		case !slices.Contains(knownControls, e.Control):
			unknown = append(unknown, string(e.Control))
		case e.Expires.Time.After(now.Add(MaxExceptionLifetime)):
			tooLong = append(tooLong, fmt.Sprintf("%s (expires %s)", e.Control, e.Expires.UTC().Format(time.RFC3339)))
		case e.Expires.Time.After(now):
			set.active = append(set.active, e)
		}
	}

	result := rempartv1.ControlResult{
		ID:           PolicyExceptions.ID,
		Requirements: requirements.Strings(PolicyExceptions.Requirements...),
		State:        rempartv1.ControlCompliant,
		Reason:       PolicyExceptions.PassReason,
		Message:      PolicyExceptions.PassMessage,
	}
	var problems []string
	if len(tooLong) > 0 {
		result.Reason = rempartv1.ReasonExceptionTooLong
		problems = append(problems, fmt.Sprintf("exceptions for %s expire more than one year ahead and are not honoured: set expires within a year and review them yearly", strings.Join(tooLong, ", ")))
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		if len(tooLong) == 0 {
			result.Reason = rempartv1.ReasonExceptionUnknownControl
		}
		problems = append(problems, fmt.Sprintf("exceptions name controls this policy does not have (%s): use an ID from status.controls", strings.Join(unknown, ", ")))
	}
	if len(problems) > 0 {
		result.State = rempartv1.ControlNonCompliant
		result.Message = Capitalize(strings.Join(problems, "; ")) + " (PAS-11)."
	}
	return set, result
}

// Waiver returns the waiver of the exception in force for control in namespace, or nil. An
// exception without namespaces covers every namespace and cluster-scoped objects; one with
// namespaces covers only those.
func (s ExceptionSet) Waiver(control rempartv1.ControlID, namespace string) *rempartv1.Waiver {
	var best *rempartv1.Exception
	for i := range s.active {
		e := &s.active[i]
		if e.Control != control {
			continue
		}
		if len(e.Namespaces) > 0 && !slices.Contains(e.Namespaces, rempartv1.NamespaceName(namespace)) {
			continue
		}
		if best == nil || e.Expires.After(best.Expires.Time) {
			best = e
		}
	}
	if best == nil {
		return nil
	}
	return &rempartv1.Waiver{Reason: best.Reason, ApprovedBy: best.ApprovedBy, Expires: best.Expires}
}

// NextExpiry is the soonest instant an exception in force expires, so the reconciler can requeue
// exactly then and let the control fall back by itself. ok is false when none is in force.
func (s ExceptionSet) NextExpiry() (next time.Time, ok bool) {
	for _, e := range s.active {
		if !ok || e.Expires.Time.Before(next) {
			next, ok = e.Expires.Time, true
		}
	}
	return next, ok
}

// Capitalize starts a sentence built from an error or a list with a capital letter.
func Capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// NextBoundary returns how long to wait until the soonest candidate instant after now, so a
// reconciler can requeue at a precise time boundary (an expiry, a deadline) rather than wait for
// a periodic resync. ok is false when no candidate lies in the future.
func NextBoundary(now time.Time, candidates ...time.Time) (wait time.Duration, ok bool) {
	for _, c := range candidates {
		if !c.After(now) {
			continue
		}
		if d := c.Sub(now); !ok || d < wait {
			wait, ok = d, true
		}
	}
	return wait, ok
}
