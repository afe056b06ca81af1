package dataresidency

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/scope"
	"github.com/rempart-io/rempart/internal/compliance"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func policy(mode rempartv1.EnforcementMode, countries ...rempartv1.CountryCode) *rempartv1.DataResidency {
	return &rempartv1.DataResidency{ObjectMeta: metav1.ObjectMeta{Name: "acme"}, Spec: rempartv1.DataResidencySpec{
		PolicyCommonSpec:     rempartv1.PolicyCommonSpec{Enforcement: mode},
		Tenants:              &rempartv1.TenantSelection{Names: []rempartv1.TenantName{"acme"}},
		AllowedJurisdictions: []rempartv1.Jurisdiction{"EU"}, AllowedCountries: countries,
		RegionLabel: rempartv1.DefaultRegionLabel, ZoneLabel: "topology.kubernetes.io/zone",
	}}
}

func node(name, provider string, labels map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{ProviderID: provider}}
}

func region(r string) map[string]string { return map[string]string{rempartv1.DefaultRegionLabel: r} }

func pod(name, nodeName string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-app", Name: name}, Spec: corev1.PodSpec{NodeName: nodeName}}
}

func observe(t *testing.T, dr *rempartv1.DataResidency, nodes []*corev1.Node, pods []*corev1.Pod) observed {
	t.Helper()
	allow, err := resolveAllowSet(dr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	o := observed{policy: dr, allow: allow, nodes: map[string]*corev1.Node{}, pods: pods,
		volumes: map[string]*corev1.PersistentVolume{}, storageClasses: map[string]*storagev1.StorageClass{}}
	for _, n := range nodes {
		o.nodes[n.Name] = n
	}
	return o
}

func result(ev evaluation, id rempartv1.ControlID) rempartv1.ControlResult {
	for _, r := range ev.results {
		if r.ID == id {
			return r
		}
	}
	return rempartv1.ControlResult{}
}

func TestNodesAndPodsControls(t *testing.T) {
	paris := node("paris", "aws:///eu-west-3a/i-1", region("eu-west-3"))
	virginia := node("virginia", "aws:///us-east-1a/i-2", region("us-east-1"))
	// Labelled with an EU code, but its provider places that code elsewhere: fail closed.
	london := node("london", "aws:///eu-west-2a/i-3", region("eu-west-2"))
	// No region label, a Scaleway zone label: resolved through its region.
	zoned := node("zoned", "scaleway://instance/fr-par-1/x", map[string]string{"topology.kubernetes.io/zone": "fr-par-1"})
	// A region label value the catalog does not know.
	unknown := node("basement", "", region("dc-basement"))
	tests := []struct {
		name        string
		mode        rempartv1.EnforcementMode
		pods        []*corev1.Pod
		wantNodes   rempartv1.ControlState
		wantPods    rempartv1.ControlState
		badNodes    []string
		podMessage  []string
		misplaced   int
		inUseSubstr string
	}{
		{name: "all in Paris", mode: rempartv1.EnforcementEnforce, pods: []*corev1.Pod{pod("web-1", "paris"), pod("web-2", "zoned")},
			wantNodes: rempartv1.ControlCompliant, wantPods: rempartv1.ControlCompliant, inUseSubstr: "eu-west-3 (FR), fr-par-1 (FR)"},
		{name: "a pod in Virginia", mode: rempartv1.EnforcementEnforce, pods: []*corev1.Pod{pod("web-1", "paris"), pod("web-2", "virginia")},
			wantNodes: rempartv1.ControlNonCompliant, wantPods: rempartv1.ControlNonCompliant, badNodes: []string{"virginia"},
			podMessage: []string{"1 covered pods", "node virginia (us-east-1, US): acme-app/web-2"}, misplaced: 1, inUseSubstr: "us-east-1 (US) NOT ALLOWED"},
		{name: "a pod on a node of an unknown region", mode: rempartv1.EnforcementEnforce, pods: []*corev1.Pod{pod("web-1", "basement")},
			wantNodes: rempartv1.ControlNonCompliant, wantPods: rempartv1.ControlNonCompliant, badNodes: []string{"basement"},
			podMessage: []string{"node basement (dc-basement, unknown region)"}, misplaced: 1, inUseSubstr: "dc-basement (unknown) NOT ALLOWED"},
		{name: "a pod on a node that is gone", mode: rempartv1.EnforcementEnforce, pods: []*corev1.Pod{pod("web-1", "vanished")},
			wantNodes: rempartv1.ControlCompliant, wantPods: rempartv1.ControlNonCompliant, podMessage: []string{"node vanished (unknown node)"}, misplaced: 1},
		{name: "audit mode judges every node", mode: rempartv1.EnforcementAudit, pods: nil,
			wantNodes: rempartv1.ControlNonCompliant, wantPods: rempartv1.ControlCompliant, badNodes: []string{"basement", "london", "virginia"}, inUseSubstr: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observe(t, policy(tt.mode), []*corev1.Node{paris, virginia, london, zoned, unknown}, tt.pods)
			ev := evaluate(o, now)
			nodes, pods := result(ev, compliance.ResidencyNodes.ID), result(ev, compliance.ResidencyPods.ID)
			if missing, undeclared := compliance.Coverage(compliance.KindDataResidency, ev.results); len(missing)+len(undeclared) > 0 {
				t.Errorf("evaluate and the catalog disagree: missing %v, undeclared %v", missing, undeclared)
			}
			if nodes.State != tt.wantNodes || pods.State != tt.wantPods {
				t.Fatalf("nodes %s (%s), pods %s (%s)", nodes.State, nodes.Message, pods.State, pods.Message)
			}
			var bad []string
			if nodes.Evidence != nil {
				for _, o := range nodes.Evidence.Objects {
					bad = append(bad, o.Name)
				}
			}
			if strings.Join(bad, ",") != strings.Join(tt.badNodes, ",") {
				t.Errorf("offending nodes %v, want %v", bad, tt.badNodes)
			}
			for _, w := range tt.podMessage {
				if !strings.Contains(pods.Message, w) {
					t.Errorf("pods message %q lacks %q", pods.Message, w)
				}
			}
			if len(ev.misplaced) != tt.misplaced {
				t.Errorf("%d misplaced pods, want %d", len(ev.misplaced), tt.misplaced)
			}
			if got := inUseSummary(ev.inUse); tt.inUseSubstr != "" && !strings.Contains(got, tt.inUseSubstr) {
				t.Errorf("in use %q lacks %q", got, tt.inUseSubstr)
			}
			if r := result(ev, compliance.ResidencyBackupLocations.ID); r.State != rempartv1.ControlCompliant || r.Reason != "NoBackupPolicy" {
				t.Errorf("backup locations %s/%s without any BackupPolicy", r.State, r.Reason)
			}
		})
	}
}

func TestVolumesAndClassesControls(t *testing.T) {
	o := observe(t, policy(rempartv1.EnforcementEnforce), nil, nil)
	claim := func(name, volume, class string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "acme-app", Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume, StorageClassName: ptr.To(class)}}
	}
	pv := func(name string, labels map[string]string, regions ...string) *corev1.PersistentVolume {
		v := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
		if len(regions) > 0 {
			v.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: rempartv1.DefaultRegionLabel, Operator: corev1.NodeSelectorOpIn, Values: regions}}}}}}
		}
		return v
	}
	o.claims = []*corev1.PersistentVolumeClaim{claim("a", "pv-paris", "eu"), claim("b", "pv-virginia", "anywhere"), claim("c", "pv-nowhere", "eu"), claim("d", "pv-labelled", "eu"), claim("e", "", "eu")}
	for _, v := range []*corev1.PersistentVolume{pv("pv-paris", nil, "eu-west-3"), pv("pv-virginia", nil, "eu-west-3", "us-east-1"), pv("pv-nowhere", nil), pv("pv-labelled", region("europe-west9"))} {
		o.volumes[v.Name] = v
	}
	topology := func(regions ...string) []corev1.TopologySelectorTerm {
		return []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: rempartv1.DefaultRegionLabel, Values: regions}}}}
	}
	o.storageClasses["eu"] = &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "eu"}, AllowedTopologies: topology("eu-west-3", "europe-west9")}
	o.storageClasses["anywhere"] = &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "anywhere"}, AllowedTopologies: topology("eu-west-3", "us-east-1")}
	o.storageClasses["unused"] = &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "unused"}, AllowedTopologies: topology("us-east-1")}

	ev := evaluate(o, now)
	volumes := result(ev, compliance.ResidencyVolumes.ID)
	if volumes.State != rempartv1.ControlNonCompliant || volumes.Evidence.Total != 2 ||
		volumes.Evidence.Objects[0].Name != "pv-nowhere" || volumes.Evidence.Objects[1].Name != "pv-virginia" {
		t.Errorf("volumes control %s %+v", volumes.State, volumes.Evidence)
	}
	classes := result(ev, compliance.ResidencyStorageClasses.ID)
	if classes.State != rempartv1.ControlNonCompliant || classes.Evidence.Total != 1 || classes.Evidence.Objects[0].Name != "anywhere" {
		t.Errorf("storage classes control %s %+v", classes.State, classes.Evidence)
	}

	// An exception for the tenant's namespace waives the volumes, and only them.
	o.policy.Spec.Exceptions = []rempartv1.Exception{{Control: compliance.ResidencyVolumes.ID, Namespaces: []rempartv1.NamespaceName{"acme-app"},
		Reason: "migration to eu-west-3 planned, ticket OPS-42", ApprovedBy: "dpo@acme.example", Expires: metav1.NewTime(now.Add(30 * 24 * time.Hour))}}
	ev = evaluate(o, now)
	if r := result(ev, compliance.ResidencyVolumes.ID); r.State != rempartv1.ControlWaived {
		t.Errorf("volumes control with an exception: %s", r.State)
	}
	if r := result(ev, compliance.ResidencyStorageClasses.ID); r.State != rempartv1.ControlNonCompliant {
		t.Errorf("storage classes control with an exception for volumes: %s", r.State)
	}
}

func TestAllowSet(t *testing.T) {
	dr := policy(rempartv1.EnforcementEnforce)
	dr.Spec.AllowedJurisdictions = nil
	dr.Spec.AllowedCountries = []rempartv1.CountryCode{"FR"}
	dr.Spec.Regions = []rempartv1.RegionExtension{{Region: "dc-lyon-1", Country: "FR"}, {Region: "dc-zurich", Country: "CH"}}
	allow, err := resolveAllowSet(dr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(allow.regions, ",")
	for _, want := range []string{"dc-lyon-1", "eu-west-3", "francecentral"} {
		if !strings.Contains(joined, want) {
			t.Errorf("allowed regions %s lack %s", joined, want)
		}
	}
	for _, refused := range []string{"dc-zurich", "eu-central-1", "us-east-1"} {
		if strings.Contains(joined, refused) {
			t.Errorf("allowed regions %s contain %s", joined, refused)
		}
	}
	if allow.summary != "FR" {
		t.Errorf("summary %q", allow.summary)
	}
	dr.Spec.Regions = []rempartv1.RegionExtension{{Region: "us-east-1", Country: "FR"}}
	if _, err := resolveAllowSet(dr.Spec); err == nil {
		t.Error("an extension moving us-east-1 to France was accepted")
	}
}

func TestBindings(t *testing.T) {
	dr := policy(rempartv1.EnforcementEnforce)
	cov := scope.Scope{Tenants: []string{"acme"}, Listed: []string{"shared-db"}}
	vb := validatingBindings(dr, cov)
	if len(vb) != 7 {
		t.Fatalf("%d validating bindings, want pods and claims for tenants and namespaces, volumes, classes, backup locations", len(vb))
	}
	if mb := mutatingBindings(dr, cov); len(mb) != 2 || mb[0].Spec.MatchResources.NamespaceSelector.MatchExpressions[0].Values[0] != "acme" {
		t.Errorf("mutating bindings %+v", mb)
	}
	dr.Spec.Enforcement = rempartv1.EnforcementAudit
	if mb := mutatingBindings(dr, cov); len(mb) != 0 {
		t.Errorf("audit mode has %d mutating bindings, want none: no user object changes", len(mb))
	}
	for _, b := range validatingBindings(dr, scope.Scope{Tenants: []string{"acme"}}) {
		if len(b.Spec.ValidationActions) != 2 || b.Spec.ValidationActions[0] != "Warn" {
			t.Errorf("audit binding %s actions %v", b.Name, b.Spec.ValidationActions)
		}
	}
}

func TestBackupLocationsControl(t *testing.T) {
	allow, err := resolveAllowSet(rempartv1.DataResidencySpec{AllowedCountries: []rempartv1.CountryCode{"FR"}})
	if err != nil {
		t.Fatal(err)
	}
	bp := func(name, country string) *rempartv1.BackupPolicy {
		b := &rempartv1.BackupPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if country != "-" {
			b.Status.Location = &rempartv1.LocationFacts{Name: "s3", Region: "x", Country: country}
		}
		return b
	}
	tests := []struct {
		name     string
		policies []*rempartv1.BackupPolicy
		state    rempartv1.ControlState
		offender string
	}{
		{"in France", []*rempartv1.BackupPolicy{bp("fr", "FR")}, rempartv1.ControlCompliant, ""},
		{"in Germany", []*rempartv1.BackupPolicy{bp("fr", "FR"), bp("de", "DE")}, rempartv1.ControlNonCompliant, "de"},
		{"country unknown", []*rempartv1.BackupPolicy{bp("unknown", "")}, rempartv1.ControlNonCompliant, "unknown"},
		{"not read yet", []*rempartv1.BackupPolicy{bp("new", "-")}, rempartv1.ControlNonCompliant, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observed{policy: policy(rempartv1.EnforcementEnforce), allow: allow, backupPolicies: tt.policies}
			r := backupLocationsResult(o, compliance.ExceptionSet{})
			if r.State != tt.state {
				t.Fatalf("%s: %s", r.State, r.Message)
			}
			if tt.offender != "" && (r.Evidence == nil || r.Evidence.Objects[0].Name != tt.offender) {
				t.Errorf("evidence %+v, want %s", r.Evidence, tt.offender)
			}
		})
	}
}
