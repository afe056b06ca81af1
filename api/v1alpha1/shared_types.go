package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EnforcementMode says whether a policy changes the cluster or only reports.
// +kubebuilder:validation:Enum=Enforce;Audit
type EnforcementMode string

const (
	// EnforcementEnforce applies generated objects and refuses non-conformant objects at admission.
	EnforcementEnforce EnforcementMode = "Enforce"
	// EnforcementAudit only evaluates and reports: no admission refusal, no change to user objects.
	EnforcementAudit EnforcementMode = "Audit"
)

// ControlID names a control, stable across releases, such as "network.default-deny".
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`
type ControlID string

// NamespaceName is the name of a Kubernetes namespace (an RFC 1123 label).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
type NamespaceName string

// PolicyCommonSpec is embedded in the spec of every policy kind.
type PolicyCommonSpec struct {
	// Enforcement is Enforce (the default: generated objects are applied and non-conformant
	// objects are refused at admission) or Audit (controls are evaluated and reported; nothing
	// is refused and no user object is changed).
	// +kubebuilder:default=Enforce
	// +optional
	Enforcement EnforcementMode `json:"enforcement,omitempty"`

	// Exceptions are time-bounded, approved derogations (PAS-11). While an exception is valid,
	// the control it names reads Waived instead of NonCompliant; when it expires the control falls
	// back to its real state by itself. An exception that expires more than one year after it is
	// evaluated is not honoured and is reported.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Exceptions []Exception `json:"exceptions,omitempty"`
}

// Exception is a derogation from one control (PAS-11): exceptional, approved, recorded and
// bounded in time.
// +kubebuilder:validation:XValidation:rule="self.reason.trim().size() >= 10",message="reason must explain the derogation in at least 10 characters (PAS-11)"
// +kubebuilder:validation:XValidation:rule="self.approvedBy.trim().size() > 0",message="approvedBy must name the person who approved the derogation (PAS-11)"
type Exception struct {
	// Control is the ID of the control this exception waives, as shown in status.controls[].id.
	Control ControlID `json:"control"`

	// Namespaces limits the exception to these namespaces. Empty means every namespace the
	// policy covers.
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	// +optional
	Namespaces []NamespaceName `json:"namespaces,omitempty"`

	// Reason says why the derogation is needed: a ticket reference or a justification.
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason"`

	// ApprovedBy names the person who approved the derogation.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	ApprovedBy string `json:"approvedBy"`

	// Expires is when the derogation ends. It is required and may be at most one year after
	// evaluation (PAS-11: never permanent, reviewed at least yearly).
	Expires metav1.Time `json:"expires"`
}

// ControlState is the outcome of one control.
// +kubebuilder:validation:Enum=Compliant;NonCompliant;Waived;Unknown
type ControlState string

const (
	// ControlCompliant means the cluster satisfies the control.
	ControlCompliant ControlState = "Compliant"
	// ControlNonCompliant means the cluster does not satisfy the control; the message says what to fix.
	ControlNonCompliant ControlState = "NonCompliant"
	// ControlWaived means the control is not satisfied but a valid exception covers it.
	ControlWaived ControlState = "Waived"
	// ControlUnknown means the control could not be evaluated (missing data, API error).
	ControlUnknown ControlState = "Unknown"
)

// ObjectReference points at a Kubernetes object that a control result is about.
type ObjectReference struct {
	// APIVersion of the object, such as "networking.k8s.io/v1".
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind of the object, such as "NetworkPolicy".
	Kind string `json:"kind"`
	// Namespace of the object; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the object.
	Name string `json:"name"`
}

// MaxEvidenceObjects bounds the object references kept in one control's evidence, so that a
// status stays small on a cluster with thousands of namespaces. Total keeps the exact count.
const MaxEvidenceObjects = 20

// Evidence lists the objects a control result is about: at most MaxEvidenceObjects references,
// and the exact total.
type Evidence struct {
	// Objects are the first offending (or, for a compliant control, examined) objects.
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	Objects []ObjectReference `json:"objects,omitempty"`
	// Total is the exact number of objects, which may exceed len(objects).
	Total int32 `json:"total"`
}

// Waiver records the exception that turned a control Waived, for the auditor.
type Waiver struct {
	// Reason copied from the exception.
	Reason string `json:"reason"`
	// ApprovedBy copied from the exception.
	ApprovedBy string `json:"approvedBy"`
	// Expires copied from the exception.
	Expires metav1.Time `json:"expires"`
}

// ControlResult is the outcome of one control of a policy, citing the requirements it serves.
type ControlResult struct {
	// ID is the stable control identifier, such as "network.default-deny".
	ID ControlID `json:"id"`
	// Requirements are the requirement IDs the control serves, such as "FT-CLD-20".
	// +listType=atomic
	Requirements []string `json:"requirements"`
	// State is Compliant, NonCompliant, Waived or Unknown.
	State ControlState `json:"state"`
	// Reason is a CamelCase word for the outcome, stable for automation.
	Reason string `json:"reason"`
	// Message is a sentence a person can act on, naming the requirement.
	Message string `json:"message"`
	// Evidence lists the objects the result is about.
	// +optional
	Evidence *Evidence `json:"evidence,omitempty"`
	// Waiver is set when State is Waived.
	// +optional
	Waiver *Waiver `json:"waiver,omitempty"`
}

// ControlSummary counts control results by state.
type ControlSummary struct {
	// Total is the number of controls evaluated.
	Total int32 `json:"total"`
	// Compliant controls.
	Compliant int32 `json:"compliant"`
	// NonCompliant controls: the violations.
	NonCompliant int32 `json:"nonCompliant"`
	// Waived controls, covered by a valid exception.
	Waived int32 `json:"waived"`
	// Unknown controls, that could not be evaluated.
	Unknown int32 `json:"unknown"`
}

// PolicyStatus is the status every policy kind shares.
type PolicyStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready (the last reconcile applied everything) and Compliant (every control is
	// compliant or waived).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Controls are the results of every control of the policy.
	// +listType=map
	// +listMapKey=id
	// +optional
	Controls []ControlResult `json:"controls,omitempty"`

	// Summary counts the controls by state.
	// +optional
	Summary ControlSummary `json:"summary,omitempty"`

	// LastEvaluated is when the controls were last evaluated.
	// +optional
	LastEvaluated *metav1.Time `json:"lastEvaluated,omitempty"`
}

// Condition types shared by every policy kind.
const (
	// ConditionReady is True when the last reconcile applied every desired object.
	ConditionReady = "Ready"
	// ConditionCompliant is True when every control is Compliant or Waived.
	ConditionCompliant = "Compliant"
)

// Condition reasons shared by every policy kind.
const (
	// ReasonApplied: every desired object is in place.
	ReasonApplied = "Applied"
	// ReasonApplyFailed: a desired object could not be applied; the message says which.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonAllControlsPass: every control is Compliant or Waived.
	ReasonAllControlsPass = "AllControlsPass"
	// ReasonViolations: at least one control is NonCompliant.
	ReasonViolations = "Violations"
	// ReasonNotEvaluated: at least one control is Unknown and none is NonCompliant.
	ReasonNotEvaluated = "NotEvaluated"
)

// Control result reasons shared by every policy kind.
const (
	// ReasonExceptionsValid: every exception is bounded as PAS-11 asks.
	ReasonExceptionsValid = "ExceptionsValid"
	// ReasonExceptionTooLong: an exception expires more than one year ahead and is not honoured.
	ReasonExceptionTooLong = "ExceptionTooLong"
	// ReasonExceptionUnknownControl: an exception names a control the policy does not have.
	ReasonExceptionUnknownControl = "ExceptionUnknownControl"
	// ReasonWaived: a valid exception covers a non-compliant control.
	ReasonWaived = "Waived"
)

// Control returns the result of the control with the given ID, or an empty result (no state)
// when the status has none.
func (s *PolicyStatus) Control(id ControlID) ControlResult {
	for _, r := range s.Controls {
		if r.ID == id {
			return r
		}
	}
	return ControlResult{}
}
