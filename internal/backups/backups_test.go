package backups

import (
	"strings"
	"testing"
	"time"

	"github.com/rempart-io/rempart/internal/regions"
)

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func daily(i int, phase Phase) Backup {
	start := t0.Add(time.Duration(i) * 24 * time.Hour)
	b := Backup{Name: start.Format("20060102"), Phase: phase, Started: start}
	if phase != InProgress {
		b.Completed = start.Add(10 * time.Minute)
		b.Items = 40
	}
	return b
}

func names(bs []Backup) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	return strings.Join(out, ",")
}

func TestToPrune(t *testing.T) {
	tests := []struct {
		name   string
		all    []Backup
		keep   int
		maxAge time.Duration
		want   string
	}{
		{"nothing beyond the count", []Backup{daily(0, Completed), daily(1, Completed)}, 2, 0, ""},
		{"the oldest good ones go", []Backup{daily(0, Completed), daily(1, Completed), daily(2, Completed)}, 2, 0, "20261122"},
		{"failed and partial ones are not versions", []Backup{daily(0, Completed), daily(1, Failed), daily(2, PartiallyFailed), daily(3, Completed)}, 2, 0, ""},
		{"failed ones never push a good one out", []Backup{daily(0, Completed), daily(1, Completed), daily(2, Failed), daily(3, Failed)}, 2, 0, ""},
		{"a running backup does not count", []Backup{daily(0, Completed), daily(1, Completed), daily(2, InProgress)}, 2, 0, ""},
		{"the only good one stays", []Backup{daily(0, Completed), daily(1, Failed)}, 1, 0, ""},
		{"keep one: the newest stays", []Backup{daily(0, Completed), daily(1, Completed), daily(2, Completed)}, 1, 0, "20261123,20261122"},
		{"keep zero prunes nothing", []Backup{daily(0, Completed)}, 0, 0, ""},
		{"older than maxAge go", []Backup{daily(0, Completed), daily(1, Completed), daily(2, Completed)}, 7, 50 * time.Hour, "20261122"},
		{"maxAge never removes the newest good one", []Backup{daily(0, Completed), daily(1, Failed)}, 7, time.Hour, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(ToPrune(tt.all, tt.keep, tt.maxAge, t0.Add(3*24*time.Hour))); got != tt.want {
				t.Errorf("pruned %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRPODeadline(t *testing.T) {
	rpo := 8 * time.Hour
	if _, ok := RPODeadline([]Backup{daily(0, Failed)}, rpo); ok {
		t.Error("a deadline without any good backup")
	}
	deadline, ok := RPODeadline([]Backup{daily(0, Completed), daily(1, Completed), daily(2, PartiallyFailed)}, rpo)
	if !ok || !deadline.Equal(daily(1, Completed).Completed.Add(rpo)) {
		t.Errorf("deadline %v, want the newest good backup plus the RPO", deadline)
	}
}

func TestCheckOffsite(t *testing.T) {
	cat, err := regions.NewCatalog(nil)
	if err != nil {
		t.Fatal(err)
	}
	eu := map[string]bool{"FR": true, "DE": true, "IE": true}
	tests := []struct {
		name    string
		loc     Location
		allowed map[string]bool
		want    string
	}{
		{"another EU region", Location{Region: "eu-central-1", Provider: regions.AWS}, eu, ""},
		{"same region as the nodes", Location{Region: "eu-west-3", Provider: regions.AWS}, eu, "where the tenant's nodes run"},
		{"outside the allowed countries", Location{Region: "us-east-1", Provider: regions.AWS}, eu, "outside the countries"},
		{"no residency rule", Location{Region: "us-east-1", Provider: regions.AWS}, nil, ""},
		{"unknown region", Location{Region: "moon-1"}, eu, "not in the catalog"},
		{"no region", Location{}, eu, "names no region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckOffsite(tt.loc, []string{"eu-west-3", "europe-west9"}, cat, tt.allowed)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("%v, want %q", err, tt.want)
			}
		})
	}
}

// An empty backup is no version: a scope that selects nothing copies nothing.
func TestEmptyBackupsAreNotVersions(t *testing.T) {
	full, empty := daily(0, Completed), daily(1, Completed)
	empty.Items = 0
	if got := Versions([]Backup{full, empty}); len(got) != 1 || got[0].Name != full.Name {
		t.Errorf("versions %v, want only %s", names(got), full.Name)
	}
	if !empty.Empty() || full.Empty() {
		t.Error("Empty misjudges a backup")
	}
}
