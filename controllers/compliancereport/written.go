package compliancereport

import (
	"crypto/sha256"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// writtenReports remembers, per tenant, the PolicyReports last written and when: PolicyReports are
// read without a cache (the operator keeps no informer on a kind other tools write by the
// thousand), so a report that has not changed is neither read nor written again until the
// record is older than the resync period, when drift is repaired.
type writtenReports struct {
	mu      sync.Mutex
	byOwner map[string]reportRecord
}

type reportRecord struct {
	digest [sha256.Size]byte
	at     time.Time
}

func digestOf(reports []*unstructured.Unstructured) ([sha256.Size]byte, bool) {
	var objs []map[string]any
	for _, r := range reports {
		objs = append(objs, r.Object)
	}
	slices.SortFunc(objs, func(a, b map[string]any) int {
		return compareNamespace(a, b)
	})
	b, err := json.Marshal(objs)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(b), true
}

func compareNamespace(a, b map[string]any) int {
	na, _, _ := unstructured.NestedString(a, "metadata", "namespace")
	nb, _, _ := unstructured.NestedString(b, "metadata", "namespace")
	switch {
	case na < nb:
		return -1
	case na > nb:
		return 1
	}
	return 0
}

// current says whether the tenant's reports were written exactly so less than maxAge ago.
func (w *writtenReports) current(owner string, reports []*unstructured.Unstructured, now time.Time, maxAge time.Duration) bool {
	d, ok := digestOf(reports)
	if !ok {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	rec, found := w.byOwner[owner]
	return found && rec.digest == d && now.Sub(rec.at) < maxAge
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
	w.byOwner[owner] = reportRecord{digest: d, at: now}
}

// forget drops a tenant's record, when it is gone.
func (w *writtenReports) forget(owner string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.byOwner, owner)
}
