package compliance

import "github.com/rempart-io/rempart/internal/requirements"

type req = requirements.ID

// The controls of a TenantIsolation.
var (
	NamespacesOwned = Control{
		ID: "namespaces.owned", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD20},
		Checks:     "Every namespace the tenant declares exists, carries its tenant label and is claimed by no other tenant.",
		PassReason: "NamespacesOwned", PassMessage: "Every namespace of the tenant exists and carries its tenant and environment labels (FT-CLD-20).",
		FailReason: "NamespacesNotOwned", FailMessage: "Some namespaces of the tenant are missing, unlabelled or held by another tenant (FT-CLD-20); see status.namespaces.",
	}
	NetworkDefaultDeny = Control{
		ID: "network.default-deny", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD20, requirements.FTCLD36, requirements.ALM591},
		Checks:     "Every tenant namespace has the default-deny NetworkPolicy for ingress and egress.",
		PassReason: "DefaultDenyInPlace", PassMessage: "Every namespace of the tenant denies ingress and egress by default (FT-CLD-20, FT-CLD-36).",
		FailReason: "DefaultDenyMissing", FailMessage: "Some namespaces have no NetworkPolicy denying all ingress and egress by default: set spec.network.defaultDeny (FT-CLD-20, FT-CLD-36).",
	}
	NetworkTenantBoundary = Control{
		ID: "network.tenant-boundary", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD20, requirements.FTCLD36, requirements.ALM591},
		Checks:     "No NetworkPolicy in the tenant's namespaces lets traffic in from, or out to, another tenant beyond the declared flow matrix.",
		PassReason: "NoCrossTenantFlow", PassMessage: "No NetworkPolicy in the tenant's namespaces allows traffic to or from another tenant (FT-CLD-20).",
		FailReason: "CrossTenantFlow", FailMessage: "NetworkPolicies allow traffic to or from another tenant's namespaces: remove or narrow them (FT-CLD-20).",
	}
	NetworkEnvironmentSeparation = Control{
		ID: "network.environment-separation", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD25},
		Checks:     "No NetworkPolicy lets traffic cross between production and non-production environments.",
		PassReason: "EnvironmentsSeparated", PassMessage: "No NetworkPolicy allows traffic between production and non-production namespaces (FT-CLD-25).",
		FailReason: "CrossEnvironmentFlow", FailMessage: "NetworkPolicies allow traffic between production and non-production namespaces: remove them (FT-CLD-25).",
	}
	PodSecurityEnforced = Control{
		ID: "pod-security.enforced", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD20, requirements.FLX36},
		Checks:     "Every tenant namespace enforces the declared Pod Security level, at a pinned version.",
		PassReason: "PodSecurityEnforced", PassMessage: "Every namespace enforces the tenant's Pod Security level with a pinned version (FLX-3.6).",
		FailReason: "PodSecurityNotEnforced", FailMessage: "Some namespaces do not enforce the tenant's Pod Security level (FLX-3.6).",
	}
	StorageEncrypted = Control{
		ID: "storage.encrypted", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD21, requirements.ALM5101},
		Checks:     "Every claim of the tenant uses a StorageClass whose CSI parameters encrypt the volume.",
		PassReason: "VolumesEncrypted", PassMessage: "Every PersistentVolumeClaim of the tenant uses an allowed StorageClass encrypted at rest (FT-CLD-21).",
		FailReason: "UnencryptedVolumes", FailMessage: "PersistentVolumeClaims use StorageClasses that are not encrypted at rest or not allowed, or pods mount volumes that skip them (in-tree or inline CSI): move their data to an encrypted class (FT-CLD-21); existing claims and pods are reported, never deleted.",
	}
	AdminInterfacesPrivate = Control{
		ID: "admin-interfaces.private", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD19, requirements.FTCLD36},
		Checks:     "No Service or Ingress exposes an administration interface outside the allowed source ranges, read as the ingress controller reads them, and no NodePort does; a Gateway API route to an administration Service counts as exposing it.",
		PassReason: "AdminInterfacesPrivate", PassMessage: "No administration interface of the tenant is reachable from outside the allowed source ranges (FT-CLD-19).",
		FailReason: "PublicAdminInterface", FailMessage: "Administration interfaces are reachable from public networks: restrict their source ranges to spec.adminInterfaces.allowedSourceRanges, and never use NodePort (FT-CLD-19).",
	}
	ExposureDeclared = Control{
		ID: "exposure.declared", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD19, requirements.FTCLD20},
		Checks:     "Every Service that publishes the tenant (LoadBalancer, NodePort, externalIPs, ExternalName) is declared in spec.exposure or restricted to the allowed source ranges; no ExternalName points inside the cluster.",
		PassReason: "ExposureDeclared", PassMessage: "Every Service that publishes the tenant (LoadBalancer, NodePort, externalIPs, ExternalName) is declared in spec.exposure or restricted to the allowed source ranges (FT-CLD-19, FT-CLD-20).",
		FailReason: "UndeclaredExposure", FailMessage: "Services publish the tenant outside what spec.exposure declares: declare them, restrict them, or make them ClusterIP (FT-CLD-19, FT-CLD-20).",
	}
	NodesDedicated = Control{
		ID: "nodes.dedicated", Kind: KindTenantIsolation, Requirements: []req{requirements.FLX36, requirements.FTCLD25},
		Checks:     "No pod of another tenant runs on the tenant's dedicated nodes; pods of namespaces that belong to no tenant are the platform's.",
		PassReason: "NodesDedicated", PassMessage: "No pod of another tenant runs on the tenant's dedicated nodes (FLX-3.6, FT-CLD-25).",
		FailReason: "DedicatedNodesShared", FailMessage: "Pods of other tenants run on the tenant's dedicated nodes: move them off (they were admitted before the nodes were dedicated, or by an administrator) and taint the nodes (FLX-3.6, FT-CLD-25).",
	}
	QuotaInPlace = Control{
		ID: "quota.in-place", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD20, requirements.FLX36},
		Checks:     "Every tenant namespace has its ResourceQuota and LimitRange.",
		PassReason: "QuotaInPlace", PassMessage: "Every namespace carries the tenant's ResourceQuota and LimitRange (FT-CLD-20).",
		FailReason: "QuotaMissing", FailMessage: "Some namespaces lack the tenant's ResourceQuota or LimitRange (FT-CLD-20).",
	}
	PrivilegedSubjects = Control{
		ID: "access.privileged-subjects", Kind: KindTenantIsolation, Requirements: []req{requirements.FTCLD16, requirements.FTCLD17, requirements.FTCLD18},
		Checks:     "Every subject holding write or admin rights on the tenant's namespaces got them through an AdminAccess or is a declared platform account.",
		PassReason: "PrivilegesManaged", PassMessage: "Every person or account that may write in the tenant's namespaces holds the right through an AdminAccess or is a trusted platform account (FT-CLD-16); see status.privilegedSubjects.",
		FailReason: "UnmanagedPrivileges", FailMessage: "Bindings give write or admin rights on the tenant's namespaces outside any AdminAccess (FT-CLD-16): replace them with AdminAccess grants or remove them.",
	}
)
