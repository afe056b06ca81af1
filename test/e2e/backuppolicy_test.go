package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/test/localcluster"
)

func backupPolicyState(t *testing.T, c client.Client, name string, timeout time.Duration, check func(*rempartv1.BackupPolicy) error) *rempartv1.BackupPolicy {
	t.Helper()
	var bp rempartv1.BackupPolicy
	waitFor(t, "BackupPolicy "+name, timeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &bp); err != nil {
			return false, err
		}
		if bp.Status.ObservedGeneration != bp.Generation {
			return false, fmt.Errorf("generation %d not evaluated", bp.Generation)
		}
		err := check(&bp)
		return err == nil, err
	})
	return &bp
}

func updateBackupPolicy(t *testing.T, c client.Client, name string, mutate func(*rempartv1.BackupPolicy)) {
	t.Helper()
	waitFor(t, "update of BackupPolicy "+name, 30*time.Second, func(ctx context.Context) (bool, error) {
		var bp rempartv1.BackupPolicy
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &bp); err != nil {
			return false, err
		}
		mutate(&bp)
		err := c.Update(ctx, &bp)
		return err == nil, err
	})
}

// The whole promise against the real Velero: a backup of a tenant's namespace in the S3 store,
// versions pruned through Velero, a restore into an isolated sandbox checked object by object,
// and the RPO turning when backups stop.
func TestBackupPolicyWithRealVelero(t *testing.T) {
	c, err := cluster.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := residencyTenant(t, c, "bk-e2e", []rempartv1.Jurisdiction{"EU"})
	// The tenant publishes one LoadBalancer Service, declared.
	waitFor(t, "the public Service declared", 30*time.Second, func(ctx context.Context) (bool, error) {
		var ti rempartv1.TenantIsolation
		if err := c.Get(ctx, client.ObjectKey{Name: "bk-e2e"}, &ti); err != nil {
			return false, err
		}
		ti.Spec.Exposure = &rempartv1.Exposure{PublicServices: []string{ns + "/ledger-public"}}
		return true, c.Update(ctx, &ti)
	})
	tenantCompliant(t, c, "bk-e2e")
	// Objects that make controllers outside the namespace act: a load balancer, an Ingress, a
	// certificate issued by cert-manager. A restore test must not recreate them.
	selfSigned := &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ledger-selfsigned"},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}}
	for _, obj := range []client.Object{
		selfSigned,
		&cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ledger-tls"}, Spec: cmapi.CertificateSpec{
			SecretName: "ledger-tls", DNSNames: []string{"ledger.example"}, IssuerRef: cmmeta.IssuerReference{Kind: "Issuer", Name: "ledger-selfsigned"}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ledger-public"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "ledger"}, Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromInt32(8443)}}}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ledger"}, Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{Host: "ledger.example", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "ledger", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}},
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the certificate issued", time.Minute, func(ctx context.Context) (bool, error) {
		return true, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ledger-tls"}, &corev1.Secret{})
	})
	for _, obj := range []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ledger-settings"}, Data: map[string]string{"currency": "EUR"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ledger-db"}, StringData: map[string]string{"password": "s3cret"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ledger"}, Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "ledger"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}},
		deployment(ns, "ledger", 2),
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	runningPods(t, c, ns, "ledger", 2)

	bp := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bk-e2e"}, Spec: rempartv1.BackupPolicySpec{
		Tenant:          "bk-e2e",
		StorageLocation: rempartv1.BackupStorageLocationRef{Name: backupStore.Location, Region: backupRegion},
		Versions:        2,
		RPO:             &metav1.Duration{Duration: 90 * time.Second},
	}}
	if err := c.Create(ctx, bp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), bp) })

	// The first backup, taken by Velero into the store.
	got := backupPolicyState(t, c, "bk-e2e", 2*time.Minute, func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.VersionCount != 1 || bp.Status.RPOMet != "True" {
			return fmt.Errorf("versions %d, RPO met %q, last backup %+v", bp.Status.VersionCount, bp.Status.RPOMet, bp.Status.LastBackup)
		}
		return nil
	})
	first := got.Status.FirstBackup
	if _, err := os.Stat(filepath.Join(backupStore.StoreDir, backupStore.Bucket, "backups", first)); err != nil {
		t.Fatalf("the first backup is not in the store: %v", err)
	}
	for _, id := range []rempartv1.ControlID{"backup.schedule", "backup.location", "backup.rpo", "backup.last-run", "backup.versions"} {
		if r := got.Status.Control(id); r.State != rempartv1.ControlCompliant {
			t.Errorf("control %s: %s %s", id, r.State, r.Message)
		}
	}
	// The local store is a plain directory: nothing shows encryption, and none is claimed.
	if r := got.Status.Control("backup.encryption"); r.State != rempartv1.ControlNonCompliant {
		t.Errorf("encryption claimed on a plain directory: %s %s", r.State, r.Message)
	}

	// Two more backups: three good ones where two are promised, the oldest goes, through Velero.
	previous := first
	for _, token := range []string{"second", "third"} {
		// Velero stamps backups to the second: keep their order unambiguous.
		time.Sleep(1100 * time.Millisecond)
		updateBackupPolicy(t, c, "bk-e2e", func(bp *rempartv1.BackupPolicy) { bp.Spec.BackupNow = token })
		got = backupPolicyState(t, c, "bk-e2e", 2*time.Minute, func(bp *rempartv1.BackupPolicy) error {
			last := bp.Status.LastBackup
			if bp.Status.BackupNowHandled != token || last == nil || last.Name == previous || last.Phase != "Completed" {
				return fmt.Errorf("last backup %+v", last)
			}
			return nil
		})
		previous = got.Status.LastBackup.Name
	}
	got = backupPolicyState(t, c, "bk-e2e", 2*time.Minute, func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.VersionCount != 2 {
			return fmt.Errorf("%d versions", bp.Status.VersionCount)
		}
		for _, v := range bp.Status.Versions {
			if v.Name == first {
				return fmt.Errorf("the oldest version %s is still kept", first)
			}
		}
		return nil
	})
	waitFor(t, "Velero to delete the pruned backup and its data", time.Minute, func(ctx context.Context) (bool, error) {
		b := &unstructured.Unstructured{}
		b.SetAPIVersion("velero.io/v1")
		b.SetKind("Backup")
		err := c.Get(ctx, client.ObjectKey{Namespace: localcluster.VeleroNamespace, Name: first}, b)
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("backup %s still there (%v)", first, err)
		}
		if _, err := os.Stat(filepath.Join(backupStore.StoreDir, backupStore.Bucket, "backups", first)); !os.IsNotExist(err) {
			return false, fmt.Errorf("its data is still in the store (%v)", err)
		}
		return true, nil
	})

	// A restore test into a sandbox, checked against what the backup holds; the sandbox is kept
	// for inspection first.
	updateBackupPolicy(t, c, "bk-e2e", func(bp *rempartv1.BackupPolicy) {
		bp.Spec.RestoreTestNow = "first"
		bp.Spec.RestoreTest.Cleanup = ptr.To(false)
	})
	got = backupPolicyState(t, c, "bk-e2e", 3*time.Minute, func(bp *rempartv1.BackupPolicy) error {
		rt := bp.Status.LastRestoreTest
		if rt == nil || rt.Result != rempartv1.RestoreTestPassed {
			return fmt.Errorf("restore test %+v", rt)
		}
		return nil
	})
	rt := got.Status.LastRestoreTest
	verified, where := map[string]int32{}, map[string]string{}
	for _, ch := range rt.Checks {
		verified[ch.Resource], where[ch.Resource] = ch.Restored, ch.VerifiedIn
	}
	for _, want := range []string{"configmaps", "secrets", "services", "deployments.apps"} {
		if verified[want] < 1 || where[want] != "Sandbox" {
			t.Errorf("restore test did not verify %s in the sandbox: %+v", want, rt.Checks)
		}
	}
	for _, want := range []string{"ingresses.networking.k8s.io", "certificates.cert-manager.io", "issuers.cert-manager.io"} {
		if where[want] != "Backup" {
			t.Errorf("%s not verified from the backup's contents: %+v", want, rt.Checks)
		}
	}
	_, kept, _ := strings.Cut(rt.Sandboxes[0], "=")
	assertSandboxInert(t, c, kept)
	updateBackupPolicy(t, c, "bk-e2e", func(bp *rempartv1.BackupPolicy) { bp.Spec.RestoreTest.Cleanup = nil })
	got = backupPolicyState(t, c, "bk-e2e", 3*time.Minute, func(bp *rempartv1.BackupPolicy) error {
		if rt := bp.Status.LastRestoreTest; !rt.CleanedUp {
			return fmt.Errorf("sandbox not cleaned up: %+v", rt)
		}
		return nil
	})
	rt = got.Status.LastRestoreTest
	if rt.Backup != got.Status.Versions[0].Name {
		t.Errorf("restored %s, not the newest good backup %s", rt.Backup, got.Status.Versions[0].Name)
	}
	if r := got.Status.Control("backup.restore-test"); r.State != rempartv1.ControlCompliant || !strings.Contains(r.Message, "within the RTO") {
		t.Errorf("restore test control: %s %s", r.State, r.Message)
	}
	_, sandbox, _ := strings.Cut(rt.Sandboxes[0], "=")
	if err := c.Get(ctx, client.ObjectKey{Name: sandbox}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("sandbox %s still exists: %v", sandbox, err)
	}
	if err := c.Delete(ctx, selfSigned); err != nil {
		t.Error(err)
	}

	// Backups stop (the schedule is daily): the RPO turns at its deadline, with an Event.
	got = backupPolicyState(t, c, "bk-e2e", 3*time.Minute, func(bp *rempartv1.BackupPolicy) error {
		if r := bp.Status.Control("backup.rpo"); r.Reason != "RPOBreached" {
			return fmt.Errorf("rpo %s: %s", r.Reason, r.Message)
		}
		return nil
	})
	if got.Status.RPOMet != "False" {
		t.Errorf("RPO-OK %q after the breach", got.Status.RPOMet)
	}
	waitFor(t, "an RPOBreached event", 30*time.Second, func(ctx context.Context) (bool, error) {
		var list eventsv1.EventList
		if err := c.List(ctx, &list); err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if e.Regarding.Kind == "BackupPolicy" && e.Regarding.Name == "bk-e2e" && e.Reason == "RPOBreached" {
				return true, nil
			}
		}
		return false, fmt.Errorf("none yet")
	})
	// Alerting reads the breach from the operator's metrics.
	waitFor(t, "the RPO breach on /metrics", 30*time.Second, func(ctx context.Context) (bool, error) {
		code, body := get(t, operator.MetricsURL+"/metrics")
		want := `rempart_backup_rpo_breached{policy="bk-e2e",tenant="bk-e2e"} 1`
		if code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `rempart_restore_test_passed{policy="bk-e2e",tenant="bk-e2e"} 1`) {
			return false, fmt.Errorf("/metrics (%d) lacks %s or the restore test", code, want)
		}
		return true, nil
	})
	checkAlertsAgainstMetrics(t, "RempartControlNonCompliant", "RempartBackupRPOBreached", "RempartRestoreTestFailed", "RempartRestoreTestOverdue", "RempartReconcileErrors")
	// The tenant's namespace and its data are untouched by all of it.
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ledger-settings"}, &cm); err != nil {
		t.Errorf("tenant data after the tests: %v", err)
	}
}

// assertSandboxInert checks that nothing in a restore sandbox makes a controller outside it act:
// no Ingress, Certificate or Issuer; Services ClusterIP (a LoadBalancer one headless, without
// ports); workloads at zero replicas.
func assertSandboxInert(t *testing.T, c client.Client, sandbox string) {
	t.Helper()
	ctx := context.Background()
	for _, list := range []client.ObjectList{&networkingv1.IngressList{}, &cmapi.CertificateList{}, &cmapi.IssuerList{}} {
		if err := c.List(ctx, list, client.InNamespace(sandbox)); err != nil {
			t.Fatal(err)
		}
		if n := meta.LenList(list); n != 0 {
			t.Errorf("%d %T live in the sandbox %s", n, list, sandbox)
		}
	}
	var services corev1.ServiceList
	if err := c.List(ctx, &services, client.InNamespace(sandbox)); err != nil {
		t.Fatal(err)
	}
	names := map[string]corev1.Service{}
	for _, s := range services.Items {
		names[s.Name] = s
		if s.Spec.Type != corev1.ServiceTypeClusterIP || len(s.Spec.ExternalIPs) > 0 {
			t.Errorf("service %s/%s restored as %s %v", sandbox, s.Name, s.Spec.Type, s.Spec.ExternalIPs)
		}
	}
	if pub, ok := names["ledger-public"]; !ok || pub.Spec.ClusterIP != corev1.ClusterIPNone || len(pub.Spec.Ports) != 0 {
		t.Errorf("the LoadBalancer Service came back as %+v (present %v), want a headless name without ports", pub.Spec, ok)
	}
	var dep appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: sandbox, Name: "ledger"}, &dep); err != nil || dep.Spec.Replicas == nil || *dep.Spec.Replicas != 0 {
		t.Errorf("deployment in the sandbox: %v replicas (%v)", dep.Spec.Replicas, err)
	}
}
