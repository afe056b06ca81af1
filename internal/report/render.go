package report

import (
	"bytes"
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// Formats are the output formats, as -o takes them.
var Formats = []string{"table", "json", "yaml", "csv", "md", "html"}

// Export is what an exported report carries besides the reports: when and from where.
type Export struct {
	// Generated is when the export was made.
	Generated time.Time `json:"generated"`
	// Cluster identifies the cluster: its API server and the UID of its kube-system namespace.
	Cluster ClusterIdentity `json:"cluster"`
	// Reports, one per tenant.
	Reports []rempartv1.ComplianceReport `json:"reports"`
}

// ClusterIdentity names the cluster a report comes from.
type ClusterIdentity struct {
	Server string `json:"server"`
	UID    string `json:"uid"`
	// Note says why UID is empty, so a blank identity is never mistaken for a cluster's.
	Note string `json:"note,omitempty"`
}

// Words describe the identity in a sentence's parenthesis: the kube-system UID, or why it is
// not known.
func (c ClusterIdentity) Words() string {
	if c.UID == "" {
		note := c.Note
		if note == "" {
			note = "not read"
		}
		return "kube-system UID unknown: " + note
	}
	return "kube-system UID " + c.UID
}

// Render writes the export in the format.
func Render(w io.Writer, format string, e Export) error {
	sort.Slice(e.Reports, func(i, j int) bool { return e.Reports[i].Name < e.Reports[j].Name })
	switch format {
	case "table":
		return renderTable(w, e)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	case "yaml":
		b, err := yaml.Marshal(e)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "csv":
		return renderCSV(w, e)
	case "md":
		return renderMarkdown(w, e)
	case "html":
		return renderHTML(w, e)
	}
	return fmt.Errorf("unknown output format %q: use one of %s", format, strings.Join(Formats, ", "))
}

func renderTable(w io.Writer, e Export) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, r := range e.Reports {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		s := r.Status.Summary
		fmt.Fprintf(tw, "TENANT %s\tscore %s\tnon-compliant %d\twaived %d\tunknown %d\tnot covered %d\n", r.Name, s.ScoreText, s.NonCompliant, s.Waived, s.Unknown, s.NotCovered)
		fmt.Fprintln(tw, "REQUIREMENT\tSTATE\tCONTROLS\tFIRST FINDING")
		for _, req := range r.Status.Requirements {
			finding := ""
			if len(req.Controls) > 0 && req.Controls[0].State != rempartv1.ControlCompliant {
				c := req.Controls[0]
				finding = fmt.Sprintf("%s %s %s: %s", c.Kind, c.Policy, c.Control, c.Message)
				if len(finding) > 120 {
					finding = finding[:117] + "..."
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", req.ID, req.State, len(req.Controls), finding)
		}
		if ev := r.Status.Evidence; ev != nil {
			locked := "not locked by the store"
			if ev.Retention != "" {
				locked = "locked for " + ev.Retention
			}
			fmt.Fprintf(tw, "Evidence log: %d signed entries in %s, %s (kubectl rempart history --tenant %s)\n", ev.Entries, ev.Store, locked, r.Name)
		}
	}
	fmt.Fprintf(tw, "\nGenerated %s from %s (%s)\n", e.Generated.UTC().Format(time.RFC3339), e.Cluster.Server, e.Cluster.Words())
	return tw.Flush()
}

// csvHeader is one row per control per requirement; a requirement no control serves is one row.
var csvHeader = []string{"tenant", "requirement", "requirement_state", "kind", "policy", "control", "state", "reason", "message", "evidence_total", "waiver_approved_by", "waiver_expires", "evaluated"}

// csvCell neutralises a cell a spreadsheet would run as a formula (one starting with =, +, -, @,
// a tab or a carriage return): a leading apostrophe makes it text. Messages and names come from
// the cluster, where a tenant may have written them.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvWriter writes rows with every cell neutralised.
type csvWriter struct{ *csv.Writer }

func (w csvWriter) Write(row []string) error {
	safe := make([]string, len(row))
	for i, c := range row {
		safe[i] = csvCell(c)
	}
	return w.Writer.Write(safe)
}

func renderCSV(w io.Writer, e Export) error {
	cw := csvWriter{csv.NewWriter(w)}
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range e.Reports {
		for _, req := range r.Status.Requirements {
			if len(req.Controls) == 0 {
				if err := cw.Write([]string{r.Name, req.ID, req.State, "", "", "", "", "", "", "", "", "", ""}); err != nil {
					return err
				}
				continue
			}
			for _, c := range req.Controls {
				total, approver, expires, evaluated := "", "", "", ""
				if c.Evidence != nil {
					total = fmt.Sprint(c.Evidence.Total)
				}
				if c.Waiver != nil {
					approver, expires = c.Waiver.ApprovedBy, c.Waiver.Expires.UTC().Format(time.RFC3339)
				}
				if c.Evaluated != nil {
					evaluated = c.Evaluated.UTC().Format(time.RFC3339)
				}
				row := []string{r.Name, req.ID, req.State, c.Kind, c.Policy, string(c.Control), string(c.State), c.Reason, c.Message, total, approver, expires, evaluated}
				if err := cw.Write(row); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

//go:embed templates/*
var templates embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"lower": strings.ToLower,
}).ParseFS(templates, "templates/*"))

func renderHTML(w io.Writer, e Export) error {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, "report.html", e); err != nil {
		return fmt.Errorf("render HTML: %w", err)
	}
	_, err := buf.WriteTo(w)
	return err
}

func renderMarkdown(w io.Writer, e Export) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Rempart compliance report\n\nGenerated %s from `%s` (%s).\n", e.Generated.UTC().Format(time.RFC3339), e.Cluster.Server, e.Cluster.Words())
	for _, r := range e.Reports {
		s := r.Status.Summary
		fmt.Fprintf(&buf, "\n## Tenant %s\n\nScore **%s**: %d compliant, %d non-compliant, %d waived, %d unknown, %d not covered, of %d requirements.\n\n",
			r.Name, s.ScoreText, s.Compliant, s.NonCompliant, s.Waived, s.Unknown, s.NotCovered, s.Requirements)
		buf.WriteString("| Requirement | State | Rule | Controls |\n|---|---|---|---|\n")
		for _, req := range r.Status.Requirements {
			var cs []string
			for _, c := range req.Controls {
				line := fmt.Sprintf("%s %s `%s`: %s, %s", c.Kind, c.Policy, c.Control, c.State, c.Message)
				if c.Waiver != nil {
					line += fmt.Sprintf(" (waived until %s, approved by %s: %s)", c.Waiver.Expires.UTC().Format(time.RFC3339), c.Waiver.ApprovedBy, c.Waiver.Reason)
				}
				cs = append(cs, md(line))
			}
			fmt.Fprintf(&buf, "| %s | %s | %s | %s |\n", req.ID, req.State, md(req.Rule), strings.Join(cs, "<br>"))
		}
		if len(r.Status.OutsideCluster) > 0 {
			buf.WriteString("\nOutside the cluster's reach (never counted as compliant):\n\n")
			for _, o := range r.Status.OutsideCluster {
				fmt.Fprintf(&buf, "- %s: %s\n", o.IDs, o.Rule)
			}
		}
	}
	_, err := buf.WriteTo(w)
	return err
}

// md keeps a cell on one line and its pipes from splitting it.
func md(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
