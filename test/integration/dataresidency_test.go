package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

const regionLabel = rempartv1.DefaultRegionLabel

func newResidency(name string, tenants []rempartv1.TenantName, jurisdictions []rempartv1.Jurisdiction, countries ...rempartv1.CountryCode) *rempartv1.DataResidency {
	return &rempartv1.DataResidency{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rempartv1.DataResidencySpec{
			Tenants:              &rempartv1.TenantSelection{Names: tenants},
			AllowedJurisdictions: jurisdictions,
			AllowedCountries:     countries,
		},
	}
}

func deleteResidency(t *testing.T, name string) {
	t.Helper()
	_ = env.Client.Delete(context.Background(), &rempartv1.DataResidency{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

// waitResidency waits until the policy's status, for its current generation, satisfies check.
func waitResidency(t *testing.T, name string, check func(*rempartv1.DataResidency) error) *rempartv1.DataResidency {
	t.Helper()
	var dr rempartv1.DataResidency
	eventually(t, "DataResidency "+name, func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &dr); err != nil {
			return err
		}
		ready := meta.FindStatusCondition(dr.Status.Conditions, rempartv1.ConditionReady)
		if ready == nil || ready.ObservedGeneration != dr.Generation {
			return fmt.Errorf("not evaluated at generation %d: %+v", dr.Generation, ready)
		}
		return check(&dr)
	})
	return &dr
}

// restrictedPod passes the tenant namespaces' restricted Pod Security level.
func restrictedPod(namespace, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1",
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}}}}}
}

func requireRegions(values ...string) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: regionLabel, Operator: corev1.NodeSelectorOpIn, Values: values}}}}}}}
}

// regionSets returns, for each term of a pod's required node affinity, the region values of each
// "region In" expression.
func regionSets(pod *corev1.Pod) [][][]string {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	var out [][][]string
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		var sets [][]string
		for _, e := range term.MatchExpressions {
			if e.Key == regionLabel && e.Operator == corev1.NodeSelectorOpIn {
				sets = append(sets, e.Values)
			}
		}
		out = append(out, sets)
	}
	return out
}

func residencyTenant(t *testing.T, name string) string {
	t.Helper()
	ns := name + "-app"
	create(t, newTenant(name, rempartv1.EnvironmentProduction, rempartv1.NamespaceName(ns)))
	t.Cleanup(func() { deleteTenant(t, name) })
	waitCompliant(t, name, "True")
	return ns
}

func TestResidencyPinsPodsWithTheMutatingPolicy(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "eu-pin")
	create(t, newResidency("eu-pin", []rempartv1.TenantName{"eu-pin"}, []rempartv1.Jurisdiction{"EU"}))
	t.Cleanup(func() { deleteResidency(t, "eu-pin") })
	dr := waitResidency(t, "eu-pin", func(dr *rempartv1.DataResidency) error {
		if dr.Status.Pinning != rempartv1.PinningMutation || !slices.Contains(dr.Status.Namespaces, ns) {
			return fmt.Errorf("pinning %q, namespaces %v", dr.Status.Pinning, dr.Status.Namespaces)
		}
		return nil
	})
	assertCatalogued(t, dr.Status.Controls)
	for _, want := range []string{"eu-west-3", "europe-west9", "francecentral", "eu-central-1"} {
		if !slices.Contains(dr.Status.AllowedRegions, want) {
			t.Errorf("allowed regions %v lack %s", dr.Status.AllowedRegions, want)
		}
	}
	if slices.Contains(dr.Status.AllowedRegions, "us-east-1") || slices.Contains(dr.Status.AllowedRegions, "eu-west-2") {
		t.Errorf("allowed regions %v contain a region outside the EU", dr.Status.AllowedRegions)
	}

	// A plain pod gets the allowed regions as a required node affinity, once the binding is live.
	var plain *corev1.Pod
	eventually(t, "a plain pod to be pinned", func(ctx context.Context) error {
		p := restrictedPod(ns, "")
		p.GenerateName = "plain-"
		if err := env.Client.Create(ctx, p); err != nil {
			return err
		}
		plain = p
		if sets := regionSets(p); len(sets) != 1 || len(sets[0]) != 1 || !slices.Equal(sets[0][0], dr.Status.AllowedRegions) {
			_ = env.Client.Delete(ctx, p)
			return fmt.Errorf("pod affinity %v", sets)
		}
		return nil
	})
	if plain.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		t.Fatal("no required node affinity")
	}

	// Every term of an existing affinity gets the expression, and keeps what it had.
	p := restrictedPod(ns, "two-terms")
	p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{
			{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}},
			{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-a"}}}},
		}}}}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatalf("a pod with two affinity terms: %v", err)
	}
	terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 2 || len(terms[0].MatchExpressions) != 2 || terms[0].MatchExpressions[0].Key != "disk" || len(terms[1].MatchFields) != 1 || len(terms[1].MatchExpressions) != 1 {
		t.Errorf("terms after mutation: %+v", terms)
	}
	for i, sets := range regionSets(p) {
		if len(sets) != 1 || !slices.Equal(sets[0], dr.Status.AllowedRegions) {
			t.Errorf("term %d region expressions %v", i, sets)
		}
	}

	// A pod that pins an allowed region itself is left as it is.
	p = restrictedPod(ns, "pinned-paris")
	p.Spec.NodeSelector = map[string]string{regionLabel: "eu-west-3"}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatalf("a pod pinned to eu-west-3: %v", err)
	}
	if p.Spec.Affinity != nil {
		t.Errorf("a pod pinned by nodeSelector was given an affinity: %+v", p.Spec.Affinity)
	}

	// Pods aimed outside are refused, with the requirement and the allowed regions.
	virginia := restrictedPod(ns, "virginia")
	virginia.Spec.NodeSelector = map[string]string{regionLabel: "us-east-1"}
	eventuallyRefused(t, env.Client, virginia, "selects region us-east-1", "FT-CLD-74", "eu-west-3")
	london := restrictedPod(ns, "london")
	london.Spec.Affinity = requireRegions("eu-west-3", "eu-west-2")
	eventuallyRefused(t, env.Client, london, "requires, in its node affinity, region eu-west-2", "FT-CLD-74")
	named := restrictedPod(ns, "named-node")
	named.Spec.NodeName = "aws-virginia-a"
	eventuallyRefused(t, env.Client, named, "spec.nodeName", "FT-CLD-74")

	// A tenant administrator gets the same answer as anyone.
	tenantAdmin := as(t, "alice@acme.example", "acme:admins")
	if err := tenantAdmin.Create(ctx, virginia.DeepCopy(), client.DryRunAll); err == nil || !apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "FT-CLD-74") {
		t.Errorf("a tenant user's pod in us-east-1: %v, want a refusal", err)
	}

	// The Deployment that owns pods is not changed: only its pods are.
	var mutations admissionv1.MutatingAdmissionPolicy
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "rempart-residency-pin"}, &mutations); err != nil {
		t.Fatal(err)
	}
	for _, r := range mutations.Spec.MatchConstraints.ResourceRules {
		if !slices.Equal(r.Resources, []string{"pods"}) {
			t.Errorf("the pin policy matches %v, want pods only", r.Resources)
		}
	}
}

func TestResidencyFallbackRefusesUnpinnedPodsWithoutMutation(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "fr-fallback")
	create(t, newResidency("fr-fallback", []rempartv1.TenantName{"fr-fallback"}, nil, "FR"))
	t.Cleanup(func() { deleteResidency(t, "fr-fallback") })
	waitResidency(t, "fr-fallback", func(dr *rempartv1.DataResidency) error {
		if !slices.Contains(dr.Status.AllowedRegions, "eu-west-3") {
			return fmt.Errorf("allowed regions %v", dr.Status.AllowedRegions)
		}
		return nil
	})
	// A namespace bound to the validating policy only, as on a server without
	// MutatingAdmissionPolicy: the operator creates no mutating binding for it.
	other := "fr-fallback-plain"
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-fallback"},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: "rempart-residency-pods",
			ParamRef:   &admissionv1.ParamRef{Name: "fr-fallback", ParameterNotFoundAction: ptr.To(admissionv1.DenyAction)},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": other}}},
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	create(t, binding)
	t.Cleanup(func() {
		_ = env.Client.Delete(ctx, binding)
		_ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
	})
	eventuallyRefused(t, env.Client, restrictedPod(other, "unpinned"), "does not pin an allowed region", "set spec.nodeSelector "+regionLabel, "FT-CLD-74", "francecentral")
	pinned := restrictedPod(other, "pinned")
	pinned.Spec.Affinity = requireRegions("eu-west-3", "francecentral")
	if err := env.Client.Create(ctx, pinned); err != nil {
		t.Errorf("a pod requiring French regions was refused: %v", err)
	}
	partly := restrictedPod(other, "partly")
	partly.Spec.Affinity = requireRegions("eu-west-3")
	partly.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = append(
		partly.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms,
		corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}})
	eventuallyRefused(t, env.Client, partly, "does not pin an allowed region", "in every term")

	// In the tenant's own namespace the mutation pins the pod: the French-only regions.
	p := restrictedPod(ns, "mutated")
	eventually(t, "the pod pinned to France", func(ctx context.Context) error {
		q := p.DeepCopy()
		if err := env.Client.Create(ctx, q); err != nil {
			return err
		}
		if sets := regionSets(q); len(sets) != 1 || slices.Contains(sets[0][0], "eu-central-1") || !slices.Contains(sets[0][0], "francecentral") {
			return fmt.Errorf("regions %v", sets)
		}
		return nil
	})
}

func TestResidencyRefusesVolumesAndClassesOutside(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "eu-volumes")
	claimed := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("later-class"), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	// The tenant requires encrypted classes by default: declare this one encrypted.
	usOnly := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "us-only", Labels: map[string]string{rempartv1.LabelEncrypted: "true"}}, Provisioner: "ebs.csi.aws.com",
		AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: regionLabel, Values: []string{"us-east-1"}}}}}}
	create(t, usOnly)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, usOnly) })
	create(t, newResidency("eu-volumes", []rempartv1.TenantName{"eu-volumes"}, []rempartv1.Jurisdiction{"EU"}))
	t.Cleanup(func() { deleteResidency(t, "eu-volumes") })

	// A class used by the tenant's claims cannot be created pointing outside.
	laterLabels := map[string]string{rempartv1.LabelEncrypted: "true"}
	eventually(t, "the claim on a class yet to come", func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(env.Client.Create(ctx, claimed.DeepCopy()))
	})
	waitResidency(t, "eu-volumes", func(dr *rempartv1.DataResidency) error {
		if !slices.Contains(dr.Status.StorageClassesOutside, "us-only") || !slices.Contains(dr.Status.StorageClassesInUse, "later-class") {
			return fmt.Errorf("outside %v, in use %v", dr.Status.StorageClassesOutside, dr.Status.StorageClassesInUse)
		}
		return nil
	})
	later := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "later-class", Labels: laterLabels}, Provisioner: "ebs.csi.aws.com",
		AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: regionLabel, Values: []string{"eu-west-3", "us-east-1"}}}}}}
	eventuallyRefused(t, env.Client, later, "StorageClass later-class is used by claims", "FT-CLD-74")

	// A claim on a class that provisions outside is refused.
	onUS := claimed.DeepCopy()
	onUS.Name, onUS.Spec.StorageClassName = "on-us", ptr.To("us-only")
	eventuallyRefused(t, env.Client, onUS, "StorageClass us-only", "outside the regions", "FT-CLD-74")

	// A volume for a covered claim, located outside, is refused; in an allowed region it is not;
	// for a claim no policy covers, it is none of this policy's business.
	pv := func(name, namespace, region string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: name}},
				ClaimRef:               &corev1.ObjectReference{Namespace: namespace, Name: "data"},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: regionLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{region}}}}}}},
			}}
	}
	eventuallyRefused(t, env.Client, pv("pv-virginia", ns, "us-east-1"), "PersistentVolume pv-virginia for claim "+ns+"/data", "FT-CLD-74")
	paris := pv("pv-paris", ns, "eu-west-3")
	if err := env.Client.Create(ctx, paris); err != nil {
		t.Errorf("a volume in eu-west-3 was refused: %v", err)
	}
	elsewhere := pv("pv-uncovered", "default", "us-east-1")
	if err := env.Client.Create(ctx, elsewhere); err != nil {
		t.Errorf("a volume for an uncovered claim was refused: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, paris); _ = env.Client.Delete(ctx, elsewhere) })
}

func TestResidencyPoliciesCombineByIntersection(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "two-rules")
	create(t, newResidency("two-rules-eu", []rempartv1.TenantName{"two-rules"}, []rempartv1.Jurisdiction{"EU"}))
	t.Cleanup(func() { deleteResidency(t, "two-rules-eu") })
	create(t, newResidency("two-rules-fr", []rempartv1.TenantName{"two-rules"}, nil, "FR"))
	t.Cleanup(func() { deleteResidency(t, "two-rules-fr") })
	waitResidency(t, "two-rules-eu", func(dr *rempartv1.DataResidency) error {
		if !slices.Equal(dr.Status.CombinedWith, []string{"two-rules-fr"}) || !slices.Equal(dr.Status.EffectiveCountries, []string{"FR"}) {
			return fmt.Errorf("combined with %v, effective %v", dr.Status.CombinedWith, dr.Status.EffectiveCountries)
		}
		return nil
	})
	fr := waitResidency(t, "two-rules-fr", func(dr *rempartv1.DataResidency) error {
		if !slices.Equal(dr.Status.CombinedWith, []string{"two-rules-eu"}) || len(dr.Status.CombinedPins) != 1 {
			return fmt.Errorf("combined with %v, pins %v", dr.Status.CombinedWith, dr.Status.CombinedPins)
		}
		return nil
	})
	// Whichever mutation runs first, the pod may only go where both rules allow: France.
	eventually(t, "a pod pinned to France by both rules", func(ctx context.Context) error {
		p := restrictedPod(ns, "")
		p.GenerateName = "both-"
		if err := env.Client.Create(ctx, p); err != nil {
			return err
		}
		sets := regionSets(p)
		if len(sets) != 1 || len(sets[0]) == 0 {
			return fmt.Errorf("region expressions %v", sets)
		}
		inter := sets[0][0]
		for _, s := range sets[0][1:] {
			inter = slices.DeleteFunc(slices.Clone(inter), func(v string) bool { return !slices.Contains(s, v) })
		}
		slices.Sort(inter)
		if !slices.Equal(inter, fr.Status.AllowedRegions) {
			return fmt.Errorf("pod may go to %v, want the French regions %v", inter, fr.Status.AllowedRegions)
		}
		return nil
	})
	// Germany is allowed by the EU rule but not by the French one: the stricter wins.
	frankfurt := restrictedPod(ns, "frankfurt")
	frankfurt.Spec.NodeSelector = map[string]string{regionLabel: "eu-central-1"}
	eventuallyRefused(t, env.Client, frankfurt, "DataResidency two-rules-fr", "FT-CLD-74")
	paris := restrictedPod(ns, "paris")
	paris.Spec.NodeSelector = map[string]string{regionLabel: "eu-west-3"}
	if err := env.Client.Create(ctx, paris); err != nil {
		t.Errorf("a pod in Paris was refused: %v", err)
	}
}

func TestResidencyAuditsPodsAndNodes(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "audited")
	node := func(name, region string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{regionLabel: region}}, Spec: corev1.NodeSpec{ProviderID: "aws:///" + name}}
	}
	paris, virginia := node("audit-paris", "eu-west-3"), node("audit-virginia", "us-east-1")
	create(t, paris)
	create(t, virginia)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, paris); _ = env.Client.Delete(ctx, virginia) })
	// A pod already on a node in Virginia before the policy exists.
	early := restrictedPod(ns, "early")
	create(t, early)
	bind := func(pod *corev1.Pod, node string) {
		t.Helper()
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
		if err := env.Client.SubResource("binding").Create(ctx, pod, b); err != nil {
			t.Fatalf("bind %s to %s: %v", pod.Name, node, err)
		}
	}
	bind(early, "audit-virginia")

	create(t, newResidency("audited", []rempartv1.TenantName{"audited"}, []rempartv1.Jurisdiction{"EU"}))
	t.Cleanup(func() { deleteResidency(t, "audited") })
	dr := waitResidency(t, "audited", func(dr *rempartv1.DataResidency) error {
		if c := dr.Status.Control("residency.pods"); c.State != rempartv1.ControlNonCompliant {
			return fmt.Errorf("pods control %s: %s", c.State, c.Message)
		}
		return nil
	})
	pods := dr.Status.Control("residency.pods")
	for _, want := range []string{"node audit-virginia (us-east-1, US)", ns + "/early", "FT-CLD-74"} {
		if !strings.Contains(pods.Message, want) {
			t.Errorf("pods control message %q lacks %q", pods.Message, want)
		}
	}
	if pods.Evidence == nil || pods.Evidence.Total != 1 || pods.Evidence.Objects[0].Name != "early" {
		t.Errorf("pods evidence %+v", pods.Evidence)
	}
	if c := dr.Status.Control("residency.backup-locations"); c.State != rempartv1.ControlCompliant || c.Reason != "NoBackupPolicy" {
		t.Errorf("backup locations control %+v without any BackupPolicy", c)
	}
	if !strings.Contains(dr.Status.InUseSummary, "us-east-1 (US) NOT ALLOWED") {
		t.Errorf("in-use summary %q", dr.Status.InUseSummary)
	}
	// Nothing was deleted: the pod is still there.
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(early), &corev1.Pod{}); err != nil {
		t.Errorf("the misplaced pod is gone: %v", err)
	}

	// Once the pod is gone and another runs in Paris, the control passes; relabelling that node
	// to Virginia makes it fail again, naming the node and the pod.
	if err := env.Client.Delete(ctx, early, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	late := restrictedPod(ns, "late")
	late.Spec.NodeSelector = map[string]string{regionLabel: "eu-west-3"}
	eventually(t, "the pod in Paris", func(ctx context.Context) error { return client.IgnoreAlreadyExists(env.Client.Create(ctx, late)) })
	bind(late, "audit-paris")
	waitResidency(t, "audited", func(dr *rempartv1.DataResidency) error {
		if c := dr.Status.Control("residency.pods"); c.State != rempartv1.ControlCompliant {
			return fmt.Errorf("pods control %s: %s", c.State, c.Message)
		}
		if !strings.Contains(dr.Status.InUseSummary, "eu-west-3 (FR)") || strings.Contains(dr.Status.InUseSummary, "NOT ALLOWED") {
			return fmt.Errorf("in use %q", dr.Status.InUseSummary)
		}
		return nil
	})
	eventually(t, "relabel the Paris node", func(ctx context.Context) error {
		var n corev1.Node
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "audit-paris"}, &n); err != nil {
			return err
		}
		n.Labels[regionLabel] = "us-east-1"
		return env.Client.Update(ctx, &n)
	})
	dr = waitResidency(t, "audited", func(dr *rempartv1.DataResidency) error {
		if c := dr.Status.Control("residency.pods"); c.State != rempartv1.ControlNonCompliant || !strings.Contains(c.Message, "node audit-paris (us-east-1, US): "+ns+"/late") {
			return fmt.Errorf("pods control %s: %s", c.State, c.Message)
		}
		return nil
	})
	if c := dr.Status.Control("residency.nodes"); c.State != rempartv1.ControlNonCompliant || !strings.Contains(c.Message, "audit-paris") {
		t.Errorf("nodes control %s: %s", c.State, c.Message)
	}
	if cond := meta.FindStatusCondition(dr.Status.Conditions, rempartv1.ConditionCompliant); cond == nil || cond.Status != metav1.ConditionFalse {
		t.Errorf("Compliant condition %+v, want False", cond)
	}
}

// With evictNonCompliant, a covered pod on a node outside the allowed countries is evicted
// through the Eviction API, with an Event naming it; the policy without it evicts nothing.
func TestResidencyEvictsOnlyWhenAskedTo(t *testing.T) {
	ctx := context.Background()
	ns := residencyTenant(t, "evicting")
	outside := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "evict-virginia", Labels: map[string]string{regionLabel: "us-east-1"}}}
	create(t, outside)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, outside) })
	misplaced := restrictedPod(ns, "misplaced")
	create(t, misplaced)
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: misplaced.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: outside.Name}}
	if err := env.Client.SubResource("binding").Create(ctx, misplaced, b); err != nil {
		t.Fatal(err)
	}
	dr := newResidency("evicting", []rempartv1.TenantName{"evicting"}, []rempartv1.Jurisdiction{"EU"})
	create(t, dr)
	t.Cleanup(func() { deleteResidency(t, "evicting") })
	waitResidency(t, "evicting", func(dr *rempartv1.DataResidency) error {
		if c := dr.Status.Control("residency.pods"); c.State != rempartv1.ControlNonCompliant {
			return fmt.Errorf("pods control %s", c.State)
		}
		return nil
	})
	var pod corev1.Pod
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(misplaced), &pod); err != nil || pod.DeletionTimestamp != nil {
		t.Fatalf("without evictNonCompliant the pod was removed (get: %v, deletion %v)", err, pod.DeletionTimestamp)
	}

	eventually(t, "turn eviction on", func(ctx context.Context) error {
		var current rempartv1.DataResidency
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "evicting"}, &current); err != nil {
			return err
		}
		current.Spec.EvictNonCompliant = true
		return env.Client.Update(ctx, &current)
	})
	eventually(t, "the misplaced pod evicted", func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(misplaced), &pod)
		if apierrors.IsNotFound(err) || (err == nil && pod.DeletionTimestamp != nil) {
			return nil
		}
		return fmt.Errorf("pod still running (get: %v)", err)
	})
	eventually(t, "an Event for the eviction", func(ctx context.Context) error {
		var list eventsv1.EventList
		if err := env.Client.List(ctx, &list); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == "Evicted" && e.Regarding.Name == "evicting" && e.Related != nil && e.Related.Name == "misplaced" &&
				strings.Contains(e.Note, "evict-virginia (us-east-1, US)") && strings.Contains(e.Note, "FT-CLD-74") {
				return nil
			}
		}
		return fmt.Errorf("no Evicted event among %d", len(list.Items))
	})
}

// A selector the API server lets through but that is not a label selector (a bad label value) is
// reported in status rather than retried in silence.
func TestResidencyReportsAnUnreadableSelector(t *testing.T) {
	dr := newResidency("bad-selector", nil, []rempartv1.Jurisdiction{"EU"})
	dr.Spec.Tenants = &rempartv1.TenantSelection{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold plated"}}}
	create(t, dr)
	t.Cleanup(func() { deleteResidency(t, "bad-selector") })
	waitResidency(t, "bad-selector", func(dr *rempartv1.DataResidency) error {
		ready := meta.FindStatusCondition(dr.Status.Conditions, rempartv1.ConditionReady)
		if ready.Status != metav1.ConditionFalse || ready.Reason != "InvalidSpec" || !strings.Contains(ready.Message, "spec.tenants.selector") {
			return fmt.Errorf("Ready %+v", ready)
		}
		return nil
	})
}
