package policystatus

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := rempartv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(objs...).Build()
}

func stored(t *testing.T, c client.Client, name string) *rempartv1.TenantIsolation {
	t.Helper()
	var ti rempartv1.TenantIsolation
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &ti); err != nil {
		t.Fatal(err)
	}
	return &ti
}

func TestWriteFillsTheSharedStatusAndWritesOnlyChanges(t *testing.T) {
	ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "acme", Generation: 3}}
	c := newClient(t, ti)
	ctx := context.Background()
	j, exceptions := compliance.ExceptionsOf(compliance.KindTenantIsolation, now, nil)
	results := compliance.Results(exceptions, j.Judge(compliance.QuotaInPlace, []rempartv1.ObjectReference{{Kind: "Namespace", Name: "acme-web"}}))
	rep := Report{Results: results, Ready: metav1.Condition{Status: metav1.ConditionTrue, Reason: "Applied", Message: "in place"}, Exceptions: j, Resync: 10 * time.Minute}

	before := stored(t, c, "acme")
	res, err := Write(ctx, c, before, before.DeepCopy(), rep, now)
	if err != nil || res.RequeueAfter != 10*time.Minute {
		t.Fatalf("Write = %+v, %v; want a resync requeue", res, err)
	}
	after := stored(t, c, "acme")
	s := after.Status.PolicyStatus
	if s.ObservedGeneration != 3 || s.Summary.NonCompliant != 1 || len(s.Controls) != 2 || s.LastEvaluated == nil || !s.LastEvaluated.Time.Equal(now) {
		t.Fatalf("shared status not filled: %+v", s)
	}
	if c := meta.FindStatusCondition(s.Conditions, rempartv1.ConditionCompliant); c == nil || c.Status != metav1.ConditionFalse || c.ObservedGeneration != 3 {
		t.Errorf("Compliant = %+v", c)
	}
	if c := meta.FindStatusCondition(s.Conditions, rempartv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != 3 {
		t.Errorf("Ready = %+v", c)
	}

	// The same evaluation an hour later changes nothing but the stamp: no write.
	if _, err := Write(ctx, c, after, after.DeepCopy(), rep, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	again := stored(t, c, "acme")
	if again.ResourceVersion != after.ResourceVersion || !again.Status.LastEvaluated.Time.Equal(now) {
		t.Errorf("an unchanged status was written (resourceVersion %s -> %s, lastEvaluated %v)", after.ResourceVersion, again.ResourceVersion, again.Status.LastEvaluated)
	}

	// A failed apply is said in Ready and returned once the status is written.
	rep.ApplyErr = errors.New("apply NetworkPolicy acme-web/default-deny: forbidden")
	if _, err := Write(ctx, c, again, again.DeepCopy(), rep, now.Add(2*time.Hour)); err == nil || err.Error() != rep.ApplyErr.Error() {
		t.Fatalf("Write with an apply error returned %v", err)
	}
	failed := stored(t, c, "acme")
	if c := meta.FindStatusCondition(failed.Status.Conditions, rempartv1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse || c.Reason != rempartv1.ReasonApplyFailed || c.Message != rep.ApplyErr.Error() {
		t.Errorf("Ready after a failed apply = %+v", c)
	}
	if !failed.Status.LastEvaluated.Time.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("a changed status keeps the old stamp %v", failed.Status.LastEvaluated)
	}
}

func TestWriteWithoutResultsKeepsTheStoredControls(t *testing.T) {
	ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "acme", Generation: 1}}
	ti.Status.Controls = []rempartv1.ControlResult{{ID: "quota.in-place", State: rempartv1.ControlCompliant}}
	c := newClient(t, ti)
	before := stored(t, c, "acme")
	if _, err := Write(context.Background(), c, before, before.DeepCopy(), Report{Ready: metav1.Condition{Status: metav1.ConditionFalse, Reason: "InvalidSpec", Message: "bad"}}, now); err != nil {
		t.Fatal(err)
	}
	after := stored(t, c, "acme")
	if len(after.Status.Controls) != 1 || meta.FindStatusCondition(after.Status.Conditions, rempartv1.ConditionReady).Reason != "InvalidSpec" {
		t.Errorf("status = %+v", after.Status.PolicyStatus)
	}
}

func TestRequeueIsTheEarliestBoundary(t *testing.T) {
	j, _ := compliance.ExceptionsOf(compliance.KindTenantIsolation, now, []rempartv1.Exception{{
		Control: "quota.in-place", Reason: "INC-1 migration", ApprovedBy: "jane", Expires: metav1.NewTime(now.Add(time.Hour))}})
	if got := Requeue(now, 10*time.Hour, j, now.Add(2*time.Hour), now.Add(-time.Minute)); got != time.Hour {
		t.Errorf("Requeue = %v, want the exception's expiry in 1h", got)
	}
	if got := Requeue(now, 10*time.Hour, compliance.ExceptionSet{}, now.Add(30*time.Minute)); got != 30*time.Minute {
		t.Errorf("Requeue = %v, want the boundary in 30m", got)
	}
	if got := Requeue(now, 10*time.Minute, compliance.ExceptionSet{}, now.Add(30*time.Minute)); got != 10*time.Minute {
		t.Errorf("Requeue = %v, want the resync", got)
	}
}

func TestRestampWritesOnlyWhatChanged(t *testing.T) {
	earlier := &metav1.Time{Time: now.Add(-time.Hour)}
	storedTI := &rempartv1.TenantIsolation{Status: rempartv1.TenantIsolationStatus{PolicyStatus: rempartv1.PolicyStatus{ObservedGeneration: 1, LastEvaluated: earlier}}}
	same := storedTI.DeepCopy()
	same.Status.LastEvaluated = nil
	if Restamp(storedTI, same, now) || same.Status.LastEvaluated != nil {
		t.Errorf("an unchanged status is written (lastEvaluated %v)", same.Status.LastEvaluated)
	}
	if storedTI.Status.LastEvaluated != earlier {
		t.Error("the stored lastEvaluated was lost")
	}
	changed := storedTI.DeepCopy()
	changed.Status.ObservedGeneration = 2
	if !Restamp(storedTI, changed, now) || changed.Status.LastEvaluated == nil || !changed.Status.LastEvaluated.Time.Equal(now) {
		t.Errorf("a changed status is not stamped: %v", changed.Status.LastEvaluated)
	}
	fresh := &rempartv1.TenantIsolation{}
	if !Restamp(&rempartv1.TenantIsolation{}, fresh, now) {
		t.Error("a never evaluated status is not written")
	}
}
