package main

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func TestStaleInputsAreNamedOncePerPolicy(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(-ago)} }
	report := rempartv1.ComplianceReport{}
	report.Status.Requirements = []rempartv1.RequirementResult{
		{ID: "FT-CLD-20", Controls: []rempartv1.ReportedControl{
			{Kind: "TenantIsolation", Policy: "shop", Control: "network.default-deny", Evaluated: at(time.Minute)},
			{Kind: "DataResidency", Policy: "eu", Control: "residency.pods", Evaluated: at(time.Hour)},
		}},
		{ID: "FT-CLD-74", Controls: []rempartv1.ReportedControl{
			{Kind: "DataResidency", Policy: "eu", Control: "residency.nodes", Evaluated: at(time.Hour)},
			{Kind: "BackupPolicy", Policy: "daily", Control: "backup.rpo", Evaluated: at(time.Minute), BehindSpec: true},
			{Kind: "AdminAccess", Policy: "alice", Control: "access.window"},
		}},
	}
	got := staleInputs([]rempartv1.ComplianceReport{report}, now, 15*time.Minute)
	if len(got) != 3 {
		t.Fatalf("warnings %q, want three: the stale residency once, the backup behind its spec, the grant never evaluated", got)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"DataResidency eu: last evaluated 1h0m0s ago", "BackupPolicy daily: its status describes an older version", "AdminAccess alice: never evaluated"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", got, want)
		}
	}
	if strings.Contains(joined, "TenantIsolation shop") {
		t.Errorf("a fresh policy is warned about: %q", got)
	}
}
