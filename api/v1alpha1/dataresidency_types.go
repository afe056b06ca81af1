package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultRegionLabel is the well-known node label that carries a node's region.
const DefaultRegionLabel = "topology.kubernetes.io/region"

// Jurisdiction is a named set of countries: EU (the 27 member states), EEA (EU plus Iceland,
// Liechtenstein, Norway) or Adequacy (EEA plus the countries with an EU adequacy decision).
// +kubebuilder:validation:Enum=EU;EEA;Adequacy
type Jurisdiction string

// CountryCode is an ISO 3166-1 alpha-2 country code in capitals, such as FR.
// +kubebuilder:validation:Pattern=`^[A-Z]{2}$`
// +kubebuilder:validation:XValidation:rule="self != 'EL'",message="Greece is GR in ISO 3166-1 (EL is the EU's own abbreviation)"
type CountryCode string

// Provider is a cloud provider of the region catalog, or custom for a cluster's own locations.
// +kubebuilder:validation:Enum=aws;gcp;azure;ovhcloud;scaleway;outscale;custom
type Provider string

// RegionCode is a region as a node label carries it, such as eu-west-3 or francecentral.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
type RegionCode string

// LabelKey is a Kubernetes label key, such as topology.kubernetes.io/region.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=316
// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
type LabelKey string

// TenantName is the name of a TenantIsolation.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
type TenantName string

// TenantSelection picks TenantIsolations by name, by label, or both (their union).
// +kubebuilder:validation:XValidation:rule="(has(self.names) && size(self.names) > 0) || has(self.selector)",message="tenants must list names or give a selector"
// +kubebuilder:validation:XValidation:rule="!has(self.selector) || !has(self.selector.matchExpressions) || self.selector.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'] && ((e.operator in ['In', 'NotIn']) == (has(e.values) && size(e.values) > 0)))",message="a selector expression's operator is In or NotIn with values, or Exists or DoesNotExist without"
type TenantSelection struct {
	// Names of TenantIsolations.
	// +kubebuilder:validation:MaxItems=250
	// +listType=set
	// +optional
	Names []TenantName `json:"names,omitempty"`
	// Selector matches the labels of TenantIsolations. An empty selector selects every tenant.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// RegionExtension declares a region the built-in catalog does not know, such as an on-premise
// site or a sovereign cloud. It may add regions; it may not move a built-in region to another
// country.
// +kubebuilder:validation:XValidation:rule="has(self.provider) && self.provider != 'custom' ? (!((self.provider + ':' + self.region.lowerAscii()) in {'aws:af-south-1':'ZA','aws:ap-northeast-1':'JP','aws:ap-northeast-2':'KR','aws:ap-south-1':'IN','aws:ap-southeast-1':'SG','aws:ap-southeast-2':'AU','aws:ca-central-1':'CA','aws:eu-central-1':'DE','aws:eu-central-2':'CH','aws:eu-north-1':'SE','aws:eu-south-1':'IT','aws:eu-south-2':'ES','aws:eu-west-1':'IE','aws:eu-west-2':'GB','aws:eu-west-3':'FR','aws:eusc-de-east-1':'DE','aws:il-central-1':'IL','aws:me-central-1':'AE','aws:sa-east-1':'BR','aws:us-east-1':'US','aws:us-east-2':'US','aws:us-west-1':'US','aws:us-west-2':'US','azure:austriaeast':'AT','azure:belgiumcentral':'BE','azure:canadacentral':'CA','azure:eastus':'US','azure:eastus2':'US','azure:francecentral':'FR','azure:francesouth':'FR','azure:germanynorth':'DE','azure:germanywestcentral':'DE','azure:italynorth':'IT','azure:japaneast':'JP','azure:northeurope':'IE','azure:norwayeast':'NO','azure:norwaywest':'NO','azure:polandcentral':'PL','azure:spaincentral':'ES','azure:swedencentral':'SE','azure:switzerlandnorth':'CH','azure:switzerlandwest':'CH','azure:uksouth':'GB','azure:ukwest':'GB','azure:westeurope':'NL','azure:westus':'US','gcp:asia-northeast1':'JP','gcp:europe-central2':'PL','gcp:europe-north1':'FI','gcp:europe-north2':'SE','gcp:europe-southwest1':'ES','gcp:europe-west1':'BE','gcp:europe-west10':'DE','gcp:europe-west12':'IT','gcp:europe-west2':'GB','gcp:europe-west3':'DE','gcp:europe-west4':'NL','gcp:europe-west6':'CH','gcp:europe-west8':'IT','gcp:europe-west9':'FR','gcp:me-west1':'IL','gcp:northamerica-northeast1':'CA','gcp:southamerica-east1':'BR','gcp:us-central1':'US','gcp:us-east1':'US','gcp:us-east4':'US','gcp:us-west1':'US','outscale:ap-northeast-1':'JP','outscale:cloudgouv-eu-west-1':'FR','outscale:eu-west-2':'FR','outscale:us-east-2':'US','outscale:us-west-1':'US','ovhcloud:bhs':'CA','ovhcloud:de1':'DE','ovhcloud:eu-west-par':'FR','ovhcloud:gra':'FR','ovhcloud:rbx':'FR','ovhcloud:sbg':'FR','ovhcloud:uk1':'GB','ovhcloud:waw1':'PL','scaleway:fr-par':'FR','scaleway:nl-ams':'NL','scaleway:pl-waw':'PL'}) || {'aws:af-south-1':'ZA','aws:ap-northeast-1':'JP','aws:ap-northeast-2':'KR','aws:ap-south-1':'IN','aws:ap-southeast-1':'SG','aws:ap-southeast-2':'AU','aws:ca-central-1':'CA','aws:eu-central-1':'DE','aws:eu-central-2':'CH','aws:eu-north-1':'SE','aws:eu-south-1':'IT','aws:eu-south-2':'ES','aws:eu-west-1':'IE','aws:eu-west-2':'GB','aws:eu-west-3':'FR','aws:eusc-de-east-1':'DE','aws:il-central-1':'IL','aws:me-central-1':'AE','aws:sa-east-1':'BR','aws:us-east-1':'US','aws:us-east-2':'US','aws:us-west-1':'US','aws:us-west-2':'US','azure:austriaeast':'AT','azure:belgiumcentral':'BE','azure:canadacentral':'CA','azure:eastus':'US','azure:eastus2':'US','azure:francecentral':'FR','azure:francesouth':'FR','azure:germanynorth':'DE','azure:germanywestcentral':'DE','azure:italynorth':'IT','azure:japaneast':'JP','azure:northeurope':'IE','azure:norwayeast':'NO','azure:norwaywest':'NO','azure:polandcentral':'PL','azure:spaincentral':'ES','azure:swedencentral':'SE','azure:switzerlandnorth':'CH','azure:switzerlandwest':'CH','azure:uksouth':'GB','azure:ukwest':'GB','azure:westeurope':'NL','azure:westus':'US','gcp:asia-northeast1':'JP','gcp:europe-central2':'PL','gcp:europe-north1':'FI','gcp:europe-north2':'SE','gcp:europe-southwest1':'ES','gcp:europe-west1':'BE','gcp:europe-west10':'DE','gcp:europe-west12':'IT','gcp:europe-west2':'GB','gcp:europe-west3':'DE','gcp:europe-west4':'NL','gcp:europe-west6':'CH','gcp:europe-west8':'IT','gcp:europe-west9':'FR','gcp:me-west1':'IL','gcp:northamerica-northeast1':'CA','gcp:southamerica-east1':'BR','gcp:us-central1':'US','gcp:us-east1':'US','gcp:us-east4':'US','gcp:us-west1':'US','outscale:ap-northeast-1':'JP','outscale:cloudgouv-eu-west-1':'FR','outscale:eu-west-2':'FR','outscale:us-east-2':'US','outscale:us-west-1':'US','ovhcloud:bhs':'CA','ovhcloud:de1':'DE','ovhcloud:eu-west-par':'FR','ovhcloud:gra':'FR','ovhcloud:rbx':'FR','ovhcloud:sbg':'FR','ovhcloud:uk1':'GB','ovhcloud:waw1':'PL','scaleway:fr-par':'FR','scaleway:nl-ams':'NL','scaleway:pl-waw':'PL'}[self.provider + ':' + self.region.lowerAscii()] == self.country) : (!(self.region.lowerAscii() in {'af-south-1':'ZA','ap-northeast-1':'JP','ap-northeast-2':'KR','ap-south-1':'IN','ap-southeast-1':'SG','ap-southeast-2':'AU','asia-northeast1':'JP','austriaeast':'AT','belgiumcentral':'BE','bhs':'CA','ca-central-1':'CA','canadacentral':'CA','cloudgouv-eu-west-1':'FR','de1':'DE','eastus':'US','eastus2':'US','eu-central-1':'DE','eu-central-2':'CH','eu-north-1':'SE','eu-south-1':'IT','eu-south-2':'ES','eu-west-1':'IE','eu-west-2':'--','eu-west-3':'FR','eu-west-par':'FR','europe-central2':'PL','europe-north1':'FI','europe-north2':'SE','europe-southwest1':'ES','europe-west1':'BE','europe-west10':'DE','europe-west12':'IT','europe-west2':'GB','europe-west3':'DE','europe-west4':'NL','europe-west6':'CH','europe-west8':'IT','europe-west9':'FR','eusc-de-east-1':'DE','fr-par':'FR','francecentral':'FR','francesouth':'FR','germanynorth':'DE','germanywestcentral':'DE','gra':'FR','il-central-1':'IL','italynorth':'IT','japaneast':'JP','me-central-1':'AE','me-west1':'IL','nl-ams':'NL','northamerica-northeast1':'CA','northeurope':'IE','norwayeast':'NO','norwaywest':'NO','pl-waw':'PL','polandcentral':'PL','rbx':'FR','sa-east-1':'BR','sbg':'FR','southamerica-east1':'BR','spaincentral':'ES','swedencentral':'SE','switzerlandnorth':'CH','switzerlandwest':'CH','uk1':'GB','uksouth':'GB','ukwest':'GB','us-central1':'US','us-east-1':'US','us-east-2':'US','us-east1':'US','us-east4':'US','us-west-1':'US','us-west-2':'US','us-west1':'US','waw1':'PL','westeurope':'NL','westus':'US'}) || {'af-south-1':'ZA','ap-northeast-1':'JP','ap-northeast-2':'KR','ap-south-1':'IN','ap-southeast-1':'SG','ap-southeast-2':'AU','asia-northeast1':'JP','austriaeast':'AT','belgiumcentral':'BE','bhs':'CA','ca-central-1':'CA','canadacentral':'CA','cloudgouv-eu-west-1':'FR','de1':'DE','eastus':'US','eastus2':'US','eu-central-1':'DE','eu-central-2':'CH','eu-north-1':'SE','eu-south-1':'IT','eu-south-2':'ES','eu-west-1':'IE','eu-west-2':'--','eu-west-3':'FR','eu-west-par':'FR','europe-central2':'PL','europe-north1':'FI','europe-north2':'SE','europe-southwest1':'ES','europe-west1':'BE','europe-west10':'DE','europe-west12':'IT','europe-west2':'GB','europe-west3':'DE','europe-west4':'NL','europe-west6':'CH','europe-west8':'IT','europe-west9':'FR','eusc-de-east-1':'DE','fr-par':'FR','francecentral':'FR','francesouth':'FR','germanynorth':'DE','germanywestcentral':'DE','gra':'FR','il-central-1':'IL','italynorth':'IT','japaneast':'JP','me-central-1':'AE','me-west1':'IL','nl-ams':'NL','northamerica-northeast1':'CA','northeurope':'IE','norwayeast':'NO','norwaywest':'NO','pl-waw':'PL','polandcentral':'PL','rbx':'FR','sa-east-1':'BR','sbg':'FR','southamerica-east1':'BR','spaincentral':'ES','swedencentral':'SE','switzerlandnorth':'CH','switzerlandwest':'CH','uk1':'GB','uksouth':'GB','ukwest':'GB','us-central1':'US','us-east-1':'US','us-east-2':'US','us-east1':'US','us-east4':'US','us-west-1':'US','us-west-2':'US','us-west1':'US','waw1':'PL','westeurope':'NL','westus':'US'}[self.region.lowerAscii()] == self.country)",messageExpression="'region ' + self.region + (has(self.provider) && self.provider != 'custom' ? ' at ' + self.provider + ' is in ' + {'aws:af-south-1':'ZA','aws:ap-northeast-1':'JP','aws:ap-northeast-2':'KR','aws:ap-south-1':'IN','aws:ap-southeast-1':'SG','aws:ap-southeast-2':'AU','aws:ca-central-1':'CA','aws:eu-central-1':'DE','aws:eu-central-2':'CH','aws:eu-north-1':'SE','aws:eu-south-1':'IT','aws:eu-south-2':'ES','aws:eu-west-1':'IE','aws:eu-west-2':'GB','aws:eu-west-3':'FR','aws:eusc-de-east-1':'DE','aws:il-central-1':'IL','aws:me-central-1':'AE','aws:sa-east-1':'BR','aws:us-east-1':'US','aws:us-east-2':'US','aws:us-west-1':'US','aws:us-west-2':'US','azure:austriaeast':'AT','azure:belgiumcentral':'BE','azure:canadacentral':'CA','azure:eastus':'US','azure:eastus2':'US','azure:francecentral':'FR','azure:francesouth':'FR','azure:germanynorth':'DE','azure:germanywestcentral':'DE','azure:italynorth':'IT','azure:japaneast':'JP','azure:northeurope':'IE','azure:norwayeast':'NO','azure:norwaywest':'NO','azure:polandcentral':'PL','azure:spaincentral':'ES','azure:swedencentral':'SE','azure:switzerlandnorth':'CH','azure:switzerlandwest':'CH','azure:uksouth':'GB','azure:ukwest':'GB','azure:westeurope':'NL','azure:westus':'US','gcp:asia-northeast1':'JP','gcp:europe-central2':'PL','gcp:europe-north1':'FI','gcp:europe-north2':'SE','gcp:europe-southwest1':'ES','gcp:europe-west1':'BE','gcp:europe-west10':'DE','gcp:europe-west12':'IT','gcp:europe-west2':'GB','gcp:europe-west3':'DE','gcp:europe-west4':'NL','gcp:europe-west6':'CH','gcp:europe-west8':'IT','gcp:europe-west9':'FR','gcp:me-west1':'IL','gcp:northamerica-northeast1':'CA','gcp:southamerica-east1':'BR','gcp:us-central1':'US','gcp:us-east1':'US','gcp:us-east4':'US','gcp:us-west1':'US','outscale:ap-northeast-1':'JP','outscale:cloudgouv-eu-west-1':'FR','outscale:eu-west-2':'FR','outscale:us-east-2':'US','outscale:us-west-1':'US','ovhcloud:bhs':'CA','ovhcloud:de1':'DE','ovhcloud:eu-west-par':'FR','ovhcloud:gra':'FR','ovhcloud:rbx':'FR','ovhcloud:sbg':'FR','ovhcloud:uk1':'GB','ovhcloud:waw1':'PL','scaleway:fr-par':'FR','scaleway:nl-ams':'NL','scaleway:pl-waw':'PL'}[self.provider + ':' + self.region.lowerAscii()] : ' is in ' + ({'af-south-1':'ZA','ap-northeast-1':'JP','ap-northeast-2':'KR','ap-south-1':'IN','ap-southeast-1':'SG','ap-southeast-2':'AU','asia-northeast1':'JP','austriaeast':'AT','belgiumcentral':'BE','bhs':'CA','ca-central-1':'CA','canadacentral':'CA','cloudgouv-eu-west-1':'FR','de1':'DE','eastus':'US','eastus2':'US','eu-central-1':'DE','eu-central-2':'CH','eu-north-1':'SE','eu-south-1':'IT','eu-south-2':'ES','eu-west-1':'IE','eu-west-2':'--','eu-west-3':'FR','eu-west-par':'FR','europe-central2':'PL','europe-north1':'FI','europe-north2':'SE','europe-southwest1':'ES','europe-west1':'BE','europe-west10':'DE','europe-west12':'IT','europe-west2':'GB','europe-west3':'DE','europe-west4':'NL','europe-west6':'CH','europe-west8':'IT','europe-west9':'FR','eusc-de-east-1':'DE','fr-par':'FR','francecentral':'FR','francesouth':'FR','germanynorth':'DE','germanywestcentral':'DE','gra':'FR','il-central-1':'IL','italynorth':'IT','japaneast':'JP','me-central-1':'AE','me-west1':'IL','nl-ams':'NL','northamerica-northeast1':'CA','northeurope':'IE','norwayeast':'NO','norwaywest':'NO','pl-waw':'PL','polandcentral':'PL','rbx':'FR','sa-east-1':'BR','sbg':'FR','southamerica-east1':'BR','spaincentral':'ES','swedencentral':'SE','switzerlandnorth':'CH','switzerlandwest':'CH','uk1':'GB','uksouth':'GB','ukwest':'GB','us-central1':'US','us-east-1':'US','us-east-2':'US','us-east1':'US','us-east4':'US','us-west-1':'US','us-west-2':'US','us-west1':'US','waw1':'PL','westeurope':'NL','westus':'US'}[self.region.lowerAscii()] != '--' ? {'af-south-1':'ZA','ap-northeast-1':'JP','ap-northeast-2':'KR','ap-south-1':'IN','ap-southeast-1':'SG','ap-southeast-2':'AU','asia-northeast1':'JP','austriaeast':'AT','belgiumcentral':'BE','bhs':'CA','ca-central-1':'CA','canadacentral':'CA','cloudgouv-eu-west-1':'FR','de1':'DE','eastus':'US','eastus2':'US','eu-central-1':'DE','eu-central-2':'CH','eu-north-1':'SE','eu-south-1':'IT','eu-south-2':'ES','eu-west-1':'IE','eu-west-2':'--','eu-west-3':'FR','eu-west-par':'FR','europe-central2':'PL','europe-north1':'FI','europe-north2':'SE','europe-southwest1':'ES','europe-west1':'BE','europe-west10':'DE','europe-west12':'IT','europe-west2':'GB','europe-west3':'DE','europe-west4':'NL','europe-west6':'CH','europe-west8':'IT','europe-west9':'FR','eusc-de-east-1':'DE','fr-par':'FR','francecentral':'FR','francesouth':'FR','germanynorth':'DE','germanywestcentral':'DE','gra':'FR','il-central-1':'IL','italynorth':'IT','japaneast':'JP','me-central-1':'AE','me-west1':'IL','nl-ams':'NL','northamerica-northeast1':'CA','northeurope':'IE','norwayeast':'NO','norwaywest':'NO','pl-waw':'PL','polandcentral':'PL','rbx':'FR','sa-east-1':'BR','sbg':'FR','southamerica-east1':'BR','spaincentral':'ES','swedencentral':'SE','switzerlandnorth':'CH','switzerlandwest':'CH','uk1':'GB','uksouth':'GB','ukwest':'GB','us-central1':'US','us-east-1':'US','us-east-2':'US','us-east1':'US','us-east4':'US','us-west-1':'US','us-west-2':'US','us-west1':'US','waw1':'PL','westeurope':'NL','westus':'US'}[self.region.lowerAscii()] : 'several countries')) + ' in the built-in catalog, not in ' + self.country + ': an extension may add regions, not move them (FT-CLD-74)'"
type RegionExtension struct {
	// Region is the code as the region label carries it.
	Region RegionCode `json:"region"`
	// Country is where the region is, as an ISO 3166-1 alpha-2 code.
	Country CountryCode `json:"country"`
	// Provider of the region; custom (the default) for a cluster's own locations.
	// +optional
	Provider Provider `json:"provider,omitempty"`
}

// DataResidencySpec says where the data of some tenants may be stored and processed.
// +kubebuilder:validation:XValidation:rule="(has(self.allowedJurisdictions) && size(self.allowedJurisdictions) > 0) || (has(self.allowedCountries) && size(self.allowedCountries) > 0)",message="give allowedJurisdictions or allowedCountries: an empty allow-list would leave the data nowhere to go (FT-CLD-74)"
// +kubebuilder:validation:XValidation:rule="has(self.tenants) || (has(self.namespaces) && size(self.namespaces) > 0)",message="say which data the rule covers: tenants, namespaces or both"
type DataResidencySpec struct {
	PolicyCommonSpec `json:",inline"`

	// Tenants covered: every namespace of the selected TenantIsolations.
	// +optional
	Tenants *TenantSelection `json:"tenants,omitempty"`

	// Namespaces covered besides the tenants' own.
	// +kubebuilder:validation:MaxItems=250
	// +listType=set
	// +optional
	Namespaces []NamespaceName `json:"namespaces,omitempty"`

	// AllowedJurisdictions are the sets of countries where the data may be: EU, EEA, Adequacy.
	// +kubebuilder:validation:MaxItems=3
	// +listType=set
	// +optional
	AllowedJurisdictions []Jurisdiction `json:"allowedJurisdictions,omitempty"`

	// AllowedCountries are countries where the data may be, besides the jurisdictions'.
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	AllowedCountries []CountryCode `json:"allowedCountries,omitempty"`

	// RegionLabel is the node label that carries the region.
	// +kubebuilder:default="topology.kubernetes.io/region"
	// +optional
	RegionLabel LabelKey `json:"regionLabel,omitempty"`

	// ZoneLabel is the node label that carries the zone, read when a node has no region label;
	// a zone such as fr-par-1 resolves through its region.
	// +optional
	ZoneLabel LabelKey `json:"zoneLabel,omitempty"`

	// Provider is the cloud provider of the cluster, when its nodes' providerID does not say: it
	// decides region codes several providers share (eu-west-2 is in Great Britain at AWS, in
	// France at Outscale). Without it such a code is ambiguous and never allowed.
	// +optional
	Provider Provider `json:"provider,omitempty"`

	// Regions extend the built-in catalog with the cluster's own locations.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Regions []RegionExtension `json:"regions,omitempty"`

	// EvictNonCompliant evicts, through the Eviction API and with an Event for each, the covered
	// pods running on a node outside the allowed regions. Off by default: the operator reports
	// and never removes a running workload on its own.
	// +optional
	EvictNonCompliant bool `json:"evictNonCompliant,omitempty"`
}

// RegionInUse is one region where covered pods run or covered volumes are.
type RegionInUse struct {
	// Region is the label value.
	Region string `json:"region"`
	// Country it resolves to; empty when the region is unknown.
	// +optional
	Country string `json:"country,omitempty"`
	// Provider it resolves to; empty when unknown.
	// +optional
	Provider string `json:"provider,omitempty"`
	// Allowed is true when the region lies in the allowed countries.
	Allowed bool `json:"allowed"`
	// Pods of the covered namespaces running there.
	Pods int32 `json:"pods"`
	// Volumes of the covered namespaces located there.
	Volumes int32 `json:"volumes"`
}

// Pinning says how the API server keeps covered pods in the allowed regions.
type Pinning string

const (
	// PinningMutation: a MutatingAdmissionPolicy adds the allowed regions to every covered pod's
	// required node affinity, and a ValidatingAdmissionPolicy refuses pods aimed elsewhere.
	PinningMutation Pinning = "Mutation"
	// PinningValidation: the server has no MutatingAdmissionPolicy; covered pods that do not
	// pin an allowed region themselves are refused, with a message saying how to pin it.
	PinningValidation Pinning = "Validation"
)

// MaxCoveredNamespaces bounds the namespaces one DataResidency covers.
const MaxCoveredNamespaces = 5000

// DataResidencyStatus is the shared policy status plus the documented location (FT-CLD-74).
type DataResidencyStatus struct {
	PolicyStatus `json:",inline"`

	// AllowedSummary is the allow-list in words, such as "EU, Adequacy" or "FR".
	// +optional
	AllowedSummary string `json:"allowedSummary,omitempty"`

	// AllowedCountries are the resolved countries where the data may be.
	// +listType=atomic
	// +optional
	AllowedCountries []string `json:"allowedCountries,omitempty"`

	// AllowedRegions are the region label values that lie in the allowed countries: the
	// admission policies pin covered pods to them.
	// +listType=atomic
	// +optional
	AllowedRegions []string `json:"allowedRegions,omitempty"`

	// Namespaces covered by this policy, read by the admission policy on PersistentVolumes.
	// +kubebuilder:validation:MaxItems=5000
	// +listType=atomic
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// NamespaceCount is the number of covered namespaces.
	// +optional
	NamespaceCount int32 `json:"namespaceCount,omitempty"`
	// Tenants the policy covers, by name: the admission of BackupPolicies reads it.
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Tenants []string `json:"tenants,omitempty"`

	// StorageClassesOutside are the StorageClasses whose allowedTopologies leave the allowed
	// regions: covered claims may not use them.
	// +listType=atomic
	// +optional
	StorageClassesOutside []string `json:"storageClassesOutside,omitempty"`

	// StorageClassesInUse are the StorageClasses the covered claims use: their allowedTopologies
	// may not be changed to leave the allowed regions.
	// +listType=atomic
	// +optional
	StorageClassesInUse []string `json:"storageClassesInUse,omitempty"`

	// RegionsInUse are the regions where covered pods run and covered volumes are, with their
	// countries: the documented location of the data (FT-CLD-74).
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	// +optional
	RegionsInUse []RegionInUse `json:"regionsInUse,omitempty"`

	// InUseSummary lists the regions in use in words, such as "eu-west-3 (FR)".
	// +optional
	InUseSummary string `json:"inUseSummary,omitempty"`

	// Pinning is Mutation or Validation: how the API server keeps pods in the allowed regions.
	// +optional
	Pinning Pinning `json:"pinning,omitempty"`

	// CombinedWith names the other DataResidency objects that cover some of the same namespaces.
	// Their rules combine by intersection: a pod must satisfy every one of them.
	// +listType=atomic
	// +optional
	CombinedWith []string `json:"combinedWith,omitempty"`

	// EffectiveCountries are the countries allowed once combined with CombinedWith: the
	// intersection, where the stricter rule wins. Set only when CombinedWith is not empty.
	// +listType=atomic
	// +optional
	EffectiveCountries []string `json:"effectiveCountries,omitempty"`

	// CombinedPins are the region lists, comma-joined, that the CombinedWith policies pin pods
	// to: the pod policy tells their node affinity expressions from a pod's own.
	// +listType=atomic
	// +optional
	CombinedPins []string `json:"combinedPins,omitempty"`
}

// DataResidency keeps the data of some tenants in the countries a contract allows (FT-CLD-74,
// SIS-LOCATION, ALM-5.6.8): pods are pinned to allowed regions at admission, volumes and storage
// classes elsewhere are refused, and nodes, pods and volumes are audited.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=dr,categories=rempart
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 200",message="a DataResidency's name is at most 200 characters: it names its admission bindings"
// +kubebuilder:printcolumn:name="ALLOWED",type=string,JSONPath=`.status.allowedSummary`
// +kubebuilder:printcolumn:name="IN-USE",type=string,JSONPath=`.status.inUseSummary`
// +kubebuilder:printcolumn:name="COMPLIANT",type=string,JSONPath=`.status.conditions[?(@.type=="Compliant")].status`
// +kubebuilder:printcolumn:name="VIOLATIONS",type=integer,JSONPath=`.status.summary.nonCompliant`
// +kubebuilder:printcolumn:name="NAMESPACES",type=integer,JSONPath=`.status.namespaceCount`,priority=1
// +kubebuilder:printcolumn:name="PINNING",type=string,JSONPath=`.status.pinning`,priority=1
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`
type DataResidency struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DataResidencySpec   `json:"spec"`
	Status DataResidencyStatus `json:"status,omitempty"`
}

// DataResidencyList is a list of DataResidency.
// +kubebuilder:object:root=true
type DataResidencyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DataResidency `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DataResidency{}, &DataResidencyList{})
}
