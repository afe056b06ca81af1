package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

func sample() Export {
	expires := metav1.NewTime(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	evaluated := metav1.NewTime(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	r := rempartv1.ComplianceReport{ObjectMeta: metav1.ObjectMeta{Name: "acme"}, Status: rempartv1.ComplianceReportStatus{
		Requirements: []rempartv1.RequirementResult{
			{ID: "SIS-BACKUP", Rule: "Daily backups, 7 versions | encrypted", Source: "SIS x", State: "NonCompliant", Controls: []rempartv1.ReportedControl{
				{Kind: "BackupPolicy", Policy: "acme-daily", Control: "backup.rpo", State: rempartv1.ControlNonCompliant, Reason: "RPOBreached", Message: "The newest good backup is old, \"really\" (SIS-BACKUP).", Evaluated: &evaluated,
					Evidence: &rempartv1.Evidence{Total: 1, Objects: []rempartv1.ObjectReference{{Kind: "Backup", Namespace: "velero", Name: "b1"}}}},
				{Kind: "BackupPolicy", Policy: "acme-daily", Control: "backup.encryption", State: rempartv1.ControlWaived, Reason: "Waived", Message: "Waived <b>bold</b>",
					Waiver: &rempartv1.Waiver{Reason: "store migration", ApprovedBy: "rssi@acme.example", Expires: expires}},
			}},
			{ID: "FT-CLD-74", Rule: "EU only", State: rempartv1.RequirementNotCovered, EnforcedBy: "DataResidency"},
		},
		OutsideCluster: []rempartv1.OutsideCluster{{IDs: "FT-CLD-01 to FT-CLD-13", Rule: "Organisational"}},
		Evidence:       &rempartv1.EvidenceLogStatus{Entries: 42, Store: "s3://evidence/rempart", KeyID: "SHA256:abc", Retention: "8760h0m0s"},
		Summary:        rempartv1.ReportSummary{Requirements: 2, NonCompliant: 1, NotCovered: 1, ScoreText: "0%"},
		LastEvaluated:  &evaluated,
	}}
	return Export{Generated: evaluated.Time, Cluster: ClusterIdentity{Server: "https://api.example:6443", UID: "1234"}, Reports: []rempartv1.ComplianceReport{r}}
}

func TestJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, "json", sample()); err != nil {
		t.Fatal(err)
	}
	var back Export
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	want := sample()
	if back.Cluster != want.Cluster || !back.Generated.Equal(want.Generated) || len(back.Reports) != 1 ||
		back.Reports[0].Status.Requirements[0].Controls[1].Waiver.ApprovedBy != "rssi@acme.example" {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, "csv", sample()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("rows %q", rows)
	}
	if rows[1][5] != "backup.rpo" || rows[1][8] != "The newest good backup is old, \"really\" (SIS-BACKUP)." || rows[1][9] != "1" {
		t.Errorf("control row %q", rows[1])
	}
	if rows[2][10] != "rssi@acme.example" || rows[2][11] != "2027-03-01T00:00:00Z" {
		t.Errorf("waiver row %q", rows[2])
	}
	if rows[3][1] != "FT-CLD-74" || rows[3][2] != "NotCovered" {
		t.Errorf("not covered row %q", rows[3])
	}
}

func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, "html", sample()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"<!DOCTYPE html>", "Tenant acme", "SIS-BACKUP", "backup.rpo", "approved by rssi@acme.example", "2027-03-01", "NotCovered", "FT-CLD-01 to FT-CLD-13", "kube-system UID 1234", "Waived &lt;b&gt;bold&lt;/b&gt;",
		"42 signed entries in s3://evidence/rempart", "locked for 8760h0m0s", "kubectl rempart history --tenant acme"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, external := range []string{"<script", "<link", "src=\"http", "@import"} {
		if strings.Contains(page, external) {
			t.Errorf("page loads something (%s): it must open offline", external)
		}
	}
}

func TestTableAndMarkdown(t *testing.T) {
	for _, f := range []string{"table", "md", "yaml"} {
		var buf bytes.Buffer
		if err := Render(&buf, f, sample()); err != nil {
			t.Fatal(err)
		}
		if f == "table" && !strings.Contains(buf.String(), "Evidence log: 42 signed entries in s3://evidence/rempart, locked for 8760h0m0s") {
			t.Errorf("the table does not say where the evidence log is:\n%s", buf.String())
		}
		if !strings.Contains(buf.String(), "SIS-BACKUP") || !strings.Contains(buf.String(), "acme") {
			t.Errorf("%s output lacks the requirement:\n%s", f, buf.String())
		}
	}
	var md bytes.Buffer
	_ = Render(&md, "md", sample())
	if !strings.Contains(md.String(), `7 versions \| encrypted`) {
		t.Error("a pipe in a rule breaks the Markdown table")
	}
	if err := Render(&bytes.Buffer{}, "pdf", sample()); err == nil || !strings.Contains(err.Error(), "unknown output format") {
		t.Errorf("pdf: %v", err)
	}
}

// A cell a spreadsheet would run as a formula is exported as text: names and messages come from
// the cluster, where a tenant may have written them.
func TestCSVNeutralisesFormulas(t *testing.T) {
	e := sample()
	c := &e.Reports[0].Status.Requirements[0].Controls[0]
	c.Policy, c.Message, c.Reason = "=HYPERLINK(\"http://evil.example\")", "+cmd|' /C calc'!A0", "@SUM(1+1)"
	e.Reports[0].Status.Requirements[0].Controls[1].Message = "-2+3"
	var buf bytes.Buffer
	if err := Render(&buf, "csv", e); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q would run as a formula", cell)
			}
		}
	}
	if rows[1][4] != "'=HYPERLINK(\"http://evil.example\")" || rows[2][8] != "'-2+3" {
		t.Errorf("cells not kept as text: %q, %q", rows[1][4], rows[2][8])
	}
	if csvCell("2026-12-01T10:00:00Z") != "2026-12-01T10:00:00Z" || csvCell("") != "" {
		t.Error("ordinary cells changed")
	}
}

func TestUnknownClusterIdentityIsSaid(t *testing.T) {
	e := sample()
	e.Cluster.UID, e.Cluster.Note = "", "you may not read namespace kube-system"
	for _, format := range []string{"table", "md", "html"} {
		var buf bytes.Buffer
		if err := Render(&buf, format, e); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "kube-system UID unknown: you may not read namespace kube-system") {
			t.Errorf("%s does not say why the cluster is not identified", format)
		}
	}
}
