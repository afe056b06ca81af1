package apply

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// FieldManager is the field manager of every write the operator makes.
const FieldManager = "rempart"

// ToUnstructured converts a typed object to the unstructured form that is applied, with its kind
// set from the scheme and the fields the server owns (status, creation timestamp) left out.
func ToUnstructured(obj client.Object, scheme *runtime.Scheme) (*unstructured.Unstructured, error) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return nil, fmt.Errorf("kind of %T: %w", obj, err)
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		// The converter hands back an unstructured object's own map: work on a copy, so the
		// fields removed below stay in the caller's object.
		obj = u.DeepCopy()
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %s %s: %w", gvk.Kind, client.ObjectKeyFromObject(obj), err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// Apply server-side applies obj, taking ownership of the fields it sets: only objects the
// operator owns are applied.
func Apply(ctx context.Context, c client.Client, obj client.Object) error {
	_, err := applied(ctx, c, obj, "desired state")
	return err
}

// applied applies obj and returns the API server's answer, as unstructured.
func applied(ctx context.Context, c client.Client, obj client.Object, reason string) (*unstructured.Unstructured, error) {
	u, err := ToUnstructured(obj, c.Scheme())
	if err != nil {
		return nil, err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("apply %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(obj), err)
	}
	logWrite(ctx, "applied", obj, c.Scheme(), reason)
	return u, nil
}

// ApplyStored applies obj as Apply does and returns what the API server stored, typed as obj.
func ApplyStored(ctx context.Context, c client.Client, obj client.Object) (client.Object, error) {
	u, err := applied(ctx, c, obj, "differs from desired")
	if err != nil {
		return nil, err
	}
	stored := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, stored); err != nil {
		return nil, fmt.Errorf("read applied %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(obj), err)
	}
	return stored, nil
}

// UpToDate reports whether existing already holds every field desired sets, with the same values:
// then applying desired would change nothing.
func UpToDate(desired, existing client.Object, scheme *runtime.Scheme) (bool, error) {
	d, err := ToUnstructured(desired, scheme)
	if err != nil {
		return false, err
	}
	e, err := ToUnstructured(existing, scheme)
	if err != nil {
		return false, err
	}
	unstructured.RemoveNestedField(d.Object, "apiVersion")
	unstructured.RemoveNestedField(d.Object, "kind")
	return contains(e.Object, d.Object), nil
}

// contains reports whether have holds every key of want with an equal value. Maps are compared
// key by key, lists element by element (the server adds defaults inside list elements, such as
// a rule's scope), scalars must be equal.
func contains(have, want any) bool {
	if wl, ok := want.([]any); ok {
		hl, ok := have.([]any)
		if !ok || len(hl) != len(wl) {
			return false
		}
		for i := range wl {
			if !contains(hl[i], wl[i]) {
				return false
			}
		}
		return true
	}
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(normalize(have), normalize(want))
	}
	hm, ok := have.(map[string]any)
	if !ok {
		return len(wm) == 0 && have == nil
	}
	for k, wv := range wm {
		hv, present := hm[k]
		if !present {
			if isEmpty(wv) {
				continue
			}
			return false
		}
		if !contains(hv, wv) {
			return false
		}
	}
	return true
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// normalize makes numbers comparable whatever their decoded type.
func normalize(v any) any {
	switch t := v.(type) {
	case int:
		return int64(t)
	case int32:
		return int64(t)
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	case []any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = normalize(t[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalize(x)
		}
		return out
	}
	return v
}

// IfChanged applies desired unless the cached object already holds every field it sets: a quiet
// reconcile then costs no write. existing receives the cached object; nil means a fresh copy of
// desired's type.
func IfChanged(ctx context.Context, c client.Client, desired, existing client.Object) error {
	if existing == nil {
		existing = desired.DeepCopyObject().(client.Object)
	}
	var err error
	if u, ok := existing.(*unstructured.Unstructured); ok {
		// A kind the operator only speaks as unstructured (Velero's): the cached copy is read
		// in full, as the kind is set on it for the comparison.
		err = c.Get(ctx, client.ObjectKeyFromObject(desired), u)
		u.SetGroupVersionKind(desired.GetObjectKind().GroupVersionKind())
	} else {
		err = c.Get(ctx, client.ObjectKeyFromObject(desired), existing, client.UnsafeDisableDeepCopy)
	}
	reason := "absent"
	if err == nil {
		upToDate, err := UpToDate(desired, existing, c.Scheme())
		if err != nil || upToDate {
			return err
		}
		reason = "differs from desired"
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get %s: %w", desired.GetName(), err)
	}
	_, err = applied(ctx, c, desired, reason)
	return err
}

// AllIfChanged is IfChanged for each desired object, at most parallel at a time: a policy that
// provides hundreds of objects at once waits for a few round trips, not one per object.
func AllIfChanged[T client.Object](ctx context.Context, c client.Client, desired []T, parallel int) error {
	errs := make([]error, len(desired))
	var g errgroup.Group
	g.SetLimit(parallel)
	for i, obj := range desired {
		g.Go(func() error {
			errs[i] = IfChanged(ctx, c, obj, nil)
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}
