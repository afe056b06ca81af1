package compliancereport

import (
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// writtenReports remembers, per tenant, the PolicyReports last written and when: PolicyReports are
// read without a cache (the operator keeps no informer on a kind other tools write by the
// thousand), so a report that has not changed is neither read nor written again until the
// record is older than the resync period, when drift is repaired.
type writtenReports struct {
	mu      sync.Mutex
	byOwner map[string]reportRecord
	// found holds, until a tenant's first write, the reports that existed when this process
	// started, by tenant and namespace: read once for all tenants rather than once per tenant.
	found  map[string]map[string]*unstructured.Unstructured
	seeded bool
}

// needsSeed says whether the reports in place have not been read yet.
func (w *writtenReports) needsSeed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.seeded
}

// seed records the reports in place, labelled with their tenant.
func (w *writtenReports) seed(items []unstructured.Unstructured, tenantLabel string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.found = map[string]map[string]*unstructured.Unstructured{}
	for i := range items {
		tenant := items[i].GetLabels()[tenantLabel]
		if w.found[tenant] == nil {
			w.found[tenant] = map[string]*unstructured.Unstructured{}
		}
		w.found[tenant][items[i].GetNamespace()] = &items[i]
	}
	w.seeded = true
}

// inPlace returns, for a tenant not written yet by this process, the reports that existed at
// start by namespace; nil once the tenant was written.
func (w *writtenReports) inPlace(owner string) map[string]*unstructured.Unstructured {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.found[owner]
}

type reportRecord struct {
	digest     [sha256.Size]byte
	at         time.Time
	namespaces []string
}

// reportState is what the record says of a tenant's reports against the desired ones.
type reportState int

const (
	// reportsUnknown: nothing written by this process yet, or long ago: read, compare, and look
	// for stale reports.
	reportsUnknown reportState = iota
	// reportsChanged: written recently, in another version: write, without reading first;
	// look for stale reports only if a namespace left.
	reportsChanged
	// reportsCurrent: written recently, as desired.
	reportsCurrent
)

func digestOf(reports []*unstructured.Unstructured) ([sha256.Size]byte, bool) {
	sorted := slices.Clone(reports)
	slices.SortFunc(sorted, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetNamespace(), b.GetNamespace()) })
	objs := make([]map[string]any, 0, len(sorted))
	for _, r := range sorted {
		objs = append(objs, r.Object)
	}
	return digestJSON(objs)
}

// digestJSON is the SHA-256 of v's JSON.
func digestJSON(v any) ([sha256.Size]byte, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(b), true
}

// current says whether the tenant's reports were written exactly so less than maxAge ago.
func (w *writtenReports) current(owner string, reports []*unstructured.Unstructured, now time.Time, maxAge time.Duration) bool {
	state, _ := w.state(owner, reports, now, maxAge)
	return state == reportsCurrent
}

// state compares the desired reports with the record, and says whether a namespace that had a
// report has none in reports (its report is stale).
func (w *writtenReports) state(owner string, reports []*unstructured.Unstructured, now time.Time, maxAge time.Duration) (reportState, bool) {
	d, ok := digestOf(reports)
	if !ok {
		return reportsUnknown, true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	rec, found := w.byOwner[owner]
	if !found || now.Sub(rec.at) >= maxAge {
		return reportsUnknown, true
	}
	return compareRecord(rec, d, reports)
}

func compareRecord(rec reportRecord, d [sha256.Size]byte, reports []*unstructured.Unstructured) (reportState, bool) {
	if rec.digest == d {
		return reportsCurrent, false
	}
	left := false
	for _, ns := range rec.namespaces {
		if !slices.ContainsFunc(reports, func(r *unstructured.Unstructured) bool { return r.GetNamespace() == ns }) {
			left = true
		}
	}
	return reportsChanged, left
}

// record notes that the tenant's reports were written (or found up to date) at now.
func (w *writtenReports) record(owner string, reports []*unstructured.Unstructured, now time.Time) {
	d, ok := digestOf(reports)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byOwner == nil {
		w.byOwner = map[string]reportRecord{}
	}
	namespaces := make([]string, 0, len(reports))
	for _, r := range reports {
		namespaces = append(namespaces, r.GetNamespace())
	}
	w.byOwner[owner] = reportRecord{digest: d, at: now, namespaces: namespaces}
	delete(w.found, owner)
}

// forget drops a tenant's record, when it is gone.
func (w *writtenReports) forget(owner string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.byOwner, owner)
}

// staleNamespaces are the namespaces that hold a report of the tenant (as last written by this
// process, or found at start) and are not in keep.
func (w *writtenReports) staleNamespaces(owner string, inPlace map[string]*unstructured.Unstructured, keep map[string]bool) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[string]bool{}
	for ns := range inPlace {
		seen[ns] = true
	}
	if rec, ok := w.byOwner[owner]; ok {
		for _, ns := range rec.namespaces {
			seen[ns] = true
		}
	}
	var out []string
	for ns := range seen {
		if !keep[ns] {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// writtenStatuses remembers, per report, the status last written and the resourceVersions
// around that write: the cache keeps reports without their status (registry.go), so whether a
// write is needed is decided from this record.
type writtenStatuses struct {
	mu       sync.Mutex
	byReport map[string]statusRecord
}

type statusRecord struct {
	digest [sha256.Size]byte
	// before is the version the write replaced, after the one it made: the cache shows one or
	// the other until another writer comes.
	before, after string
}

func statusDigest(s rempartv1.ComplianceReportStatus) ([sha256.Size]byte, bool) {
	s.LastEvaluated = nil // a report is rewritten when its content changes
	return digestJSON(s)
}

// unchanged says whether status is what this process last wrote for the report, and nobody
// wrote the report since (its cached version is the one before or after that write).
func (w *writtenStatuses) unchanged(report, resourceVersion string, status rempartv1.ComplianceReportStatus) bool {
	d, ok := statusDigest(status)
	if !ok {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	rec, found := w.byReport[report]
	return found && rec.digest == d && (resourceVersion == rec.after || resourceVersion == rec.before)
}

func (w *writtenStatuses) record(report, before, after string, status rempartv1.ComplianceReportStatus) {
	d, ok := statusDigest(status)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byReport == nil {
		w.byReport = map[string]statusRecord{}
	}
	w.byReport[report] = statusRecord{digest: d, before: before, after: after}
}

func (w *writtenStatuses) forget(report string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.byReport, report)
}
