package compliance

import "github.com/rempart-io/rempart/internal/requirements"

// The controls of a DataResidency.
var (
	ResidencyNodes = Control{
		ID: "residency.nodes", Kind: KindDataResidency, Requirements: []req{requirements.FTCLD74, requirements.SISLocation},
		Checks:     "Every node running a covered pod is in a region the catalog places in an allowed country.",
		PassReason: "NodesInAllowedRegions", PassMessage: "Every node the covered pods may use is labelled with a known region in the allowed countries (FT-CLD-74).",
		FailReason: "NodesOutsideAllowedRegions", FailMessage: "Nodes the covered pods may use are not labelled with a known region in the allowed countries (FT-CLD-74): correct their region label, declare the region in spec.regions, or keep the tenants off them.",
	}
	ResidencyPods = Control{
		ID: "residency.pods", Kind: KindDataResidency, Requirements: []req{requirements.FTCLD74, requirements.SISLocation, requirements.ALM568},
		Checks:     "Every covered pod runs on a node in an allowed country.",
		PassReason: "PodsInAllowedRegions", PassMessage: "Every running covered pod is on a node in the allowed countries (FT-CLD-74).",
		FailReason: "PodsOutsideAllowedRegions", FailMessage: "Covered pods run outside the allowed countries (FT-CLD-74).",
	}
	ResidencyVolumes = Control{
		ID: "residency.volumes", Kind: KindDataResidency, Requirements: []req{requirements.FTCLD74, requirements.SISLocation},
		Checks:     "Every volume bound to a covered claim lies in an allowed country; a volume that says nowhere where it is counts as outside.",
		PassReason: "VolumesInAllowedRegions", PassMessage: "Every bound volume of the covered claims lies in an allowed region (FT-CLD-74).",
		FailReason: "VolumesOutsideAllowedRegions", FailMessage: "Volumes of covered claims lie outside the allowed regions, or say nowhere where they are (FT-CLD-74): migrate the data to a volume in an allowed region.",
	}
	ResidencyStorageClasses = Control{
		ID: "residency.storage-classes", Kind: KindDataResidency, Requirements: []req{requirements.FTCLD74},
		Checks:     "No StorageClass the covered claims use can provision outside the allowed regions.",
		PassReason: "StorageClassesInAllowedRegions", PassMessage: "No StorageClass the covered claims use can provision outside the allowed regions (FT-CLD-74).",
		FailReason: "StorageClassesOutsideAllowedRegions", FailMessage: "StorageClasses the covered claims use list regions outside the allowed ones in their allowedTopologies (FT-CLD-74): limit them to allowed regions.",
	}
	// Where backups go is a question of location (FT-CLD-74, SIS-LOCATION); whether there are
	// backups at all is the BackupPolicy's controls' to answer, not this one's.
	ResidencyBackupLocations = Control{
		ID: "residency.backup-locations", Kind: KindDataResidency, Requirements: []req{requirements.FTCLD74, requirements.SISLocation},
		Checks:     "Every BackupPolicy of the covered tenants sends its backups to a location in an allowed country.",
		PassReason: "BackupLocationsAllowed", PassMessage: "Every BackupPolicy of the covered tenants sends its backups to a location in an allowed country (FT-CLD-74).",
		FailReason: "BackupLocationsOutside", FailMessage: "BackupPolicies of the covered tenants send backups to locations outside the allowed countries, or whose country is not known (FT-CLD-74): use a Velero location in an allowed region.",
	}
)
