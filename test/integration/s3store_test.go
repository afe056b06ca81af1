package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rempart-io/rempart/internal/evidence"
	"github.com/rempart-io/rempart/internal/evidence/s3store"
)

// localS3 runs the control plane's versitygw (an S3 store over a directory) on loopback for one
// test, and returns its URL and a credentials file in Velero's format.
func localS3(t *testing.T) (string, string) {
	t.Helper()
	bins, _ := filepath.Glob(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "versitygw-v*"))
	if len(bins) == 0 {
		t.Fatal("no versitygw in KUBEBUILDER_ASSETS: run through `make test-integration`, which builds the control plane")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bins[len(bins)-1], "--port", addr, "--region", "gra", "posix", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY=evidence-test", "ROOT_SECRET_KEY=evidence-test-secret")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	eventually(t, "versitygw to listen", func(context.Context) error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id=evidence-test\naws_secret_access_key=evidence-test-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr, creds
}

// The evidence store against a real S3 implementation: entries listed in order, read back,
// never overwritten; Object Lock seen where the bucket has it, and entries then retained.
func TestEvidenceStoreOnS3(t *testing.T) {
	ctx := context.Background()
	url, creds := localS3(t)
	admin := s3.New(s3.Options{Region: "gra", BaseEndpoint: aws.String(url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("evidence-test", "evidence-test-secret", "")})
	for bucket, lock := range map[string]bool{"locked-evidence": true, "plain-evidence": false} {
		if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), ObjectLockEnabledForBucket: aws.Bool(lock)}); err != nil {
			t.Fatal(err)
		}
	}
	open := func(bucket string) *s3store.Store {
		s, err := s3store.New(ctx, s3store.Options{URL: url, Region: "gra", Bucket: bucket, Prefix: "rempart", CredentialsFile: creds, Retention: evidence.MinRetention})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	plain := open("plain-evidence")
	if lock, err := plain.CheckLock(ctx); err != nil || lock.Enabled {
		t.Fatalf("a bucket without Object Lock: %+v, %v", lock, err)
	}
	for _, seq := range []int64{0, 1, 2, 10} {
		if err := plain.Append(ctx, "acme", seq, []byte(fmt.Sprintf(`{"entry":%d}`, seq))); err != nil {
			t.Fatal(err)
		}
	}
	if err := plain.Append(ctx, "other", 0, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	// Written once: a second write of the same entry is refused even without Object Lock.
	if err := plain.Append(ctx, "acme", 1, []byte(`{"forged":true}`)); !errors.Is(err, evidence.ErrExists) {
		t.Errorf("overwriting entry 1: %v, want ErrExists", err)
	}
	seqs, err := plain.Sequences(ctx, "acme")
	if err != nil || fmt.Sprint(seqs) != "[0 1 2 10]" {
		t.Errorf("sequences %v (%v), want [0 1 2 10], the other tenant's left out", seqs, err)
	}
	if raw, err := plain.Read(ctx, "acme", 1); err != nil || !bytes.Equal(raw, []byte(`{"entry":1}`)) {
		t.Errorf("entry 1 read back as %q (%v)", raw, err)
	}

	locked := open("locked-evidence")
	lock, err := locked.CheckLock(ctx)
	if err != nil || !lock.Enabled || lock.Retention != evidence.MinRetention {
		t.Fatalf("a bucket with Object Lock: %+v, %v", lock, err)
	}
	if err := locked.Append(ctx, "acme", 0, []byte(`{"entry":0}`)); err != nil {
		t.Fatal(err)
	}
	key := evidence.ObjectKey("rempart", "acme", 0)
	ret, err := admin.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("locked-evidence"), Key: aws.String(key)})
	if err != nil || string(ret.Retention.Mode) != "COMPLIANCE" || time.Until(*ret.Retention.RetainUntilDate) < evidence.MinRetention-time.Hour {
		t.Fatalf("the entry is not retained in compliance mode for 12 months: %+v, %v", ret, err)
	}
	if _, err := admin.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("locked-evidence"), Key: aws.String(key)}); err == nil {
		t.Error("the bucket's owner deleted a locked entry")
	}
	if err := locked.Append(ctx, "acme", 0, []byte(`{"forged":true}`)); err == nil {
		t.Error("a locked entry was overwritten")
	}
	if raw, _ := locked.Read(ctx, "acme", 0); !bytes.Equal(raw, []byte(`{"entry":0}`)) {
		t.Errorf("the locked entry reads %q", raw)
	}
	if d := locked.Describe(); d != "s3://locked-evidence/rempart at "+url {
		t.Errorf("Describe() = %q", d)
	}
}
