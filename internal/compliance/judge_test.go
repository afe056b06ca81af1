package compliance

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/requirements"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var defaultDeny = Control{
	ID:           "network.default-deny",
	Requirements: []requirements.ID{requirements.FTCLD20, requirements.FTCLD36},
	PassReason:   "DefaultDenyInPlace",
	PassMessage:  "Every namespace denies traffic by default (FT-CLD-20).",
	FailReason:   "DefaultDenyMissing",
	FailMessage:  "Some namespaces accept traffic by default: restore the default-deny NetworkPolicy (FT-CLD-20).",
}

func netpol(ns string) rempartv1.ObjectReference {
	return rempartv1.ObjectReference{Kind: "Namespace", Name: ns, Namespace: ""}
}

func nsObject(ns, name string) rempartv1.ObjectReference {
	return rempartv1.ObjectReference{Kind: "Pod", Namespace: ns, Name: name}
}

func exception(control string, expires time.Time, namespaces ...rempartv1.NamespaceName) rempartv1.Exception {
	return rempartv1.Exception{
		Control: rempartv1.ControlID(control), Namespaces: namespaces,
		Reason: "INC-1234 migration window", ApprovedBy: "jane.doe@example.com",
		Expires: metav1.NewTime(expires),
	}
}

func TestJudge(t *testing.T) {
	known := []rempartv1.ControlID{defaultDeny.ID}
	tests := []struct {
		name       string
		offenders  []rempartv1.ObjectReference
		exceptions []rempartv1.Exception
		wantState  rempartv1.ControlState
		wantReason string
		wantTotal  int32
	}{
		{name: "no offender is compliant", wantState: rempartv1.ControlCompliant, wantReason: "DefaultDenyInPlace"},
		{name: "offender without exception", offenders: []rempartv1.ObjectReference{nsObject("a", "p")},
			wantState: rempartv1.ControlNonCompliant, wantReason: "DefaultDenyMissing", wantTotal: 1},
		{name: "cluster-wide exception waives every namespace",
			offenders:  []rempartv1.ObjectReference{nsObject("a", "p"), nsObject("b", "q")},
			exceptions: []rempartv1.Exception{exception("network.default-deny", now.Add(time.Hour))},
			wantState:  rempartv1.ControlWaived, wantReason: rempartv1.ReasonWaived, wantTotal: 2},
		{name: "namespaced exception leaves other namespaces non-compliant",
			offenders:  []rempartv1.ObjectReference{nsObject("a", "p"), nsObject("b", "q")},
			exceptions: []rempartv1.Exception{exception("network.default-deny", now.Add(time.Hour), "a")},
			wantState:  rempartv1.ControlNonCompliant, wantReason: "DefaultDenyMissing", wantTotal: 1},
		{name: "expired exception no longer waives",
			offenders:  []rempartv1.ObjectReference{nsObject("a", "p")},
			exceptions: []rempartv1.Exception{exception("network.default-deny", now.Add(-time.Second))},
			wantState:  rempartv1.ControlNonCompliant, wantReason: "DefaultDenyMissing", wantTotal: 1},
		{name: "exception expiring exactly now no longer waives",
			offenders:  []rempartv1.ObjectReference{nsObject("a", "p")},
			exceptions: []rempartv1.Exception{exception("network.default-deny", now)},
			wantState:  rempartv1.ControlNonCompliant, wantReason: "DefaultDenyMissing", wantTotal: 1},
		{name: "exception for another control does not waive",
			offenders:  []rempartv1.ObjectReference{nsObject("a", "p")},
			exceptions: []rempartv1.Exception{exception("storage.encryption", now.Add(time.Hour))},
			wantState:  rempartv1.ControlNonCompliant, wantReason: "DefaultDenyMissing", wantTotal: 1},
		{name: "exception beyond one year is not honoured",
			offenders:  []rempartv1.ObjectReference{netpol("a")},
			exceptions: []rempartv1.Exception{exception("network.default-deny", now.Add(400*24*time.Hour))},
			wantState:  rempartv1.ControlNonCompliant, wantReason: "DefaultDenyMissing", wantTotal: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, _ := NewExceptionSet(now, tt.exceptions, known)
			got := set.Judge(defaultDeny, tt.offenders)
			if got.State != tt.wantState || got.Reason != tt.wantReason {
				t.Fatalf("state/reason = %s/%s, want %s/%s (message %q)", got.State, got.Reason, tt.wantState, tt.wantReason, got.Message)
			}
			if strings.Join(got.Requirements, ",") != "FT-CLD-20,FT-CLD-36" {
				t.Errorf("requirements = %v", got.Requirements)
			}
			if tt.wantTotal == 0 {
				if got.Evidence != nil {
					t.Errorf("compliant result carries evidence %+v", got.Evidence)
				}
				return
			}
			if got.Evidence == nil || got.Evidence.Total != tt.wantTotal {
				t.Fatalf("evidence = %+v, want total %d", got.Evidence, tt.wantTotal)
			}
			if !strings.Contains(got.Message, "Offending:") {
				t.Errorf("message %q does not name the offending objects", got.Message)
			}
			if tt.wantState == rempartv1.ControlWaived {
				if got.Waiver == nil || got.Waiver.ApprovedBy != "jane.doe@example.com" {
					t.Errorf("waived result does not record the approver: %+v", got.Waiver)
				}
				if !strings.Contains(got.Message, "approved by jane.doe@example.com") {
					t.Errorf("waived message %q does not name the approver", got.Message)
				}
			} else if got.Waiver != nil {
				t.Errorf("non-waived result carries a waiver %+v", got.Waiver)
			}
		})
	}
}

func TestEvidenceIsBoundedExactAndStable(t *testing.T) {
	var objects []rempartv1.ObjectReference
	for i := 999; i >= 0; i-- {
		objects = append(objects, nsObject(fmt.Sprintf("ns-%04d", i), "p"))
	}
	ev := NewEvidence(objects)
	if ev.Total != 1000 {
		t.Errorf("total = %d, want 1000", ev.Total)
	}
	if len(ev.Objects) != rempartv1.MaxEvidenceObjects {
		t.Errorf("kept %d references, want %d", len(ev.Objects), rempartv1.MaxEvidenceObjects)
	}
	if ev.Objects[0].Namespace != "ns-0000" || ev.Objects[19].Namespace != "ns-0019" {
		t.Errorf("references are not in stable order: first %s, last %s", ev.Objects[0].Namespace, ev.Objects[19].Namespace)
	}
	if objects[0].Namespace != "ns-0999" {
		t.Error("NewEvidence reordered its caller's slice")
	}
}

func TestPolicyExceptions(t *testing.T) {
	known := []rempartv1.ControlID{"network.default-deny"}
	tests := []struct {
		name       string
		exceptions []rempartv1.Exception
		wantState  rempartv1.ControlState
		wantReason string
		wantInMsg  []string
	}{
		{name: "none", wantState: rempartv1.ControlCompliant, wantReason: rempartv1.ReasonExceptionsValid},
		{name: "within a year", exceptions: []rempartv1.Exception{exception("network.default-deny", now.Add(365*24*time.Hour))},
			wantState: rempartv1.ControlCompliant, wantReason: rempartv1.ReasonExceptionsValid},
		{name: "expired ones stay as records", exceptions: []rempartv1.Exception{exception("network.default-deny", now.Add(-48*time.Hour))},
			wantState: rempartv1.ControlCompliant, wantReason: rempartv1.ReasonExceptionsValid},
		{name: "beyond a year", exceptions: []rempartv1.Exception{exception("network.default-deny", now.Add(367*24*time.Hour))},
			wantState: rempartv1.ControlNonCompliant, wantReason: rempartv1.ReasonExceptionTooLong,
			wantInMsg: []string{"network.default-deny", "PAS-11", "one year"}},
		{name: "unknown control", exceptions: []rempartv1.Exception{exception("network.typo", now.Add(time.Hour))},
			wantState: rempartv1.ControlNonCompliant, wantReason: rempartv1.ReasonExceptionUnknownControl,
			wantInMsg: []string{"network.typo", "status.controls"}},
		{name: "both problems are reported", exceptions: []rempartv1.Exception{
			exception("network.typo", now.Add(time.Hour)), exception("network.default-deny", now.Add(800*24*time.Hour))},
			wantState: rempartv1.ControlNonCompliant, wantReason: rempartv1.ReasonExceptionTooLong,
			wantInMsg: []string{"network.typo", "network.default-deny"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := NewExceptionSet(now, tt.exceptions, known)
			if got.ID != "policy.exceptions" || got.Requirements[0] != "PAS-11" {
				t.Errorf("result is not the PAS-11 exceptions control: %+v", got)
			}
			if got.State != tt.wantState || got.Reason != tt.wantReason {
				t.Fatalf("state/reason = %s/%s, want %s/%s (%q)", got.State, got.Reason, tt.wantState, tt.wantReason, got.Message)
			}
			for _, w := range tt.wantInMsg {
				if !strings.Contains(got.Message, w) {
					t.Errorf("message %q lacks %q", got.Message, w)
				}
			}
		})
	}
}

func TestWaiverPicksLongestCoveringException(t *testing.T) {
	set, _ := NewExceptionSet(now, []rempartv1.Exception{
		exception("c", now.Add(time.Hour), "a"),
		exception("c", now.Add(3*time.Hour), "a", "b"),
		exception("c", now.Add(2*time.Hour)),
	}, []rempartv1.ControlID{"c"})
	if w := set.Waiver("c", "a"); w == nil || !w.Expires.Time.Equal(now.Add(3*time.Hour)) {
		t.Errorf("waiver for namespace a = %+v, want the one expiring in 3h", w)
	}
	if w := set.Waiver("c", "z"); w == nil || !w.Expires.Time.Equal(now.Add(2*time.Hour)) {
		t.Errorf("waiver for namespace z = %+v, want the cluster-wide one", w)
	}
	if w := set.Waiver("other", "a"); w != nil {
		t.Errorf("waiver for another control = %+v, want none", w)
	}
	next, ok := set.NextExpiry()
	if !ok || !next.Equal(now.Add(time.Hour)) {
		t.Errorf("NextExpiry = %v, %v; want now+1h", next, ok)
	}
	if _, ok := (ExceptionSet{}).NextExpiry(); ok {
		t.Error("an empty set reports an expiry")
	}
}

func TestSummaryAndComplianceCondition(t *testing.T) {
	r := func(id string, s rempartv1.ControlState) rempartv1.ControlResult {
		return rempartv1.ControlResult{ID: rempartv1.ControlID(id), State: s}
	}
	tests := []struct {
		name    string
		results []rempartv1.ControlResult
		want    metav1.ConditionStatus
		reason  string
	}{
		{"nothing evaluated", nil, metav1.ConditionUnknown, rempartv1.ReasonNotEvaluated},
		{"all compliant or waived", []rempartv1.ControlResult{r("a", rempartv1.ControlCompliant), r("b", rempartv1.ControlWaived)}, metav1.ConditionTrue, rempartv1.ReasonAllControlsPass},
		{"unknown is not compliant", []rempartv1.ControlResult{r("a", rempartv1.ControlCompliant), r("b", rempartv1.ControlUnknown)}, metav1.ConditionUnknown, rempartv1.ReasonNotEvaluated},
		{"a violation wins", []rempartv1.ControlResult{r("a", rempartv1.ControlUnknown), r("b", rempartv1.ControlNonCompliant)}, metav1.ConditionFalse, rempartv1.ReasonViolations},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ComplianceCondition(tt.results, 7)
			if c.Status != tt.want || c.Reason != tt.reason || c.ObservedGeneration != 7 || c.Message == "" {
				t.Fatalf("condition = %+v, want %s/%s at generation 7 with a message", c, tt.want, tt.reason)
			}
		})
	}
	s := Summarize([]rempartv1.ControlResult{r("a", rempartv1.ControlCompliant), r("b", rempartv1.ControlNonCompliant),
		r("c", rempartv1.ControlNonCompliant), r("d", rempartv1.ControlWaived), r("e", rempartv1.ControlUnknown)})
	if s != (rempartv1.ControlSummary{Total: 5, Compliant: 1, NonCompliant: 2, Waived: 1, Unknown: 1}) {
		t.Errorf("summary = %+v", s)
	}
}

func TestNextBoundary(t *testing.T) {
	if _, ok := NextBoundary(now); ok {
		t.Error("no candidate gives a boundary")
	}
	if _, ok := NextBoundary(now, now, now.Add(-time.Second)); ok {
		t.Error("past candidates give a boundary")
	}
	if d, ok := NextBoundary(now, now.Add(time.Hour), now.Add(time.Second), now.Add(-time.Hour)); !ok || d != time.Second {
		t.Errorf("NextBoundary = %v, %v; want 1s", d, ok)
	}
}

func TestJudgeHelpersShareTheWaiver(t *testing.T) {
	set, _ := ExceptionsOf(KindTenantIsolation, now, []rempartv1.Exception{exception("network.default-deny", now.Add(time.Hour), "a")})
	detail := func() string { return "detailed" }
	if got := set.Detailed(NetworkDefaultDeny, []rempartv1.ObjectReference{nsObject("b", "p")}, detail); got.State != rempartv1.ControlNonCompliant || got.Message != "detailed" {
		t.Errorf("Detailed on an unwaived offender = %s %q", got.State, got.Message)
	}
	if got := set.Detailed(NetworkDefaultDeny, []rempartv1.ObjectReference{nsObject("a", "p")}, detail); got.State != rempartv1.ControlWaived || got.Waiver == nil {
		t.Errorf("Detailed on a waived offender = %s %+v", got.State, got.Waiver)
	}
	if got := set.Fail(NetworkDefaultDeny, "Custom", "custom words.", nsObject("a", "p")); got.State != rempartv1.ControlWaived {
		t.Errorf("Fail on a waived offender = %s", got.State)
	}
	if got := set.Fail(NetworkDefaultDeny, "Custom", "custom words."); got.State != rempartv1.ControlNonCompliant || got.Reason != "Custom" || got.Evidence != nil {
		t.Errorf("Fail without offenders = %+v", got)
	}
	if got := set.Pass(NetworkDefaultDeny, "", "fine."); got.State != rempartv1.ControlCompliant || got.Reason != "DefaultDenyInPlace" || got.Message != "fine." {
		t.Errorf("Pass = %+v", got)
	}
	if got := Unknown(BackupRPO, "NotYet", "later."); got.State != rempartv1.ControlUnknown || strings.Join(got.Requirements, ",") != "FT-CLD-26,SIS-BACKUP" {
		t.Errorf("Unknown = %+v", got)
	}
	// An exception naming a control of another kind is refused by ExceptionsOf.
	if _, r := ExceptionsOf(KindAdminAccess, now, []rempartv1.Exception{exception("network.default-deny", now.Add(time.Hour))}); r.State != rempartv1.ControlNonCompliant {
		t.Errorf("an exception for another kind's control is honoured: %+v", r)
	}
	rs := Results(Unknown(BackupRPO, "r", "m"), set.Pass(NetworkDefaultDeny, "", "x"))
	if rs[0].ID != "backup.rpo" {
		t.Errorf("Results not sorted: %v", rs)
	}
}

func TestAllUnknownNamesEveryControlOfTheKind(t *testing.T) {
	got := AllUnknown(KindCertificatePolicy, "CertManagerNotInstalled", "not installed.")
	if len(got) != len(ForKind(KindCertificatePolicy)) || len(got) == 0 {
		t.Fatalf("%d results for %d controls", len(got), len(ForKind(KindCertificatePolicy)))
	}
	for _, r := range got {
		if r.State != rempartv1.ControlUnknown || r.Reason != "CertManagerNotInstalled" || len(r.Requirements) == 0 {
			t.Errorf("%+v", r)
		}
	}
}
