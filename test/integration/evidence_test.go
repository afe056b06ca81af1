package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/evidencelog"
	"github.com/rempart-io/rempart/internal/evidence"
)

// evidence.log, the control of the evidence log, reported in each ComplianceReport rather than in
// a policy's status: its row drives a recorder whose key comes from the real API server (the
// Secret created once, read again by a restarted operator) over a local store, with a real
// tenant's report. An altered entry turns it NonCompliant; a fresh, whole log is Compliant.
func init() {
	controlScenarios["evidence.log"] = func(t *testing.T, s *turns) {
		ctx := context.Background()
		key, err := evidencelog.SigningKey(ctx, env.Client, env.Client, operatorNamespace)
		if err != nil {
			t.Fatal(err)
		}
		again, err := evidencelog.SigningKey(ctx, env.Client, env.Client, operatorNamespace)
		if err != nil || !bytes.Equal(key, again) {
			t.Fatalf("the signing key changed on a second start: %v", err)
		}
		var secret corev1.Secret
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: evidencelog.KeySecretName}, &secret); err != nil || secret.Immutable == nil || !*secret.Immutable {
			t.Fatalf("the key's Secret is missing or mutable: %v", err)
		}
		signer, err := evidence.NewSigner(key)
		if err != nil {
			t.Fatal(err)
		}
		tableTenant(t, newTenant("ev-row", rempartv1.EnvironmentProduction, "ev-row-a"))
		report := waitReport(t, "ev-row", func(r *rempartv1.ComplianceReport) error { return nil })

		dir := t.TempDir()
		judge := func(lock evidence.Lock) rempartv1.ControlResult {
			rec, err := evidencelog.NewRecorder(evidencelog.Options{Store: evidence.DirStore{Dir: dir}, Lock: fixedLock(lock), Signer: signer,
				SnapshotInterval: 24 * time.Hour, Slack: 30 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			rec.Record(ctx, "ev-row", report.Status, nil)
			rec.Check(ctx)
			return rec.Control(ctx, "ev-row")
		}
		locked := evidence.Lock{Enabled: true, Retention: evidence.MinRetention}
		if r := judge(locked); r.State != rempartv1.ControlCompliant {
			t.Fatalf("a whole, locked log: %+v", r)
		}
		s.seen[rempartv1.ControlCompliant] = true
		if r := judge(evidence.Lock{}); r.State != rempartv1.ControlNonCompliant || r.Reason != "EntriesNotLocked" {
			t.Errorf("a store without Object Lock: %+v", r)
		}
		first := filepath.Join(dir, "tenants", "ev-row", "000000000000.json")
		raw, err := os.ReadFile(first)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(first, 0o600)
		if err := os.WriteFile(first, bytes.Replace(raw, []byte(`"sig":"`), []byte(`"sig":"AA`), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := judge(locked); r.State != rempartv1.ControlNonCompliant || r.Reason != "ChainDoesNotVerify" {
			t.Errorf("an altered entry: %+v", r)
		} else {
			s.seen[rempartv1.ControlNonCompliant] = true
		}

		// The public key is published for auditors, and kept current.
		info := evidencelog.PublicInfo{PublicKey: "pem", KeyID: "id", Store: "s3://rempart-evidence/rempart", Bucket: "rempart-evidence"}
		for _, store := range []string{info.Store, "s3://moved/rempart"} {
			info.Store = store
			if err := evidencelog.PublishPublicKey(ctx, env.Client, env.Client, operatorNamespace, info); err != nil {
				t.Fatal(err)
			}
			var cm corev1.ConfigMap
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: evidence.ConfigMapName}, &cm); err != nil || cm.Data[evidence.StoreField] != store {
				t.Errorf("ConfigMap %s: %v %v", evidence.ConfigMapName, err, cm.Data)
			}
		}
	}
}

type fixedLock evidence.Lock

func (l fixedLock) CheckLock(context.Context) (evidence.Lock, error) {
	return evidence.Lock(l), nil
}
