package requirements

import (
	"regexp"
	"testing"
)

var idPattern = regexp.MustCompile(`^(FT-CLD-[0-9]{2}|ALM-[0-9]+(\.[0-9]+)+|PAS-[0-9]+(\.[0-9]+)?|FLX-[0-9]+\.[0-9]+|SIS-[A-Z]+)$`)

func TestCatalogEntriesAreWellFormedAndUnique(t *testing.T) {
	seen := map[ID]bool{}
	for _, r := range All() {
		if !idPattern.MatchString(string(r.ID)) {
			t.Errorf("requirement ID %q does not follow the catalog's naming", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("requirement %s is listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Rule == "" || r.Section == "" || r.EnforcedBy == "" || len(r.ISO27001) == 0 {
			t.Errorf("requirement %s lacks a rule, section, enforcer or ISO mapping: %+v", r.ID, r)
		}
		if string(r.ID[:len(r.Source)]) != string(r.Source) {
			t.Errorf("requirement %s is attributed to source %s", r.ID, r.Source)
		}
	}
}

func TestEveryConstantIsInTheCatalog(t *testing.T) {
	constants := []ID{FTCLD14, FTCLD16, FTCLD17, FTCLD18, FTCLD19, FTCLD20, FTCLD21, FTCLD25, FTCLD26,
		FTCLD28, FTCLD36, FTCLD38, FTCLD40, FTCLD73, FTCLD74, FTCLD76, ALM54, ALM55, ALM568, ALM573,
		ALM591, ALM5101, FLX36, PAS11, PAS122, SISBackup, SISLocation, SISTLS}
	for _, id := range constants {
		if _, ok := Lookup(id); !ok {
			t.Errorf("constant %s has no catalog entry", id)
		}
	}
	if got, want := len(All()), len(constants); got != want {
		t.Errorf("catalog has %d entries, constants name %d", got, want)
	}
	if _, ok := Lookup("FT-CLD-99"); ok {
		t.Error("Lookup found a requirement that does not exist")
	}
}

func TestStringsKeepsOrder(t *testing.T) {
	got := Strings(FTCLD20, PAS11)
	if len(got) != 2 || got[0] != "FT-CLD-20" || got[1] != "PAS-11" {
		t.Fatalf("Strings(FTCLD20, PAS11) = %v", got)
	}
}
