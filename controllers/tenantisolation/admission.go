package tenantisolation

import (
	"fmt"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// Names of the admission policies, shared by every tenant; each tenant has its own bindings.
const (
	policyStorage         = "rempart-tenant-storage"
	policyAdminInterfaces = "rempart-tenant-admin-interfaces"
	policyNodeIsolation   = "rempart-tenant-node-isolation"
	policyProtectManaged  = "rempart-protect-managed-objects"
	policyProtectNS       = "rempart-protect-tenant-namespaces"
	policyClaims          = "rempart-tenant-namespace-claims"

	// claimsConfigMap maps every held namespace to its tenant, for the claims policy.
	claimsConfigMap = "rempart-namespace-claims"

	// BreakGlassGroup is the group whose members may change what Rempart manages, besides cluster
	// administrators (system:masters): an emergency path, visible in the API server's audit log.
	BreakGlassGroup = "rempart:break-glass"
)

// tenantParamsName is the ConfigMap holding one tenant's admission parameters.
func tenantParamsName(tenant string) string { return "rempart-tenant-" + tenant }

func bindingName(policy, tenant string) string { return policy + "." + tenant }

// AdmissionConfig is what the admission policies need to know about the operator.
type AdmissionConfig struct {
	// OperatorNamespace holds the parameter ConfigMaps.
	OperatorNamespace string
	// OperatorUser is the operator's username, the only one besides administrators allowed to
	// change what it manages.
	OperatorUser string
}

func sharedMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: map[string]string{rempartv1.LabelManagedBy: rempartv1.ManagedByValue}}
}

func rule(group, resource string, ops ...admissionv1.OperationType) admissionv1.NamedRuleWithOperations {
	return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
		Operations: ops,
		Rule:       admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: []string{resource}},
	}}
}

func paramsKind() *admissionv1.ParamKind {
	return &admissionv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
}

// privilegedExpression is true for the requests allowed to change what the operator manages:
// the operator itself, cluster administrators and the break-glass group, and the controllers
// that delete objects with their namespace or owner.
func privilegedExpression(cfg AdmissionConfig) string {
	return fmt.Sprintf("request.userInfo.username in [%q, 'system:serviceaccount:kube-system:namespace-controller', 'system:serviceaccount:kube-system:generic-garbage-collector'] || "+
		"(has(request.userInfo.groups) && ('system:masters' in request.userInfo.groups || %q in request.userInfo.groups))",
		cfg.OperatorUser, BreakGlassGroup)
}

// sharedPolicies are the admission policies every tenant's bindings use.
func sharedPolicies(cfg AdmissionConfig) []*admissionv1.ValidatingAdmissionPolicy {
	fail := ptr.To(admissionv1.Fail)
	managedLabel := "app.kubernetes.io/managed-by"
	return []*admissionv1.ValidatingAdmissionPolicy{
		{
			ObjectMeta: sharedMeta(policyStorage),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy:    fail,
				ParamKind:        paramsKind(),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{rule("", "persistentvolumeclaims", admissionv1.Create)}},
				Validations: []admissionv1.Validation{{
					Expression: "has(object.spec.storageClassName) && object.spec.storageClassName != '' && object.spec.storageClassName in params.data.allowedStorageClasses.split(',')",
					MessageExpression: "'PersistentVolumeClaim ' + object.metadata.name + ' uses ' + " +
						"(has(object.spec.storageClassName) && object.spec.storageClassName != '' ? 'StorageClass ' + object.spec.storageClassName : 'no StorageClass') + " +
						"', which is not encrypted at rest or not allowed for tenant ' + params.data.tenant + ' (FT-CLD-21). Use one of: ' + " +
						"(params.data.allowedStorageClasses == '' ? 'none is available, ask the platform team for an encrypted class' : params.data.allowedStorageClasses) + '.'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				}},
			},
		},
		{
			ObjectMeta: sharedMeta(policyAdminInterfaces),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				ParamKind:     paramsKind(),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
					rule("", "services", admissionv1.Create, admissionv1.Update),
					rule("networking.k8s.io", "ingresses", admissionv1.Create, admissionv1.Update),
				}},
				Variables: []admissionv1.Variable{
					{Name: "allowed", Expression: "params.data.adminSourceRanges.split(',').filter(a, a != '')"},
					{Name: "rangeKeys", Expression: "has(object.metadata.annotations) ? " + celStringList(sourceRangeAnnotations) + ".filter(k, k in object.metadata.annotations) : []"},
					{Name: "ranges", Expression: "request.kind.kind == 'Service' ? (has(object.spec.loadBalancerSourceRanges) ? object.spec.loadBalancerSourceRanges : []) : " +
						"(size(variables.rangeKeys) > 0 ? object.metadata.annotations[variables.rangeKeys[0]].split(',').map(r, r.trim()) : [])"},
					{Name: "restricted", Expression: "size(variables.ranges) > 0 && variables.ranges.all(r, isCIDR(r) && variables.allowed.exists(a, cidr(a).containsCIDR(r)))"},
				},
				Validations: []admissionv1.Validation{
					{
						Expression:        "request.kind.kind != 'Service' || object.spec.type != 'NodePort'",
						MessageExpression: "'Service ' + object.metadata.name + ' is an administration interface of tenant ' + params.data.tenant + ' and cannot be a NodePort, which opens it on every node (FT-CLD-19).'",
						Reason:            ptr.To(metav1.StatusReasonForbidden),
					},
					{
						Expression: "request.kind.kind != 'Service' || object.spec.type != 'LoadBalancer' || variables.restricted",
						MessageExpression: "'Service ' + object.metadata.name + ' is an administration interface of tenant ' + params.data.tenant + " +
							"': a LoadBalancer must set loadBalancerSourceRanges within ' + params.data.adminSourceRanges + ' (FT-CLD-19).'",
						Reason: ptr.To(metav1.StatusReasonForbidden),
					},
					{
						Expression: "request.kind.kind != 'Ingress' || variables.restricted",
						MessageExpression: "'Ingress ' + object.metadata.name + ' is an administration interface of tenant ' + params.data.tenant + " +
							"': restrict its sources with the annotation nginx.ingress.kubernetes.io/whitelist-source-range within ' + params.data.adminSourceRanges + ' (FT-CLD-19).'",
						Reason: ptr.To(metav1.StatusReasonForbidden),
					},
				},
			},
		},
		{
			ObjectMeta: sharedMeta(policyNodeIsolation),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy:    fail,
				ParamKind:        paramsKind(),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{rule("", "pods", admissionv1.Create)}},
				Validations: []admissionv1.Validation{{
					Expression: "params.data.nodeSelector.split(',').all(kv, has(object.spec.nodeSelector) && kv.split('=')[0] in object.spec.nodeSelector && object.spec.nodeSelector[kv.split('=')[0]] == kv.split('=')[1])",
					MessageExpression: "'Pod ' + (object.metadata.name != '' ? object.metadata.name : object.metadata.generateName) + ' must run on the dedicated nodes of tenant ' + params.data.tenant + " +
						"': set spec.nodeSelector to ' + params.data.nodeSelector + ' (FLX-3.6, FT-CLD-25).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				}},
			},
		},
		{
			ObjectMeta: sharedMeta(policyProtectManaged),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				MatchConstraints: &admissionv1.MatchResources{
					ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{managedLabel: rempartv1.ManagedByValue}},
					ResourceRules: []admissionv1.NamedRuleWithOperations{
						rule("networking.k8s.io", "networkpolicies", admissionv1.Update, admissionv1.Delete),
						rule("", "resourcequotas", admissionv1.Update, admissionv1.Delete),
						rule("", "limitranges", admissionv1.Update, admissionv1.Delete),
						rule("", "configmaps", admissionv1.Update, admissionv1.Delete),
					},
				},
				Variables: []admissionv1.Variable{{Name: "privileged", Expression: privilegedExpression(cfg)}},
				Validations: []admissionv1.Validation{{
					Expression: "variables.privileged",
					MessageExpression: "request.kind.kind + ' ' + request.name + ' keeps tenant ' + " +
						"(has(oldObject.metadata.labels) && 'rempart.io/tenant' in oldObject.metadata.labels ? oldObject.metadata.labels['rempart.io/tenant'] + ' ' : '') + " +
						"'isolated and is managed by Rempart: change the TenantIsolation instead (FT-CLD-20).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				}},
			},
		},
		{
			ObjectMeta: sharedMeta(policyProtectNS),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				MatchConstraints: &admissionv1.MatchResources{
					ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpExists}}},
					ResourceRules:  []admissionv1.NamedRuleWithOperations{rule("", "namespaces", admissionv1.Update, admissionv1.Delete)},
				},
				Variables: []admissionv1.Variable{
					{Name: "privileged", Expression: privilegedExpression(cfg)},
					{Name: "oldLabels", Expression: "has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}"},
					{Name: "newLabels", Expression: "object != null && has(object.metadata.labels) ? object.metadata.labels : {}"},
					{Name: "tenantKeys", Expression: celStringList(protectedNamespaceLabels())},
				},
				Validations: []admissionv1.Validation{
					{
						// Holds for everyone, the operator included, so two tenants can never both claim a namespace.
						Expression: "request.operation == 'DELETE' || !('rempart.io/tenant' in variables.oldLabels) || !('rempart.io/tenant' in variables.newLabels) || variables.oldLabels['rempart.io/tenant'] == variables.newLabels['rempart.io/tenant']",
						MessageExpression: "'Namespace ' + request.name + ' belongs to tenant ' + variables.oldLabels['rempart.io/tenant'] + " +
							"' and cannot be moved to another tenant: a namespace belongs to one tenant only (FT-CLD-20).'",
						Reason: ptr.To(metav1.StatusReasonForbidden),
					},
					{
						Expression: "variables.privileged || (request.operation == 'UPDATE' && variables.tenantKeys.all(k, (k in variables.oldLabels) == (k in variables.newLabels) && (!(k in variables.oldLabels) || variables.oldLabels[k] == variables.newLabels[k])))",
						MessageExpression: "'Namespace ' + request.name + ' belongs to tenant ' + variables.oldLabels['rempart.io/tenant'] + " +
							"': its tenant, environment and Pod Security labels, and the namespace itself, are managed by Rempart; change the TenantIsolation instead (FT-CLD-20).'",
						Reason: ptr.To(metav1.StatusReasonForbidden),
					},
				},
			},
		},
		{
			ObjectMeta: sharedMeta(policyClaims),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				ParamKind:     paramsKind(),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
					rule(rempartv1.GroupVersion.Group, "tenantisolations", admissionv1.Create, admissionv1.Update)}},
				Variables: []admissionv1.Variable{{Name: "taken", Expression: "has(params.data) ? object.spec.namespaces.filter(n, n in params.data && params.data[n] != object.metadata.name) : []"}},
				Validations: []admissionv1.Validation{{
					Expression: "size(variables.taken) == 0",
					MessageExpression: "'TenantIsolation ' + object.metadata.name + ' claims namespaces that belong to another tenant: ' + " +
						"variables.taken.map(n, n + ' (tenant ' + params.data[n] + ')').join(', ') + '. A namespace belongs to one tenant only (FT-CLD-20).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				}},
			},
		},
	}
}

// protectedNamespaceLabels are the namespace labels tenant users may not change.
func protectedNamespaceLabels() []string {
	return []string{rempartv1.LabelTenant, rempartv1.LabelEnvironment, psaEnforce, psaEnforceVersion, psaAudit, psaAuditVersion, psaWarn, psaWarnVersion}
}

func celStringList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// claimsBinding binds the claims policy cluster-wide to the claims ConfigMap.
func claimsBinding(cfg AdmissionConfig) *admissionv1.ValidatingAdmissionPolicyBinding {
	return &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: sharedMeta(policyClaims),
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: policyClaims,
			ParamRef: &admissionv1.ParamRef{Name: claimsConfigMap, Namespace: cfg.OperatorNamespace,
				ParameterNotFoundAction: ptr.To(admissionv1.AllowAction)},
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
}

// protectionBindings bind the protection policies cluster-wide: no parameters needed.
func protectionBindings() []*admissionv1.ValidatingAdmissionPolicyBinding {
	var out []*admissionv1.ValidatingAdmissionPolicyBinding
	for _, p := range []string{policyProtectManaged, policyProtectNS} {
		out = append(out, &admissionv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: sharedMeta(p),
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        p,
				ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			},
		})
	}
	return out
}

// claimsData maps each namespace to the tenant holding it.
func claimsConfigMapObject(cfg AdmissionConfig, claims map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: claimsConfigMap, Namespace: cfg.OperatorNamespace, Labels: map[string]string{rempartv1.LabelManagedBy: rempartv1.ManagedByValue}},
		Data:       claims,
	}
}

// tenantParams are the admission parameters of one tenant.
func tenantParams(ti *rempartv1.TenantIsolation, cfg AdmissionConfig, allowedClasses []string) *corev1.ConfigMap {
	sort.Strings(allowedClasses)
	data := map[string]string{
		"tenant":                ti.Name,
		"allowedStorageClasses": strings.Join(allowedClasses, ","),
		"adminSourceRanges":     "",
		"nodeSelector":          "",
	}
	if ai := ti.Spec.AdminInterfaces; ai != nil {
		ranges := make([]string, len(ai.AllowedSourceRanges))
		for i, r := range ai.AllowedSourceRanges {
			ranges[i] = string(r)
		}
		data["adminSourceRanges"] = strings.Join(ranges, ",")
	}
	if ni := ti.Spec.NodeIsolation; ni != nil {
		var kv []string
		for k, v := range ni.NodeSelector {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		data["nodeSelector"] = strings.Join(kv, ",")
	}
	meta := objectMeta(ti, cfg.OperatorNamespace, tenantParamsName(ti.Name), "admission-parameters")
	return &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta, Data: data}
}

// tenantBindings bind the shared policies to the tenant's namespaces, with the tenant's
// parameters; in Audit mode they warn and audit instead of refusing.
func tenantBindings(ti *rempartv1.TenantIsolation, cfg AdmissionConfig) []*admissionv1.ValidatingAdmissionPolicyBinding {
	actions := []admissionv1.ValidationAction{admissionv1.Deny}
	if ti.Spec.Enforcement == rempartv1.EnforcementAudit {
		actions = []admissionv1.ValidationAction{admissionv1.Warn, admissionv1.Audit}
	}
	tenantNamespaces := &metav1.LabelSelector{MatchLabels: map[string]string{rempartv1.LabelTenant: ti.Name}}
	binding := func(policy string, objectSelector *metav1.LabelSelector) *admissionv1.ValidatingAdmissionPolicyBinding {
		meta := objectMeta(ti, "", bindingName(policy, ti.Name), "admission")
		return &admissionv1.ValidatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
			ObjectMeta: meta,
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName: policy,
				ParamRef: &admissionv1.ParamRef{Name: tenantParamsName(ti.Name), Namespace: cfg.OperatorNamespace,
					ParameterNotFoundAction: ptr.To(admissionv1.DenyAction)},
				MatchResources:    &admissionv1.MatchResources{NamespaceSelector: tenantNamespaces.DeepCopy(), ObjectSelector: objectSelector},
				ValidationActions: actions,
			},
		}
	}
	var out []*admissionv1.ValidatingAdmissionPolicyBinding
	if enabled(ti.Spec.Storage.RequireEncryption) || len(ti.Spec.Storage.AllowedStorageClasses) > 0 {
		out = append(out, binding(policyStorage, nil))
	}
	if ai := ti.Spec.AdminInterfaces; ai != nil {
		out = append(out, binding(policyAdminInterfaces, ai.Selector.DeepCopy()))
	}
	if ti.Spec.NodeIsolation != nil {
		out = append(out, binding(policyNodeIsolation, nil))
	}
	return out
}
