package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Manifest describes an exported bundle. It is not signed: every fact an auditor relies on is
// in the signed entries, and verification checks the manifest against them.
type Manifest struct {
	Tenant string    `json:"tenant"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// FirstSequence is the first entry's sequence: the newest entry at or before From, so that
	// the state at the start of the period is known.
	FirstSequence int64     `json:"firstSequence"`
	Entries       int       `json:"entries"`
	KeyID         string    `json:"keyID"`
	Store         string    `json:"store"`
	Exported      time.Time `json:"exported"`
}

// Bundle is what `evidence export` writes: the entries as stored, the public key, and the
// summary of the period.
type Bundle struct {
	Manifest  Manifest
	PublicKey []byte
	Envelopes [][]byte
	Summary   []byte
}

// The files of a bundle.
const (
	manifestFile  = "manifest.json"
	publicKeyFile = "public-key.pem"
	summaryFile   = "summary.html"
	entriesDir    = "entries/"
	// maxBundleFile bounds what is read of one file of a bundle, which may come from anyone.
	maxBundleFile = 64 << 20
)

// EntryFile is the name of an entry in a bundle.
func EntryFile(seq int64) string { return fmt.Sprintf("%s%012d.json", entriesDir, seq) }

// WriteBundle writes b as a gzipped tar.
func WriteBundle(w io.Writer, b Bundle) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	manifest, err := json.MarshalIndent(b.Manifest, "", "  ")
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{{manifestFile, manifest}, {publicKeyFile, b.PublicKey}, {summaryFile, b.Summary}}
	for i, env := range b.Envelopes {
		files = append(files, struct {
			name string
			data []byte
		}{EntryFile(b.Manifest.FirstSequence + int64(i)), env})
	}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: b.Manifest.Exported, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// ReadBundle reads a bundle; the entries come back in the order of their file names, which is
// the order an auditor sees, not the one the manifest claims.
func ReadBundle(r io.Reader) (Bundle, error) {
	var b Bundle
	gz, err := gzip.NewReader(r)
	if err != nil {
		return b, fmt.Errorf("not a gzipped bundle: %w", err)
	}
	tr := tar.NewReader(gz)
	entries := map[string][]byte{}
	var haveManifest bool
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return b, fmt.Errorf("read the bundle: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxBundleFile+1))
		if err != nil {
			return b, err
		}
		if len(data) > maxBundleFile {
			return b, fmt.Errorf("%s is larger than %d bytes", hdr.Name, maxBundleFile)
		}
		name := path.Clean(hdr.Name)
		switch {
		case name == manifestFile:
			if err := json.Unmarshal(data, &b.Manifest); err != nil {
				return b, fmt.Errorf("manifest: %w", err)
			}
			haveManifest = true
		case name == publicKeyFile:
			b.PublicKey = data
		case name == summaryFile:
			b.Summary = data
		case strings.HasPrefix(name, entriesDir):
			entries[name] = data
		}
	}
	if !haveManifest {
		return b, errors.New("the bundle has no manifest.json")
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.Envelopes = append(b.Envelopes, entries[n])
	}
	return b, nil
}

// VerifyBundle checks a bundle offline with the auditor's copy of the public key: every entry's
// signature and the chain from the manifest's first sequence, that every entry is the
// manifest's tenant's, and that the bundle's own key is that key. Problems name the entry.
func VerifyBundle(ctx context.Context, pub ed25519.PublicKey, b Bundle) ([]Entry, []Problem) {
	var problems []Problem
	if len(b.Envelopes) == 0 {
		return nil, []Problem{{Index: -1, Sequence: -1, What: "the bundle holds no entry"}}
	}
	if own, err := ParsePublicKey(b.PublicKey); err != nil || !own.Equal(pub) {
		problems = append(problems, Problem{Index: -1, Sequence: -1, What: "the bundle's public-key.pem is not the key given: the entries are checked with the key given"})
	}
	if b.Manifest.Entries != len(b.Envelopes) {
		problems = append(problems, Problem{Index: -1, Sequence: -1, What: fmt.Sprintf("the manifest lists %d entries, the bundle holds %d", b.Manifest.Entries, len(b.Envelopes))})
	}
	entries, found := VerifyFrom(ctx, pub, b.Manifest.FirstSequence, b.Envelopes)
	problems = append(problems, found...)
	for i, e := range entries {
		if e.Tenant != b.Manifest.Tenant {
			problems = append(problems, Problem{Index: i, Sequence: e.Sequence, What: fmt.Sprintf("belongs to tenant %q, not %q", e.Tenant, b.Manifest.Tenant)})
		}
	}
	return entries, problems
}

// Summarize renders the bundle's HTML summary of a period from its verified entries.
func Summarize(m Manifest, entries []Entry) ([]byte, error) {
	h, err := BuildHistory(entries, m.From, m.To, "")
	if err != nil {
		return nil, err
	}
	h.Tenant = m.Tenant
	var buf bytes.Buffer
	if err := RenderHTML(&buf, m, h); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
