package dataresidency

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/controls"
	"github.com/rempart-io/rempart/internal/requirements"
)

// Control IDs of DataResidency.
const (
	controlNodes          rempartv1.ControlID = "residency.nodes"
	controlPods           rempartv1.ControlID = "residency.pods"
	controlVolumes        rempartv1.ControlID = "residency.volumes"
	controlStorageClasses rempartv1.ControlID = "residency.storage-classes"
	controlBackups        rempartv1.ControlID = "residency.backup-locations"
)

var knownControls = []rempartv1.ControlID{controlNodes, controlPods, controlVolumes, controlStorageClasses, controlBackups}

// observed is what the reconciler read for one DataResidency.
type observed struct {
	policy *rempartv1.DataResidency
	allow  allowSet
	nodes  map[string]*corev1.Node
	// pods are the covered pods bound to a node and not finished.
	pods []*corev1.Pod
	// claims are the covered PersistentVolumeClaims, volumes the PersistentVolumes by name.
	claims         []*corev1.PersistentVolumeClaim
	volumes        map[string]*corev1.PersistentVolume
	storageClasses map[string]*storagev1.StorageClass
	// backupPolicies are the BackupPolicies of the covered tenants and namespaces.
	backupPolicies []*rempartv1.BackupPolicy
}

func ref(apiVersion, kind, namespace, name string) rempartv1.ObjectReference {
	return rempartv1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name}
}

// usableNodes are the nodes covered pods may be placed on: in Enforce mode those labelled with an
// allowed region (the only ones admission lets them select) and those they run on; in Audit mode
// every node, since nothing pins them.
func (o observed) usableNodes() []*corev1.Node {
	running := map[string]bool{}
	for _, p := range o.pods {
		running[p.Spec.NodeName] = true
	}
	allowedCodes := map[string]bool{}
	for _, r := range o.allow.regions {
		allowedCodes[r] = true
	}
	var out []*corev1.Node
	for _, n := range o.nodes {
		if o.policy.Spec.Enforcement == rempartv1.EnforcementAudit || running[n.Name] || allowedCodes[n.Labels[o.allow.regionLabel]] {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// volumeRegions reads where a volume is: its region label, or the region values of its node
// affinity. Empty when it says nothing.
func volumeRegions(pv *corev1.PersistentVolume, label string) []string {
	seen := map[string]bool{}
	if v := pv.Labels[label]; v != "" {
		seen[v] = true
	}
	if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
		for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
			for _, e := range t.MatchExpressions {
				if e.Key == label && e.Operator == corev1.NodeSelectorOpIn {
					for _, v := range e.Values {
						seen[v] = true
					}
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// classOutside lists the regions of a class's allowedTopologies that are not allowed.
func (a allowSet) classOutside(sc *storagev1.StorageClass) []string {
	var out []string
	for _, t := range sc.AllowedTopologies {
		for _, e := range t.MatchLabelExpressions {
			if e.Key != a.regionLabel {
				continue
			}
			for _, v := range e.Values {
				if !a.codeLocation(v).allowed(a) {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// evaluation is the result of the controls and the inventory of regions in use.
type evaluation struct {
	results    []rempartv1.ControlResult
	exceptions controls.ExceptionSet
	inUse      []rempartv1.RegionInUse
	// misplaced are the covered pods on a node outside the allowed regions.
	misplaced []*corev1.Pod
}

func evaluate(o observed, now time.Time) evaluation {
	exceptions, exceptionsResult := controls.NewExceptionSet(now, o.policy.Spec.Exceptions, knownControls)
	ev := evaluation{exceptions: exceptions}
	inUse := map[string]*rempartv1.RegionInUse{}
	use := func(l location) *rempartv1.RegionInUse {
		key := l.code
		if key == "" {
			key = "(none)"
		}
		r, ok := inUse[key]
		if !ok {
			r = &rempartv1.RegionInUse{Region: key, Allowed: l.allowed(o.allow)}
			if l.resolution.Known {
				r.Country, r.Provider = l.resolution.Region.Country, string(l.resolution.Region.Provider)
			}
			inUse[key] = r
		}
		return r
	}

	// Nodes.
	var badNodes []rempartv1.ObjectReference
	var nodeWords []string
	for _, n := range o.usableNodes() {
		if l := o.allow.nodeLocation(n); !l.allowed(o.allow) {
			badNodes = append(badNodes, ref("v1", "Node", "", n.Name))
			nodeWords = append(nodeWords, fmt.Sprintf("%s (%s)", n.Name, l.describe()))
		}
	}
	nodes := controls.Judge(controls.Control{
		ID: controlNodes, Requirements: []requirements.ID{requirements.FTCLD74, requirements.SISLocation},
		PassReason: "NodesInAllowedRegions", PassMessage: "Every node the covered pods may use is labelled with a known region in the allowed countries (FT-CLD-74).",
		FailReason: "NodesOutsideAllowedRegions",
		FailMessage: "Nodes the covered pods may use are not labelled with a known region in the allowed countries (FT-CLD-74): correct their " + o.allow.regionLabel +
			" label, declare the region in spec.regions, or keep the tenants off them.",
	}, badNodes, exceptions)
	if nodes.State == rempartv1.ControlNonCompliant {
		nodes.Message = fmt.Sprintf("%d nodes the covered pods may use are not in a known region of the allowed countries: %s. Correct their %s label, declare the region in spec.regions, or keep the tenants off them (FT-CLD-74).",
			len(badNodes), strings.Join(firstN(nodeWords, 10), ", "), o.allow.regionLabel)
	}

	// Pods.
	byNode := map[string][]string{}
	var badPods []rempartv1.ObjectReference
	for _, p := range o.pods {
		n, exists := o.nodes[p.Spec.NodeName]
		l := location{code: "(unknown node)"}
		if exists {
			l = o.allow.nodeLocation(n)
		}
		use(l).Pods++
		if !l.allowed(o.allow) {
			badPods = append(badPods, ref("v1", "Pod", p.Namespace, p.Name))
			byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p.Namespace+"/"+p.Name)
			ev.misplaced = append(ev.misplaced, p)
		}
	}
	pods := controls.Judge(controls.Control{
		ID: controlPods, Requirements: []requirements.ID{requirements.FTCLD74, requirements.SISLocation, requirements.ALM568},
		PassReason: "PodsInAllowedRegions", PassMessage: fmt.Sprintf("Every running covered pod (%d) is on a node in the allowed countries (FT-CLD-74).", len(o.pods)),
		FailReason:  "PodsOutsideAllowedRegions",
		FailMessage: "Covered pods run outside the allowed countries (FT-CLD-74).",
	}, badPods, exceptions)
	if pods.State == rempartv1.ControlNonCompliant {
		var parts []string
		for _, node := range sortedKeys(byNode) {
			where := "unknown node"
			if n, ok := o.nodes[node]; ok {
				where = o.allow.nodeLocation(n).describe()
			}
			parts = append(parts, fmt.Sprintf("node %s (%s): %s", node, where, strings.Join(firstN(byNode[node], 5), ", ")))
		}
		pods.Message = fmt.Sprintf("%d covered pods run outside the allowed countries (FT-CLD-74): %s. Move them: delete them so their controller recreates them in an allowed region, or set spec.evictNonCompliant.",
			len(badPods), strings.Join(firstN(parts, 5), "; "))
	}

	// Volumes.
	var badVolumes []rempartv1.ObjectReference
	for _, c := range o.claims {
		if c.Spec.VolumeName == "" {
			continue
		}
		pv, ok := o.volumes[c.Spec.VolumeName]
		if !ok {
			continue
		}
		codes := volumeRegions(pv, o.allow.regionLabel)
		if len(codes) == 0 {
			use(location{code: "(not located)"}).Volumes++
			badVolumes = append(badVolumes, ref("v1", "PersistentVolume", c.Namespace, pv.Name))
			continue
		}
		ok = true
		for _, code := range codes {
			l := o.allow.codeLocation(code)
			use(l).Volumes++
			ok = ok && l.allowed(o.allow)
		}
		if !ok {
			// The claim's namespace is kept so a namespaced exception can cover the volume.
			badVolumes = append(badVolumes, ref("v1", "PersistentVolume", c.Namespace, pv.Name))
		}
	}
	volumes := controls.Judge(controls.Control{
		ID: controlVolumes, Requirements: []requirements.ID{requirements.FTCLD74, requirements.SISLocation},
		PassReason: "VolumesInAllowedRegions", PassMessage: "Every bound volume of the covered claims lies in an allowed region (FT-CLD-74).",
		FailReason: "VolumesOutsideAllowedRegions",
		FailMessage: "Volumes of covered claims lie outside the allowed regions, or say nowhere where they are (no " + o.allow.regionLabel +
			" in their node affinity or labels) (FT-CLD-74): migrate the data to a volume in an allowed region.",
	}, badVolumes, exceptions)

	// Storage classes the covered claims use.
	var badClasses []rempartv1.ObjectReference
	for _, name := range usedClasses(o.claims) {
		if sc, ok := o.storageClasses[name]; ok && len(o.allow.classOutside(sc)) > 0 {
			badClasses = append(badClasses, ref("storage.k8s.io/v1", "StorageClass", "", name))
		}
	}
	classes := controls.Judge(controls.Control{
		ID: controlStorageClasses, Requirements: []requirements.ID{requirements.FTCLD74},
		PassReason: "StorageClassesInAllowedRegions", PassMessage: "No StorageClass the covered claims use can provision outside the allowed regions (FT-CLD-74).",
		FailReason:  "StorageClassesOutsideAllowedRegions",
		FailMessage: "StorageClasses the covered claims use list regions outside the allowed ones in their allowedTopologies (FT-CLD-74): limit them to allowed regions.",
	}, badClasses, exceptions)

	backups := backupLocationsResult(o, exceptions)

	ev.results = []rempartv1.ControlResult{exceptionsResult, nodes, pods, volumes, classes, backups}
	controls.SortResults(ev.results)
	for _, r := range inUse {
		ev.inUse = append(ev.inUse, *r)
	}
	sort.Slice(ev.inUse, func(i, j int) bool { return ev.inUse[i].Region < ev.inUse[j].Region })
	return ev
}

// usedClasses are the StorageClasses the claims name, sorted.
func usedClasses(claims []*corev1.PersistentVolumeClaim) []string {
	seen := map[string]bool{}
	for _, c := range claims {
		if c.Spec.StorageClassName != nil && *c.Spec.StorageClassName != "" {
			seen[*c.Spec.StorageClassName] = true
		}
	}
	return sortedKeys(seen)
}

// inUseSummary renders the regions in use for the IN-USE column, such as "eu-west-3 (FR)".
func inUseSummary(inUse []rempartv1.RegionInUse) string {
	parts := make([]string, 0, len(inUse))
	for _, r := range inUse {
		country := r.Country
		if country == "" {
			country = "unknown"
		}
		word := fmt.Sprintf("%s (%s)", r.Region, country)
		if !r.Allowed {
			word += " NOT ALLOWED"
		}
		parts = append(parts, word)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func firstN(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(items[:n:n], fmt.Sprintf("and %d more", len(items)-n))
}

// backupLocationsResult checks where the covered tenants' BackupPolicies send their backups, as
// each policy read its Velero location: in an allowed country, or the control fails. A location
// whose country is not known yet is not assumed allowed.
func backupLocationsResult(o observed, exceptions controls.ExceptionSet) rempartv1.ControlResult {
	c := controls.Control{
		// Where backups go is a question of location (FT-CLD-74, SIS-LOCATION); whether there are
		// backups at all is the BackupPolicy's controls' to answer, not this one's.
		ID: controlBackups, Requirements: []requirements.ID{requirements.FTCLD74, requirements.SISLocation},
		PassReason:  "BackupLocationsAllowed",
		PassMessage: fmt.Sprintf("Every BackupPolicy of the covered tenants (%d) sends its backups to a location in an allowed country (FT-CLD-74).", len(o.backupPolicies)),
		FailReason:  "BackupLocationsOutside",
		FailMessage: "BackupPolicies of the covered tenants send backups to locations outside the allowed countries, or whose country is not known (FT-CLD-74): use a Velero location in an allowed region.",
	}
	if len(o.backupPolicies) == 0 {
		c.PassReason = "NoBackupPolicy"
		c.PassMessage = "No BackupPolicy covers these tenants, so Rempart sends none of their data to a backup location (FT-CLD-74). Backups taken by other means are not seen here."
	}
	var offenders []rempartv1.ObjectReference
	for _, bp := range o.backupPolicies {
		loc := bp.Status.Location
		if loc == nil || loc.Country == "" || !o.allow.countries[loc.Country] {
			offenders = append(offenders, ref(rempartv1.GroupVersion.String(), "BackupPolicy", "", bp.Name))
		}
	}
	return controls.Judge(c, offenders, exceptions)
}
