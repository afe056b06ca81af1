// Package controlcatalog says, for every control a Rempart policy reports, what it checks and
// which requirements it serves: the words `kubectl rempart explain` prints. The integration tests
// compare it with the controls the controllers really report.
package controlcatalog

import (
	"sort"

	"github.com/rempart-io/rempart/internal/requirements"
)

// Control describes one control.
type Control struct {
	ID           string
	Kind         string
	Checks       string
	Requirements []requirements.ID
}

type r = requirements.ID

var catalog = []Control{
	{"policy.exceptions", "every policy", "Every exception of the policy expires within a year and names a control the policy has; others are not honoured.", []r{requirements.PAS11}},
	{"namespaces.owned", "TenantIsolation", "Every namespace the tenant declares exists, carries its tenant label and is claimed by no other tenant.", []r{requirements.FTCLD20}},
	{"network.default-deny", "TenantIsolation", "Every tenant namespace has the default-deny NetworkPolicy for ingress and egress.", []r{requirements.FTCLD20, requirements.FTCLD36, requirements.ALM591}},
	{"network.tenant-boundary", "TenantIsolation", "No NetworkPolicy in the tenant's namespaces lets traffic in from, or out to, another tenant beyond the declared flow matrix.", []r{requirements.FTCLD20, requirements.FTCLD36, requirements.ALM591}},
	{"network.environment-separation", "TenantIsolation", "No NetworkPolicy lets traffic cross between production and non-production environments.", []r{requirements.FTCLD25}},
	{"pod-security.enforced", "TenantIsolation", "Every tenant namespace enforces the declared Pod Security level, at a pinned version.", []r{requirements.FTCLD20, requirements.FLX36}},
	{"storage.encrypted", "TenantIsolation", "Every claim of the tenant uses a StorageClass whose CSI parameters encrypt the volume.", []r{requirements.FTCLD21, requirements.ALM5101}},
	{"admin-interfaces.private", "TenantIsolation", "No Service or Ingress exposes an administration interface outside the allowed source ranges, read as the ingress controller reads them, and no NodePort does; a Gateway API route to an administration Service counts as exposing it.", []r{requirements.FTCLD19, requirements.FTCLD36}},
	{"exposure.declared", "TenantIsolation", "Every Service that publishes the tenant (LoadBalancer, NodePort, externalIPs, ExternalName) is declared in spec.exposure or restricted to the allowed source ranges; no ExternalName points inside the cluster.", []r{requirements.FTCLD19, requirements.FTCLD20}},
	{"nodes.dedicated", "TenantIsolation", "No pod of another tenant runs on the tenant's dedicated nodes; pods of namespaces that belong to no tenant are the platform's.", []r{requirements.FLX36, requirements.FTCLD25}},
	{"quota.in-place", "TenantIsolation", "Every tenant namespace has its ResourceQuota and LimitRange.", []r{requirements.FTCLD20, requirements.FLX36}},
	{"access.privileged-subjects", "TenantIsolation", "Every subject holding write or admin rights on the tenant's namespaces got them through an AdminAccess or is a declared platform account.", []r{requirements.FTCLD16, requirements.FTCLD17, requirements.FTCLD18}},
	{"residency.nodes", "DataResidency", "Every node running a covered pod is in a region the catalog places in an allowed country.", []r{requirements.FTCLD74, requirements.SISLocation}},
	{"residency.pods", "DataResidency", "Every covered pod runs on a node in an allowed country.", []r{requirements.FTCLD74, requirements.SISLocation, requirements.ALM568}},
	{"residency.volumes", "DataResidency", "Every volume bound to a covered claim lies in an allowed country; a volume that says nowhere where it is counts as outside.", []r{requirements.FTCLD74, requirements.SISLocation}},
	{"residency.storage-classes", "DataResidency", "No StorageClass the covered claims use can provision outside the allowed regions.", []r{requirements.FTCLD74}},
	{"residency.backup-locations", "DataResidency", "Every BackupPolicy of the covered tenants sends its backups to a location in an allowed country.", []r{requirements.FTCLD74, requirements.SISLocation}},
	{"backup.schedule", "BackupPolicy", "The policy's Velero Schedule exists, is enabled and valid.", []r{requirements.FTCLD26, requirements.SISBackup}},
	{"backup.location", "BackupPolicy", "The Velero location is available, in the declared region, off-site from the tenant's workloads and inside its DataResidency.", []r{requirements.FTCLD26, requirements.FTCLD74}},
	{"backup.encryption", "BackupPolicy", "The location's configuration shows encryption at rest; none is claimed that cannot be seen.", []r{requirements.SISBackup}},
	{"backup.versions", "BackupPolicy", "The promised number of good backups is kept: no more (pruning works), no fewer because backups failed.", []r{requirements.SISBackup, requirements.ALM573}},
	{"backup.rpo", "BackupPolicy", "The newest good backup is younger than the RPO.", []r{requirements.FTCLD26, requirements.SISBackup}},
	{"backup.last-run", "BackupPolicy", "The newest finished backup completed without error.", []r{requirements.SISBackup}},
	{"backup.restore-test", "BackupPolicy", "The last restore test brought back every verified object within the RTO, and is not older than two test periods.", []r{requirements.ALM573, requirements.SISBackup}},
	{"access.window", "AdminAccess", "The grant's RoleBindings exist only inside its validity window, with the approved role.", []r{requirements.FTCLD14, requirements.FTCLD16, requirements.PAS122, requirements.ALM54}},
	{"access.nominative", "AdminAccess", "The grant names a person, or a group with a justification.", []r{requirements.FTCLD18}},
	{"access.review", "AdminAccess", "A standing grant has been reviewed within the year.", []r{requirements.FTCLD17}},
	{"access.scope", "AdminAccess", "The grant covers only the approved tenants and namespaces; a break-glass grant says so.", []r{requirements.FTCLD16, requirements.PAS122}},
	{"tls.ingress-hosts", "CertificatePolicy", "Every host of the covered Ingresses and Gateway listeners is served over TLS with a certificate cert-manager issues.", []r{requirements.FTCLD38, requirements.SISTLS}},
	{"tls.certificates-conformant", "CertificatePolicy", "Every covered Certificate has an allowed issuer, an ANSSI-grade key, and a bounded lifetime and renewal.", []r{requirements.FTCLD40, requirements.ALM55}},
	{"tls.certificates-ready", "CertificatePolicy", "Every covered Certificate is issued and Ready.", []r{requirements.FTCLD38}},
	{"tls.expiry", "CertificatePolicy", "No covered certificate expires within the warning period without a renewal scheduled first.", []r{requirements.FTCLD40, requirements.ALM55}},
	{"tls.key-rotation", "CertificatePolicy", "Every covered Certificate gets a new private key at each renewal.", []r{requirements.FTCLD40}},
}

var byID = func() map[string]Control {
	m := map[string]Control{}
	for _, c := range catalog {
		m[c.ID] = c
	}
	return m
}()

// Lookup returns the control with the ID.
func Lookup(id string) (Control, bool) {
	c, ok := byID[id]
	return c, ok
}

// IDs lists every control ID, sorted.
func IDs() []string {
	out := make([]string, 0, len(catalog))
	for _, c := range catalog {
		out = append(out, c.ID)
	}
	sort.Strings(out)
	return out
}
