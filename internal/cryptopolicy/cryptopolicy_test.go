package cryptopolicy

import (
	"strings"
	"testing"
	"time"
)

func TestCheckKeyAgainstTheANSSIDefault(t *testing.T) {
	tests := []struct {
		algorithm string
		size      int
		want      string // empty when allowed
	}{
		{"ECDSA", 256, ""},
		{"ECDSA", 384, ""},
		{"ECDSA", 0, ""}, // cert-manager's default curve is P-256
		{"ECDSA", 521, "not among the policy's curves [P-256 P-384]"},
		{"ECDSA", 224, "not a curve ANSSI accepts"},
		{"RSA", 3072, ""},
		{"RSA", 4096, ""},
		{"RSA", 3071, "below the policy's minimum of RSA 3072"},
		{"RSA", 2048, "below the policy's minimum of RSA 3072"},
		{"RSA", 0, "RSA 2048 is below the policy's minimum"}, // cert-manager's default size
		{"", 0, "RSA 2048 is below the policy's minimum"},    // and default algorithm
		{"RSA", 1024, "below ANSSI's floor of RSA 2048"},
		{"Ed25519", 0, "the policy does not allow Ed25519 keys"},
		{"DSA", 2048, `key algorithm "DSA" is unknown`},
	}
	for _, tt := range tests {
		k := KeyOf(tt.algorithm, tt.size)
		err := CheckKey(k, DefaultKeys())
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s/%d refused: %v", tt.algorithm, tt.size, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "FT-CLD-40")):
			t.Errorf("%s/%d: %v, want a refusal with %q naming FT-CLD-40", tt.algorithm, tt.size, err, tt.want)
		}
	}
}

func TestLoweredPoliciesStayAboveTheFloor(t *testing.T) {
	lowered := []KeyRule{{Algorithm: RSA, MinSize: 2048}, {Algorithm: Ed25519}}
	if err := CheckRules(lowered); err != nil {
		t.Fatalf("a policy at RSA 2048 with Ed25519 is refused: %v", err)
	}
	if err := CheckKey(KeyOf("RSA", 2048), lowered); err != nil {
		t.Errorf("RSA 2048 refused by a policy that allows it: %v", err)
	}
	if until, ok := Deprecated(KeyOf("RSA", 2048)); !ok || until.Year() != 2030 {
		t.Errorf("RSA 2048 not reported as ending in 2030: %v %v", until, ok)
	}
	if _, ok := Deprecated(KeyOf("RSA", 3072)); ok {
		t.Error("RSA 3072 reported as deprecated")
	}
	if err := CheckKey(KeyOf("Ed25519", 0), lowered); err != nil {
		t.Errorf("Ed25519 refused by a policy that allows it: %v", err)
	}
	for _, bad := range [][]KeyRule{{{Algorithm: RSA, MinSize: 2047}}, {{Algorithm: ECDSA, Sizes: []int{224}}}, {{Algorithm: "DSA"}}} {
		if err := CheckRules(bad); err == nil {
			t.Errorf("rules %+v below ANSSI's floor accepted", bad)
		}
	}
}

func TestCheckLifetime(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		duration, renewBefore time.Duration
		want                  string
	}{
		{0, 0, ""}, // cert-manager's 90 days, renewed 30 days before
		{90 * day, 30 * day, ""},
		{90*day + time.Second, 30 * day, "exceeds the policy's maximum"},
		{365 * day, 30 * day, "exceeds the policy's maximum"},
		{60 * day, 30*day - time.Second, "later than the policy's"},
		{30 * day, 0, "later than the policy's"}, // default renewBefore is a third: 10 days
	}
	for _, tt := range tests {
		err := CheckLifetime(LifetimeOf(tt.duration, tt.renewBefore), 90*day, 30*day)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v/%v refused: %v", tt.duration, tt.renewBefore, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v/%v: %v, want %q", tt.duration, tt.renewBefore, err, tt.want)
		}
	}
}
