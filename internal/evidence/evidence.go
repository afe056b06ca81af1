package evidence

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	ita "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// PredicateType names Rempart's evidence entries for in-toto tools.
const PredicateType = "https://rempart.io/evidence/entry/v1"

// PayloadType is the DSSE payload type of an in-toto Statement.
const PayloadType = "application/vnd.in-toto+json"

// Why an entry was written.
const (
	ReasonChange   = "ReportChanged"
	ReasonSnapshot = "DailySnapshot"
	// ReasonResumed is the first entry after a period with no recording (the operator was not
	// running, or could not write): the gap before it is shown as such.
	ReasonResumed = "RecordingResumed"
)

// Policy is one policy a report was built from, as it stood.
type Policy struct {
	Kind            string          `json:"kind"`
	Name            string          `json:"name"`
	ResourceVersion string          `json:"resourceVersion"`
	Generation      int64           `json:"generation"`
	Spec            json.RawMessage `json:"spec"`
}

// Entry is one link of a tenant's history.
type Entry struct {
	Tenant   string    `json:"tenant"`
	Sequence int64     `json:"sequence"`
	Time     time.Time `json:"time"`
	Reason   string    `json:"reason"`
	// Previous is the sha256 of the previous entry's envelope, hex; empty for the first.
	Previous string `json:"previous"`
	// Report and Policies are the tenant's state; absent in an entry that repeats the state of
	// the entry numbered Base (a snapshot with nothing changed).
	Report   json.RawMessage `json:"report,omitempty"`
	Policies []Policy        `json:"policies,omitempty"`
	// Base is the sequence of the entry holding the report this one repeats; nil when this entry
	// holds its own.
	Base *int64 `json:"base,omitempty"`
	// Content is the digest of the state recorded (report and policy generations), equal in an
	// entry and its Base.
	Content string `json:"content,omitempty"`
	// NextBy is when the next entry is due at the latest while the operator runs (the daily
	// snapshot, with a margin): the time after it, until the next entry, is a gap in the record,
	// never time in the entry's state.
	NextBy time.Time `json:"nextBy"`
	// Events name what happened since the previous entry that an audit asks for by name:
	// administrator access granted, revoked or ended, exceptions added or removed.
	Events []string `json:"events,omitempty"`
}

// Digest is the sha256 of an envelope as stored, hex: what the next entry names.
func Digest(envelope []byte) string {
	sum := sha256.Sum256(envelope)
	return hex.EncodeToString(sum[:])
}

// KeyID is the DSSE key ID of a public key, as the envelopes' signatures carry it.
func KeyID(pub ed25519.PublicKey) (string, error) { return dsse.SHA256KeyID(pub) }

// Signer signs entries with an ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner signs with key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("an ed25519 private key has %d bytes, not %d", ed25519.PrivateKeySize, len(key))
	}
	id, err := dsse.SHA256KeyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	return &Signer{key: key, id: id}, nil
}

// Sign implements dsse.Signer.
func (s *Signer) Sign(_ context.Context, data []byte) ([]byte, error) {
	return ed25519.Sign(s.key, data), nil
}

// Public is the key that verifies the signer's entries.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// KeyID implements dsse.Signer.
func (s *Signer) KeyID() (string, error) { return s.id, nil }

// verifier checks signatures with an ed25519 public key.
type verifier struct {
	pub ed25519.PublicKey
	id  string
}

func (v verifier) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(v.pub, data, sig) {
		return errors.New("signature does not match")
	}
	return nil
}
func (v verifier) KeyID() (string, error)   { return v.id, nil }
func (v verifier) Public() crypto.PublicKey { return v.pub }

// statement is an in-toto v1 Statement as written: the predicate kept as the exact bytes the
// subject digest covers.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Seal signs e (its Previous set to the Digest of the envelope before it, empty for the first)
// and returns the envelope as JSON, the form stored and chained. The statement's subject is the
// sha256 of the predicate's bytes as they appear in the payload.
func Seal(ctx context.Context, s *Signer, e Entry) ([]byte, error) {
	predicate, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(predicate)
	payload, err := json.Marshal(statement{
		Type:          ita.StatementTypeUri,
		Subject:       []subject{{Name: fmt.Sprintf("rempart.io/tenants/%s/evidence/%d", e.Tenant, e.Sequence), Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		PredicateType: PredicateType,
		Predicate:     predicate,
	})
	if err != nil {
		return nil, err
	}
	signer, err := dsse.NewEnvelopeSigner(s)
	if err != nil {
		return nil, err
	}
	env, err := signer.SignPayload(ctx, PayloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("sign entry %d: %w", e.Sequence, err)
	}
	return json.Marshal(env)
}

// Problem is what is wrong with one entry of a log.
type Problem struct {
	// Index is the entry's position in the log as given.
	Index int
	// Sequence is the entry's own number, when it could be read (-1 otherwise).
	Sequence int64
	What     string
}

func (p Problem) String() string {
	if p.Sequence < 0 {
		return fmt.Sprintf("entry %d (its sequence cannot be read): %s", p.Index, p.What)
	}
	return fmt.Sprintf("entry %d (sequence %d): %s", p.Index, p.Sequence, p.What)
}

// Verify checks a tenant's whole log, from its first entry, offline with the public key: every envelope's signature, its
// statement (type, subject digest of the predicate), and the chain (sequence numbers follow,
// each entry names the digest of the one before). It returns every problem, naming the entry;
// none means the log is whole and unaltered. The entries are returned for reading.
func Verify(ctx context.Context, pub ed25519.PublicKey, log [][]byte) ([]Entry, []Problem) {
	return VerifyFrom(ctx, pub, 0, log)
}

// VerifyFrom checks a run of a tenant's log that starts at sequence first, as an export of a
// period does: the same checks as Verify, the first entry's link to the one before it taken from
// its own signed content.
func VerifyFrom(ctx context.Context, pub ed25519.PublicKey, first int64, log [][]byte) ([]Entry, []Problem) {
	id, err := dsse.SHA256KeyID(pub)
	if err != nil {
		return nil, []Problem{{Index: -1, Sequence: -1, What: "unusable public key: " + err.Error()}}
	}
	ver, err := dsse.NewEnvelopeVerifier(verifier{pub: pub, id: id})
	if err != nil {
		return nil, []Problem{{Index: -1, Sequence: -1, What: err.Error()}}
	}
	var entries []Entry
	var problems []Problem
	for i, raw := range log {
		e, err := open(ctx, ver, raw)
		if err != nil {
			problems = append(problems, Problem{Index: i, Sequence: -1, What: err.Error()})
			continue
		}
		entries = append(entries, e)
		switch want := first + int64(i); {
		case i == 0 && e.Sequence != first:
			problems = append(problems, Problem{i, e.Sequence, fmt.Sprintf("the log should start at sequence %d: the entries before this one are missing", first)})
		case i > 0 && e.Sequence != want:
			problems = append(problems, Problem{i, e.Sequence, fmt.Sprintf("sequence %d where %d was expected: an entry is missing or out of order", e.Sequence, want)})
		}
		if e.Sequence == 0 && e.Previous != "" {
			problems = append(problems, Problem{i, e.Sequence, "the first entry names a previous one"})
		}
		if e.Sequence > 0 && e.Previous == "" {
			problems = append(problems, Problem{i, e.Sequence, "names no previous entry though it is not the first"})
		}
		if i > 0 && e.Previous != Digest(log[i-1]) {
			problems = append(problems, Problem{i, e.Sequence, "does not name the digest of the entry before it: the chain is broken here"})
		}
	}
	return entries, problems
}

// open checks one envelope's signature and statement and returns its entry.
func open(ctx context.Context, ver *dsse.EnvelopeVerifier, raw []byte) (Entry, error) {
	var env dsse.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return Entry{}, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	if env.PayloadType != PayloadType {
		return Entry{}, fmt.Errorf("payload type %q, want %q", env.PayloadType, PayloadType)
	}
	if _, err := ver.Verify(ctx, &env); err != nil {
		return Entry{}, fmt.Errorf("signature: %w", err)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return Entry{}, err
	}
	// Well-formed for in-toto tools: the statement as their own library reads it.
	var st ita.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		return Entry{}, fmt.Errorf("not an in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil || st.GetPredicateType() != PredicateType {
		return Entry{}, fmt.Errorf("not a Rempart evidence statement (%v, %s)", err, st.GetPredicateType())
	}
	var exact statement
	if err := json.Unmarshal(payload, &exact); err != nil || len(exact.Subject) != 1 {
		return Entry{}, fmt.Errorf("statement: %v", err)
	}
	var e Entry
	if err := json.Unmarshal(exact.Predicate, &e); err != nil {
		return Entry{}, fmt.Errorf("predicate: %w", err)
	}
	sum := sha256.Sum256(exact.Predicate)
	if exact.Subject[0].Digest["sha256"] != hex.EncodeToString(sum[:]) {
		return e, errors.New("the predicate does not match the statement's subject digest")
	}
	return e, nil
}
