package compliance

import (
	"sort"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/requirements"
)

// Control is one check, declared once here: its stable ID, the kind that reports it, what it
// checks (the words `kubectl rempart explain` prints), the requirements it serves, and the words
// of its results. A controller may replace the words with ones built from what it saw (Passing,
// Failing); the ID and requirements always come from here.
type Control struct {
	ID rempartv1.ControlID
	// Kind is the policy kind that reports the control, "every policy", or the evidence log.
	Kind string
	// Checks says what the control checks, in one sentence.
	Checks       string
	Requirements []requirements.ID
	// PassReason and PassMessage are used when no object breaks the control.
	PassReason  string
	PassMessage string
	// FailReason and FailMessage are used when some object breaks it. FailMessage says what is
	// wrong and how to fix it (the remediation); the offending objects are appended.
	FailReason  string
	FailMessage string
}

// Passing returns the control with the words of a pass built for one evaluation; an empty reason
// keeps the declared one.
func (c Control) Passing(reason, message string) Control {
	if reason != "" {
		c.PassReason = reason
	}
	c.PassMessage = message
	return c
}

// Failing returns the control with the words of a failure built for one evaluation; an empty
// reason keeps the declared one.
func (c Control) Failing(reason, message string) Control {
	if reason != "" {
		c.FailReason = reason
	}
	c.FailMessage = message
	return c
}

// The policy kinds, as Control.Kind names them.
const (
	KindEveryPolicy       = "every policy"
	KindTenantIsolation   = "TenantIsolation"
	KindDataResidency     = "DataResidency"
	KindBackupPolicy      = "BackupPolicy"
	KindAdminAccess       = "AdminAccess"
	KindCertificatePolicy = "CertificatePolicy"
)

// catalog lists every control of every kind; a control declared in this package but missing
// here fails its test.
var catalog = []*Control{
	&PolicyExceptions,
	&NamespacesOwned, &NetworkDefaultDeny, &NetworkTenantBoundary, &NetworkEnvironmentSeparation,
	&PodSecurityEnforced, &StorageEncrypted, &AdminInterfacesPrivate, &ExposureDeclared,
	&NodesDedicated, &QuotaInPlace, &PrivilegedSubjects,
	&ResidencyNodes, &ResidencyPods, &ResidencyVolumes, &ResidencyStorageClasses, &ResidencyBackupLocations,
	&BackupSchedule, &BackupLocation, &BackupEncryption, &BackupVersions, &BackupRPO, &BackupLastRun, &BackupRestoreTest,
	&AccessWindow, &AccessNominative, &AccessReview, &AccessScope,
	&TLSIngressHosts, &TLSCertificatesConformant, &TLSCertificatesReady, &TLSExpiry, &TLSKeyRotation,
	&EvidenceLogKept,
}

var byID = func() map[string]Control {
	m := map[string]Control{}
	for _, c := range catalog {
		m[string(c.ID)] = *c
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
		out = append(out, string(c.ID))
	}
	sort.Strings(out)
	return out
}

// ForKind lists the IDs of the controls a kind reports: the ones an exception of that kind may
// name.
func ForKind(kind string) []rempartv1.ControlID {
	var out []rempartv1.ControlID
	for _, c := range catalog {
		if c.Kind == kind {
			out = append(out, c.ID)
		}
	}
	return out
}

// Coverage compares one evaluation's results with the catalog of kind: the kind's controls the
// results lack, and the results the kind does not declare (policy.exceptions counts for every
// kind). Tests use it to keep each kind's evaluate and the catalog in step.
func Coverage(kind string, results []rempartv1.ControlResult) (missing, undeclared []rempartv1.ControlID) {
	reported := map[rempartv1.ControlID]bool{}
	for _, r := range results {
		reported[r.ID] = true
		if c, ok := byID[string(r.ID)]; !ok || (c.Kind != kind && c.Kind != KindEveryPolicy) {
			undeclared = append(undeclared, r.ID)
		}
	}
	for _, id := range ForKind(kind) {
		if !reported[id] {
			missing = append(missing, id)
		}
	}
	return missing, undeclared
}
