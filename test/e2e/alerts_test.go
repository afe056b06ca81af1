package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// alertRule is one alerting rule of config/prometheus/rules.yaml.
type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	Annotations map[string]string `json:"annotations"`
}

func alertRules(t *testing.T) map[string]alertRule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "config", "prometheus", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Spec struct {
			Groups []struct {
				Rules []alertRule `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]alertRule{}
	for _, g := range doc.Spec.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r
		}
	}
	return out
}

var (
	metricName = regexp.MustCompile(`\b(rempart_[a-z_]+|controller_runtime_[a-z_]+|leader_election_[a-z_]+)\b`)
	byLabels   = regexp.MustCompile(`by \(([^)]*)\)`)
	usedLabel  = regexp.MustCompile(`\$labels\.([a-z_]+)`)
)

// checkAlertsAgainstMetrics checks, against the operator's real /metrics output, that every
// metric the named alerts read is exposed, and that every label their expressions group by and
// their annotations print is on those series: an alert on a renamed metric or label would
// silently never fire.
func checkAlertsAgainstMetrics(t *testing.T, alerts ...string) {
	t.Helper()
	code, body := get(t, operator.MetricsURL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics answered %d", code)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	rules := alertRules(t)
	for _, name := range alerts {
		rule, ok := rules[name]
		if !ok {
			t.Errorf("no alert %s in config/prometheus/rules.yaml", name)
			continue
		}
		labels := map[string]bool{}
		for _, m := range metricName.FindAllString(rule.Expr, -1) {
			f, ok := families[m]
			if !ok || len(f.Metric) == 0 {
				t.Errorf("alert %s reads %s, which the operator does not expose", name, m)
				continue
			}
			for _, s := range f.Metric {
				for _, l := range s.Label {
					labels[l.GetName()] = true
				}
			}
		}
		var wanted []string
		for _, g := range byLabels.FindAllStringSubmatch(rule.Expr, -1) {
			for _, l := range strings.Split(g[1], ",") {
				wanted = append(wanted, strings.TrimSpace(l))
			}
		}
		for _, a := range rule.Annotations {
			for _, m := range usedLabel.FindAllStringSubmatch(a, -1) {
				wanted = append(wanted, m[1])
			}
		}
		for _, l := range wanted {
			if !labels[l] {
				t.Errorf("alert %s uses label %s, which its metrics do not carry (they have %v)", name, l, keys(labels))
			}
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Every alert of the rules file is checked by one of the end-to-end tests, where its metrics
// exist.
func TestEveryAlertIsChecked(t *testing.T) {
	checked := []string{"RempartControlNonCompliant", "RempartBackupRPOBreached", "RempartRestoreTestFailed", "RempartRestoreTestOverdue", "RempartReconcileErrors",
		"RempartCertificateExpiringSoon", "RempartCertificateInRenewalWindow", "RempartBreakGlassActive", "RempartNoLeader",
		"RempartEvidenceChainBroken", "RempartEvidenceWriteFailing", "RempartEvidenceStale", "RempartEvidenceNotLocked",
		// Reads Prometheus's own up series, not the operator's: promtool's tests cover it.
		"RempartOperatorDown"}
	for name := range alertRules(t) {
		if !slices.Contains(checked, name) {
			t.Errorf("alert %s is checked by no test against the metrics", name)
		}
	}
}
