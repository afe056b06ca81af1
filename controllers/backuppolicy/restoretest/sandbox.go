package restoretest

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// A restore test must not make the world outside the sandbox act: no load balancer provisioned,
// no node port opened, no certificate ordered from an ACME server, no DNS record written, no
// disk created, no route published, no job run. Velero restores into the sandbox only the kinds
// below (the allow-list README.md documents); every other kind of the backup is verified
// from the backup's contents only.
var restoredInSandbox = map[string]bool{
	"configmaps": true, "secrets": true, "serviceaccounts": true, "services": true,
	"deployments.apps": true, "statefulsets.apps": true, "daemonsets.apps": true,
	"jobs.batch": true, "cronjobs.batch": true,
	"roles.rbac.authorization.k8s.io":   true,
	"poddisruptionbudgets.policy":       true,
	"networkpolicies.networking.k8s.io": true,
}

// volumeResources are restored only when the policy backs up volume data: a claim restored on its
// own would ask the cluster's provisioner for a new disk.
var volumeResources = []string{"persistentvolumeclaims", "persistentvolumes"}

// restoredResources is the includedResources of a test's Restore, sorted.
func restoredResources(includeVolumes bool) []string {
	out := make([]string, 0, len(restoredInSandbox)+len(volumeResources))
	for r := range restoredInSandbox {
		out = append(out, r)
	}
	if includeVolumes {
		out = append(out, volumeResources...)
	}
	sort.Strings(out)
	return out
}

// restoresInSandbox says whether a resource of the backup comes back in the sandbox.
func restoresInSandbox(resource string, includeVolumes bool) bool {
	if restoredInSandbox[resource] {
		return true
	}
	for _, r := range volumeResources {
		if includeVolumes && r == resource {
			return true
		}
	}
	return false
}

// Where a restored kind was verified.
const (
	verifiedInSandbox = "Sandbox"
	verifiedInBackup  = "Backup"
)

// SandboxModifiersName is the ConfigMap of Velero resource modifiers every restore test uses, in
// Velero's namespace.
const SandboxModifiersName = "rempart-restore-sandbox"

// sandboxModifiers are the Velero resource modifiers that make what is restored inert: Services
// become ClusterIP (a LoadBalancer, NodePort or ExternalName Service comes back as a headless
// Service without ports or selector, proving its name; its spec is checked in the backup), no
// external IPs; workloads scale to zero and jobs are suspended, so nothing asks for a pod; and
// finalizers are removed, so deleting the sandbox never waits on a controller that will not come.
func sandboxModifiers() string {
	inert := `{"spec":{"externalIPs":null,"loadBalancerIP":null,"loadBalancerSourceRanges":null,"loadBalancerClass":null,"externalTrafficPolicy":null,"healthCheckNodePort":null,"allocateLoadBalancerNodePorts":null}}`
	headless := `{"spec":{"type":"ClusterIP","clusterIP":"None","clusterIPs":null,"ports":null,"selector":null,"externalName":null}}`
	rule := func(groupResource, patch string, matchType string) string {
		s := fmt.Sprintf("- conditions:\n    groupResource: %q\n", groupResource)
		if matchType != "" {
			s += fmt.Sprintf("    matches:\n    - path: /spec/type\n      value: %s\n", matchType)
		}
		return s + fmt.Sprintf("  mergePatches:\n  - patchData: '%s'\n", patch)
	}
	var b strings.Builder
	b.WriteString("version: v1\nresourceModifierRules:\n")
	b.WriteString(rule("**", `{"metadata":{"finalizers":null}}`, ""))
	b.WriteString(rule("services", inert, ""))
	for _, t := range []string{"LoadBalancer", "NodePort", "ExternalName"} {
		b.WriteString(rule("services", headless, t))
	}
	b.WriteString(rule("deployments.apps", `{"spec":{"replicas":0}}`, ""))
	b.WriteString(rule("statefulsets.apps", `{"spec":{"replicas":0}}`, ""))
	b.WriteString(rule("daemonsets.apps", `{"spec":{"template":{"spec":{"nodeSelector":{"rempart.io/restore-sandbox":"no-node"}}}}}`, ""))
	b.WriteString(rule("jobs.batch", `{"spec":{"suspend":true}}`, ""))
	b.WriteString(rule("cronjobs.batch", `{"spec":{"suspend":true}}`, ""))
	return b.String()
}

// testRunID names one restore test after what asked for it: the schedule's slot, or the request
// token of spec.restoreTestNow. A test interrupted before its status was written (a restart, a
// lost write) gets the same name again, and its Restore is adopted instead of a second one being
// started.
func testRunID(requested string, slot time.Time) string {
	if requested != "" {
		h := fnv.New32a()
		_, _ = h.Write([]byte(requested))
		return fmt.Sprintf("r%08x", h.Sum32())
	}
	return slot.UTC().Format("0601021504")
}

// sandboxName is a fresh namespace per tested namespace: prefix, a short hash of the policy, the
// run and the namespace's index.
func sandboxName(bp *rempartv1.BackupPolicy, run string, i int) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(bp.Name))
	return fmt.Sprintf("%s-%04x-%s-%d", bp.Spec.RestoreTest.Prefix(), h.Sum32()&0xffff, run, i)
}

// strayedSandboxes are the policy's sandbox namespaces no record names (left by a test whose
// status was never written, or by an older version): the sweep deletes them. keep holds the
// sandboxes of the recorded test, unless they are cleaned up.
func strayedSandboxes(existing []string, rec *rempartv1.RestoreTestRecord) []string {
	keep := map[string]bool{}
	if rec != nil && !rec.CleanedUp {
		for _, pair := range rec.Sandboxes {
			_, name, _ := strings.Cut(pair, "=")
			keep[name] = true
		}
	}
	var out []string
	for _, name := range existing {
		if !keep[name] {
			out = append(out, "="+name)
		}
	}
	sort.Strings(out)
	return out
}
