package regions

// Provider is a cloud provider, or Custom for regions a cluster declares itself.
type Provider string

// The providers of the built-in catalog.
const (
	AWS      Provider = "aws"
	GCP      Provider = "gcp"
	Azure    Provider = "azure"
	OVHcloud Provider = "ovhcloud"
	Scaleway Provider = "scaleway"
	Outscale Provider = "outscale"
	Custom   Provider = "custom"
)

// Region is one location where nodes, volumes or backups may be.
type Region struct {
	Provider Provider
	// Code is the region as the node label carries it, such as "eu-west-3".
	Code string
	// Country is the ISO 3166-1 alpha-2 code of the country the region is in.
	Country string
	// SecNumCloud marks offers qualified by ANSSI, from press sources: information, not a check.
	SecNumCloud bool
}

// builtin is the catalog. Sources:
//   - AWS: botocore data/partitions.json (region descriptions); eusc-de-east-1 is the AWS
//     European Sovereign Cloud.
//   - Google Cloud: cloud.google.com/compute/docs/regions-zones.
//   - Azure: learn.microsoft.com, "Azure regions list".
//   - OVHcloud: provider documentation through third parties (secondary).
//   - Scaleway: the Scaleway SDK's region list; zones are <region>-1, -2, -3.
//   - Outscale: docs.outscale.com, "Regions, Endpoints and Availability Zones".
var builtin = []Region{
	// AWS, in the EU.
	{AWS, "eu-central-1", "DE", false}, {AWS, "eu-west-1", "IE", false}, {AWS, "eu-west-3", "FR", false},
	{AWS, "eu-south-1", "IT", false}, {AWS, "eu-south-2", "ES", false}, {AWS, "eu-north-1", "SE", false},
	{AWS, "eusc-de-east-1", "DE", false},
	// AWS, outside the EU.
	{AWS, "eu-west-2", "GB", false}, {AWS, "eu-central-2", "CH", false}, {AWS, "il-central-1", "IL", false},
	{AWS, "us-east-1", "US", false}, {AWS, "us-east-2", "US", false}, {AWS, "us-west-1", "US", false}, {AWS, "us-west-2", "US", false},
	{AWS, "ca-central-1", "CA", false}, {AWS, "sa-east-1", "BR", false}, {AWS, "ap-northeast-1", "JP", false},
	{AWS, "ap-northeast-2", "KR", false}, {AWS, "ap-southeast-1", "SG", false}, {AWS, "ap-southeast-2", "AU", false},
	{AWS, "ap-south-1", "IN", false}, {AWS, "me-central-1", "AE", false}, {AWS, "af-south-1", "ZA", false},

	// Google Cloud, in the EU.
	{GCP, "europe-central2", "PL", false}, {GCP, "europe-north1", "FI", false}, {GCP, "europe-north2", "SE", false},
	{GCP, "europe-southwest1", "ES", false}, {GCP, "europe-west1", "BE", false}, {GCP, "europe-west3", "DE", false},
	{GCP, "europe-west4", "NL", false}, {GCP, "europe-west8", "IT", false}, {GCP, "europe-west9", "FR", false},
	{GCP, "europe-west10", "DE", false}, {GCP, "europe-west12", "IT", false},
	// Google Cloud, outside the EU.
	{GCP, "europe-west2", "GB", false}, {GCP, "europe-west6", "CH", false}, {GCP, "me-west1", "IL", false},
	{GCP, "us-central1", "US", false}, {GCP, "us-east1", "US", false}, {GCP, "us-east4", "US", false}, {GCP, "us-west1", "US", false},
	{GCP, "northamerica-northeast1", "CA", false}, {GCP, "asia-northeast1", "JP", false}, {GCP, "southamerica-east1", "BR", false},

	// Azure, in the EU/EEA.
	{Azure, "francecentral", "FR", false}, {Azure, "francesouth", "FR", false}, {Azure, "germanywestcentral", "DE", false},
	{Azure, "germanynorth", "DE", false}, {Azure, "westeurope", "NL", false}, {Azure, "northeurope", "IE", false},
	{Azure, "swedencentral", "SE", false}, {Azure, "italynorth", "IT", false}, {Azure, "polandcentral", "PL", false},
	{Azure, "spaincentral", "ES", false}, {Azure, "austriaeast", "AT", false}, {Azure, "belgiumcentral", "BE", false},
	{Azure, "norwayeast", "NO", false}, {Azure, "norwaywest", "NO", false},
	// Azure, outside the EU/EEA.
	{Azure, "switzerlandnorth", "CH", false}, {Azure, "switzerlandwest", "CH", false}, {Azure, "uksouth", "GB", false},
	{Azure, "ukwest", "GB", false}, {Azure, "eastus", "US", false}, {Azure, "eastus2", "US", false}, {Azure, "westus", "US", false},
	{Azure, "canadacentral", "CA", false}, {Azure, "japaneast", "JP", false},

	// OVHcloud (secondary sources).
	{OVHcloud, "GRA", "FR", false}, {OVHcloud, "SBG", "FR", false}, {OVHcloud, "RBX", "FR", false},
	{OVHcloud, "EU-WEST-PAR", "FR", false}, {OVHcloud, "WAW1", "PL", false}, {OVHcloud, "DE1", "DE", false},
	{OVHcloud, "UK1", "GB", false}, {OVHcloud, "BHS", "CA", false},

	// Scaleway.
	{Scaleway, "fr-par", "FR", false}, {Scaleway, "nl-ams", "NL", false}, {Scaleway, "pl-waw", "PL", false},

	// Outscale. eu-west-2 is in France here, in Great Britain at AWS: the provider decides.
	{Outscale, "eu-west-2", "FR", false}, {Outscale, "cloudgouv-eu-west-1", "FR", true},
	{Outscale, "us-east-2", "US", false}, {Outscale, "us-west-1", "US", false}, {Outscale, "ap-northeast-1", "JP", false},
}
