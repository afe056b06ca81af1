package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	apitestv1 "github.com/rempart-io/rempart/test/apitest/v1alpha1"
)

// probe builds an unstructured PolicyProbe, so tests can send values the Go types cannot express
// (missing required fields, wrong types).
func probe(name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(apitestv1.GroupVersion.String())
	u.SetKind("PolicyProbe")
	u.SetName(name)
	return u
}

func validException() map[string]any {
	return map[string]any{
		"control":    "network.default-deny",
		"namespaces": []any{"acme-prod"},
		"reason":     "INC-4242: migration of the payment service",
		"approvedBy": "jane.doe@example.com",
		"expires":    time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339),
	}
}

func withException(mutate func(e map[string]any)) map[string]any {
	e := validException()
	mutate(e)
	return map[string]any{"exceptions": []any{e}}
}

func TestSharedSpecAcceptsAValidPolicyAndDefaultsEnforcement(t *testing.T) {
	ctx := context.Background()
	p := probe("valid", map[string]any{"exceptions": []any{validException()}})
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatalf("a valid policy was refused: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, p) })

	var got apitestv1.PolicyProbe
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "valid"}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Enforcement != rempartv1.EnforcementEnforce {
		t.Errorf("enforcement defaulted to %q, want Enforce", got.Spec.Enforcement)
	}
	if len(got.Spec.Exceptions) != 1 || got.Spec.Exceptions[0].ApprovedBy != "jane.doe@example.com" {
		t.Errorf("exception not stored as sent: %+v", got.Spec.Exceptions)
	}
}

func TestSharedSpecRefusesBadInput(t *testing.T) {
	tooMany := make([]any, 65)
	for i := range tooMany {
		tooMany[i] = validException()
	}
	tests := []struct {
		name string
		spec map[string]any
		want string // a fragment of the API server's refusal
	}{
		{"unknown enforcement mode", map[string]any{"enforcement": "Warn"}, `Unsupported value: "Warn"`},
		{"exception without expires", withException(func(e map[string]any) { delete(e, "expires") }), "expires: Required value"},
		{"exception with a malformed expires", withException(func(e map[string]any) { e["expires"] = "next tuesday" }), "expires"},
		{"exception without control", withException(func(e map[string]any) { delete(e, "control") }), "control: Required value"},
		{"exception with a malformed control ID", withException(func(e map[string]any) { e["control"] = "Network Default Deny" }), "control: Invalid value"},
		{"exception without reason", withException(func(e map[string]any) { delete(e, "reason") }), "reason: Required value"},
		{"exception with a token reason", withException(func(e map[string]any) { e["reason"] = "   ok     " }), "reason must explain the derogation in at least 10 characters (PAS-11)"},
		{"exception with a blank approver", withException(func(e map[string]any) { e["approvedBy"] = "   " }), "approvedBy must name the person who approved the derogation (PAS-11)"},
		{"exception without approver", withException(func(e map[string]any) { delete(e, "approvedBy") }), "approvedBy: Required value"},
		{"exception with a bad namespace name", withException(func(e map[string]any) { e["namespaces"] = []any{"Acme_Prod"} }), "namespaces[0]: Invalid value"},
		{"exception listing a namespace twice", withException(func(e map[string]any) { e["namespaces"] = []any{"a", "a"} }), "Duplicate value"},
		{"too many exceptions", map[string]any{"exceptions": tooMany}, "must have at most 64 items"},
	}
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "bad-" + strings.ReplaceAll(strings.ToLower(tt.name), " ", "-")
			if len(name) > 60 {
				name = name[:60]
			}
			name = strings.TrimRight(name, "-") + "-" + string(rune('a'+i%26))
			err := env.Client.Create(ctx, probe(name, tt.spec))
			if err == nil {
				t.Fatalf("the API server accepted %s", tt.name)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("refusal is not a validation error: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("refusal %q does not contain %q", err.Error(), tt.want)
			}
			var got apitestv1.PolicyProbe
			if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &got); !apierrors.IsNotFound(err) {
				t.Errorf("a refused policy left an object behind (get: %v)", err)
			}
		})
	}
}

func TestSharedStatusRoundTripsAndRefusesUnknownStates(t *testing.T) {
	ctx := context.Background()
	p := &apitestv1.PolicyProbe{ObjectMeta: metav1.ObjectMeta{Name: "status-roundtrip"}}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, p) })

	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	p.Status = rempartv1.PolicyStatus{
		ObservedGeneration: p.Generation,
		LastEvaluated:      &now,
		Controls: []rempartv1.ControlResult{{
			ID: "network.default-deny", Requirements: []string{"FT-CLD-20"}, State: rempartv1.ControlNonCompliant,
			Reason: "DefaultDenyMissing", Message: "Restore the default-deny NetworkPolicy (FT-CLD-20).",
			Evidence: &rempartv1.Evidence{Total: 120, Objects: []rempartv1.ObjectReference{{Kind: "Namespace", Name: "acme-prod"}}},
		}},
		Summary: rempartv1.ControlSummary{Total: 1, NonCompliant: 1},
		Conditions: []metav1.Condition{{Type: rempartv1.ConditionCompliant, Status: metav1.ConditionFalse,
			Reason: rempartv1.ReasonViolations, Message: "1 of 1 controls are not compliant.", LastTransitionTime: now}},
	}
	if err := env.Client.Status().Update(ctx, p); err != nil {
		t.Fatalf("a well-formed status was refused: %v", err)
	}
	var got apitestv1.PolicyProbe
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Controls) != 1 || got.Status.Controls[0].Evidence.Total != 120 || got.Status.Summary.NonCompliant != 1 {
		t.Fatalf("status not stored as written: %+v", got.Status)
	}

	got.Status.Controls[0].State = "Fine"
	err := env.Client.Status().Update(ctx, &got)
	if err == nil || !strings.Contains(err.Error(), `Unsupported value: "Fine"`) {
		t.Fatalf("an unknown control state was not refused: %v", err)
	}
	tooMuch := make([]rempartv1.ObjectReference, rempartv1.MaxEvidenceObjects+1)
	for i := range tooMuch {
		tooMuch[i] = rempartv1.ObjectReference{Kind: "Namespace", Name: "n"}
	}
	got.Status.Controls[0].State = rempartv1.ControlNonCompliant
	got.Status.Controls[0].Evidence.Objects = tooMuch
	err = env.Client.Status().Update(ctx, &got)
	if err == nil || !strings.Contains(err.Error(), "must have at most 20 items") {
		t.Fatalf("unbounded evidence was not refused: %v", err)
	}
}
