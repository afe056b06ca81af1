package testenv

import (
	"context"
	"fmt"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/adminaccess"
)

// WaitForGrantGuards waits until the operator's admission policies guarding AdminAccess exist,
// and then until they have been in place longer than the margin the operator allows: it refuses
// the grants created before, whose requester the API server may not have recorded. A test or a
// demo that asks for access right after the operator starts waits here, as a platform would
// sync its grants after the operator.
func WaitForGrantGuards(ctx context.Context, c client.Client) error {
	guards := []client.Object{
		&admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: adminaccess.PolicyApproval}},
		&admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: adminaccess.PolicyApproval}},
		&admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: adminaccess.PolicyRequester}},
		&admissionv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: adminaccess.PolicyRequester}},
		&admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: adminaccess.PolicyCreatorStamp}},
		&admissionv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: adminaccess.PolicyCreatorStamp}},
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var newest time.Time
		missing := ""
		for _, g := range guards {
			if err := c.Get(ctx, client.ObjectKeyFromObject(g), g); err != nil {
				missing = g.GetName()
				break
			}
			if g.GetCreationTimestamp().After(newest) {
				newest = g.GetCreationTimestamp().Time
			}
		}
		if missing == "" {
			// Timestamps are to the second: a second more than the margin on each side.
			time.Sleep(time.Until(newest.Add(adminaccess.GuardMargin + 2*time.Second)))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the operator did not put the admission policy %s in place", missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ApproveGrant records, through c acting as approver, the approval of a grant in the approver's
// own name, as kubectl rempart grant approve does: written with the resourceVersion read, and read
// again when the operator's finalizer landed in between.
func ApproveGrant(ctx context.Context, c client.Client, name, approver string) error {
	for {
		var aa rempartv1.AdminAccess
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &aa); err != nil {
			return err
		}
		patch := client.MergeFromWithOptions(aa.DeepCopy(), client.MergeFromWithOptimisticLock{})
		aa.Spec.ApprovedBy = approver
		if err := c.Patch(ctx, &aa, patch); !apierrors.IsConflict(err) {
			return err
		}
	}
}
