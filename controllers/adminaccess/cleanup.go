package adminaccess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

// createdBy says whether the API server recorded the subject of the grant as the creator of obj:
// the user for a User subject, a member of the group for a Group subject.
func createdBy(obj client.Object, subject rempartv1.AdminSubject) bool {
	a := obj.GetAnnotations()
	if subject.Kind == rempartv1.AdminSubjectGroup {
		return slices.Contains(strings.Split(a[AnnotationCreatedByGroups], ","), subject.Name)
	}
	return a[AnnotationCreatedBy] == subject.Name
}

// coveredBy says whether an Active grant held rights in the namespace: the namespaces of its
// bindings, or every namespace for break-glass.
func coveredBy(aa *rempartv1.AdminAccess, namespace string) bool {
	if aa.Spec.BreakGlass {
		return true
	}
	return slices.ContainsFunc(aa.Status.Bindings, func(b rempartv1.ObjectReference) bool { return b.Namespace == namespace })
}

// leftovers are the objects the grant's subject created in the grant's namespaces while it was
// active, that no other Active grant of the same subject still accounts for. It is pure: the
// reconciler passes what it read.
func leftovers(aa *rempartv1.AdminAccess, active GrantIndex, stamped []client.Object, end time.Time) []client.Object {
	if aa.Status.GrantedAt == nil {
		return nil
	}
	// Timestamps are to the second: a second of slack on each side.
	from, to := aa.Status.GrantedAt.Add(-time.Second), end.Add(time.Second)
	var out []client.Object
	for _, obj := range stamped {
		created := obj.GetCreationTimestamp().Time
		if !createdBy(obj, aa.Spec.Subject) || !coveredBy(aa, obj.GetNamespace()) || created.Before(from) || created.After(to) {
			continue
		}
		still := slices.ContainsFunc(active.bySubject[subjectKey(aa.Spec.Subject)], func(o *rempartv1.AdminAccess) bool {
			return o.UID != aa.UID && coveredBy(o, obj.GetNamespace())
		})
		if !still {
			out = append(out, obj)
		}
	}
	return out
}

// removeLeftovers deletes what the grant's subject created while it was active, so that no right
// outlives it, and returns what it removed.
func (r *Reconciler) removeLeftovers(ctx context.Context, aa *rempartv1.AdminAccess, end time.Time) ([]rempartv1.ObjectReference, error) {
	if aa.Status.GrantedAt == nil {
		return nil, nil
	}
	// Bindings first: they carry the rights. Deleting a service account also invalidates every
	// token issued for it.
	var stamped []client.Object
	for _, list := range []client.ObjectList{&rbacv1.RoleBindingList{}, &rbacv1.RoleList{}, &corev1.ServiceAccountList{}} {
		if err := r.Client.List(ctx, list, client.MatchingLabels{LabelCreatorStamped: "true"}); err != nil {
			return nil, fmt.Errorf("list what people created: %w", err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			// Only the subject's objects matter.
			if obj, ok := item.(client.Object); ok && createdBy(obj, aa.Spec.Subject) {
				stamped = append(stamped, obj)
			}
		}
	}
	// The other grants are read only when the subject created something.
	if len(stamped) == 0 {
		return nil, nil
	}
	var grants rempartv1.AdminAccessList
	if err := r.Client.List(ctx, &grants, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	var removed []rempartv1.ObjectReference
	var errs []error
	for _, obj := range leftovers(aa, NewGrantIndex(grants.Items), stamped, end) {
		gvk, err := apiutil.GVKForObject(obj, r.Client.Scheme())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := apply.Delete(ctx, r.Client, obj, "created by the subject of AdminAccess "+aa.Name+" while it was open"); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, rempartv1.ObjectReference{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()})
	}
	return removed, errors.Join(errs...)
}

// subjectKey is a subject with the CRD's default kind filled in, to compare subjects.
func subjectKey(s rempartv1.AdminSubject) rempartv1.AdminSubject {
	if s.Kind == "" {
		s.Kind = rempartv1.AdminSubjectUser
	}
	return s
}

// GrantIndex finds, among the Active grants, the one that accounts for a binding, without
// scanning every grant for every binding.
type GrantIndex struct {
	byLabel   map[string][]*rempartv1.AdminAccess
	bySubject map[rempartv1.AdminSubject][]*rempartv1.AdminAccess
}

// NewGrantIndex indexes the Active grants by the label of their bindings and by subject.
func NewGrantIndex(grants []rempartv1.AdminAccess) GrantIndex {
	idx := GrantIndex{byLabel: map[string][]*rempartv1.AdminAccess{}, bySubject: map[rempartv1.AdminSubject][]*rempartv1.AdminAccess{}}
	for i := range grants {
		g := &grants[i]
		if g.Status.Phase != rempartv1.AdminAccessActive {
			continue
		}
		idx.byLabel[labelValue(g.Name)] = append(idx.byLabel[labelValue(g.Name)], g)
		if g.Spec.Enforcement != rempartv1.EnforcementAudit {
			idx.bySubject[subjectKey(g.Spec.Subject)] = append(idx.bySubject[subjectKey(g.Spec.Subject)], g)
		}
	}
	return idx
}

// AccountingGrant names the Active grant that accounts for an RBAC binding, or "": the operator's
// own binding for that grant (label, name, owner UID and the grant's record must all agree, so
// an owner reference someone else wrote proves nothing), or a binding the grant's subject
// created in a namespace the grant covers, while it is open, and which goes when it ends.
func (idx GrantIndex) AccountingGrant(binding client.Object, kind string) string {
	if label := binding.GetLabels()[rempartv1.LabelAdminAccess]; label != "" {
		for _, g := range idx.byLabel[label] {
			if binding.GetName() != bindingName(g) || !owned(binding, g) {
				continue
			}
			listed := slices.ContainsFunc(g.Status.Bindings, func(b rempartv1.ObjectReference) bool {
				return b.Kind == kind && b.Namespace == binding.GetNamespace() && b.Name == binding.GetName()
			})
			if listed {
				return g.Name
			}
		}
		return ""
	}
	if binding.GetLabels()[LabelCreatorStamped] != "true" || binding.GetNamespace() == "" {
		return ""
	}
	a := binding.GetAnnotations()
	candidates := idx.bySubject[rempartv1.AdminSubject{Kind: rempartv1.AdminSubjectUser, Name: a[AnnotationCreatedBy]}]
	for _, group := range strings.Split(a[AnnotationCreatedByGroups], ",") {
		if group != "" {
			candidates = append(candidates, idx.bySubject[rempartv1.AdminSubject{Kind: rempartv1.AdminSubjectGroup, Name: group}]...)
		}
	}
	for _, g := range candidates {
		if coveredBy(g, binding.GetNamespace()) {
			return g.Name
		}
	}
	return ""
}
