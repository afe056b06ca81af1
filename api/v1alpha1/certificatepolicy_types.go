package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IssuerRef names a cert-manager Issuer or ClusterIssuer.
type IssuerRef struct {
	// Kind is Issuer (in the Certificate's namespace) or ClusterIssuer.
	// +kubebuilder:validation:Enum=Issuer;ClusterIssuer
	// +kubebuilder:default=ClusterIssuer
	// +optional
	Kind string `json:"kind,omitempty"`
	// Group of the issuer, cert-manager.io unless an external issuer.
	// +kubebuilder:default=cert-manager.io
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Group string `json:"group,omitempty"`
	// Name of the issuer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name"`
}

// KeyAlgorithm is a private key algorithm as cert-manager names it.
// +kubebuilder:validation:Enum=ECDSA;RSA;Ed25519
type KeyAlgorithm string

// AllowedKey allows one algorithm: RSA from minSize bits, ECDSA on the listed curves, Ed25519.
// +kubebuilder:validation:XValidation:rule="self.algorithm != 'RSA' || (has(self.minSize) && self.minSize >= 2048)",message="RSA needs minSize, at least 2048 bits: ANSSI accepts nothing smaller (FT-CLD-40)"
// +kubebuilder:validation:XValidation:rule="self.algorithm != 'ECDSA' || (has(self.curves) && size(self.curves) > 0)",message="ECDSA needs curves: 256, 384 or 521 (FT-CLD-40)"
type AllowedKey struct {
	Algorithm KeyAlgorithm `json:"algorithm"`
	// MinSize is the smallest RSA modulus allowed, in bits.
	// +kubebuilder:validation:Maximum=16384
	// +optional
	MinSize int32 `json:"minSize,omitempty"`
	// Curves are the ECDSA curve sizes allowed: 256 (P-256), 384 (P-384), 521 (P-521).
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:Enum=256;384;521
	// +listType=set
	// +optional
	Curves []int32 `json:"curves,omitempty"`
}

// PrivateKeyPolicy says which keys certificates may have and how they rotate.
type PrivateKeyPolicy struct {
	// Allowed keys. The default follows ANSSI: ECDSA P-256 or P-384, or RSA from 3072 bits.
	// +kubebuilder:default={{algorithm: ECDSA, curves: {256, 384}}, {algorithm: RSA, minSize: 3072}}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	// +listType=map
	// +listMapKey=algorithm
	// +optional
	Allowed []AllowedKey `json:"allowed,omitempty"`
	// RequireRotation requires privateKey.rotationPolicy Always: a new key at every renewal.
	// +kubebuilder:default=true
	// +optional
	RequireRotation *bool `json:"requireRotation,omitempty"`
}

// CertificatePolicySpec says how the TLS certificates of some tenants are issued and kept.
// +kubebuilder:validation:XValidation:rule="has(self.tenants) || (has(self.namespaces) && size(self.namespaces) > 0)",message="say which certificates the policy covers: tenants, namespaces or both"
// +kubebuilder:validation:XValidation:rule="!(has(self.requireIngressTLS) && self.requireIngressTLS) || (has(self.issuers) && size(self.issuers) > 0)",message="requireIngressTLS needs at least one allowed issuer to issue the missing certificates from"
// +kubebuilder:validation:XValidation:rule="!has(self.defaultIssuer) || (has(self.issuers) && self.issuers.exists(i, i.name == self.defaultIssuer.name && i.kind == self.defaultIssuer.kind))",message="defaultIssuer must be one of the allowed issuers"
// +kubebuilder:validation:XValidation:rule="duration(self.minRenewBefore) < duration(self.maxDuration)",message="minRenewBefore must be shorter than maxDuration"
// +kubebuilder:validation:XValidation:rule="duration(self.expiryWarning) < duration(self.maxDuration)",message="expiryWarning must be shorter than maxDuration"
type CertificatePolicySpec struct {
	PolicyCommonSpec `json:",inline"`

	// Tenants covered: every namespace of the selected TenantIsolations.
	// +optional
	Tenants *TenantSelection `json:"tenants,omitempty"`
	// Namespaces covered besides the tenants' own.
	// +kubebuilder:validation:MaxItems=250
	// +listType=set
	// +optional
	Namespaces []NamespaceName `json:"namespaces,omitempty"`

	// Issuers certificates may come from.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Issuers []IssuerRef `json:"issuers,omitempty"`
	// DefaultIssuer issues the certificates the operator creates for Ingress hosts without one;
	// the first allowed issuer when unset.
	// +optional
	DefaultIssuer *IssuerRef `json:"defaultIssuer,omitempty"`

	// PrivateKey rules.
	// +kubebuilder:default={}
	// +optional
	PrivateKey PrivateKeyPolicy `json:"privateKey,omitempty"`

	// MaxDuration is the longest a certificate may live.
	// +kubebuilder:default="2160h"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('1h')",message="maxDuration must be longer than an hour"
	// +optional
	MaxDuration *metav1.Duration `json:"maxDuration,omitempty"`
	// MinRenewBefore is how early, at the latest, a certificate must renew before it expires.
	// +kubebuilder:default="720h"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="minRenewBefore must be positive"
	// +optional
	MinRenewBefore *metav1.Duration `json:"minRenewBefore,omitempty"`
	// ExpiryWarning reports a certificate expiring within this time without a renewal scheduled.
	// +kubebuilder:default="336h"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="expiryWarning must be positive"
	// +optional
	ExpiryWarning *metav1.Duration `json:"expiryWarning,omitempty"`

	// RequireIngressTLS requires every host of every covered Ingress to be served over TLS with a
	// certificate of the policy; in Enforce mode the operator creates the missing Certificates.
	// +kubebuilder:default=true
	// +optional
	RequireIngressTLS *bool `json:"requireIngressTLS,omitempty"`
	// IngressClasses limits requireIngressTLS to Ingresses of these classes; all when empty.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	IngressClasses []string `json:"ingressClasses,omitempty"`

	// RotateAll is a request to re-issue every covered certificate with a new key, for a
	// compromised key: each new value (a ticket, a timestamp) is carried out once.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	RotateAll string `json:"rotateAll,omitempty"`
}

// CertificateSummary is one covered certificate, for the auditor.
type CertificateSummary struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Issuer, such as ClusterIssuer/rempart-ca.
	Issuer string `json:"issuer"`
	// Key, such as ECDSA P-256.
	Key string `json:"key"`
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`
	Ready       bool         `json:"ready"`
	Conformant  bool         `json:"conformant"`
	// Reason says what is not conformant.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// CertificatePolicyStatus is the shared policy status plus the certificates' inventory.
type CertificatePolicyStatus struct {
	PolicyStatus `json:",inline"`

	// CertificateCount is the number of covered certificates.
	// +optional
	CertificateCount int32 `json:"certificateCount,omitempty"`
	// NextExpiry is the earliest notAfter among them.
	// +optional
	NextExpiry *metav1.Time `json:"nextExpiry,omitempty"`
	// Certificates lists the first 100 covered certificates, the least conformant first.
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	Certificates []CertificateSummary `json:"certificates,omitempty"`
	// RotatedAll is the last spec.rotateAll request carried out.
	// +optional
	RotatedAll string `json:"rotatedAll,omitempty"`
}

// CertificatePolicy keeps the TLS certificates of some tenants issued, by allowed issuers, with
// ANSSI-grade keys rotated at every renewal and lifetimes under control (FT-CLD-38, FT-CLD-40,
// ALM-5.5, SIS-TLS).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cp,categories=rempart
// +kubebuilder:printcolumn:name="CERTIFICATES",type=integer,JSONPath=`.status.certificateCount`
// +kubebuilder:printcolumn:name="NEXT-EXPIRY",type=string,format=date-time,JSONPath=`.status.nextExpiry`
// +kubebuilder:printcolumn:name="COMPLIANT",type=string,JSONPath=`.status.conditions[?(@.type=="Compliant")].status`
// +kubebuilder:printcolumn:name="VIOLATIONS",type=integer,JSONPath=`.status.summary.nonCompliant`
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`
type CertificatePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CertificatePolicySpec   `json:"spec"`
	Status CertificatePolicyStatus `json:"status,omitempty"`
}

// CertificatePolicyList is a list of CertificatePolicy.
// +kubebuilder:object:root=true
type CertificatePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CertificatePolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CertificatePolicy{}, &CertificatePolicyList{})
}

// Defaults of the durations, as the API server applies them.
const (
	DefaultMaxDuration    = 2160 * time.Hour
	DefaultMinRenewBefore = 720 * time.Hour
	DefaultExpiryWarning  = 336 * time.Hour
)

func durationOr(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

// MaxCertificateDuration is spec.maxDuration, or its default.
func (s CertificatePolicySpec) MaxCertificateDuration() time.Duration {
	return durationOr(s.MaxDuration, DefaultMaxDuration)
}

// RenewBeforeAtLeast is spec.minRenewBefore, or its default.
func (s CertificatePolicySpec) RenewBeforeAtLeast() time.Duration {
	return durationOr(s.MinRenewBefore, DefaultMinRenewBefore)
}

// ExpiryWarningPeriod is spec.expiryWarning, or its default.
func (s CertificatePolicySpec) ExpiryWarningPeriod() time.Duration {
	return durationOr(s.ExpiryWarning, DefaultExpiryWarning)
}
