package evidencelog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/evidence"
)

// recordedReport is the report as an entry holds it: without the time of its evaluation and
// without the evidence log's own description, which change without the tenant's compliance
// changing.
func recordedReport(status rempartv1.ComplianceReportStatus) rempartv1.ComplianceReportStatus {
	status.LastEvaluated = nil
	status.Evidence = nil
	return status
}

// contentDigest identifies what an entry records of the tenant's state: the report (as encoded,
// byte for byte what the entry holds) and the generations of the policies it was built from. Two
// reports with the same digest need no entry between them but the daily snapshot.
func contentDigest(report []byte, generations []string) string {
	h := sha256.New()
	h.Write(report)
	keys := slices.Clone(generations)
	sort.Strings(keys)
	h.Write([]byte(strings.Join(keys, ",")))
	return hex.EncodeToString(h.Sum(nil))
}

// Source is one policy a report was built from, as read: its spec is encoded only when an entry
// records it, not at every look.
type Source struct {
	Kind   string
	Object metav1.Object
	Spec   any
}

func generation(kind, name string, gen int64) string { return fmt.Sprintf("%s/%s@%d", kind, name, gen) }

// sourceGenerations and policyGenerations name the policies' generations for contentDigest,
// from what was read and from what an entry holds.
func sourceGenerations(sources []Source) []string {
	out := make([]string, len(sources))
	for i, s := range sources {
		out[i] = generation(s.Kind, s.Object.GetName(), s.Object.GetGeneration())
	}
	return out
}

func policyGenerations(policies []evidence.Policy) []string {
	out := make([]string, len(policies))
	for i, p := range policies {
		out[i] = generation(p.Kind, p.Name, p.Generation)
	}
	return out
}

// encode is the sources as an entry records them: kind, name, version and spec.
func encode(sources []Source) ([]evidence.Policy, error) {
	out := make([]evidence.Policy, 0, len(sources))
	for _, s := range sources {
		spec, err := json.Marshal(s.Spec)
		if err != nil {
			return nil, fmt.Errorf("the spec of %s %s: %w", s.Kind, s.Object.GetName(), err)
		}
		out = append(out, evidence.Policy{Kind: s.Kind, Name: s.Object.GetName(), ResourceVersion: s.Object.GetResourceVersion(),
			Generation: s.Object.GetGeneration(), Spec: spec})
	}
	return out, nil
}

// grantState is what the log remembers of an AdminAccess to name its changes.
type grantState struct {
	Phase, Subject, Role, ApprovedBy string
}

// accessAndWaivers is what an entry's events are computed from: the tenant's AdminAccess grants
// by name, its waived controls by kind/policy/control, and the exceptions its policies declare
// (waiving something now or not), with their approver.
type accessAndWaivers struct {
	Grants     map[string]grantState
	Waivers    map[string]rempartv1.Waiver
	Exceptions map[string]rempartv1.Exception
}

// declaredExceptions reads spec.exceptions from the policies' specs.
func declaredExceptions(policies []evidence.Policy) map[string]rempartv1.Exception {
	out := map[string]rempartv1.Exception{}
	for _, p := range policies {
		var spec struct {
			Exceptions []rempartv1.Exception `json:"exceptions"`
		}
		if json.Unmarshal(p.Spec, &spec) != nil {
			continue
		}
		for _, e := range spec.Exceptions {
			key := fmt.Sprintf("%s %s/%s", e.Control, p.Kind, p.Name)
			if len(e.Namespaces) > 0 {
				ns := make([]string, len(e.Namespaces))
				for i, n := range e.Namespaces {
					ns[i] = string(n)
				}
				key += " in " + strings.Join(ns, ",")
			}
			out[key] = e
		}
	}
	return out
}

func accessAndWaiversOf(status rempartv1.ComplianceReportStatus, policies []evidence.Policy) accessAndWaivers {
	s := accessAndWaivers{Grants: map[string]grantState{}, Waivers: map[string]rempartv1.Waiver{}, Exceptions: declaredExceptions(policies)}
	for _, g := range status.Inventory.AdminGrants {
		s.Grants[g.Name] = grantState{Phase: g.Phase, Subject: g.Subject, Role: g.Role, ApprovedBy: g.ApprovedBy}
	}
	for _, r := range status.Requirements {
		for _, c := range r.Controls {
			if c.Waiver != nil {
				s.Waivers[fmt.Sprintf("%s %s/%s", c.Control, c.Kind, c.Policy)] = *c.Waiver
			}
		}
	}
	return s
}

// events names the administrator accesses granted, revoked or ended and the exceptions added or
// ended between two states, in a stable order (FT-CLD-28: access right changes; PAS-11:
// derogations recorded).
func events(before, after accessAndWaivers) []string {
	var out []string
	for name, g := range after.Grants {
		old, known := before.Grants[name]
		if known && old.Phase == g.Phase {
			continue
		}
		from := "requested"
		if known {
			from = old.Phase
		}
		out = append(out, fmt.Sprintf("AdminAccess %s: %s -> %s (subject %s, role %s, approved by %s)", name, from, orNone(g.Phase), g.Subject, g.Role, orNone(g.ApprovedBy)))
	}
	for key, w := range after.Waivers {
		if old, known := before.Waivers[key]; known && old.ApprovedBy == w.ApprovedBy && old.Expires.Equal(&w.Expires) {
			continue
		}
		out = append(out, fmt.Sprintf("Exception on %s in force, approved by %s until %s: %s", key, w.ApprovedBy, w.Expires.UTC().Format("2006-01-02T15:04:05Z"), w.Reason))
	}
	for key, w := range before.Waivers {
		if _, still := after.Waivers[key]; !still {
			out = append(out, fmt.Sprintf("Exception on %s (approved by %s) no longer applies", key, w.ApprovedBy))
		}
	}
	for key, e := range after.Exceptions {
		if old, known := before.Exceptions[key]; known && old.ApprovedBy == e.ApprovedBy && old.Expires.Equal(&e.Expires) && old.Reason == e.Reason {
			continue
		}
		out = append(out, fmt.Sprintf("Exception declared on %s, approved by %s until %s: %s", key, e.ApprovedBy, e.Expires.UTC().Format("2006-01-02T15:04:05Z"), e.Reason))
	}
	for key, e := range before.Exceptions {
		if _, still := after.Exceptions[key]; !still {
			out = append(out, fmt.Sprintf("Exception on %s (approved by %s) withdrawn", key, e.ApprovedBy))
		}
	}
	sort.Strings(out)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
