package evidence

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The ConfigMap of the operator's namespace that publishes the log's public key and location,
// and its fields.
const (
	ConfigMapName  = "rempart-evidence"
	PublicKeyField = "public.pem"
	KeyIDField     = "keyID"
	StoreField     = "store"
	BucketField    = "bucket"
	PrefixField    = "prefix"
	URLField       = "s3URL"
	RegionField    = "region"
)

// Store keeps a tenant's envelopes, one object per entry, each written once.
type Store interface {
	// Append writes the entry seq of tenant; it fails when that entry exists.
	Append(ctx context.Context, tenant string, seq int64, envelope []byte) error
	// Sequences lists the tenant's entries, in order.
	Sequences(ctx context.Context, tenant string) ([]int64, error)
	// Read returns one entry's envelope.
	Read(ctx context.Context, tenant string, seq int64) ([]byte, error)
	// Describe names the store for people: its URL, bucket and prefix.
	Describe() string
}

// Lock is what a store promises about its entries: none can be rewritten or deleted for
// Retention after it is written.
type Lock struct {
	Enabled   bool
	Retention time.Duration
}

// LockChecker is a store that can say what it promises.
type LockChecker interface {
	CheckLock(ctx context.Context) (Lock, error)
}

// MinRetention is the shortest lock that keeps FT-CLD-28's 12 months of security events.
const MinRetention = 365 * 24 * time.Hour

// ErrExists is returned by Append when the entry was written already.
var ErrExists = errors.New("the entry exists already: another writer is recording this tenant")

// ObjectKey is where an entry lives under prefix: one folder per tenant, names that sort in
// sequence order.
func ObjectKey(prefix, tenant string, seq int64) string {
	return path.Join(prefix, "tenants", tenant, fmt.Sprintf("%012d.json", seq))
}

// SequenceOf reads the sequence back from an object's name; false for any other object.
func SequenceOf(name string) (int64, bool) {
	base := path.Base(name)
	if !strings.HasSuffix(base, ".json") || len(base) != len("000000000000.json") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(base, ".json"), 10, 64)
	return n, err == nil && n >= 0
}

// ReadAll returns the tenant's entries from seq first on, in order, as stored.
func ReadAll(ctx context.Context, s Store, tenant string, first int64) ([][]byte, error) {
	seqs, err := s.Sequences(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, seq := range seqs {
		if seq < first {
			continue
		}
		raw, err := s.Read(ctx, tenant, seq)
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}

// DirStore keeps entries as files under a directory, created exclusively: for tests,
// benchmarks and an auditor's local copy. It locks nothing.
type DirStore struct{ Dir string }

func (d DirStore) file(tenant string, seq int64) string {
	return filepath.Join(d.Dir, filepath.FromSlash(ObjectKey("", tenant, seq)))
}

// Append implements Store.
func (d DirStore) Append(_ context.Context, tenant string, seq int64, envelope []byte) error {
	name := d.file(tenant, seq)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return ErrExists
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(envelope); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Sequences implements Store.
func (d DirStore) Sequences(_ context.Context, tenant string) ([]int64, error) {
	entries, err := os.ReadDir(filepath.Dir(d.file(tenant, 0)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		if seq, ok := SequenceOf(e.Name()); ok {
			out = append(out, seq)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// Read implements Store.
func (d DirStore) Read(_ context.Context, tenant string, seq int64) ([]byte, error) {
	return os.ReadFile(d.file(tenant, seq))
}

// Describe implements Store.
func (d DirStore) Describe() string { return "file://" + d.Dir }

// PublicKeyPEM is the public key as a PEM "PUBLIC KEY" block (PKIX), the form openssl and
// cosign read.
func PublicKeyPEM(pub ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKey reads a PEM public key written by PublicKeyPEM.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("no PEM PUBLIC KEY block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the key is a %T, not an ed25519 key", key)
	}
	return pub, nil
}
