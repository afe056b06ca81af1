package tenantisolation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

// offboardingPoll is how often an offboarding checks that the namespaces are gone.
const offboardingPoll = 2 * time.Second

// heldNamespaces are the namespaces that carry the tenant's label: the only ones its deletion
// may touch, never a namespace held by another tenant.
func (r *Reconciler) heldNamespaces(ctx context.Context, ti *rempartv1.TenantIsolation) ([]corev1.Namespace, error) {
	var list corev1.NamespaceList
	if err := r.Client.List(ctx, &list, client.MatchingLabels{rempartv1.LabelTenant: ti.Name}); err != nil {
		return nil, fmt.Errorf("list namespaces of tenant %s: %w", ti.Name, err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// finalize runs the deletion policy, then lets the TenantIsolation go.
func (r *Reconciler) finalize(ctx context.Context, ti *rempartv1.TenantIsolation) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(ti, Finalizer) {
		return ctrl.Result{}, nil
	}
	held, err := r.heldNamespaces(ctx, ti)
	if err != nil {
		return ctrl.Result{}, err
	}
	if ti.Spec.DeletionPolicy == rempartv1.DeletionDelete {
		doomed, kept := offboardingSplit(ti, held)
		done, err := r.offboard(ctx, ti, doomed, kept)
		if err != nil || !done {
			return ctrl.Result{RequeueAfter: offboardingPoll}, err
		}
		var errs []error
		for _, ns := range kept {
			errs = append(errs, r.release(ctx, ti, ns.Name))
		}
		if err := errors.Join(errs...); err != nil {
			return ctrl.Result{}, err
		}
	} else {
		var errs []error
		for _, ns := range held {
			errs = append(errs, r.release(ctx, ti, ns.Name))
		}
		if err := errors.Join(errs...); err != nil {
			return ctrl.Result{}, err
		}
		names := make([]string, len(held))
		for i, ns := range held {
			names[i] = ns.Name
		}
		r.Recorder.Eventf(ti, nil, corev1.EventTypeNormal, "Released", "Delete",
			"Tenant %s deleted with deletionPolicy Retain: namespaces %s kept with their data; labels, NetworkPolicies, quotas and admission bindings removed.", ti.Name, strings.Join(names, ", "))
	}
	if err := r.deleteTenantAdmission(ctx, ti); err != nil {
		return ctrl.Result{}, err
	}
	patch := client.MergeFrom(ti.DeepCopy())
	controllerutil.RemoveFinalizer(ti, Finalizer)
	if err := client.IgnoreNotFound(r.Client.Patch(ctx, ti, patch)); err != nil {
		return ctrl.Result{}, fmt.Errorf("remove finalizer: %w", err)
	}
	r.finalized.Store(ti.UID, struct{}{})
	return ctrl.Result{}, r.syncOwnership(ctx, nil, observed{})
}

// offboardingSplit separates the namespaces offboarding deletes, those the operator created and
// the adopted ones the spec names, from the adopted ones it releases with their data (S5).
func offboardingSplit(ti *rempartv1.TenantIsolation, held []corev1.Namespace) (doomed, kept []corev1.Namespace) {
	var named []rempartv1.NamespaceName
	if ti.Spec.Offboarding != nil {
		named = ti.Spec.Offboarding.DeleteAdoptedNamespaces
	}
	for _, ns := range held {
		if ns.Annotations[annotationOrigin] == originCreated || slices.Contains(named, rempartv1.NamespaceName(ns.Name)) {
			doomed = append(doomed, ns)
		} else {
			kept = append(kept, ns)
		}
	}
	return doomed, kept
}

func namespaceNames(list []corev1.Namespace) []string {
	names := make([]string, len(list))
	for i, ns := range list {
		names[i] = ns.Name
	}
	return names
}

// offboard deletes the tenant's namespaces with everything in them (FT-CLD-76), records what and
// when in status and in an Event, and reports done once they are gone. Adopted namespaces the spec
// does not name are kept and released.
func (r *Reconciler) offboard(ctx context.Context, ti *rempartv1.TenantIsolation, held, kept []corev1.Namespace) (bool, error) {
	if ti.Status.Offboarding == nil {
		names, keptNames := namespaceNames(held), namespaceNames(kept)
		patch := client.MergeFrom(ti.DeepCopy())
		ti.Status.Offboarding = &rempartv1.Offboarding{StartedAt: metav1.NewTime(r.Clock.Now()), DeletedNamespaces: names, ReleasedNamespaces: keptNames}
		if err := r.Client.Status().Patch(ctx, ti, patch); err != nil {
			return false, fmt.Errorf("record offboarding: %w", err)
		}
		r.Recorder.Eventf(ti, nil, corev1.EventTypeWarning, "Offboarding", "Delete",
			"Tenant %s deleted with deletionPolicy Delete: deleting namespaces %s and everything in them (FT-CLD-76).", ti.Name, strings.Join(names, ", "))
		if len(keptNames) > 0 {
			r.Recorder.Eventf(ti, nil, corev1.EventTypeNormal, "AdoptedNamespacesKept", "Delete",
				"Tenant %s: namespaces %s existed before the tenant adopted them and are not named in spec.offboarding.deleteAdoptedNamespaces: kept with their data and released (FT-CLD-76).", ti.Name, strings.Join(keptNames, ", "))
		}
	}
	var errs []error
	for i := range held {
		if held[i].DeletionTimestamp == nil {
			errs = append(errs, apply.Delete(ctx, r.Client, &held[i], "tenant "+ti.Name+" deleted with deletionPolicy Delete"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	// The cache may lag: ask the API server whether the namespaces are really gone.
	for _, name := range ti.Status.Offboarding.DeletedNamespaces {
		var ns corev1.Namespace
		err := r.Client.Get(ctx, client.ObjectKey{Name: name}, &ns)
		if err == nil {
			return false, nil
		}
		if !apierrors.IsNotFound(err) {
			return false, err
		}
	}
	r.Recorder.Eventf(ti, nil, corev1.EventTypeNormal, "Offboarded", "Delete",
		"Tenant %s offboarded: namespaces %s and everything in them deleted between %s and %s (FT-CLD-76).", ti.Name,
		strings.Join(ti.Status.Offboarding.DeletedNamespaces, ", "), ti.Status.Offboarding.StartedAt.UTC().Format(time.RFC3339), r.Clock.Now().UTC().Format(time.RFC3339))
	return true, nil
}

// deleteTenantAdmission removes the tenant's admission bindings.
func (r *Reconciler) deleteTenantAdmission(ctx context.Context, ti *rempartv1.TenantIsolation) error {
	return r.deleteStaleBindings(ctx, ti, nil, &apply.Stats{})
}
