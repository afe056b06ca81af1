package withoutvelero

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers"
	"github.com/rempart-io/rempart/controllers/backuppolicy"
	"github.com/rempart-io/rempart/controllers/certificatepolicy"
	"github.com/rempart-io/rempart/controllers/compliancereport"
	"github.com/rempart-io/rempart/test/testenv"
)

// On a cluster without Velero or cert-manager, a BackupPolicy and a CertificatePolicy say so in
// Ready, claim no control, and the operator keeps running.
func TestPoliciesWithoutVeleroOrCertManager(t *testing.T) {
	bare, err := testenv.StartWith(testenv.Options{WithoutVelero: true, WithoutCertManager: true, WithoutOpenReports: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bare.Stop() }()
	resync := 10 * time.Minute
	mgr, err := ctrl.NewManager(bare.Config, ctrl.Options{Scheme: bare.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, Cache: controllers.CacheOptions(resync)})
	if err != nil {
		t.Fatal(err)
	}
	// Where only the wgpolicyk8s.io PolicyReport is served, that is what reports are written as.
	if gvk, write, err := compliancereport.ReportKindServed(mgr.GetRESTMapper(), "auto"); err != nil || !write || gvk != compliancereport.PolicyReportGVK {
		t.Errorf("report kind without OpenReports: %v %v %v, want the wgpolicyk8s.io PolicyReport", gvk, write, err)
	}
	if err := backuppolicy.Setup(mgr, backuppolicy.Settings{MaxConcurrentReconciles: 1, Resync: resync, Clock: clock.RealClock{}}); err != nil {
		t.Fatalf("setup without Velero: %v", err)
	}
	if err := certificatepolicy.Setup(mgr, certificatepolicy.Settings{MaxConcurrentReconciles: 1, Resync: resync, Clock: clock.RealClock{}}); err != nil {
		t.Fatalf("setup without cert-manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	bp := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "no-velero"}, Spec: rempartv1.BackupPolicySpec{
		Tenant: "acme", StorageLocation: rempartv1.BackupStorageLocationRef{Name: "default", Region: "gra"}}}
	if err := bare.Client.Create(ctx, bp); err != nil {
		t.Fatal(err)
	}
	cp := &rempartv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: "no-cert-manager"}, Spec: rempartv1.CertificatePolicySpec{
		Tenants: &rempartv1.TenantSelection{Names: []rempartv1.TenantName{"acme"}},
		Issuers: []rempartv1.IssuerRef{{Kind: "ClusterIssuer", Name: "rempart-ca"}}}}
	if err := bare.Client.Create(ctx, cp); err != nil {
		t.Fatal(err)
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = check(ctx, bare.Client)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("Ready=False VeleroNotInstalled and CertManagerNotInstalled: %v", last)
	}
}

// check says what is still missing from the policy's status.
func check(ctx context.Context, c client.Client) error {
	var bp rempartv1.BackupPolicy
	if err := c.Get(ctx, client.ObjectKey{Name: "no-velero"}, &bp); err != nil {
		return err
	}
	ready := meta.FindStatusCondition(bp.Status.Conditions, rempartv1.ConditionReady)
	if ready == nil || ready.Status != "False" || ready.Reason != backuppolicy.ReasonVeleroNotInstalled {
		return fmt.Errorf("ready %+v", ready)
	}
	if c := bp.Status.Control("backup.rpo"); c.State != rempartv1.ControlUnknown {
		return fmt.Errorf("rpo control %+v: nothing may be claimed without Velero", c)
	}
	var cp rempartv1.CertificatePolicy
	if err := c.Get(ctx, client.ObjectKey{Name: "no-cert-manager"}, &cp); err != nil {
		return err
	}
	ready = meta.FindStatusCondition(cp.Status.Conditions, rempartv1.ConditionReady)
	if ready == nil || ready.Status != "False" || ready.Reason != certificatepolicy.ReasonCertManagerNotInstalled || ready.ObservedGeneration != cp.Generation {
		return fmt.Errorf("certificate policy ready %+v", ready)
	}
	if len(cp.Status.Controls) == 0 || cp.Status.Summary.Compliant != 0 {
		return fmt.Errorf("certificate policy claims %d compliant controls of %d without cert-manager", cp.Status.Summary.Compliant, len(cp.Status.Controls))
	}
	if compliant := meta.FindStatusCondition(cp.Status.Conditions, rempartv1.ConditionCompliant); compliant == nil || compliant.Status == "True" {
		return fmt.Errorf("certificate policy compliant %+v without cert-manager", compliant)
	}
	return nil
}
