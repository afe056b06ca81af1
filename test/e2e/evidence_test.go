package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/evidence"
	"github.com/rempart-io/rempart/test/testenv"
)

// evidenceArgs make the operator's evidence log move at test speed: a snapshot every 15 s, a gap
// counted 5 s after a missed one, the chain read back every 10 s.
var evidenceArgs = []string{"--evidence-snapshot-interval=15s", "--evidence-gap-after=5s", "--evidence-check-interval=10s"}

// reportOf waits until the tenant's report passes check.
func reportOf(t *testing.T, c client.Client, tenant string, timeout time.Duration, check func(*rempartv1.ComplianceReport) error) *rempartv1.ComplianceReport {
	t.Helper()
	var r rempartv1.ComplianceReport
	waitFor(t, "the report of "+tenant, timeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: tenant}, &r); err != nil {
			return false, err
		}
		err := check(&r)
		return err == nil, err
	})
	return &r
}

func requirementState(r *rempartv1.ComplianceReport, id string) string {
	for _, req := range r.Status.Requirements {
		if req.ID == id {
			return req.State
		}
	}
	return ""
}

// A tenant's state changes over a period (a claim on an unencrypted class adopted, then removed;
// an administrator granted access that ends; the operator stopped for a while): the operator
// writes it to the real S3 store with Object Lock, the plugin's history and export read it back
// verified, the export verifies offline, a hand-edited bundle fails naming the entry, the summary
// renders in Chromium, and the store refuses to rewrite or delete an entry.
func TestEvidenceLogOverAPeriod(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	plugin := os.Getenv("REMPART_PLUGIN")
	if plugin == "" {
		t.Fatal("REMPART_PLUGIN is not set: run through `make test-e2e`, which builds the plugin")
	}
	periodStart := time.Now().UTC().Add(-time.Second)

	// Before adoption: a claim on a class that encrypts nothing.
	if err := c.Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ev-plain"}, Provisioner: "ebs.csi.aws.com"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ev-data"}}); err != nil {
		t.Fatal(err)
	}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ev-data", Name: "db"},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("ev-plain"), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if err := c.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	ti := &rempartv1.TenantIsolation{ObjectMeta: metav1.ObjectMeta{Name: "ev-shop"}, Spec: rempartv1.TenantIsolationSpec{
		Environment: rempartv1.EnvironmentProduction, Namespaces: []rempartv1.NamespaceName{"ev-data"}}}
	if err := c.Create(ctx, ti); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ti) })

	r := reportOf(t, c, "ev-shop", 2*time.Minute, func(r *rempartv1.ComplianceReport) error {
		if r.Status.Evidence == nil || r.Status.Evidence.Entries == 0 {
			return errors.New("no evidence entry yet")
		}
		if s := requirementState(r, "FT-CLD-21"); s != "NonCompliant" {
			return fmt.Errorf("FT-CLD-21 is %q", s)
		}
		return nil
	})
	if r.Status.Evidence.PublicKey == "" || !strings.Contains(r.Status.Evidence.Store, "rempart-evidence") {
		t.Fatalf("the report does not publish the key and the store: %+v", r.Status.Evidence)
	}
	// The store locks entries, and the control says so: FT-CLD-28 is Compliant.
	reportOf(t, c, "ev-shop", time.Minute, func(r *rempartv1.ComplianceReport) error {
		if r.Status.Evidence.Retention == "" {
			return errors.New("no retention published")
		}
		if s := requirementState(r, "FT-CLD-28"); s != "Compliant" {
			return fmt.Errorf("FT-CLD-28 is %q", s)
		}
		return nil
	})
	var published corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: "rempart-system", Name: evidence.ConfigMapName}, &published); err != nil {
		t.Fatal(err)
	}
	if published.Data[evidence.PublicKeyField] != r.Status.Evidence.PublicKey || published.Data[evidence.BucketField] != backupStore.EvidenceBucket {
		t.Errorf("the ConfigMap publishes %v", published.Data)
	}

	// An administrator's access, granted then ended.
	start := time.Now()
	requestApproved(t, c, grant("ev-oncall", "eve@provider.example", "ev-shop", start.Add(20*time.Second)))
	// The claim is removed: compliant again.
	if err := c.Delete(ctx, claim); err != nil {
		t.Fatal(err)
	}
	reportOf(t, c, "ev-shop", 2*time.Minute, func(r *rempartv1.ComplianceReport) error {
		if s := requirementState(r, "FT-CLD-21"); s != "Compliant" {
			return fmt.Errorf("FT-CLD-21 is %q", s)
		}
		return nil
	})
	time.Sleep(time.Until(start.Add(25 * time.Second)))

	// The operator is down longer than a snapshot and its margin: a gap, then resumed.
	before := reportOf(t, c, "ev-shop", time.Minute, func(*rempartv1.ComplianceReport) error { return nil }).Status.Evidence.Entries
	operator.Stop()
	time.Sleep(30 * time.Second)
	restarted, err := cluster.StartOperator(ctx, operatorBinary, evidenceArgs...)
	if err != nil {
		t.Fatal(err)
	}
	operator = restarted
	reportOf(t, c, "ev-shop", time.Minute, func(r *rempartv1.ComplianceReport) error {
		if r.Status.Evidence.Entries <= before {
			return fmt.Errorf("%d entries, %d before the stop", r.Status.Evidence.Entries, before)
		}
		return nil
	})
	periodEnd := time.Now().UTC()
	// The periodic check read the chain back and found it whole; the alerts' metrics are there.
	waitFor(t, "the periodic check of ev-shop's chain", time.Minute, func(context.Context) (bool, error) {
		_, body := get(t, operator.MetricsURL+"/metrics")
		return strings.Contains(body, `rempart_evidence_chain_problems{tenant="ev-shop"} 0`) && strings.Contains(body, "rempart_evidence_store_locked 1"), nil
	})
	checkAlertsAgainstMetrics(t, "RempartEvidenceChainBroken", "RempartEvidenceWriteFailing", "RempartEvidenceStale", "RempartEvidenceNotLocked")

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte(r.Status.Evidence.PublicKey), 0o644); err != nil {
		t.Fatal(err)
	}
	rempart := func(args ...string) (string, error) {
		cmd := exec.Command(plugin, append(args, "--kubeconfig", cluster.Kubeconfig)...)
		cmd.Env = append(os.Environ(), "AWS_SHARED_CREDENTIALS_FILE="+backupStore.CredentialsFile)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, errOut.String())
		}
		return out.String(), err
	}
	history, err := rempart("history", "--tenant", "ev-shop", "--since", periodStart.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kubectl rempart history:\n%s", history)
	for _, want := range []string{"FT-CLD-21", "NonCompliant", "Compliant after", "AdminAccess ev-oncall", "approved by " + approver, "Gaps (not recorded):\n  20"} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q:\n%s", want, history)
		}
	}
	bundle := filepath.Join(dir, "bundle.tar.gz")
	if out, err := rempart("evidence", "export", "--tenant", "ev-shop", "--from", periodStart.Format(time.RFC3339), "--to", periodEnd.Format(time.RFC3339), "-o", bundle); err != nil {
		t.Fatalf("export: %v %s", err, out)
	}
	// Verification needs no cluster: no kubeconfig, no credentials.
	verify := exec.Command(plugin, "evidence", "verify", bundle, "--key", keyFile)
	verify.Env = []string{"HOME=" + dir, "KUBECONFIG=" + filepath.Join(dir, "none")}
	if out, err := verify.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK:") {
		t.Fatalf("the exported bundle does not verify: %v\n%s", err, out)
	}

	b := readBundle(t, bundle)
	checkSummaryRendered(t, b.Summary)
	// A hand edit: entry 1's report says something else, the rest kept.
	b.Envelopes[1] = bytes.Replace(b.Envelopes[1], []byte(`"payload":"`), []byte(`"payload":"eyJ`), 1)
	edited := filepath.Join(dir, "edited.tar.gz")
	writeBundle(t, edited, b)
	verify = exec.Command(plugin, "evidence", "verify", edited, "--key", keyFile)
	out, err := verify.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "entry 1") {
		t.Errorf("a hand-edited bundle: %v\n%s", err, out)
	}

	// The store keeps the entries: the bucket owner's own credentials cannot rewrite or delete one.
	s3c := s3.New(s3.Options{Region: backupStore.Region, BaseEndpoint: aws.String(backupStore.S3URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("rempart-local", "rempart-local-secret", "")})
	key := evidence.ObjectKey("rempart", "ev-shop", 0)
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(backupStore.EvidenceBucket), Key: aws.String(key)}); err == nil {
		t.Error("the store let an evidence entry be deleted")
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(backupStore.EvidenceBucket), Key: aws.String(key), Body: strings.NewReader("{}")}); err == nil {
		t.Error("the store let an evidence entry be overwritten")
	}
}

func readBundle(t *testing.T, name string) evidence.Bundle {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := evidence.ReadBundle(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBundle(t *testing.T, name string, b evidence.Bundle) {
	t.Helper()
	var buf bytes.Buffer
	if err := evidence.WriteBundle(&buf, b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkSummaryRendered screenshots the summary in Debian's chromium and checks what an auditor
// sees: a page of text on white with the timelines' green (Compliant), red (NonCompliant) and
// the dark hatching of the time nothing was recorded.
func checkSummaryRendered(t *testing.T, page []byte) {
	t.Helper()
	img, err := testenv.Screenshot(page, 1280, 2400)
	if err != nil {
		t.Fatal(err)
	}
	var green, red, white, total int
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			total++
			switch {
			case r > 240 && g > 240 && b > 240:
				white++
			case g > 130 && r < 80 && b < 110:
				green++
			case r > 170 && g < 70 && b < 70:
				red++
			}
		}
	}
	if white*2 < total {
		t.Errorf("the summary is not a page on white: %d white pixels of %d", white, total)
	}
	if green < 50 || red < 20 {
		t.Errorf("the timelines do not show Compliant in green (%d) and NonCompliant in red (%d)", green, red)
	}
}
