package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels Rempart writes on the namespaces of a tenant.
const (
	// LabelTenant names the TenantIsolation a namespace belongs to.
	LabelTenant = "rempart.io/tenant"
	// LabelEnvironment carries the tenant's environment on its namespaces.
	LabelEnvironment = "rempart.io/environment"
	// LabelManagedBy marks every object Rempart generates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on generated objects.
	ManagedByValue = "rempart"
	// LabelEncrypted lets a platform team declare a StorageClass encrypted at rest when its
	// parameters cannot say so (for example Cinder volume types).
	LabelEncrypted = "rempart.io/encrypted"
)

// Environment separates production from everything else (FT-CLD-25).
// +kubebuilder:validation:Enum=production;staging;development
type Environment string

const (
	EnvironmentProduction  Environment = "production"
	EnvironmentStaging     Environment = "staging"
	EnvironmentDevelopment Environment = "development"
)

// DeletionPolicy says what deleting a TenantIsolation does to the tenant's namespaces.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionRetain removes what Rempart generated and its labels, and keeps the namespaces and their data.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete offboards the tenant (FT-CLD-76): its namespaces and everything in them are deleted.
	DeletionDelete DeletionPolicy = "Delete"
)

// PodSecurityLevel is a Pod Security Standards level.
// +kubebuilder:validation:Enum=privileged;baseline;restricted
type PodSecurityLevel string

const (
	PodSecurityPrivileged PodSecurityLevel = "privileged"
	PodSecurityBaseline   PodSecurityLevel = "baseline"
	PodSecurityRestricted PodSecurityLevel = "restricted"
)

// CIDR is an IPv4 or IPv6 network in CIDR notation, such as 10.0.0.0/8.
// +kubebuilder:validation:MaxLength=43
// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32"
type CIDR string

// FlowName names one allowed flow; it becomes part of the NetworkPolicy's name.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=40
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
type FlowName string

// TenantIsolationSpec declares one tenant and how it is kept apart from the others.
// +kubebuilder:validation:XValidation:rule="self.namespaces.all(n, !n.startsWith('kube-') && n != 'default')",message="a tenant cannot hold default or a kube-* namespace: they belong to the cluster (FT-CLD-20)"
// +kubebuilder:validation:XValidation:rule="!has(self.network) || ((!has(self.network.ingress) || self.network.ingress.all(f, !has(f.fromNamespaces) || f.fromNamespaces.all(n, !(n in self.namespaces)))) && (!has(self.network.egress) || self.network.egress.all(f, !has(f.toNamespaces) || f.toNamespaces.all(n, !(n in self.namespaces)))))",message="a namespace named as a flow peer is shared with the tenant, not held by it: remove it from namespaces or from the flow (FT-CLD-20)"
// +kubebuilder:validation:XValidation:rule="!has(self.exposure) || !has(self.exposure.publicServices) || self.exposure.publicServices.all(s, s.split('/')[0] in self.namespaces)",message="exposure.publicServices must name Services in the tenant's own namespaces, as namespace/name"
// +kubebuilder:validation:XValidation:rule="!has(self.offboarding) || !has(self.offboarding.deleteAdoptedNamespaces) || self.offboarding.deleteAdoptedNamespaces.all(n, n in self.namespaces)",message="offboarding.deleteAdoptedNamespaces must be namespaces of the tenant"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.environment) || self.environment == oldSelf.environment || self.enforcement == 'Audit'",message="environment cannot change while enforced: production and non-production are separated (FT-CLD-25); create a new tenant instead"
type TenantIsolationSpec struct {
	PolicyCommonSpec `json:",inline"`

	// Namespaces of the tenant. The operator creates them, or adopts them when they exist and
	// belong to no other tenant, and labels them rempart.io/tenant and rempart.io/environment.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=250
	// +listType=set
	Namespaces []NamespaceName `json:"namespaces"`

	// Environment of the tenant. Production and non-production tenants never exchange traffic
	// (FT-CLD-25), whatever the flow matrix says.
	Environment Environment `json:"environment"`

	// Network isolation: default deny, DNS, traffic inside the tenant, and the flow matrix.
	// +kubebuilder:default={}
	// +optional
	Network NetworkIsolation `json:"network,omitempty"`

	// PodSecurity is the Pod Security Admission level enforced on the tenant's namespaces.
	// +kubebuilder:default={}
	// +optional
	PodSecurity PodSecurity `json:"podSecurity,omitempty"`

	// Quota is the hard limits of the ResourceQuota created in every namespace of the tenant.
	// +optional
	Quota corev1.ResourceList `json:"quota,omitempty"`

	// Limits are the LimitRange items created in every namespace of the tenant.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	Limits []corev1.LimitRangeItem `json:"limits,omitempty"`

	// Storage rules for the tenant's PersistentVolumeClaims (FT-CLD-21).
	// +kubebuilder:default={}
	// +optional
	Storage StorageIsolation `json:"storage,omitempty"`

	// AdminInterfaces selects the tenant's Services and Ingresses that are administration
	// interfaces; they must not be reachable from public networks (FT-CLD-19).
	// +optional
	AdminInterfaces *AdminInterfaces `json:"adminInterfaces,omitempty"`

	// NodeIsolation dedicates nodes to the tenant (FLX-3.6, FT-CLD-25): its pods must select them,
	// and no other tenant's pod may select or tolerate its way onto them.
	// +optional
	NodeIsolation *NodeIsolation `json:"nodeIsolation,omitempty"`

	// Exposure declares how the tenant may be reached from outside the cluster (FT-CLD-19,
	// FT-CLD-20). Anything not declared here is refused: Services of type LoadBalancer or
	// NodePort, externalIPs and ExternalName Services, whatever their labels.
	// +optional
	Exposure *Exposure `json:"exposure,omitempty"`

	// Offboarding refines deletionPolicy Delete.
	// +optional
	Offboarding *OffboardingPolicy `json:"offboarding,omitempty"`

	// DeletionPolicy is Retain (the default: deleting this object removes what Rempart generated
	// and its labels, never the namespaces or their data) or Delete (offboarding, FT-CLD-76: the
	// namespaces and everything in them are deleted, and an Event records what and when).
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// Exposure is the tenant's declared public surface.
type Exposure struct {
	// PublicServices are the Services, written namespace/name, that may be of type LoadBalancer or
	// NodePort and open to every source: the tenant's public endpoints. Any other LoadBalancer must
	// restrict its sources to adminInterfaces.allowedSourceRanges with allocateLoadBalancerNodePorts
	// false, and any other NodePort is refused.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=127
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +listType=set
	// +optional
	PublicServices []string `json:"publicServices,omitempty"`
	// ExternalIPRanges are the networks a Service's spec.externalIPs may take addresses from. Empty
	// (the default) refuses externalIPs: they let a Service capture traffic meant for any address
	// (CVE-2020-8554).
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	ExternalIPRanges []CIDR `json:"externalIPRanges,omitempty"`
	// ExternalNames are the DNS names an ExternalName Service may point to, exact (db.example.com)
	// or by suffix (*.example.com). A name inside the cluster (an IP, a bare name, *.svc, the cluster
	// domain) is never allowed: it would carry traffic into another tenant's Service without any
	// NetworkPolicy being involved.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`
	// +kubebuilder:validation:items:XValidation:rule="!self.endsWith('.svc') && !self.contains('.svc.') && !self.endsWith('.local') && !self.endsWith('.internal')",message="an ExternalName must point outside the cluster, not to *.svc, *.local or *.internal"
	// +listType=set
	// +optional
	ExternalNames []string `json:"externalNames,omitempty"`
}

// OffboardingPolicy says which namespaces deletionPolicy Delete may delete.
type OffboardingPolicy struct {
	// DeleteAdoptedNamespaces are namespaces that existed before the tenant adopted them and that
	// deletionPolicy Delete deletes anyway. Without this, offboarding deletes only the namespaces
	// the operator created, and releases the adopted ones with their data.
	// +kubebuilder:validation:MaxItems=250
	// +listType=set
	// +optional
	DeleteAdoptedNamespaces []NamespaceName `json:"deleteAdoptedNamespaces,omitempty"`
}

// NetworkIsolation renders the tenant's NetworkPolicies.
type NetworkIsolation struct {
	// DefaultDeny denies all ingress and egress not allowed by another policy. Default true.
	// +kubebuilder:default=true
	// +optional
	DefaultDeny *bool `json:"defaultDeny,omitempty"`

	// AllowDNS lets pods resolve names through kube-dns in kube-system. Default true.
	// +kubebuilder:default=true
	// +optional
	AllowDNS *bool `json:"allowDNS,omitempty"`

	// AllowIntraTenant lets the tenant's pods talk to each other across its namespaces. Default true.
	// +kubebuilder:default=true
	// +optional
	AllowIntraTenant *bool `json:"allowIntraTenant,omitempty"`

	// Ingress lists the flows allowed into the tenant, such as from the ingress controller.
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	// +optional
	Ingress []IngressFlow `json:"ingress,omitempty"`

	// Egress lists the flows allowed out of the tenant.
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	// +optional
	Egress []EgressFlow `json:"egress,omitempty"`
}

// IngressFlow allows traffic from named namespaces or pods into the tenant.
// +kubebuilder:validation:XValidation:rule="has(self.fromNamespaces) || has(self.fromNamespaceSelector)",message="an ingress flow needs fromNamespaces or fromNamespaceSelector"
type IngressFlow struct {
	// Name of the flow, unique in the tenant, used in the NetworkPolicy's name.
	Name FlowName `json:"name"`
	// FromNamespaces are the source namespaces, by name.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	FromNamespaces []NamespaceName `json:"fromNamespaces,omitempty"`
	// FromNamespaceSelector selects source namespaces by label.
	// +optional
	FromNamespaceSelector *metav1.LabelSelector `json:"fromNamespaceSelector,omitempty"`
	// FromPodSelector narrows the sources to these pods of the selected namespaces.
	// +optional
	FromPodSelector *metav1.LabelSelector `json:"fromPodSelector,omitempty"`
	// ToPodSelector narrows the destinations to these pods of the tenant; all pods when empty.
	// +optional
	ToPodSelector *metav1.LabelSelector `json:"toPodSelector,omitempty"`
	// Ports allowed; every port when empty.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Ports []FlowPort `json:"ports,omitempty"`
}

// EgressFlow allows traffic from the tenant to namespaces or networks.
// +kubebuilder:validation:XValidation:rule="has(self.toNamespaces) || has(self.toNamespaceSelector) || has(self.toCIDRs)",message="an egress flow needs toNamespaces, toNamespaceSelector or toCIDRs"
type EgressFlow struct {
	// Name of the flow, unique in the tenant, used in the NetworkPolicy's name.
	Name FlowName `json:"name"`
	// ToNamespaces are the destination namespaces, by name.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	ToNamespaces []NamespaceName `json:"toNamespaces,omitempty"`
	// ToNamespaceSelector selects destination namespaces by label.
	// +optional
	ToNamespaceSelector *metav1.LabelSelector `json:"toNamespaceSelector,omitempty"`
	// ToPodSelector narrows the destinations to these pods of the selected namespaces.
	// +optional
	ToPodSelector *metav1.LabelSelector `json:"toPodSelector,omitempty"`
	// ToCIDRs are destination networks outside the cluster, such as a managed database.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	ToCIDRs []CIDR `json:"toCIDRs,omitempty"`
	// Ports allowed; every port when empty.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Ports []FlowPort `json:"ports,omitempty"`
}

// FlowPort is one allowed port.
type FlowPort struct {
	// Protocol is TCP (default), UDP or SCTP.
	// +kubebuilder:validation:Enum=TCP;UDP;SCTP
	// +kubebuilder:default=TCP
	// +optional
	Protocol corev1.Protocol `json:"protocol,omitempty"`
	// Port number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
}

// PodSecurity sets the Pod Security Admission labels of the tenant's namespaces.
type PodSecurity struct {
	// Level enforced, audited and warned: restricted (default), baseline or privileged.
	// +kubebuilder:default=restricted
	// +optional
	Level PodSecurityLevel `json:"level,omitempty"`
	// Version of the Pod Security Standards, pinned so an upgrade of the cluster does not change
	// what is enforced silently. Default v1.37.
	// +kubebuilder:default="v1.37"
	// +kubebuilder:validation:Pattern=`^(latest|v1\.[0-9]+)$`
	// +optional
	Version string `json:"version,omitempty"`
}

// StorageIsolation constrains the tenant's volumes.
type StorageIsolation struct {
	// RequireEncryption refuses claims on StorageClasses not encrypted at rest (FT-CLD-21). Default true.
	// +kubebuilder:default=true
	// +optional
	RequireEncryption *bool `json:"requireEncryption,omitempty"`
	// AllowedStorageClasses, when set, are the only classes the tenant may use.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	AllowedStorageClasses []StorageClassName `json:"allowedStorageClasses,omitempty"`
	// AllowedInlineCSIDrivers are the CSI drivers a pod may mount inline (volumes[].csi), such as
	// secrets-store.csi.k8s.io. Inline volumes skip StorageClasses, so any other driver is refused
	// while requireEncryption holds, as are in-tree network volumes (nfs, iscsi, ...).
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +listType=set
	// +optional
	AllowedInlineCSIDrivers []string `json:"allowedInlineCSIDrivers,omitempty"`
}

// StorageClassName is the name of a StorageClass.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
type StorageClassName string

// AdminInterfaces identifies administration interfaces and where they may be reached from.
type AdminInterfaces struct {
	// Selector matches the labels of Services and Ingresses that are administration interfaces.
	Selector metav1.LabelSelector `json:"selector"`
	// AllowedSourceRanges are the networks allowed to reach them, such as the provider's
	// administration network. A LoadBalancer Service or an Ingress that is an administration
	// interface must restrict its sources to these ranges; NodePort is never allowed.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	AllowedSourceRanges []CIDR `json:"allowedSourceRanges,omitempty"`
}

// NodeIsolation dedicates nodes to the tenant.
type NodeIsolation struct {
	// NodeSelector the tenant's pods must carry, with the same values.
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=8
	NodeSelector map[string]string `json:"nodeSelector"`
	// Tolerations for the taints of the dedicated nodes, documented here for the tenant's workloads.
	// Pods of other tenants may not tolerate these taints' keys.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// TenantIsolationStatus is the shared policy status plus what this kind documents.
type TenantIsolationStatus struct {
	PolicyStatus `json:",inline"`

	// NamespaceCount is the number of namespaces the tenant holds.
	// +optional
	NamespaceCount int32 `json:"namespaceCount,omitempty"`

	// Namespaces the tenant holds, with their state.
	// +kubebuilder:validation:MaxItems=250
	// +listType=atomic
	// +optional
	Namespaces []TenantNamespace `json:"namespaces,omitempty"`

	// AllowedStorageClasses are the StorageClasses the tenant's claims may use: encrypted at rest
	// (when storage.requireEncryption) and listed in storage.allowedStorageClasses (when set). The
	// admission policy on PersistentVolumeClaims reads this list.
	// +listType=atomic
	// +optional
	AllowedStorageClasses []string `json:"allowedStorageClasses,omitempty"`

	// FlowMatrix is the resolved flow matrix, as the NetworkPolicies render it (ALM-5.9.1).
	// +kubebuilder:validation:MaxItems=80
	// +listType=atomic
	// +optional
	FlowMatrix []ResolvedFlow `json:"flowMatrix,omitempty"`

	// Offboarding records what deleting the tenant removed, with deletionPolicy Delete (FT-CLD-76).
	// +optional
	Offboarding *Offboarding `json:"offboarding,omitempty"`

	// PrivilegedSubjects is the inventory of the people and accounts that may write in the
	// tenant's namespaces, through any RoleBinding or ClusterRoleBinding, besides the cluster's own
	// system identities (FT-CLD-16). At most 100 are listed; PrivilegedSubjectCount is exact.
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	PrivilegedSubjects []PrivilegedSubject `json:"privilegedSubjects,omitempty"`
	// PrivilegedSubjectCount is the number of grants in the inventory.
	// +optional
	PrivilegedSubjectCount int32 `json:"privilegedSubjectCount,omitempty"`
}

// PrivilegedSubject is one grant of write or admin rights on the tenant's namespaces.
type PrivilegedSubject struct {
	// Kind of the subject: User, Group or ServiceAccount.
	Kind string `json:"kind"`
	// Name as the API server sees it (system:serviceaccount:<ns>:<name> for a service account).
	Name string `json:"name"`
	// Level is Write or Admin.
	Level string `json:"level"`
	// Namespace the rights apply to; empty when a ClusterRoleBinding grants them everywhere.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Binding is the RoleBinding or ClusterRoleBinding that grants them.
	Binding ObjectReference `json:"binding"`
	// Role is the role bound, such as ClusterRole/admin.
	Role string `json:"role"`
	// AdminAccess names the grant that manages the binding; empty for an unmanaged binding.
	// +optional
	AdminAccess string `json:"adminAccess,omitempty"`
}

// TenantNamespace is one namespace of the tenant and its state.
type TenantNamespace struct {
	Name string `json:"name"`
	// State is Ready, Conflict (claimed by another tenant) or Terminating.
	State string `json:"state"`
	// Message explains a state other than Ready.
	// +optional
	Message string `json:"message,omitempty"`
}

// ResolvedFlow is one row of the flow matrix.
type ResolvedFlow struct {
	// Name of the flow.
	Name string `json:"name"`
	// Direction is Ingress or Egress.
	Direction string `json:"direction"`
	// Peer describes the other side in words, such as "namespaces ingress-nginx".
	Peer string `json:"peer"`
	// Ports allowed, such as "TCP/443"; "all" when unrestricted.
	Ports string `json:"ports"`
	// NetworkPolicy renders the flow in every namespace of the tenant.
	NetworkPolicy string `json:"networkPolicy"`
}

// Offboarding records the deletion of a tenant's namespaces.
type Offboarding struct {
	// StartedAt is when the namespaces were deleted.
	StartedAt metav1.Time `json:"startedAt"`
	// DeletedNamespaces are the namespaces deleted with everything in them.
	// +listType=atomic
	DeletedNamespaces []string `json:"deletedNamespaces"`
	// ReleasedNamespaces are the adopted namespaces kept with their data: they existed before the
	// tenant and spec.offboarding.deleteAdoptedNamespaces does not name them.
	// +listType=atomic
	// +optional
	ReleasedNamespaces []string `json:"releasedNamespaces,omitempty"`
}

// TenantIsolation declares a tenant: its namespaces and how they are kept apart from other
// tenants (FT-CLD-20): network flows, pod security, quotas, encrypted storage, private admin
// interfaces and, optionally, dedicated nodes.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ti,categories=rempart
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="a tenant's name is written as a label value: at most 63 lowercase letters, digits and dashes"
// +kubebuilder:printcolumn:name="ENVIRONMENT",type=string,JSONPath=`.spec.environment`
// +kubebuilder:printcolumn:name="NAMESPACES",type=integer,JSONPath=`.status.namespaceCount`
// +kubebuilder:printcolumn:name="COMPLIANT",type=string,JSONPath=`.status.conditions[?(@.type=="Compliant")].status`
// +kubebuilder:printcolumn:name="VIOLATIONS",type=integer,JSONPath=`.status.summary.nonCompliant`
// +kubebuilder:printcolumn:name="ENFORCEMENT",type=string,JSONPath=`.spec.enforcement`,priority=1
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`
type TenantIsolation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TenantIsolationSpec   `json:"spec"`
	Status TenantIsolationStatus `json:"status,omitempty"`
}

// TenantIsolationList is a list of TenantIsolation.
// +kubebuilder:object:root=true
type TenantIsolationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantIsolation `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TenantIsolation{}, &TenantIsolationList{})
}
