package evidencelog

import (
	"context"
	"fmt"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/rempart-io/rempart/internal/evidence"
	"github.com/rempart-io/rempart/internal/evidence/s3store"
)

// Config is the evidence log's part of the operator's flags.
type Config struct {
	// S3 locates the bucket; no bucket, no evidence log.
	S3 s3store.Options
	// Namespace is the operator's, where the key's Secret and the public ConfigMap live.
	Namespace string
	// SnapshotInterval, Slack: see Options. CheckInterval: how often the stored chain is read
	// back and verified.
	SnapshotInterval, Slack, CheckInterval time.Duration
	Clock                                  clock.PassiveClock
}

// Enabled says whether an evidence log is configured.
func (c Config) Enabled() bool { return c.S3.Bucket != "" }

// The Secret and ConfigMap are read and written through the Role rempart-evidence of the
// operator's namespace (config/rbac/evidence_role.yaml), not the ClusterRole: no other Secret
// is readable.

// Setup reads (or makes) the signing key and connects to the store, and has the leader publish
// the public key and check the log periodically. It returns nil when no log is configured.
func Setup(mgr ctrl.Manager, c Config) (*Recorder, error) {
	if !c.Enabled() {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, err := SigningKey(ctx, mgr.GetAPIReader(), mgr.GetClient(), c.Namespace)
	if err != nil {
		return nil, err
	}
	signer, err := evidence.NewSigner(key)
	if err != nil {
		return nil, err
	}
	store, err := s3store.New(ctx, c.S3)
	if err != nil {
		return nil, fmt.Errorf("evidence store: %w", err)
	}
	rec, err := NewRecorder(Options{Store: store, Lock: store, Signer: signer, Clock: c.Clock,
		SnapshotInterval: c.SnapshotInterval, Slack: c.Slack})
	if err != nil {
		return nil, err
	}
	return rec, mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		public := PublicInfo{PublicKey: rec.status.PublicKey, KeyID: rec.status.KeyID, Store: rec.status.Store,
			Bucket: c.S3.Bucket, Prefix: c.S3.Prefix, URL: c.S3.URL, Region: c.S3.Region}
		if err := PublishPublicKey(ctx, mgr.GetAPIReader(), mgr.GetClient(), c.Namespace, public); err != nil {
			return err
		}
		return rec.Run(ctx, c.CheckInterval)
	}))
}
