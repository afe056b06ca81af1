package compliancereport

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/evidencelog"
	"github.com/rempart-io/rempart/internal/requirements"
)

// policyResults are the controls of one policy covering the tenant.
type policyResults struct {
	Kind      string
	Name      string
	Controls  []rempartv1.ControlResult
	Evaluated *metav1.Time
	// BehindSpec: the policy's status describes an older generation of its spec.
	BehindSpec bool
	// Object and Spec are the policy as read, for the evidence log.
	Object metav1.Object
	Spec   any
}

// sources is everything a report is built from.
type sources struct {
	Tenant     string
	Namespaces []string
	Policies   []policyResults
	Inventory  rempartv1.ReportInventory
}

// evidenceSources are the policies read, as the evidence log records them (the log's own
// control has no policy behind it).
func (s sources) evidenceSources() []evidencelog.Source {
	out := make([]evidencelog.Source, 0, len(s.Policies))
	for _, p := range s.Policies {
		if p.Object != nil {
			out = append(out, evidencelog.Source{Kind: p.Kind, Object: p.Object, Spec: p.Spec})
		}
	}
	return out
}

// severity orders control states from best to worst: a requirement takes its worst control's.
var severity = map[rempartv1.ControlState]int{
	rempartv1.ControlCompliant: 0, rempartv1.ControlWaived: 1, rempartv1.ControlUnknown: 2, rempartv1.ControlNonCompliant: 3,
}

// build turns the policies' results into the report's status. Requirements no control serves
// are NotCovered; the score counts only Compliant and Waived requirements, over the whole
// catalog.
func build(s sources, now metav1.Time) rempartv1.ComplianceReportStatus {
	byReq := map[string][]rempartv1.ReportedControl{}
	var policies []string
	for _, p := range s.Policies {
		policies = append(policies, p.Kind+"/"+p.Name)
		for _, c := range p.Controls {
			rc := rempartv1.ReportedControl{Kind: p.Kind, Policy: p.Name, Control: c.ID, State: c.State, Reason: c.Reason,
				Message: c.Message, Evidence: c.Evidence, Waiver: c.Waiver, Evaluated: p.Evaluated, BehindSpec: p.BehindSpec}
			for _, id := range c.Requirements {
				byReq[id] = append(byReq[id], rc)
			}
		}
	}
	sort.Strings(policies)
	status := rempartv1.ComplianceReportStatus{Policies: policies, Inventory: s.Inventory, LastEvaluated: &now}
	status.Inventory.Namespaces = s.Namespaces
	sum := &status.Summary
	for _, r := range requirements.All() {
		res := rempartv1.RequirementResult{ID: string(r.ID), Rule: r.Rule, Source: fmt.Sprintf("%s %s", r.Source, r.Section), EnforcedBy: r.EnforcedBy}
		controls := byReq[string(r.ID)]
		sort.SliceStable(controls, func(i, j int) bool {
			a, b := controls[i], controls[j]
			if severity[a.State] != severity[b.State] {
				return severity[a.State] > severity[b.State]
			}
			return a.Kind+a.Policy+string(a.Control) < b.Kind+b.Policy+string(b.Control)
		})
		res.Controls = controls
		res.State = rempartv1.RequirementNotCovered
		for i, c := range controls {
			if i == 0 || severity[c.State] > severity[rempartv1.ControlState(res.State)] {
				res.State = string(c.State)
			}
		}
		sum.Requirements++
		switch res.State {
		case string(rempartv1.ControlCompliant):
			sum.Compliant++
		case string(rempartv1.ControlNonCompliant):
			sum.NonCompliant++
		case string(rempartv1.ControlWaived):
			sum.Waived++
		case string(rempartv1.ControlUnknown):
			sum.Unknown++
		default:
			sum.NotCovered++
		}
		status.Requirements = append(status.Requirements, res)
	}
	if sum.Requirements > 0 {
		sum.Score = (sum.Compliant + sum.Waived) * 100 / sum.Requirements
	}
	sum.ScoreText = fmt.Sprintf("%d%%", sum.Score)
	for _, b := range requirements.OutsideCluster() {
		status.OutsideCluster = append(status.OutsideCluster, rempartv1.OutsideCluster{IDs: b.IDs, Rule: b.Rule})
	}
	return status
}

// covers says whether a policy's lists name the tenant or one of its namespaces.
func covers(tenant string, namespaces map[string]bool, tenants []string, policyNamespaces []string) bool {
	for _, t := range tenants {
		if t == tenant {
			return true
		}
	}
	for _, n := range policyNamespaces {
		if namespaces[n] {
			return true
		}
	}
	return false
}

func names[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

// subjectText is an AdminAccess subject in a line.
func subjectText(kind, name string) string {
	if kind == "" || strings.EqualFold(kind, "User") {
		return name
	}
	return kind + ":" + name
}
