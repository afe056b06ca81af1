package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LabelAdminAccess marks the RoleBindings an AdminAccess grants, with its name.
const LabelAdminAccess = "rempart.io/admin-access"

// AdminSubjectKind is User (a named person) or Group (only with a justification).
// +kubebuilder:validation:Enum=User;Group
type AdminSubjectKind string

const (
	AdminSubjectUser  AdminSubjectKind = "User"
	AdminSubjectGroup AdminSubjectKind = "Group"
)

// AdminSubject is who receives the rights, named as the cluster's authenticator names them.
// +kubebuilder:validation:XValidation:rule="!self.name.startsWith('system:')",message="system: identities are not people: an admin grant names a person (FT-CLD-18)"
type AdminSubject struct {
	// Kind is User (the default) or Group. Service accounts are never subjects: a technical
	// account is reached only through a named person (FT-CLD-18).
	// +kubebuilder:default=User
	// +optional
	Kind AdminSubjectKind `json:"kind,omitempty"`
	// Name of the user, such as alice@example.com, or of the group.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
}

// AdminAccessPhase is where a grant is in its life.
// +kubebuilder:validation:Enum=Pending;Active;Expired;Revoked;Refused
type AdminAccessPhase string

const (
	AdminAccessPending AdminAccessPhase = "Pending"
	AdminAccessActive  AdminAccessPhase = "Active"
	AdminAccessExpired AdminAccessPhase = "Expired"
	AdminAccessRevoked AdminAccessPhase = "Revoked"
	// AdminAccessRefused: the grant breaks an operator-wide rule (role, duration, review); no
	// binding is created and the message says why.
	AdminAccessRefused AdminAccessPhase = "Refused"
)

// AdminAccessSpec is one nominative, approved, time-bounded grant of a role (FT-CLD-14, FT-CLD-16,
// FT-CLD-17, FT-CLD-18, ALM-5.4, PAS-12.2). It is requested (the API server records who asked in
// requestedBy), then approved by another person in their own name (approvedBy), and from then on
// frozen: only its window may shrink and it may be revoked.
// +kubebuilder:validation:XValidation:rule="!has(self.approvedBy) || self.approvedBy != self.subject.name",message="approvedBy must be another person than the subject: nobody approves their own access (FT-CLD-16)"
// +kubebuilder:validation:XValidation:rule="!has(self.approvedBy) || !has(self.requestedBy) || self.approvedBy != self.requestedBy",message="approvedBy must be another person than requestedBy: nobody approves their own request (FT-CLD-16, PAS-12.2)"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.requestedBy) || (has(self.requestedBy) && self.requestedBy == oldSelf.requestedBy)",message="requestedBy is recorded by the API server when the grant is created and never changes"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.approvedBy) || (has(self.approvedBy) && self.approvedBy == oldSelf.approvedBy)",message="an approval is final: approvedBy never changes once set; revoke the grant and request a new one"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.approvedBy) || (self.subject == oldSelf.subject && self.role == oldSelf.role && has(self.tenants) == has(oldSelf.tenants) && (!has(self.tenants) || self.tenants == oldSelf.tenants) && has(self.namespaces) == has(oldSelf.namespaces) && (!has(self.namespaces) || self.namespaces == oldSelf.namespaces) && (has(self.breakGlass) && self.breakGlass) == (has(oldSelf.breakGlass) && oldSelf.breakGlass))",message="an approved grant is frozen: its subject, role, tenants, namespaces and break-glass never change; revoke it and request a new one (FT-CLD-16, PAS-12.2)"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.approvedBy) || (self.reason == oldSelf.reason && self.enforcement == oldSelf.enforcement && has(self.groupJustification) == has(oldSelf.groupJustification) && (!has(self.groupJustification) || self.groupJustification == oldSelf.groupJustification) && (has(self.standing) && self.standing) == (has(oldSelf.standing) && oldSelf.standing) && has(self.reviewedAt) == has(oldSelf.reviewedAt) && (!has(self.reviewedAt) || self.reviewedAt == oldSelf.reviewedAt))",message="an approved grant is frozen: its reason, enforcement, justification and review never change; revoke it and request a new one (PAS-12.2)"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.approvedBy) || (self.expires <= oldSelf.expires && (!has(oldSelf.notBefore) || (has(self.notBefore) && self.notBefore >= oldSelf.notBefore)))",message="an approved grant's window can only shrink: expires may move earlier and notBefore later; a longer window is a new request (FT-CLD-14, PAS-12.2)"
// +kubebuilder:validation:XValidation:rule="self.subject.kind != 'Group' || (has(self.groupJustification) && self.groupJustification.trim().size() >= 10)",message="a Group subject is not nominative: it needs groupJustification explaining why (FT-CLD-18)"
// +kubebuilder:validation:XValidation:rule="has(self.breakGlass) && self.breakGlass ? (!has(self.tenants) && !has(self.namespaces)) : ((has(self.tenants) && size(self.tenants) > 0) || (has(self.namespaces) && size(self.namespaces) > 0))",message="a grant covers tenants or namespaces; only breakGlass covers the whole cluster, and then lists neither"
// +kubebuilder:validation:XValidation:rule="!has(self.namespaces) || size(self.namespaces) == 0 || (has(self.tenants) && size(self.tenants) > 0)",message="namespaces narrow a grant to some namespaces of the tenants it names: name those tenants too (FT-CLD-16)"
// +kubebuilder:validation:XValidation:rule="!has(self.namespaces) || self.namespaces.all(n, !n.startsWith('kube-') && n != 'default')",message="a grant never covers default or a kube-* namespace: they belong to the cluster, and admin there reaches every tenant (FT-CLD-16)"
// +kubebuilder:validation:XValidation:rule="!has(self.notBefore) || self.expires > self.notBefore",message="expires must come after notBefore"
// +kubebuilder:validation:XValidation:rule="!has(self.notBefore) || self.expires - self.notBefore <= duration('8784h')",message="a grant lasts at most 366 days (FT-CLD-17)"
// +kubebuilder:validation:XValidation:rule="!(has(self.standing) && self.standing) || has(self.reviewedAt)",message="a standing grant needs reviewedAt, the date of its last review (FT-CLD-17)"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.revoked) || !oldSelf.revoked || (has(self.revoked) && self.revoked)",message="a revoked grant stays revoked: create a new AdminAccess"
type AdminAccessSpec struct {
	// Enforcement is Enforce (the default: the rights are granted while the window is open) or
	// Audit (nothing is granted; the grant is evaluated and reported).
	// +kubebuilder:default=Enforce
	// +optional
	Enforcement EnforcementMode `json:"enforcement,omitempty"`

	// Subject receives the rights.
	Subject AdminSubject `json:"subject"`

	// GroupJustification is the documented opt-in a Group subject needs: why a group, and how
	// its members are named people.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	GroupJustification string `json:"groupJustification,omitempty"`

	// Tenants whose namespaces the grant covers.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	Tenants []TenantName `json:"tenants,omitempty"`

	// Namespaces narrow the grant to some namespaces of the tenants it names. Each must belong to
	// one of them: the API server refuses any other (default, kube-*, the operator's, Velero's, the
	// platform's, another tenant's), and the operator grants only in namespaces that still do.
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	Namespaces []NamespaceName `json:"namespaces,omitempty"`

	// BreakGlass grants the role on the whole cluster, for an emergency; every view reports it.
	// +optional
	BreakGlass bool `json:"breakGlass,omitempty"`

	// Role is the ClusterRole granted: admin (the default), edit or view, or one the operator's
	// settings allow.
	// +kubebuilder:default=admin
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$`
	// +optional
	Role string `json:"role,omitempty"`

	// Reason is the ticket or justification.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.trim().size() >= 10",message="reason must give the ticket or a justification of at least 10 characters (PAS-12.2)"
	Reason string `json:"reason"`

	// RequestedBy is who created the grant, recorded by the API server from the request (a
	// mutating admission policy overwrites whatever the request said). It never changes.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	RequestedBy string `json:"requestedBy,omitempty"`

	// ApprovedBy is the person who approved the grant, written by that person in their own name:
	// the API server refuses an approval whose request is not theirs, or who lacks the approve
	// verb on adminaccesses. Never the subject nor the requester. Unset, the grant is Pending.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +optional
	ApprovedBy string `json:"approvedBy,omitempty"`

	// NotBefore is when the grant opens; its creation when unset.
	// +optional
	NotBefore *metav1.Time `json:"notBefore,omitempty"`

	// Expires is when the grant closes, to the second.
	Expires metav1.Time `json:"expires"`

	// Standing marks a long grant (an on-call team): up to 366 days, reviewed within the last year.
	// Temporary grants last at most the operator's limit (24 hours by default).
	// +optional
	Standing bool `json:"standing,omitempty"`

	// ReviewedAt is the date of the last review of a standing grant (FT-CLD-17).
	// +optional
	ReviewedAt *metav1.Time `json:"reviewedAt,omitempty"`

	// Revoked ends the grant at once. It cannot be undone.
	// +optional
	Revoked bool `json:"revoked,omitempty"`
}

// AdminAccessStatus is the shared policy status plus the grant's record.
type AdminAccessStatus struct {
	PolicyStatus `json:",inline"`

	// Phase is Pending, Active, Expired, Revoked or Refused.
	// +optional
	Phase AdminAccessPhase `json:"phase,omitempty"`
	// Message explains the phase.
	// +optional
	Message string `json:"message,omitempty"`
	// GrantedAt is when the bindings were first created.
	// +optional
	GrantedAt *metav1.Time `json:"grantedAt,omitempty"`
	// ExpiredAt is when the bindings were removed at expiry.
	// +optional
	ExpiredAt *metav1.Time `json:"expiredAt,omitempty"`
	// RevokedAt is when the bindings were removed on revocation.
	// +optional
	RevokedAt *metav1.Time `json:"revokedAt,omitempty"`
	// ApprovedAt is when the operator first saw the approval.
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
	// Removed are the objects the subject created in the grant's namespaces while it was active
	// (RoleBindings, Roles, ServiceAccounts, service-account token Secrets), removed when it
	// ended so that no right outlives the grant.
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	// +optional
	Removed []ObjectReference `json:"removed,omitempty"`
	// Bindings are the RoleBindings (or, for breakGlass, the ClusterRoleBinding) in place.
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	// +optional
	Bindings []ObjectReference `json:"bindings,omitempty"`
}

// AdminAccess grants a role to one person on some tenants for a bounded time, approved by someone
// else, and keeps the record after it ends.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=aa,categories=rempart
// +kubebuilder:printcolumn:name="SUBJECT",type=string,JSONPath=`.spec.subject.name`
// +kubebuilder:printcolumn:name="TENANT",type=string,JSONPath=`.spec.tenants`
// +kubebuilder:printcolumn:name="ROLE",type=string,JSONPath=`.spec.role`
// +kubebuilder:printcolumn:name="PHASE",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="EXPIRES",type=string,format=date-time,JSONPath=`.spec.expires`
// +kubebuilder:printcolumn:name="REQUESTED-BY",type=string,JSONPath=`.spec.requestedBy`,priority=1
// +kubebuilder:printcolumn:name="APPROVED-BY",type=string,JSONPath=`.spec.approvedBy`
// +kubebuilder:printcolumn:name="BREAK-GLASS",type=boolean,JSONPath=`.spec.breakGlass`
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`
type AdminAccess struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AdminAccessSpec   `json:"spec"`
	Status AdminAccessStatus `json:"status,omitempty"`
}

// AdminAccessList is a list of AdminAccess.
// +kubebuilder:object:root=true
type AdminAccessList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AdminAccess `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AdminAccess{}, &AdminAccessList{})
}
