package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func key(t *testing.T, seed byte) (ed25519.PublicKey, *Signer) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	s, err := NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv.Public().(ed25519.PublicKey), s
}

// chain seals n entries of tenant acme, a day apart.
func chain(t *testing.T, s *Signer, n int) [][]byte {
	t.Helper()
	var log [][]byte
	var prev []byte
	for i := 0; i < n; i++ {
		report := map[string]any{"summary": map[string]any{"nonCompliant": i % 2, "scoreText": "31/31"}, "requirements": []any{map[string]any{"id": "SIS-BACKUP", "state": "Compliant"}}}
		raw, _ := json.Marshal(report)
		e := Entry{Tenant: "acme", Sequence: int64(i), Time: start.Add(time.Duration(i) * 24 * time.Hour), Reason: ReasonSnapshot, Report: raw,
			Policies: []Policy{{Kind: "BackupPolicy", Name: "acme-daily", ResourceVersion: "4242", Generation: 3, Spec: json.RawMessage(`{"tenant":"acme","rpo":"24h"}`)}}}
		if prev != nil {
			e.Previous = Digest(prev)
		}
		env, err := Seal(context.Background(), s, e)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, env)
		prev = env
	}
	return log
}

func mustProblems(t *testing.T, problems []Problem, index int, what string) {
	t.Helper()
	for _, p := range problems {
		if p.Index == index && strings.Contains(p.What, what) {
			return
		}
	}
	t.Errorf("no problem naming entry %d with %q; got %v", index, what, problems)
}

func TestAWholeLogVerifies(t *testing.T) {
	pub, s := key(t, 1)
	log := chain(t, s, 5)
	entries, problems := Verify(context.Background(), pub, log)
	if len(problems) != 0 {
		t.Fatalf("problems in an untouched log: %v", problems)
	}
	if len(entries) != 5 || entries[4].Sequence != 4 || entries[3].Policies[0].ResourceVersion != "4242" || !entries[2].Time.Equal(start.Add(48*time.Hour)) {
		t.Errorf("entries read back wrong: %+v", entries)
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := json.Unmarshal(log[0], &env); err != nil || env.PayloadType != PayloadType {
		t.Fatalf("not a DSSE envelope of an in-toto statement: %v %q", err, env.PayloadType)
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	if !strings.Contains(string(payload), `"_type":"https://in-toto.io/Statement/v1"`) || !strings.Contains(string(payload), PredicateType) {
		t.Errorf("payload is not an in-toto v1 statement of Rempart's predicate: %s", payload)
	}
}

// Tampering with any byte of any entry is detected and the entry named.
func TestTamperingWithAnyByteIsDetected(t *testing.T) {
	pub, s := key(t, 1)
	log := chain(t, s, 4)
	for i := range log {
		for _, pos := range []int{len(log[i]) / 3, len(log[i]) / 2, len(log[i]) - 20} {
			altered := make([][]byte, len(log))
			copy(altered, log)
			b := append([]byte(nil), log[i]...)
			b[pos] ^= 0x01
			altered[i] = b
			_, problems := Verify(context.Background(), pub, altered)
			if len(problems) == 0 {
				t.Fatalf("flipping byte %d of entry %d went unnoticed", pos, i)
			}
			named := false
			for _, p := range problems {
				named = named || p.Index == i || p.Index == i+1 // the entry, or the next one whose link breaks
			}
			if !named {
				t.Errorf("flipping byte %d of entry %d: problems %v name neither it nor the next", pos, i, problems)
			}
		}
	}
	// An edit re-signed with another key fails the signature.
	_, mallory := key(t, 2)
	forged := chain(t, mallory, 4)
	_, problems := Verify(context.Background(), pub, forged)
	mustProblems(t, problems, 0, "signature")
}

func TestRemovedAndReorderedEntriesAreNamed(t *testing.T) {
	pub, s := key(t, 1)
	log := chain(t, s, 5)
	removed := append(append([][]byte{}, log[:2]...), log[3:]...)
	_, problems := Verify(context.Background(), pub, removed)
	mustProblems(t, problems, 2, "missing or out of order")
	mustProblems(t, problems, 2, "chain is broken")

	swapped := [][]byte{log[0], log[2], log[1], log[3], log[4]}
	_, problems = Verify(context.Background(), pub, swapped)
	mustProblems(t, problems, 1, "sequence 2 where 1 was expected")
	mustProblems(t, problems, 2, "sequence 1 where 2 was expected")

	_, problems = Verify(context.Background(), pub, log[1:])
	mustProblems(t, problems, 0, "should start at sequence 0")

	// A period's run verifies from its first sequence, and a run missing its head is named.
	if _, problems := VerifyFrom(context.Background(), pub, 2, log[2:]); len(problems) != 0 {
		t.Errorf("the run from sequence 2 does not verify: %v", problems)
	}
	_, problems = VerifyFrom(context.Background(), pub, 1, log[2:])
	mustProblems(t, problems, 0, "should start at sequence 1")
}
