package dataresidency

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
)

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
	exceptions compliance.ExceptionSet
	inUse      []rempartv1.RegionInUse
	// misplaced are the covered pods on a node outside the allowed regions.
	misplaced []*corev1.Pod
}

// evaluate judges every control on what was observed, at now, and takes the inventory of the
// regions in use.
func evaluate(o observed, now time.Time) evaluation {
	j, exceptionsResult := compliance.ExceptionsOf(compliance.KindDataResidency, now, o.policy.Spec.Exceptions)
	// Read once: the pod and volume controls and the inventory all walk them.
	misplaced, volumes := misplacedPods(o), o.boundVolumes()
	return evaluation{
		exceptions: j,
		results: compliance.Results(
			exceptionsResult,
			nodesResult(o, j),
			podsResult(o, misplaced, j),
			volumesResult(o, volumes, j),
			storageClassesResult(o, j),
			backupLocationsResult(o, j),
		),
		inUse:     regionsInUse(o, volumes),
		misplaced: misplaced,
	}
}

// podLocation is where a covered pod runs, as its node's region says.
func (o observed) podLocation(p *corev1.Pod) location {
	if n, exists := o.nodes[p.Spec.NodeName]; exists {
		return o.allow.nodeLocation(n)
	}
	return location{code: "(unknown node)"}
}

// misplacedPods are the covered pods on a node outside the allowed regions.
func misplacedPods(o observed) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range o.pods {
		if !o.podLocation(p).allowed(o.allow) {
			out = append(out, p)
		}
	}
	return out
}

// boundVolumes are the volumes of the covered claims, with the claim's namespace (so a
// namespaced exception can cover the volume) and the regions it says it is in.
func (o observed) boundVolumes() []boundVolume {
	var out []boundVolume
	for _, c := range o.claims {
		if c.Spec.VolumeName == "" {
			continue
		}
		if pv, ok := o.volumes[c.Spec.VolumeName]; ok {
			out = append(out, boundVolume{namespace: c.Namespace, pv: pv, codes: volumeRegions(pv, o.allow.regionLabel)})
		}
	}
	return out
}

type boundVolume struct {
	namespace string
	pv        *corev1.PersistentVolume
	codes     []string
}

// regionsInUse counts the covered pods and volumes per region, for status.regionsInUse.
func regionsInUse(o observed, volumes []boundVolume) []rempartv1.RegionInUse {
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
	for _, p := range o.pods {
		use(o.podLocation(p)).Pods++
	}
	for _, v := range volumes {
		if len(v.codes) == 0 {
			use(location{code: "(not located)"}).Volumes++
		}
		for _, code := range v.codes {
			use(o.allow.codeLocation(code)).Volumes++
		}
	}
	out := make([]rempartv1.RegionInUse, 0, len(inUse))
	for _, r := range inUse {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Region < out[j].Region })
	return out
}

func nodesResult(o observed, j compliance.ExceptionSet) rempartv1.ControlResult {
	var badNodes []rempartv1.ObjectReference
	var nodeWords []string
	for _, n := range o.usableNodes() {
		if l := o.allow.nodeLocation(n); !l.allowed(o.allow) {
			badNodes = append(badNodes, ref("v1", "Node", "", n.Name))
			nodeWords = append(nodeWords, fmt.Sprintf("%s (%s)", n.Name, l.describe()))
		}
	}
	return j.Detailed(compliance.ResidencyNodes, badNodes, func() string {
		return fmt.Sprintf("%d nodes the covered pods may use are not in a known region of the allowed countries: %s. Correct their %s label, declare the region in spec.regions, or keep the tenants off them (FT-CLD-74).",
			len(badNodes), strings.Join(firstN(nodeWords, 10), ", "), o.allow.regionLabel)
	})
}

func podsResult(o observed, misplaced []*corev1.Pod, j compliance.ExceptionSet) rempartv1.ControlResult {
	byNode := map[string][]string{}
	var badPods []rempartv1.ObjectReference
	for _, p := range misplaced {
		badPods = append(badPods, ref("v1", "Pod", p.Namespace, p.Name))
		byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p.Namespace+"/"+p.Name)
	}
	c := compliance.ResidencyPods.Passing("", fmt.Sprintf("Every running covered pod (%d) is on a node in the allowed countries (FT-CLD-74).", len(o.pods)))
	return j.Detailed(c, badPods, func() string {
		var parts []string
		for _, node := range sortedKeys(byNode) {
			where := "unknown node"
			if n, ok := o.nodes[node]; ok {
				where = o.allow.nodeLocation(n).describe()
			}
			parts = append(parts, fmt.Sprintf("node %s (%s): %s", node, where, strings.Join(firstN(byNode[node], 5), ", ")))
		}
		return fmt.Sprintf("%d covered pods run outside the allowed countries (FT-CLD-74): %s. Move them: delete them so their controller recreates them in an allowed region, or set spec.evictNonCompliant.",
			len(badPods), strings.Join(firstN(parts, 5), "; "))
	})
}

func volumesResult(o observed, volumes []boundVolume, j compliance.ExceptionSet) rempartv1.ControlResult {
	var badVolumes []rempartv1.ObjectReference
	for _, v := range volumes {
		ok := len(v.codes) > 0
		for _, code := range v.codes {
			ok = ok && o.allow.codeLocation(code).allowed(o.allow)
		}
		if !ok {
			badVolumes = append(badVolumes, ref("v1", "PersistentVolume", v.namespace, v.pv.Name))
		}
	}
	c := compliance.ResidencyVolumes.Failing("", "Volumes of covered claims lie outside the allowed regions, or say nowhere where they are (no "+o.allow.regionLabel+
		" in their node affinity or labels) (FT-CLD-74): migrate the data to a volume in an allowed region.")
	return j.Judge(c, badVolumes)
}

func storageClassesResult(o observed, j compliance.ExceptionSet) rempartv1.ControlResult {
	var badClasses []rempartv1.ObjectReference
	for _, name := range usedClasses(o.claims) {
		if sc, ok := o.storageClasses[name]; ok && len(o.allow.classOutside(sc)) > 0 {
			badClasses = append(badClasses, ref("storage.k8s.io/v1", "StorageClass", "", name))
		}
	}
	return j.Judge(compliance.ResidencyStorageClasses, badClasses)
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
func backupLocationsResult(o observed, j compliance.ExceptionSet) rempartv1.ControlResult {
	c := compliance.ResidencyBackupLocations.Passing("", fmt.Sprintf("Every BackupPolicy of the covered tenants (%d) sends its backups to a location in an allowed country (FT-CLD-74).", len(o.backupPolicies)))
	if len(o.backupPolicies) == 0 {
		c = c.Passing("NoBackupPolicy", "No BackupPolicy covers these tenants, so Rempart sends none of their data to a backup location (FT-CLD-74). Backups taken by other means are not seen here.")
	}
	var offenders []rempartv1.ObjectReference
	for _, bp := range o.backupPolicies {
		loc := bp.Status.Location
		if loc == nil || loc.Country == "" || !o.allow.countries[loc.Country] {
			offenders = append(offenders, ref(rempartv1.GroupVersion.String(), "BackupPolicy", "", bp.Name))
		}
	}
	return j.Judge(c, offenders)
}
