package controllers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"

	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/adminaccess"
	"github.com/rempart-io/rempart/controllers/admission"
	"github.com/rempart-io/rempart/controllers/backuppolicy"
	"github.com/rempart-io/rempart/controllers/certificatepolicy"
	"github.com/rempart-io/rempart/controllers/compliancereport"
	"github.com/rempart-io/rempart/controllers/dataresidency"
	"github.com/rempart-io/rempart/controllers/evidencelog"
	"github.com/rempart-io/rempart/controllers/tenantisolation"
)

// Options are the settings every controller receives from the manager's flags.
type Options struct {
	// MaxConcurrentReconciles bounds parallel reconciles per controller.
	MaxConcurrentReconciles int
	// ResyncPeriod is the safety-net re-evaluation period; precise time boundaries use RequeueAfter.
	ResyncPeriod time.Duration
	// OperatorNamespace is where the operator runs: its lease, its service account.
	OperatorNamespace string
	// OperatorServiceAccount is the username the operator's API requests carry, which admission
	// policies exempt when protecting what the operator put in place.
	OperatorServiceAccount string
	// Clock gives the time to controls with deadlines; tests inject a fake one.
	Clock clock.PassiveClock
	// AdminMaxTemporary bounds a temporary AdminAccess grant; 0 means 24 hours.
	AdminMaxTemporary time.Duration
	// AdminExtraRoles are ClusterRoles AdminAccess may grant besides admin, edit and view.
	AdminExtraRoles []string
	// PlatformAccounts are the usernames of the platform's own accounts, such as its deployment
	// tools, that may hold and bind admin-level rights in tenant namespaces without an AdminAccess.
	PlatformAccounts []string
	// BreakGlassGroup is the group whose members may change what Rempart manages in an emergency,
	// and ask for break-glass AdminAccess for themselves; empty means rempart:break-glass.
	BreakGlassGroup string
	// VeleroNamespace is where Velero runs and BackupPolicy writes its Velero objects.
	VeleroNamespace string
	// PolicyReports is auto, on or off: whether to write wgpolicyk8s.io PolicyReports.
	PolicyReports string
	// ClusterCIDRs are the cluster's pod and service networks; empty means every private range.
	ClusterCIDRs []string
	// ClusterDomain is the cluster's DNS domain; empty means cluster.local.
	ClusterDomain string
	// Evidence configures the evidence log (off without a bucket); its namespace and clock are
	// the operator's.
	Evidence evidencelog.Config
}

// Controller is one registered controller: a name for logs and errors, and its setup.
type Controller struct {
	Name  string
	Setup func(mgr ctrl.Manager, opts Options) error
}

// Every controller records Events on the policies it reconciles, as the audit trail of what it did.
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// All lists every controller the manager runs. Each policy kind adds its line here.
var All = []Controller{
	{Name: "tenantisolation", Setup: func(mgr ctrl.Manager, o Options) error {
		return tenantisolation.Setup(mgr, tenantisolation.Settings{
			MaxConcurrentReconciles: o.MaxConcurrentReconciles, Resync: o.ResyncPeriod, Clock: o.Clock,
			Admission: tenantisolation.AdmissionConfig{OperatorUser: o.OperatorServiceAccount, PlatformAccounts: o.PlatformAccounts,
				ClusterCIDRs: o.ClusterCIDRs, ClusterDomain: o.ClusterDomain, ReservedNamespaces: reservedNamespaces(o),
				BreakGlassGroup: breakGlassGroup(o)},
		})
	}},
	{Name: "adminaccess", Setup: func(mgr ctrl.Manager, o Options) error {
		limits := adminaccess.DefaultLimits
		if o.AdminMaxTemporary > 0 {
			limits.MaxTemporary = o.AdminMaxTemporary
		}
		return adminaccess.Setup(mgr, adminaccess.Settings{
			MaxConcurrentReconciles: o.MaxConcurrentReconciles, Resync: o.ResyncPeriod, Clock: o.Clock,
			Config: adminaccess.Config{Limits: limits, ExtraRoles: o.AdminExtraRoles, ReservedNamespaces: reservedNamespaces(o),
				BreakGlassGroup: breakGlassGroup(o), PlatformAccounts: o.PlatformAccounts}, OperatorUser: o.OperatorServiceAccount,
		})
	}},
	{Name: "certificatepolicy", Setup: func(mgr ctrl.Manager, o Options) error {
		return certificatepolicy.Setup(mgr, certificatepolicy.Settings{MaxConcurrentReconciles: o.MaxConcurrentReconciles, Resync: o.ResyncPeriod, Clock: o.Clock})
	}},
	{Name: "dataresidency", Setup: func(mgr ctrl.Manager, o Options) error {
		return dataresidency.Setup(mgr, dataresidency.Settings{
			MaxConcurrentReconciles: o.MaxConcurrentReconciles, Resync: o.ResyncPeriod, Clock: o.Clock,
		})
	}},
	{Name: "backuppolicy", Setup: func(mgr ctrl.Manager, o Options) error {
		return backuppolicy.Setup(mgr, backuppolicy.Settings{
			MaxConcurrentReconciles: o.MaxConcurrentReconciles, Resync: o.ResyncPeriod, Clock: o.Clock, VeleroNamespace: o.VeleroNamespace,
			OperatorUser: o.OperatorServiceAccount,
		})
	}},
	{Name: "compliancereport", Setup: func(mgr ctrl.Manager, o Options) error {
		evidence := o.Evidence
		evidence.Namespace, evidence.Clock = o.OperatorNamespace, o.Clock
		recorder, err := evidencelog.Setup(mgr, evidence)
		if err != nil {
			return fmt.Errorf("evidence log: %w", err)
		}
		return compliancereport.Setup(mgr, compliancereport.Settings{
			MaxConcurrentReconciles: o.MaxConcurrentReconciles, Resync: o.ResyncPeriod, Clock: o.Clock, OperatorUser: o.OperatorServiceAccount,
			PolicyReports: o.PolicyReports, BreakGlassGroup: breakGlassGroup(o), Evidence: recorder,
		})
	}},
}

// breakGlassGroup is the settings' break-glass group, or the default.
func breakGlassGroup(o Options) string {
	if o.BreakGlassGroup == "" {
		return admission.DefaultBreakGlassGroup
	}
	return o.BreakGlassGroup
}

// reservedNamespaces are the namespaces no tenant may hold besides default and kube-*: the
// operator's own and Velero's.
func reservedNamespaces(o Options) []string {
	var out []string
	for _, ns := range []string{o.OperatorNamespace, o.VeleroNamespace} {
		if ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

// SetupAll registers every controller in All with the manager.
func SetupAll(mgr ctrl.Manager, opts Options) error {
	for _, c := range All {
		if err := c.Setup(mgr, opts); err != nil {
			return fmt.Errorf("set up controller %s: %w", c.Name, err)
		}
	}
	return nil
}

// NewScheme returns a scheme with the built-in kinds and every kind the controllers read or write.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(cmapi.AddToScheme(s))
	utilruntime.Must(rempartv1.AddToScheme(s))
	utilruntime.Must(gwapiv1.Install(s))
	return s
}

// CacheOptions are the manager's cache settings: managedFields dropped from every object, and
// pods reduced to what the controls read (placement and phase), since a cluster holds many.
func CacheOptions(resync time.Duration) cache.Options {
	return cache.Options{
		SyncPeriod:       &resync,
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Transform: slimPod},
			// A report's status is written by the operator and read by people: the cache keeps
			// the object without it (the operator remembers what it wrote).
			&rempartv1.ComplianceReport{}: {Transform: withoutReportStatus},
			// Objects a tenant's edit user may write by the thousand: kept without the parts no
			// control reads, so large annotations cannot push the operator out of memory.
			&networkingv1.NetworkPolicy{}: {Transform: keepAnnotations()},
			&corev1.Service{}:             {Transform: keepAnnotations()},
			&networkingv1.Ingress{}:       {Transform: keepAnnotations(ingressAnnotationsRead...)},
			&rbacv1.Role{}:                {Transform: keepAnnotations(creatorAnnotations...)},
			&rbacv1.RoleBinding{}:         {Transform: keepAnnotations(creatorAnnotations...)},
			// Only the service accounts a person created in a tenant namespace: those an AdminAccess
			// removes when it ends.
			&corev1.ServiceAccount{}: {Label: labels.SelectorFromSet(labels.Set{adminaccess.LabelCreatorStamped: "true"}), Transform: keepAnnotations(creatorAnnotations...)},
		},
	}
}

// creatorAnnotations record who created an object in a tenant namespace.
var creatorAnnotations = []string{adminaccess.AnnotationCreatedBy, adminaccess.AnnotationCreatedByGroups}

// ingressAnnotationsRead are the Ingress annotations the controls read: the legacy class and the
// source ranges of the ingress controllers Rempart knows.
var ingressAnnotationsRead = []string{
	"kubernetes.io/ingress.class",
	"nginx.ingress.kubernetes.io/allowlist-source-range",
	"nginx.ingress.kubernetes.io/whitelist-source-range",
	"haproxy.org/allow-list",
	"haproxy.org/whitelist",
}

// maxKeptAnnotation bounds the size of a rempart.io annotation kept in the cache.
const maxKeptAnnotation = 4096

// keepAnnotations drops managed fields and every annotation but those named and, on the objects
// Rempart generates, its own rempart.io annotations (which the apply compares).
func keepAnnotations(keys ...string) toolscache.TransformFunc {
	return func(obj any) (any, error) {
		o, ok := obj.(client.Object)
		if !ok {
			return obj, nil
		}
		o.SetManagedFields(nil)
		a := o.GetAnnotations()
		if len(a) == 0 {
			return o, nil
		}
		generated := o.GetLabels()[rempartv1.LabelManagedBy] == rempartv1.ManagedByValue
		var kept map[string]string
		for k, v := range a {
			own := generated && strings.HasPrefix(k, "rempart.io/") && len(v) <= maxKeptAnnotation
			if own || slices.Contains(keys, k) {
				if kept == nil {
					kept = map[string]string{}
				}
				kept[k] = v
			}
		}
		o.SetAnnotations(kept)
		return o, nil
	}
}

// slimVolumes keeps of a pod's volumes what the storage control reads: the type, the inline CSI
// driver, an ephemeral claim's class; the contents of config and secret projections go.
func slimVolumes(in []corev1.Volume) []corev1.Volume {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.Volume, len(in))
	for i, v := range in {
		src := v.VolumeSource
		slim := corev1.VolumeSource{}
		switch {
		case src.ConfigMap != nil:
			slim.ConfigMap = &corev1.ConfigMapVolumeSource{}
		case src.Secret != nil:
			slim.Secret = &corev1.SecretVolumeSource{}
		case src.Projected != nil:
			slim.Projected = &corev1.ProjectedVolumeSource{}
		case src.DownwardAPI != nil:
			slim.DownwardAPI = &corev1.DownwardAPIVolumeSource{}
		case src.CSI != nil:
			slim.CSI = &corev1.CSIVolumeSource{Driver: src.CSI.Driver}
		case src.Ephemeral != nil && src.Ephemeral.VolumeClaimTemplate != nil:
			slim.Ephemeral = &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: src.Ephemeral.VolumeClaimTemplate.Spec.StorageClassName}}}
		default:
			slim = src // the other sources are a few fields each
		}
		out[i] = corev1.Volume{Name: v.Name, VolumeSource: slim}
	}
	return out
}

// slimPod keeps of a pod its identity, labels, owners, node, volume types, phase and deletion mark.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
			Labels: pod.Labels, OwnerReferences: pod.OwnerReferences, DeletionTimestamp: pod.DeletionTimestamp,
			CreationTimestamp: pod.CreationTimestamp,
		},
		Spec:   corev1.PodSpec{NodeName: pod.Spec.NodeName, Volumes: slimVolumes(pod.Spec.Volumes)},
		Status: corev1.PodStatus{Phase: pod.Status.Phase},
	}, nil
}

// withoutReportStatus drops a ComplianceReport's status from the cache.
func withoutReportStatus(obj any) (any, error) {
	if r, ok := obj.(*rempartv1.ComplianceReport); ok {
		r.ManagedFields = nil
		r.Status = rempartv1.ComplianceReportStatus{}
	}
	return obj, nil
}
