package argocd

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"
)

// healthTests is the format of Argo CD's health_test.yaml files.
type healthTests struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

// Every case of every health_test.yaml passes, as `go test ./util/lua` would run them upstream.
func TestHealthChecksPassTheirCases(t *testing.T) {
	root := "../.."
	files, err := filepath.Glob(filepath.Join(root, CustomizationsDir, "*", "*", "health_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range files {
		dir := filepath.Dir(f)
		kind := filepath.Base(dir)
		kinds = append(kinds, kind)
		script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases healthTests
		if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(cases.Tests) < 3 {
			t.Errorf("%s has %d cases: test at least Progressing, Healthy and Degraded", f, len(cases.Tests))
		}
		seen := map[string]bool{}
		for _, c := range cases.Tests {
			t.Run(kind+"/"+c.InputPath, func(t *testing.T) {
				input, err := os.ReadFile(filepath.Join(dir, c.InputPath))
				if err != nil {
					t.Fatal(err)
				}
				var obj map[string]any
				if err := yaml.Unmarshal(input, &obj); err != nil {
					t.Fatal(err)
				}
				if obj["kind"] != kind {
					t.Errorf("%s is a %v, not a %s", c.InputPath, obj["kind"], kind)
				}
				status, message, err := Health(string(script), obj)
				if err != nil {
					t.Fatal(err)
				}
				if status != c.HealthStatus.Status || message != c.HealthStatus.Message {
					t.Errorf("health = %s %q, want %s %q", status, message, c.HealthStatus.Status, c.HealthStatus.Message)
				}
			})
			seen[c.HealthStatus.Status] = true
		}
		for _, want := range []string{"Progressing", "Healthy", "Degraded"} {
			if !seen[want] {
				t.Errorf("%s: no case ends %s", f, want)
			}
		}
	}
	sort.Strings(kinds)
	want := []string{"AdminAccess", "BackupPolicy", "CertificatePolicy", "ComplianceReport", "DataResidency", "TenantIsolation"}
	if len(kinds) != len(want) {
		t.Fatalf("health checks for %v, want every Rempart kind %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Errorf("health checks for %v, want %v", kinds, want)
		}
	}
}

// The argocd-cm snippet users merge is generated from the same scripts.
func TestConfigMapSnippetCarriesTheScripts(t *testing.T) {
	scripts, err := Scripts("../..")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../config/argocd/health.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	for kind, script := range scripts {
		if got := cm.Data["resource.customizations.health.rempart.io_"+kind]; got != script {
			t.Errorf("config/argocd/health.yaml differs from %s's health.lua: run make manifests", kind)
		}
	}
	if len(cm.Data) != len(scripts) {
		t.Errorf("config/argocd/health.yaml has %d checks, the layout %d", len(cm.Data), len(scripts))
	}
}
