package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Requirement states in a ComplianceReport, besides the control states.
const (
	// RequirementNotCovered: no policy covering the tenant has a control for the requirement.
	// Never counted as compliant.
	RequirementNotCovered = "NotCovered"
)

// ComplianceReportSpec names the tenant the report is about. The operator writes it.
type ComplianceReportSpec struct {
	// Tenant is the TenantIsolation the report covers.
	Tenant TenantName `json:"tenant"`
}

// ReportedControl is one control of one policy, as the policy's status holds it.
type ReportedControl struct {
	// Kind and Policy name the policy the result comes from.
	Kind   string `json:"kind"`
	Policy string `json:"policy"`
	// Control is the control's ID.
	Control ControlID    `json:"control"`
	State   ControlState `json:"state"`
	Reason  string       `json:"reason"`
	Message string       `json:"message"`
	// +optional
	Evidence *Evidence `json:"evidence,omitempty"`
	// +optional
	Waiver *Waiver `json:"waiver,omitempty"`
	// Evaluated is when the policy last evaluated its controls.
	// +optional
	Evaluated *metav1.Time `json:"evaluated,omitempty"`
	// BehindSpec is true when the policy's status describes an older generation of its spec: the
	// result is not yet the current spec's.
	// +optional
	BehindSpec bool `json:"behindSpec,omitempty"`
}

// RequirementResult is one contractual requirement and every control that serves it.
type RequirementResult struct {
	ID string `json:"id"`
	// Rule paraphrases the requirement.
	Rule string `json:"rule"`
	// Source is the contract and section it comes from.
	Source string `json:"source"`
	// State is the worst of its controls' states (NonCompliant, Unknown, Waived, Compliant), or
	// NotCovered when no control serves it for this tenant.
	State string `json:"state"`
	// EnforcedBy names the kinds that can cover it.
	EnforcedBy string `json:"enforcedBy"`
	// +optional
	Controls []ReportedControl `json:"controls,omitempty"`
}

// OutsideCluster is a group of organisational requirements no cluster can enforce: listed so the
// auditor sees the boundary, never counted as compliant.
type OutsideCluster struct {
	IDs  string `json:"ids"`
	Rule string `json:"rule"`
}

// RegionEntry is a region where the tenant's pods run.
type RegionEntry struct {
	Region  string `json:"region"`
	Country string `json:"country,omitempty"`
	Allowed bool   `json:"allowed"`
	Pods    int32  `json:"pods"`
	// Policy is the DataResidency that reports it.
	Policy string `json:"policy"`
}

// AdminGrantEntry is one AdminAccess for the tenant.
type AdminGrantEntry struct {
	Name       string       `json:"name"`
	Subject    string       `json:"subject"`
	Role       string       `json:"role"`
	Phase      string       `json:"phase"`
	ApprovedBy string       `json:"approvedBy"`
	Reason     string       `json:"reason"`
	Expires    *metav1.Time `json:"expires,omitempty"`
}

// BackupEntry is one BackupPolicy of the tenant.
type BackupEntry struct {
	Policy          string       `json:"policy"`
	LastGoodBackup  *metav1.Time `json:"lastGoodBackup,omitempty"`
	Versions        int32        `json:"versions"`
	RPOMet          string       `json:"rpoMet,omitempty"`
	LastRestoreTest string       `json:"lastRestoreTest,omitempty"`
	TestedAt        *metav1.Time `json:"testedAt,omitempty"`
	Location        string       `json:"location,omitempty"`
}

// CertificateEntry is one certificate of the tenant's namespaces.
type CertificateEntry struct {
	CertificateSummary `json:",inline"`
	// Policy is the CertificatePolicy that reports it.
	Policy string `json:"policy"`
}

// ReportInventory is what the tenant has, as the policies saw it.
type ReportInventory struct {
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Regions []RegionEntry `json:"regions,omitempty"`
	// PrivilegedSubjects hold write or admin rights on the tenant's namespaces, and how.
	// +kubebuilder:validation:MaxItems=200
	// +optional
	PrivilegedSubjects []PrivilegedSubject `json:"privilegedSubjects,omitempty"`
	// AdminGrants are the grants open or awaiting approval, and those ended within the last 30
	// days; older ended grants are counted in EarlierEndedGrants (each stays as its own object).
	// +kubebuilder:validation:MaxItems=200
	// +optional
	AdminGrants []AdminGrantEntry `json:"adminGrants,omitempty"`
	// EarlierEndedGrants counts the grants that ended more than 30 days ago, or did not fit the list.
	// +optional
	EarlierEndedGrants int32 `json:"earlierEndedGrants,omitempty"`
	// +kubebuilder:validation:MaxItems=200
	// +optional
	Certificates []CertificateEntry `json:"certificates,omitempty"`
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Backups []BackupEntry `json:"backups,omitempty"`
}

// ReportSummary counts requirements per state.
type ReportSummary struct {
	Requirements int32 `json:"requirements"`
	Compliant    int32 `json:"compliant"`
	NonCompliant int32 `json:"nonCompliant"`
	Waived       int32 `json:"waived"`
	Unknown      int32 `json:"unknown"`
	NotCovered   int32 `json:"notCovered"`
	// Score is the share of the catalog's requirements that are Compliant or Waived, in
	// percent: NotCovered and Unknown count against it.
	Score int32 `json:"score"`
	// ScoreText is the score as shown in the printer column, such as "82%".
	ScoreText string `json:"scoreText"`
}

// ComplianceReportStatus is the tenant's compliance, gathered from every policy covering it.
type ComplianceReportStatus struct {
	// +optional
	Requirements []RequirementResult `json:"requirements,omitempty"`
	// +optional
	OutsideCluster []OutsideCluster `json:"outsideCluster,omitempty"`
	// +optional
	Inventory ReportInventory `json:"inventory,omitempty"`
	// +optional
	Summary ReportSummary `json:"summary,omitempty"`
	// Policies lists the policies the report read, kind/name.
	// +optional
	Policies []string `json:"policies,omitempty"`
	// +optional
	LastEvaluated *metav1.Time `json:"lastEvaluated,omitempty"`
	// Evidence says where the tenant's signed compliance history is kept and with which key an
	// auditor checks it; absent when the operator keeps no evidence log.
	// +optional
	Evidence *EvidenceLogStatus `json:"evidence,omitempty"`
}

// EvidenceLogStatus describes a tenant's evidence log: hash-chained entries, each a DSSE
// envelope of an in-toto statement signed by the operator.
type EvidenceLogStatus struct {
	// PublicKey verifies every entry: PEM, PKIX, ed25519.
	PublicKey string `json:"publicKey"`
	// KeyID is the DSSE key ID of the signatures (sha256 of the public key).
	KeyID string `json:"keyID"`
	// Store is where the entries are kept.
	Store string `json:"store"`
	// Entries is the number of entries written, the next one's sequence.
	Entries int64 `json:"entries"`
	// LastEntry is the time of the newest entry.
	// +optional
	LastEntry *metav1.Time `json:"lastEntry,omitempty"`
	// LastDigest is the sha256 of the newest envelope, which the next entry names.
	// +optional
	LastDigest string `json:"lastDigest,omitempty"`
	// Retention each entry is locked for in the store; empty when the store locks nothing.
	// +optional
	Retention string `json:"retention,omitempty"`
}

// ComplianceReport gathers, for one tenant, every control of every policy that covers it, by
// requirement, with an inventory. Generated and owned by the operator; nobody else may edit it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=crpt,categories=rempart
// +kubebuilder:printcolumn:name="SCORE",type=string,JSONPath=`.status.summary.scoreText`
// +kubebuilder:printcolumn:name="NONCOMPLIANT",type=integer,JSONPath=`.status.summary.nonCompliant`
// +kubebuilder:printcolumn:name="WAIVED",type=integer,JSONPath=`.status.summary.waived`
// +kubebuilder:printcolumn:name="NOT-COVERED",type=integer,JSONPath=`.status.summary.notCovered`
// +kubebuilder:printcolumn:name="LAST-EVALUATED",type=date,JSONPath=`.status.lastEvaluated`
type ComplianceReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ComplianceReportSpec   `json:"spec"`
	Status ComplianceReportStatus `json:"status,omitempty"`
}

// ComplianceReportList is a list of ComplianceReport.
// +kubebuilder:object:root=true
type ComplianceReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ComplianceReport `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ComplianceReport{}, &ComplianceReportList{})
}
