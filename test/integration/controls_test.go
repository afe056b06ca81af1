package integration

// Every control can fail: one row per control of the catalog, each a scenario on the real API
// server that drives the control to NonCompliant and back to Compliant. A control that cannot
// turn NonCompliant proves nothing.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/adminaccess"
	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/test/testenv"
)

// turns records the states a row's control was seen in.
type turns struct {
	id   rempartv1.ControlID
	seen map[rempartv1.ControlState]bool
}

// to waits until the row's control of the policy (kind and name), judged at its current
// generation, is in state.
func (s *turns) to(t *testing.T, kind, name string, state rempartv1.ControlState) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s of %s %s to be %s", s.id, kind, name, state), func(ctx context.Context) error {
		r, err := controlOf(ctx, kind, name, s.id)
		if err != nil {
			return err
		}
		if r.State != state {
			return fmt.Errorf("%s %s: %s", r.State, r.Reason, r.Message)
		}
		return nil
	})
	s.seen[state] = true
}

// controlOf reads one control of any policy kind, if the status describes the current spec.
func controlOf(ctx context.Context, kind, name string, id rempartv1.ControlID) (rempartv1.ControlResult, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(rempartv1.GroupVersion.WithKind(kind))
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
		return rempartv1.ControlResult{}, err
	}
	var status rempartv1.PolicyStatus
	if raw, ok := u.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &status); err != nil {
			return rempartv1.ControlResult{}, err
		}
	}
	if status.ObservedGeneration != u.GetGeneration() {
		return rempartv1.ControlResult{}, fmt.Errorf("status at generation %d, spec at %d", status.ObservedGeneration, u.GetGeneration())
	}
	for _, r := range status.Controls {
		if r.ID == id {
			return r, nil
		}
	}
	return rempartv1.ControlResult{}, fmt.Errorf("no %s among %d controls", id, len(status.Controls))
}

// controlScenarios hold, per control ID, a scenario that makes it fail, then pass.
var controlScenarios = map[string]func(t *testing.T, s *turns){
	"policy.exceptions": func(t *testing.T, s *turns) {
		ti := newTenant("ct-exc", rempartv1.EnvironmentProduction, "ct-exc-a")
		ti.Spec.Exceptions = []rempartv1.Exception{{Control: "network.default-deny", Reason: "SEC-1: legacy app migrating", ApprovedBy: "rssi@acme.example",
			Expires: metav1.NewTime(time.Now().Add(2 * 366 * 24 * time.Hour))}}
		tableTenant(t, ti)
		s.to(t, "TenantIsolation", "ct-exc", rempartv1.ControlNonCompliant)
		updateTenant(t, "ct-exc", func(ti *rempartv1.TenantIsolation) {
			ti.Spec.Exceptions[0].Expires = metav1.NewTime(time.Now().Add(30 * 24 * time.Hour))
		})
		s.to(t, "TenantIsolation", "ct-exc", rempartv1.ControlCompliant)
	},
	"namespaces.owned":      auditThenEnforce("ct-own"),
	"network.default-deny":  auditThenEnforce("ct-deny"),
	"pod-security.enforced": auditThenEnforce("ct-psa"),
	"quota.in-place":        auditThenEnforce("ct-quota"),
	"network.tenant-boundary": func(t *testing.T, s *turns) {
		crossTenantPolicy(t, s, "ct-tb", rempartv1.EnvironmentProduction)
	},
	"network.environment-separation": func(t *testing.T, s *turns) {
		crossTenantPolicy(t, s, "ct-env", rempartv1.EnvironmentStaging)
	},
	"storage.encrypted": func(t *testing.T, s *turns) {
		ensureClass(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ct-plain"}, Provisioner: "ebs.csi.aws.com"})
		ns := "ct-store-a"
		create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		claim := claimOf(ns, "data", "ct-plain", "")
		create(t, claim) // before adoption: admission never saw it
		tableTenant(t, newTenant("ct-store", rempartv1.EnvironmentProduction, rempartv1.NamespaceName(ns)))
		s.to(t, "TenantIsolation", "ct-store", rempartv1.ControlNonCompliant)
		deleteNow(t, claim)
		s.to(t, "TenantIsolation", "ct-store", rempartv1.ControlCompliant)
	},
	"exposure.declared": func(t *testing.T, s *turns) {
		ns := "ct-expo-a"
		create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		create(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Port: 443}}}})
		tableTenant(t, newTenant("ct-expo", rempartv1.EnvironmentProduction, rempartv1.NamespaceName(ns)))
		s.to(t, "TenantIsolation", "ct-expo", rempartv1.ControlNonCompliant)
		updateTenant(t, "ct-expo", func(ti *rempartv1.TenantIsolation) {
			ti.Spec.Exposure = &rempartv1.Exposure{PublicServices: []string{ns + "/shop"}}
		})
		s.to(t, "TenantIsolation", "ct-expo", rempartv1.ControlCompliant)
	},
	"access.privileged-subjects": func(t *testing.T, s *turns) {
		ns := "ct-priv-a"
		create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		binding := roleBindingTo(ns, "contractor-edit", clusterRoleRef("edit"), user("contractor@elsewhere.example"))
		create(t, binding) // before adoption: no AdminAccess accounts for it
		tableTenant(t, newTenant("ct-priv", rempartv1.EnvironmentProduction, rempartv1.NamespaceName(ns)))
		s.to(t, "TenantIsolation", "ct-priv", rempartv1.ControlNonCompliant)
		deleteNow(t, binding)
		s.to(t, "TenantIsolation", "ct-priv", rempartv1.ControlCompliant)
	},
	"residency.pods":  misplacedPod(false),
	"residency.nodes": misplacedPod(true),
	"residency.volumes": func(t *testing.T, s *turns) {
		ns := residencyTenant(t, "ct-vol")
		ensureClass(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ct-encrypted"}, Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"encrypted": "true"}})
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "ct-vol-pv", Labels: map[string]string{regionLabel: "us-east-1"}}, Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			// Bound as the volume controller binds it (none runs here).
			ClaimRef:         &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: "data"},
			StorageClassName: "ct-encrypted", PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-1"}}}}
		create(t, pv)
		t.Cleanup(func() { deleteNow(t, pv) })
		claim := claimOf(ns, "data", "ct-encrypted", pv.Name)
		// The tenant's storage policy admits the class once the operator has seen it.
		eventually(t, "the claim on the encrypted class admitted", func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(env.Client.Create(ctx, claim.DeepCopy()))
		})
		t.Cleanup(func() { deleteNow(t, claim) })
		tableResidency(t, "ct-vol")
		s.to(t, "DataResidency", "ct-vol", rempartv1.ControlNonCompliant)
		eventually(t, "the volume relabelled to Paris", func(ctx context.Context) error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pv), pv); err != nil {
				return err
			}
			pv.Labels[regionLabel] = "eu-west-3"
			return env.Client.Update(ctx, pv)
		})
		s.to(t, "DataResidency", "ct-vol", rempartv1.ControlCompliant)
	},
	"residency.storage-classes": func(t *testing.T, s *turns) {
		ns := residencyTenant(t, "ct-sc")
		ensureClass(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ct-us-only"}, Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"encrypted": "true"},
			AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: regionLabel, Values: []string{"us-east-1"}}}}}})
		claim := claimOf(ns, "data", "ct-us-only", "")
		// Before the residency policy, which would refuse it; once the tenant's storage policy
		// knows the new class.
		eventually(t, "a claim on the class", func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(env.Client.Create(ctx, claim.DeepCopy()))
		})
		tableResidency(t, "ct-sc")
		s.to(t, "DataResidency", "ct-sc", rempartv1.ControlNonCompliant)
		deleteNow(t, claim)
		s.to(t, "DataResidency", "ct-sc", rempartv1.ControlCompliant)
	},
	"residency.backup-locations": func(t *testing.T, s *turns) {
		residencyTenant(t, "ct-bl")
		storageLocation(t, "ct-bl-us", "us-east-1", nil)
		storageLocation(t, "ct-bl-eu", "eu-west-3", nil)
		bp := newBackupPolicy("ct-bl", "ct-bl", "ct-bl-us", "us-east-1")
		create(t, bp) // before the residency policy, which would refuse it
		t.Cleanup(func() { deleteBackupPolicy("ct-bl") })
		waitBackupPolicy(t, "ct-bl", func(bp *rempartv1.BackupPolicy) error {
			if bp.Status.Location == nil || bp.Status.Location.Country != "US" {
				return fmt.Errorf("location %+v", bp.Status.Location)
			}
			return nil
		})
		tableResidency(t, "ct-bl")
		s.to(t, "DataResidency", "ct-bl", rempartv1.ControlNonCompliant)
		eventually(t, "the policy moved to Paris", func(ctx context.Context) error {
			var bp rempartv1.BackupPolicy
			if err := env.Client.Get(ctx, client.ObjectKey{Name: "ct-bl"}, &bp); err != nil {
				return err
			}
			bp.Spec.StorageLocation = rempartv1.BackupStorageLocationRef{Name: "ct-bl-eu", Region: "eu-west-3"}
			return env.Client.Update(ctx, &bp)
		})
		s.to(t, "DataResidency", "ct-bl", rempartv1.ControlCompliant)
	},
	"backup.schedule": func(t *testing.T, s *turns) {
		tableBackupPolicy(t, "ct-bs", nil)
		s.to(t, "BackupPolicy", "ct-bs", rempartv1.ControlNonCompliant) // Velero has not enabled it
		enableSchedule(t, "ct-bs")
		s.to(t, "BackupPolicy", "ct-bs", rempartv1.ControlCompliant)
	},
	"backup.location": func(t *testing.T, s *turns) {
		tableBackupPolicy(t, "ct-bloc", nil)
		setLocationPhase(t, "ct-bloc", "Unavailable")
		s.to(t, "BackupPolicy", "ct-bloc", rempartv1.ControlNonCompliant)
		setLocationPhase(t, "ct-bloc", "Available")
		s.to(t, "BackupPolicy", "ct-bloc", rempartv1.ControlCompliant)
	},
	"backup.encryption": func(t *testing.T, s *turns) {
		tableBackupPolicy(t, "ct-benc", nil)
		s.to(t, "BackupPolicy", "ct-benc", rempartv1.ControlNonCompliant)
		eventually(t, "encryption configured on the location", func(ctx context.Context) error {
			bsl := velero("BackupStorageLocation", "ct-benc")
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bsl), bsl); err != nil {
				return err
			}
			if err := unstructured.SetNestedField(bsl.Object, "alias/backups", "spec", "config", "kmsKeyId"); err != nil {
				return err
			}
			return env.Client.Update(ctx, bsl)
		})
		s.to(t, "BackupPolicy", "ct-benc", rempartv1.ControlCompliant)
	},
	"backup.versions": failedThenGoodBackup("ct-bver"),
	"backup.rpo":      failedThenGoodBackup("ct-brpo"),
	"backup.last-run": failedThenGoodBackup("ct-blast"),
	"backup.restore-test": func(t *testing.T, s *turns) {
		ctx := context.Background()
		ns := tableBackupPolicy(t, "ct-brt", nil)
		first := waitBackupPolicy(t, "ct-brt", func(bp *rempartv1.BackupPolicy) error {
			if bp.Status.FirstBackup == "" {
				return fmt.Errorf("no first backup")
			}
			return nil
		}).Status.FirstBackup
		finishBackup(t, first, "Completed", time.Now().Add(-time.Minute), 0)
		// Velero plays its part: the first restore fails, the second brings the ConfigMap back.
		restoreEnds := func(token, phase string, restored func(sandbox string)) (string, string) {
			rec := requestRestoreTest(t, "ct-brt", token)
			_, sandbox, _ := strings.Cut(rec.Sandboxes[0], "=")
			if restored != nil {
				restored(sandbox)
			}
			restore := velero("Restore", rec.Restore)
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(restore), restore); err != nil {
				t.Fatal(err)
			}
			restore.Object["status"] = map[string]any{"phase": phase}
			if err := env.Client.Update(ctx, restore); err != nil {
				t.Fatal(err)
			}
			return rec.Restore, sandbox
		}
		_, sandbox := restoreEnds("one", "Failed", nil)
		s.to(t, "BackupPolicy", "ct-brt", rempartv1.ControlNonCompliant)
		finishSandboxDeletion(t, sandbox)
		store := archive(t, [][3]string{{"configmaps", ns, "settings"}}, nil)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(store) }))
		defer srv.Close()
		name, _ := restoreEnds("two", "Completed", func(sandbox string) {
			create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: sandbox, Name: "settings"}})
		})
		processDownload(t, name+"-contents", srv.URL)
		s.to(t, "BackupPolicy", "ct-brt", rempartv1.ControlCompliant)
	},
	"access.window": func(t *testing.T, s *turns) {
		overdueThenReviewed(t, s, "ct-aw")
	},
	"access.review": func(t *testing.T, s *turns) {
		overdueThenReviewed(t, s, "ct-ar")
	},
	"admin-interfaces.private": func(t *testing.T, s *turns) {
		ns := "ct-adm-a"
		create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		console := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "console", Labels: map[string]string{"rempart.io/admin-interface": "true"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: ptr.To(false), Ports: []corev1.ServicePort{{Port: 443}}}}
		create(t, console) // open to the world, before adoption
		ti := newTenant("ct-adm", rempartv1.EnvironmentProduction, rempartv1.NamespaceName(ns))
		ti.Spec.AdminInterfaces = &rempartv1.AdminInterfaces{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"rempart.io/admin-interface": "true"}},
			AllowedSourceRanges: []rempartv1.CIDR{"10.0.0.0/8"}}
		ti.Spec.Exposure = &rempartv1.Exposure{PublicServices: []string{ns + "/console"}}
		tableTenant(t, ti)
		s.to(t, "TenantIsolation", "ct-adm", rempartv1.ControlNonCompliant)
		eventually(t, "the console restricted to the admin network", func(ctx context.Context) error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(console), console); err != nil {
				return err
			}
			console.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
			return env.Client.Update(ctx, console)
		})
		s.to(t, "TenantIsolation", "ct-adm", rempartv1.ControlCompliant)
	},
	"nodes.dedicated": func(t *testing.T, s *turns) {
		ctx := context.Background()
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ct-pool-node", Labels: map[string]string{"rempart.io/pool": "ct-pool"}}}
		create(t, node)
		t.Cleanup(func() { _ = env.Client.Delete(ctx, node) })
		other := newTenant("ct-squat", rempartv1.EnvironmentStaging, "ct-squat-a")
		other.Spec.PodSecurity.Level = rempartv1.PodSecurityBaseline
		tableTenant(t, other)
		waitCompliant(t, "ct-squat", "True")
		squatter := baselinePod("ct-squat-a", "squatter", func(s *corev1.PodSpec) { s.NodeName = node.Name })
		eventually(t, "a pod on the node before it is dedicated", func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(env.Client.Create(ctx, squatter.DeepCopy()))
		})
		owner := newTenant("ct-pool", rempartv1.EnvironmentProduction, "ct-pool-a")
		owner.Spec.NodeIsolation = &rempartv1.NodeIsolation{NodeSelector: map[string]string{"rempart.io/pool": "ct-pool"}}
		tableTenant(t, owner)
		s.to(t, "TenantIsolation", "ct-pool", rempartv1.ControlNonCompliant)
		deleteNow(t, squatter)
		s.to(t, "TenantIsolation", "ct-pool", rempartv1.ControlCompliant)
	},
	"access.scope": func(t *testing.T, s *turns) {
		ensureGrantRoles(t)
		ctx := context.Background()
		const ops = "olga@acme.example"
		aa := newAccess("ct-glass", ops, nil, nil, time.Now().Add(30*time.Minute))
		aa.Spec.BreakGlass, aa.Spec.Role = true, "view"
		if err := as(t, ops, requestersGroup, "rempart:break-glass").Create(ctx, aa); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, aa) })
		waitPhase(t, aa.Name, rempartv1.AdminAccessPending)
		if err := testenv.ApproveGrant(ctx, as(t, approver, approversGroup), aa.Name, approver); err != nil {
			t.Fatal(err)
		}
		s.to(t, "AdminAccess", aa.Name, rempartv1.ControlNonCompliant) // the glass is broken
		eventually(t, "the break-glass revoked", func(ctx context.Context) error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(aa), aa); err != nil {
				return err
			}
			aa.Spec.Revoked = true
			return env.Client.Update(ctx, aa)
		})
		s.to(t, "AdminAccess", aa.Name, rempartv1.ControlCompliant)
	},
	"access.nominative": func(t *testing.T, s *turns) {
		// With the guarding policies removed, a cluster administrator writes a grant whose
		// requester and approver the API server never vouched for: it is not trusted.
		ctx := context.Background()
		residencyTenant(t, "ct-nom")
		ensureTestAdminRole(t)
		t.Cleanup(func() {
			if err := testenv.WaitForGrantGuards(ctx, env.Client); err != nil {
				t.Error(err)
			}
		})
		forged := newAccess("ct-nom-forged", "ivan@acme.example", []rempartv1.TenantName{"ct-nom"}, nil, time.Now().Add(time.Hour))
		forged.Spec.RequestedBy, forged.Spec.ApprovedBy = "alice@acme.example", "bob@acme.example"
		eventually(t, "a grant written while the guards are gone", func(ctx context.Context) error {
			for _, b := range []client.Object{
				&admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: adminaccess.PolicyApproval}},
				&admissionv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: adminaccess.PolicyRequester}},
			} {
				if err := env.Client.Delete(ctx, b); client.IgnoreNotFound(err) != nil {
					return err
				}
			}
			return client.IgnoreAlreadyExists(env.Client.Create(ctx, forged.DeepCopy()))
		})
		t.Cleanup(func() { _ = env.Client.Delete(ctx, forged) })
		s.to(t, "AdminAccess", forged.Name, rempartv1.ControlNonCompliant)
		if err := testenv.WaitForGrantGuards(ctx, env.Client); err != nil {
			t.Fatal(err)
		}
		honest := newAccess("ct-nom-honest", "ivan@acme.example", []rempartv1.TenantName{"ct-nom"}, nil, time.Now().Add(time.Hour))
		grantApproved(t, honest)
		t.Cleanup(func() { _ = env.Client.Delete(ctx, honest) })
		s.to(t, "AdminAccess", honest.Name, rempartv1.ControlCompliant)
	},
	"tls.ingress-hosts": func(t *testing.T, s *turns) {
		ns := tableCertificatePolicy(t, "ct-host")
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}, Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{Host: "shop.ct.example"}}}}
		create(t, ing)
		s.to(t, "CertificatePolicy", "ct-host", rempartv1.ControlNonCompliant)
		eventually(t, "a TLS entry added", func(ctx context.Context) error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ing), ing); err != nil {
				return err
			}
			ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"shop.ct.example"}, SecretName: "shop-tls"}}
			return env.Client.Update(ctx, ing)
		})
		s.to(t, "CertificatePolicy", "ct-host", rempartv1.ControlCompliant)
	},
	"tls.certificates-conformant": func(t *testing.T, s *turns) {
		ns := residencyTenant(t, "ct-conf")
		weak := certificate(ns, "weak", func(c *cmapi.CertificateSpec) {
			c.PrivateKey.Algorithm, c.PrivateKey.Size = cmapi.RSAKeyAlgorithm, 2048
		})
		create(t, weak) // before the policy, whose admission would refuse it
		startCertificatePolicy(t, "ct-conf")
		s.to(t, "CertificatePolicy", "ct-conf", rempartv1.ControlNonCompliant)
		deleteNow(t, weak)
		s.to(t, "CertificatePolicy", "ct-conf", rempartv1.ControlCompliant)
	},
	"tls.key-rotation": func(t *testing.T, s *turns) {
		ns := residencyTenant(t, "ct-rot")
		kept := certificate(ns, "kept", func(c *cmapi.CertificateSpec) { c.PrivateKey.RotationPolicy = cmapi.RotationPolicyNever })
		create(t, kept)
		startCertificatePolicy(t, "ct-rot")
		s.to(t, "CertificatePolicy", "ct-rot", rempartv1.ControlNonCompliant)
		eventually(t, "rotation set to Always", func(ctx context.Context) error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(kept), kept); err != nil {
				return err
			}
			kept.Spec.PrivateKey.RotationPolicy = cmapi.RotationPolicyAlways
			return env.Client.Update(ctx, kept)
		})
		s.to(t, "CertificatePolicy", "ct-rot", rempartv1.ControlCompliant)
	},
	"tls.certificates-ready": func(t *testing.T, s *turns) {
		cert := issuedCertificate(t, "ct-ready", time.Now().Add(60*24*time.Hour), false)
		s.to(t, "CertificatePolicy", "ct-ready", rempartv1.ControlNonCompliant)
		setCertificateStatus(t, cert, time.Now().Add(60*24*time.Hour), true)
		s.to(t, "CertificatePolicy", "ct-ready", rempartv1.ControlCompliant)
	},
	"tls.expiry": func(t *testing.T, s *turns) {
		cert := issuedCertificate(t, "ct-exp", time.Now().Add(24*time.Hour), true)
		s.to(t, "CertificatePolicy", "ct-exp", rempartv1.ControlNonCompliant)
		setCertificateStatus(t, cert, time.Now().Add(60*24*time.Hour), true)
		s.to(t, "CertificatePolicy", "ct-exp", rempartv1.ControlCompliant)
	},
}

func TestEveryControlTurnsNonCompliantAndBack(t *testing.T) {
	ids := make([]string, 0, len(controlScenarios))
	for id := range controlScenarios {
		if _, ok := compliance.Lookup(id); !ok {
			t.Errorf("scenario for %s, which the catalog does not have", id)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range compliance.IDs() {
		if controlScenarios[id] == nil {
			t.Errorf("control %s has no scenario making it fail: add one, or remove the control from the catalog", id)
		}
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			s := &turns{id: rempartv1.ControlID(id), seen: map[rempartv1.ControlState]bool{}}
			controlScenarios[id](t, s)
			if !s.seen[rempartv1.ControlNonCompliant] || !s.seen[rempartv1.ControlCompliant] {
				t.Errorf("the scenario of %s saw %v: it must drive the control NonCompliant and Compliant", id, s.seen)
			}
		})
	}
}

// tableTenant creates a tenant for one row and deletes it after.
func tableTenant(t *testing.T, ti *rempartv1.TenantIsolation) {
	t.Helper()
	create(t, ti)
	t.Cleanup(func() { deleteTenant(t, ti.Name) })
}

// auditThenEnforce: a tenant in Audit mode over an untouched namespace fails the control; in
// Enforce mode the operator sets the namespace up and it passes.
func auditThenEnforce(name string) func(t *testing.T, s *turns) {
	return func(t *testing.T, s *turns) {
		ns := name + "-a"
		create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		ti := newTenant(name, rempartv1.EnvironmentProduction, rempartv1.NamespaceName(ns))
		ti.Spec.Enforcement = rempartv1.EnforcementAudit
		ti.Spec.Quota = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("20")}
		tableTenant(t, ti)
		s.to(t, "TenantIsolation", name, rempartv1.ControlNonCompliant)
		updateTenant(t, name, func(ti *rempartv1.TenantIsolation) { ti.Spec.Enforcement = rempartv1.EnforcementEnforce })
		s.to(t, "TenantIsolation", name, rempartv1.ControlCompliant)
	}
}

// crossTenantPolicy: a NetworkPolicy letting a second tenant (in environment env) into the
// first fails the control until it is deleted.
func crossTenantPolicy(t *testing.T, s *turns, name string, env2 rempartv1.Environment) {
	tableTenant(t, newTenant(name, rempartv1.EnvironmentProduction, rempartv1.NamespaceName(name+"-a")))
	tableTenant(t, newTenant(name+"-peer", env2, rempartv1.NamespaceName(name+"-peer-a")))
	waitCompliant(t, name, "True")
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: name + "-a", Name: "let-peer-in"},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{rempartv1.LabelTenant: name + "-peer"}}}}}}}}
	create(t, np)
	s.to(t, "TenantIsolation", name, rempartv1.ControlNonCompliant)
	deleteNow(t, np)
	s.to(t, "TenantIsolation", name, rempartv1.ControlCompliant)
}

// ensureClass creates a StorageClass for one row and deletes it after: tenants' storage policies
// list every encrypted class, which other tests read.
func ensureClass(t *testing.T, sc *storagev1.StorageClass) {
	t.Helper()
	if err := env.Client.Create(context.Background(), sc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), sc) })
}

func claimOf(ns, name, class, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: ptr.To(class), VolumeName: volume, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
}

// deleteNow deletes an object and clears its finalizers, as the controllers envtest does not run
// would (the claim and volume protection ones).
func deleteNow(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	if err := env.Client.Delete(ctx, obj, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	eventually(t, fmt.Sprintf("%s gone", obj.GetName()), func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(obj.GetFinalizers()) > 0 {
			obj.SetFinalizers(nil)
			if err := env.Client.Update(ctx, obj); err != nil {
				return err
			}
		}
		return fmt.Errorf("still there")
	})
}

// tableResidency keeps a tenant's data in the EU, for one row.
func tableResidency(t *testing.T, tenant string) {
	t.Helper()
	create(t, newResidency(tenant, []rempartv1.TenantName{rempartv1.TenantName(tenant)}, []rempartv1.Jurisdiction{"EU"}))
	t.Cleanup(func() { deleteResidency(t, tenant) })
}

// misplacedPod: a covered pod runs on a node in Virginia. Deleting it fixes the pods control;
// relabelling the node to Paris fixes the nodes control.
func misplacedPod(relabel bool) func(t *testing.T, s *turns) {
	return func(t *testing.T, s *turns) {
		name := "ct-pod"
		if relabel {
			name = "ct-node"
		}
		ctx := context.Background()
		ns := residencyTenant(t, name)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name + "-virginia", Labels: map[string]string{regionLabel: "us-east-1"}}}
		create(t, node)
		t.Cleanup(func() { _ = env.Client.Delete(ctx, node) })
		pod := restrictedPod(ns, "early")
		create(t, pod)
		t.Cleanup(func() { _ = env.Client.Delete(ctx, pod, client.GracePeriodSeconds(0)) })
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pod.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: node.Name}}
		if err := env.Client.SubResource("binding").Create(ctx, pod, b); err != nil {
			t.Fatal(err)
		}
		tableResidency(t, name)
		s.to(t, "DataResidency", name, rempartv1.ControlNonCompliant)
		if relabel {
			eventually(t, "the node relabelled to Paris", func(ctx context.Context) error {
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
					return err
				}
				node.Labels[regionLabel] = "eu-west-3"
				return env.Client.Update(ctx, node)
			})
		} else {
			deleteNow(t, pod)
		}
		s.to(t, "DataResidency", name, rempartv1.ControlCompliant)
	}
}

// tableBackupPolicy backs a fresh tenant up to a location of its own named after the policy.
func tableBackupPolicy(t *testing.T, name string, mutate func(*rempartv1.BackupPolicy)) string {
	t.Helper()
	ns := residencyTenant(t, name)
	storageLocation(t, name, "gra", nil)
	bp := newBackupPolicy(name, name, name, "gra")
	if mutate != nil {
		mutate(bp)
	}
	create(t, bp)
	t.Cleanup(func() { deleteBackupPolicy(name) })
	return ns
}

func setLocationPhase(t *testing.T, name, phase string) {
	t.Helper()
	eventually(t, "location "+name+" "+phase, func(ctx context.Context) error {
		bsl := velero("BackupStorageLocation", name)
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bsl), bsl); err != nil {
			return err
		}
		bsl.Object["status"] = map[string]any{"phase": phase}
		return env.Client.Update(ctx, bsl)
	})
}

// failedThenGoodBackup: the first backup fails (no good version, nothing within the RPO, the
// last run failed); a good one follows and all three pass.
func failedThenGoodBackup(name string) func(t *testing.T, s *turns) {
	return func(t *testing.T, s *turns) {
		ns := tableBackupPolicy(t, name, func(bp *rempartv1.BackupPolicy) { bp.Spec.Versions = 1 })
		first := waitBackupPolicy(t, name, func(bp *rempartv1.BackupPolicy) error {
			if bp.Status.FirstBackup == "" {
				return fmt.Errorf("no first backup")
			}
			return nil
		}).Status.FirstBackup
		enableSchedule(t, name)
		finishBackup(t, first, "Failed", time.Now().Add(-time.Minute), 1)
		s.to(t, "BackupPolicy", name, rempartv1.ControlNonCompliant)
		policyBackup(t, name, name+"-good", ns, "Completed", time.Now())
		s.to(t, "BackupPolicy", name, rempartv1.ControlCompliant)
	}
}

// overdueThenReviewed: a standing grant whose review is more than a year old is refused (its
// window and review fail); one reviewed last month is granted.
func overdueThenReviewed(t *testing.T, s *turns, name string) {
	ctx := context.Background()
	residencyTenant(t, name)
	ensureTestAdminRole(t)
	standing := func(grant string, reviewed time.Time) *rempartv1.AdminAccess {
		aa := newAccess(grant, "ivan@acme.example", []rempartv1.TenantName{rempartv1.TenantName(name)}, nil, time.Now().Add(30*24*time.Hour))
		aa.Spec.Standing = true
		r := metav1.NewTime(reviewed.Truncate(time.Second))
		aa.Spec.ReviewedAt = &r
		grantApproved(t, aa)
		t.Cleanup(func() { _ = env.Client.Delete(ctx, aa) })
		return aa
	}
	standing(name+"-stale", time.Now().Add(-400*24*time.Hour))
	s.to(t, "AdminAccess", name+"-stale", rempartv1.ControlNonCompliant)
	standing(name+"-fresh", time.Now().Add(-30*24*time.Hour))
	s.to(t, "AdminAccess", name+"-fresh", rempartv1.ControlCompliant)
}

// tableCertificatePolicy covers a fresh tenant with a CertificatePolicy, for one row.
func tableCertificatePolicy(t *testing.T, name string) string {
	t.Helper()
	ns := residencyTenant(t, name)
	startCertificatePolicy(t, name)
	return ns
}

func startCertificatePolicy(t *testing.T, name string) {
	t.Helper()
	cp := newCertificatePolicy(name, name)
	create(t, cp)
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), cp) })
}

// issuedCertificate is a conformant Certificate as cert-manager would have issued it (no
// cert-manager runs here), covered by a policy.
func issuedCertificate(t *testing.T, name string, notAfter time.Time, isReady bool) *cmapi.Certificate {
	t.Helper()
	ns := tableCertificatePolicy(t, name)
	cert := certificate(ns, "site", nil)
	eventually(t, "a conformant Certificate admitted", func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(env.Client.Create(ctx, cert))
	})
	setCertificateStatus(t, cert, notAfter, isReady)
	return cert
}

func setCertificateStatus(t *testing.T, cert *cmapi.Certificate, notAfter time.Time, isReady bool) {
	t.Helper()
	eventually(t, "certificate status", func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cert), cert); err != nil {
			return err
		}
		status := cmmeta.ConditionFalse
		if isReady {
			status = cmmeta.ConditionTrue
		}
		renewal := metav1.NewTime(notAfter.Add(-20 * 24 * time.Hour))
		cert.Status = cmapi.CertificateStatus{
			Conditions: []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionReady, Status: status, Reason: "Test"}},
			NotBefore:  &metav1.Time{Time: notAfter.Add(-time.Hour)}, NotAfter: &metav1.Time{Time: notAfter}, RenewalTime: &renewal,
			Revision: ptr.To(1),
		}
		return env.Client.Status().Update(ctx, cert)
	})
}

// requestRestoreTest asks for a restore test now and returns its record once it runs.
func requestRestoreTest(t *testing.T, policy, token string) *rempartv1.RestoreTestRecord {
	t.Helper()
	eventually(t, "restore test requested", func(ctx context.Context) error {
		var bp rempartv1.BackupPolicy
		if err := env.Client.Get(ctx, client.ObjectKey{Name: policy}, &bp); err != nil {
			return err
		}
		bp.Spec.RestoreTestNow = token
		return env.Client.Update(ctx, &bp)
	})
	return waitBackupPolicy(t, policy, func(bp *rempartv1.BackupPolicy) error {
		if bp.Status.RestoreTestNowHandled != token || bp.Status.LastRestoreTest == nil || bp.Status.LastRestoreTest.Result != rempartv1.RestoreTestRunning {
			return fmt.Errorf("restore test %+v", bp.Status.LastRestoreTest)
		}
		return nil
	}).Status.LastRestoreTest
}
