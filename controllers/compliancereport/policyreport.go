package compliancereport

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

// PolicyReportGVK is the wgpolicyk8s.io PolicyReport, the format Kyverno and Policy Reporter
// long used.
var PolicyReportGVK = schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "PolicyReport"}

// OpenReportGVK is the openreports.io Report, the successor Kyverno and Kubewarden now write and
// Policy Reporter reads; same results and summary.
var OpenReportGVK = schema.GroupVersionKind{Group: "openreports.io", Version: "v1alpha1", Kind: "Report"}

// ReportKind is the kind of report to write for mode (auto, on or off), given which of the two
// the API server serves: OpenReports first, the wgpolicyk8s.io PolicyReport where only it is.
// write is false for off, and for auto when neither is served; on without either is an error.
func ReportKind(mode string, openReports, policyReports bool) (gvk schema.GroupVersionKind, write bool, err error) {
	switch {
	case mode == "off":
		return gvk, false, nil
	case openReports:
		return OpenReportGVK, true, nil
	case policyReports:
		return PolicyReportGVK, true, nil
	case mode == "on":
		return gvk, false, fmt.Errorf("--policy-reports=on, but the API server serves neither %s nor %s: install the OpenReports or the PolicyReport CRDs", OpenReportGVK, PolicyReportGVK)
	}
	return gvk, false, nil
}

// policyReportName is the PolicyReport Rempart writes in each tenant namespace.
const policyReportName = "rempart"

// resultOf maps a control state to a PolicyReport result: a waived control is skipped (its
// waiver is in the properties), one Rempart could not evaluate is an error.
var resultOf = map[rempartv1.ControlState]string{
	rempartv1.ControlCompliant: "pass", rempartv1.ControlNonCompliant: "fail", rempartv1.ControlWaived: "skip", rempartv1.ControlUnknown: "error",
}

// policyReports are the tenant's controls as one PolicyReport per namespace, owned by the
// ComplianceReport so they go with it.
func policyReports(report *rempartv1.ComplianceReport, src sources, gvk schema.GroupVersionKind) []*unstructured.Unstructured {
	var results []any
	summary := map[string]int64{"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0}
	for _, p := range src.Policies {
		for _, c := range p.Controls {
			result := resultOf[c.State]
			summary[result]++
			props := map[string]any{"reason": c.Reason, "requirements": strings.Join(c.Requirements, ",")}
			if c.Waiver != nil {
				props["waiverApprovedBy"] = c.Waiver.ApprovedBy
				props["waiverExpires"] = c.Waiver.Expires.UTC().Format("2006-01-02T15:04:05Z")
			}
			r := map[string]any{
				"source": "rempart", "policy": p.Kind + "/" + p.Name, "rule": string(c.ID), "result": result,
				"message": c.Message, "category": strings.Join(c.Requirements, ", "), "scored": true, "properties": props,
			}
			if result == "fail" {
				r["severity"] = "high"
			}
			if p.Evaluated != nil {
				r["timestamp"] = map[string]any{"seconds": p.Evaluated.Unix(), "nanos": int64(0)}
			}
			results = append(results, r)
		}
	}
	sort.SliceStable(results, func(i, j int) bool {
		a, b := results[i].(map[string]any), results[j].(map[string]any)
		return a["policy"].(string)+a["rule"].(string) < b["policy"].(string)+b["rule"].(string)
	})
	sum := map[string]any{}
	for k, v := range summary {
		sum[k] = v
	}
	var out []*unstructured.Unstructured
	for _, ns := range src.Namespaces {
		u := &unstructured.Unstructured{Object: map[string]any{"results": results, "summary": sum}}
		if gvk == OpenReportGVK {
			u.Object["source"] = "rempart"
		}
		u.SetGroupVersionKind(gvk)
		u.SetNamespace(ns)
		u.SetName(policyReportName)
		u.SetLabels(apply.ManagedLabels(rempartv1.LabelTenant, report.Name))
		t := true
		u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: rempartv1.GroupVersion.String(), Kind: "ComplianceReport", Name: report.Name, UID: report.UID, Controller: &t}})
		out = append(out, u)
	}
	return out
}
