// Package s3store keeps evidence entries in an S3-compatible bucket, configured as a Velero
// location is (URL, region, bucket, prefix, a shared credentials file), each entry written once
// and, where the bucket has Object Lock, retained in compliance mode so that nobody, the bucket's
// owner included, can rewrite or delete it before its retention ends.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithy "github.com/aws/smithy-go"

	"github.com/rempart-io/rempart/internal/evidence"
)

// Options locate the bucket.
type Options struct {
	// URL of the S3 endpoint; empty for AWS itself.
	URL    string
	Region string
	Bucket string
	// Prefix the entries are written under, without a trailing slash.
	Prefix string
	// CredentialsFile is an AWS shared credentials file (Velero's format); empty uses the
	// environment's credentials.
	CredentialsFile string
	// Profile in the credentials file; "default" when empty.
	Profile string
	// Retention each entry is locked for, where the bucket has Object Lock.
	Retention time.Duration
}

// Store is an S3 bucket holding evidence entries.
type Store struct {
	o      Options
	client *s3.Client
	now    func() time.Time
	// locked: the last CheckLock found Object Lock on, so entries are written with a retention
	// (a bucket without it refuses one).
	locked atomic.Bool
}

// New connects to the bucket; nothing is read yet.
func New(ctx context.Context, o Options) (*Store, error) {
	if o.Bucket == "" {
		return nil, errors.New("no bucket given")
	}
	if o.Profile == "" {
		o.Profile = "default"
	}
	loads := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(o.Region)}
	if o.CredentialsFile != "" {
		loads = append(loads, awsconfig.WithSharedCredentialsFiles([]string{o.CredentialsFile}), awsconfig.WithSharedConfigProfile(o.Profile),
			awsconfig.WithSharedConfigFiles([]string{}))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("load the S3 credentials: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.URL != "" {
			so.BaseEndpoint = aws.String(o.URL)
			so.UsePathStyle = true
		}
	})
	return &Store{o: o, client: client, now: time.Now}, nil
}

// Describe implements evidence.Store.
func (s *Store) Describe() string {
	where := "s3://" + s.o.Bucket + "/" + s.o.Prefix
	if s.o.URL != "" {
		where += " at " + s.o.URL
	}
	return where
}

// Append implements evidence.Store: the object is created only if absent, and locked in
// compliance mode for the retention when the bucket has Object Lock.
func (s *Store) Append(ctx context.Context, tenant string, seq int64, envelope []byte) error {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.o.Bucket), Key: aws.String(evidence.ObjectKey(s.o.Prefix, tenant, seq)),
		Body: bytes.NewReader(envelope), ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*"),
	}
	if s.locked.Load() && s.o.Retention > 0 {
		in.ObjectLockMode = types.ObjectLockModeCompliance
		in.ObjectLockRetainUntilDate = aws.Time(s.now().Add(s.o.Retention))
	}
	_, err := s.client.PutObject(ctx, in)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "PreconditionFailed" || apiErr.ErrorCode() == "ConditionalRequestConflict") {
		return evidence.ErrExists
	}
	if err != nil {
		return fmt.Errorf("write entry %d of %s to %s: %w", seq, tenant, s.Describe(), err)
	}
	return nil
}

// Sequences implements evidence.Store.
func (s *Store) Sequences(ctx context.Context, tenant string) ([]int64, error) {
	prefix := strings.TrimSuffix(evidence.ObjectKey(s.o.Prefix, tenant, 0), "000000000000.json")
	var out []int64
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.o.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the entries of %s in %s: %w", tenant, s.Describe(), err)
		}
		for _, o := range page.Contents {
			if seq, ok := evidence.SequenceOf(aws.ToString(o.Key)); ok {
				out = append(out, seq)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// Read implements evidence.Store.
func (s *Store) Read(ctx context.Context, tenant string, seq int64) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.o.Bucket), Key: aws.String(evidence.ObjectKey(s.o.Prefix, tenant, seq))})
	if err != nil {
		return nil, fmt.Errorf("read entry %d of %s from %s: %w", seq, tenant, s.Describe(), err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// CheckLock reads the bucket's Object Lock configuration, and makes Append lock entries when it
// is on. A bucket without it still takes entries, and the caller reports that they are not
// protected.
func (s *Store) CheckLock(ctx context.Context) (evidence.Lock, error) {
	lock, err := s.readLock(ctx)
	if err == nil {
		s.locked.Store(lock.Enabled)
	}
	return lock, err
}

func (s *Store) readLock(ctx context.Context) (evidence.Lock, error) {
	out, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.o.Bucket)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "ObjectLockConfigurationNotFoundError" || apiErr.ErrorCode() == "NotImplemented") {
		return evidence.Lock{}, nil
	}
	var respErr interface{ HTTPStatusCode() int }
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotImplemented {
		return evidence.Lock{}, nil
	}
	if err != nil {
		return evidence.Lock{}, fmt.Errorf("read the Object Lock configuration of %s: %w", s.Describe(), err)
	}
	if out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		return evidence.Lock{}, nil
	}
	return evidence.Lock{Enabled: true, Retention: s.o.Retention}, nil
}
