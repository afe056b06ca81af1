package policystatus

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
)

// Object is a policy kind: an API object whose status embeds the shared PolicyStatus.
type Object interface {
	client.Object
	SharedStatus() *rempartv1.PolicyStatus
}

// Report is what one reconcile of a policy found, for its shared status and its next run.
type Report struct {
	// Results are the controls' results. Nil keeps the stored ones (a spec that cannot be
	// evaluated says so in Ready alone).
	Results []rempartv1.ControlResult
	// Ready is the kind's Ready condition when everything it applied went through; ApplyErr,
	// when set, replaces it with ApplyFailed and is returned once the status is written.
	Ready    metav1.Condition
	ApplyErr error
	// Exceptions in force: the soonest expiry is a boundary.
	Exceptions compliance.ExceptionSet
	// Boundaries are other instants at which a result changes by itself.
	Boundaries []time.Time
	// Resync is the longest wait before the next evaluation.
	Resync time.Duration
}

// Write fills computed's shared status from the report, writes it unless it equals stored's but
// for lastEvaluated, and returns when to reconcile again. computed is a copy of stored whose
// kind-specific status fields the caller already set.
func Write(ctx context.Context, c client.Client, stored, computed Object, rep Report, now time.Time) (ctrl.Result, error) {
	s := computed.SharedStatus()
	gen := stored.GetGeneration()
	s.ObservedGeneration = gen
	ready := rep.Ready
	ready.Type, ready.ObservedGeneration = rempartv1.ConditionReady, gen
	if rep.ApplyErr != nil {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, rempartv1.ReasonApplyFailed, rep.ApplyErr.Error()
	}
	meta.SetStatusCondition(&s.Conditions, ready)
	if rep.Results != nil {
		s.Controls = rep.Results
		s.Summary = compliance.Summarize(rep.Results)
		meta.SetStatusCondition(&s.Conditions, compliance.ComplianceCondition(rep.Results, gen))
	}
	if err := Update(ctx, c, stored, computed, now); err != nil {
		return WriteOutcome(err)
	}
	if rep.ApplyErr != nil {
		return ctrl.Result{}, rep.ApplyErr
	}
	return ctrl.Result{RequeueAfter: Requeue(now, rep.Resync, rep.Exceptions, rep.Boundaries...)}, nil
}

// Requeue is how long to wait before evaluating again: resync, or less when an exception
// expires or a boundary passes sooner.
func Requeue(now time.Time, resync time.Duration, exceptions compliance.ExceptionSet, boundaries ...time.Time) time.Duration {
	if next, ok := exceptions.NextExpiry(); ok {
		boundaries = append(boundaries, next)
	}
	if wait, ok := compliance.NextBoundary(now, boundaries...); ok && (resync <= 0 || wait < resync) {
		return wait
	}
	return resync
}

// Update writes computed's status when it differs from stored's by more than lastEvaluated, so a
// quiet policy costs no write; then lastEvaluated becomes now. An update, not a merge patch: a
// merge patch leaves out counts that stay at zero, and the status must always carry every count.
func Update(ctx context.Context, c client.Client, stored, computed Object, now time.Time) error {
	if !Restamp(stored, computed, now) {
		return nil
	}
	if err := c.Status().Update(ctx, computed); err != nil {
		return fmt.Errorf("write status of %s: %w", stored.GetName(), err)
	}
	s := computed.SharedStatus()
	log.FromContext(ctx).V(1).Info("status written", "object", client.ObjectKeyFromObject(computed),
		"nonCompliant", s.Summary.NonCompliant, "generation", s.ObservedGeneration)
	return nil
}

// Restamp says whether computed must be written: not when it equals stored but for
// lastEvaluated. When it must, computed's lastEvaluated becomes now.
func Restamp(stored, computed Object, now time.Time) bool {
	s, c := stored.SharedStatus(), computed.SharedStatus()
	storedAt := s.LastEvaluated
	s.LastEvaluated, c.LastEvaluated = nil, nil
	same := equality.Semantic.DeepEqual(stored, computed)
	s.LastEvaluated = storedAt
	if same && storedAt != nil {
		return false
	}
	c.LastEvaluated = &metav1.Time{Time: now}
	return true
}

// WriteOutcome is the reconcile's outcome after a failed status write: a conflict requeues (the
// object's newer version is already queued), an object deleted meanwhile ends the reconcile
// quietly, anything else is an error.
func WriteOutcome(err error) (ctrl.Result, error) {
	switch {
	case apierrors.IsConflict(err):
		return ctrl.Result{Requeue: true}, nil
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, err
}
