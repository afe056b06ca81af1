package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// A tenant's large annotations never reach the cache; what the controls and the apply read does.
func TestCacheKeepsOnlyTheAnnotationsRead(t *testing.T) {
	big := strings.Repeat("x", 200_000)
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "console", Annotations: map[string]string{
		"kubectl.kubernetes.io/last-applied-configuration":   big,
		"nginx.ingress.kubernetes.io/allowlist-source-range": "10.0.0.0/8",
		"kubernetes.io/ingress.class":                        "nginx",
		"rempart.io/padding":                                 big,
	}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, err := keepAnnotations(ingressAnnotationsRead...)(ing)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*networkingv1.Ingress)
	if len(got.Annotations) != 2 || got.Annotations["nginx.ingress.kubernetes.io/allowlist-source-range"] != "10.0.0.0/8" || got.ManagedFields != nil {
		t.Errorf("Ingress kept %d annotations and %d managed fields", len(got.Annotations), len(got.ManagedFields))
	}

	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "grant",
		Labels:      map[string]string{rempartv1.LabelManagedBy: rempartv1.ManagedByValue},
		Annotations: map[string]string{"rempart.io/approved-by": "rssi@acme.example", "rempart.io/padding": big, "team": "payments"}}}
	out, _ = keepAnnotations()(binding)
	if a := out.(*rbacv1.RoleBinding).Annotations; len(a) != 1 || a["rempart.io/approved-by"] != "rssi@acme.example" {
		t.Errorf("generated RoleBinding kept %v", a)
	}
	forged := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "mine", Annotations: map[string]string{"rempart.io/approved-by": big}}}
	out, _ = keepAnnotations()(forged)
	if a := out.(*rbacv1.RoleBinding).Annotations; len(a) != 0 {
		t.Errorf("a tenant's RoleBinding kept %d annotations", len(a))
	}
}

// The cached pod keeps every volume's type, so the storage control can judge it, but not the
// contents of projections.
func TestSlimPodKeepsVolumeTypes(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i"}},
		Volumes: []corev1.Volume{
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{Items: []corev1.KeyToPath{{Key: "k", Path: "p"}}}}},
			{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "ebs.csi.aws.com", VolumeAttributes: map[string]string{"a": "b"}}}},
			{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}},
		}}}
	out, err := slimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Pod)
	v := got.Spec.Volumes
	if len(got.Spec.Containers) != 0 || got.Spec.NodeName != "n1" || len(v) != 3 ||
		v[0].ConfigMap == nil || len(v[0].ConfigMap.Items) != 0 || v[1].CSI == nil || v[1].CSI.Driver != "ebs.csi.aws.com" || v[1].CSI.VolumeAttributes != nil || v[2].NFS == nil {
		t.Errorf("slim pod = %+v", got.Spec)
	}
}
