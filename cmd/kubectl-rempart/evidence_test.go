package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/evidence"
)

// writeLog seals a tenant's log into a local copy of the bucket: Compliant, NonCompliant a day
// later, Compliant again two days after that, one entry a day.
func writeLog(t *testing.T, dir string, priv ed25519.PrivateKey) {
	t.Helper()
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	store := evidence.DirStore{Dir: dir}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	states := []string{"Compliant", "NonCompliant", "NonCompliant", "Compliant", "Compliant"}
	prev := ""
	var base int64
	for i, st := range states {
		report, _ := json.Marshal(rempartv1.ComplianceReportStatus{Requirements: []rempartv1.RequirementResult{{ID: "SIS-BACKUP", State: st}}})
		at := start.Add(time.Duration(i) * 24 * time.Hour)
		e := evidence.Entry{Tenant: "acme", Sequence: int64(i), Time: at, Reason: evidence.ReasonChange, Content: st,
			Previous: prev, Report: report, NextBy: at.Add(24*time.Hour + 30*time.Minute)}
		if i > 0 && states[i-1] == st {
			// Nothing changed: the snapshot repeats the entry holding the report.
			b := base
			e.Reason, e.Report, e.Base = evidence.ReasonSnapshot, nil, &b
		} else {
			base = int64(i)
		}
		env, err := evidence.Seal(context.Background(), signer, e)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Append(context.Background(), "acme", int64(i), env); err != nil {
			t.Fatal(err)
		}
		prev = evidence.Digest(env)
	}
}

func TestHistoryExportAndVerifyOffline(t *testing.T) {
	dir := t.TempDir()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	writeLog(t, filepath.Join(dir, "bucket"), priv)
	pemKey, _ := evidence.PublicKeyPEM(priv.Public().(ed25519.PublicKey))
	keyFile := filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile, []byte(pemKey), 0o644)
	ctx := context.Background()

	var out bytes.Buffer
	if err := run(ctx, []string{"history", "--tenant", "acme", "--dir", filepath.Join(dir, "bucket"), "--key", keyFile, "--since", "2026-03-01"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NonCompliant  2026-03-02 00:00:00 UTC  2026-03-04 00:00:00 UTC  2.0 days", "Compliant after 2.0 days", "Gaps (not recorded):\n  2026-03-06 00:30:00 UTC to"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("history lacks %q:\n%s", want, out.String())
		}
	}

	bundle := filepath.Join(dir, "bundle.tar.gz")
	out.Reset()
	// From a snapshot (entry 2): the bundle starts at the entry whose report it repeats.
	if err := run(ctx, []string{"evidence", "export", "--tenant", "acme", "--from", "2026-03-03T12:00:00Z", "--to", "2026-03-05", "-o", bundle,
		"--dir", filepath.Join(dir, "bucket"), "--key", keyFile}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3 entries of acme (sequences 1 to 3)") {
		t.Errorf("export: %s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"evidence", "verify", bundle, "--key", keyFile}, &out); err != nil || !strings.Contains(out.String(), "OK: 3 entries") {
		t.Fatalf("an untouched bundle: %v\n%s", err, out.String())
	}

	// A hand edit of entry 2 (its report turned Compliant) fails, naming it.
	edited := filepath.Join(dir, "edited.tar.gz")
	rewriteBundle(t, bundle, edited, "entries/000000000002.json", func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"payload":"ey`), []byte(`"payload":"eY`), 1)
	})
	err := run(ctx, []string{"evidence", "verify", edited, "--key", keyFile}, &out)
	if err == nil || !strings.Contains(err.Error(), "sequence") || !strings.Contains(err.Error(), "entry 1") {
		t.Errorf("an edited entry: %v", err)
	}
	// An edited summary fails too.
	rewriteBundle(t, bundle, edited, "summary.html", func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("NonCompliant"), []byte("Compliant")) })
	if err := run(ctx, []string{"evidence", "verify", edited, "--key", keyFile}, &out); err == nil || !strings.Contains(err.Error(), "summary.html") {
		t.Errorf("an edited summary: %v", err)
	}
	// Another key: every signature fails.
	other, _ := evidence.PublicKeyPEM(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public().(ed25519.PublicKey))
	os.WriteFile(keyFile, []byte(other), 0o644)
	if err := run(ctx, []string{"evidence", "verify", bundle, "--key", keyFile}, &out); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("another key: %v", err)
	}
}

// rewriteBundle copies a bundle, changing one file.
func rewriteBundle(t *testing.T, from, to, name string, edit func([]byte) []byte) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, _ := gzip.NewReader(f)
	tr := tar.NewReader(gz)
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if hdr.Name == name {
			data = edit(data)
		}
		hdr.Size = int64(len(data))
		tw.WriteHeader(hdr)
		tw.Write(data)
	}
	tw.Close()
	gw.Close()
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
