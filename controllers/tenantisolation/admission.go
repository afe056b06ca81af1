package tenantisolation

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
)

// Names of the admission policies, shared by every tenant; each tenant has its own bindings.
const (
	policyStorage         = "rempart-tenant-storage"
	policyAdminInterfaces = "rempart-tenant-admin-interfaces"
	policyNodeIsolation   = "rempart-tenant-node-isolation"
	policyProtectManaged  = "rempart-protect-managed-objects"
	policyProtectNS       = "rempart-protect-tenant-namespaces"
	policyClaims          = "rempart-tenant-namespace-claims"
	policyAdminBindings   = "rempart-tenant-admin-bindings"

	// BreakGlassGroup is the group whose members may change what Rempart manages, besides cluster
	// administrators (system:masters): an emergency path, visible in the API server's audit log.
	BreakGlassGroup = "rempart:break-glass"
)

func bindingName(policy, tenant string) string { return policy + "." + tenant }

// AdmissionConfig is what the admission policies need to know about the operator.
type AdmissionConfig struct {
	// OperatorUser is the operator's username, the only one besides administrators allowed to
	// change what it manages.
	OperatorUser string
	// PlatformAccounts are the platform's accounts allowed to bind admin-level roles in tenant
	// namespaces without an AdminAccess.
	PlatformAccounts []string
}

// paramsKind: the TenantIsolation itself carries every parameter the policies read, in its spec
// and, for what the operator computes (the allowed StorageClasses), in its status.
func paramsKind() *admissionv1.ParamKind {
	return &admissionv1.ParamKind{APIVersion: rempartv1.GroupVersion.String(), Kind: "TenantIsolation"}
}

// privilegedExpression is true for the requests allowed to change what the operator manages:
// the operator itself, cluster administrators and the break-glass group, and the controllers
// that delete objects with their namespace or owner.
func privilegedExpression(cfg AdmissionConfig) string {
	return admission.Privileged(cfg.OperatorUser, BreakGlassGroup)
}

// sharedPolicies are the admission policies every tenant's bindings use.
func sharedPolicies(cfg AdmissionConfig, adminRoles []string) []*admissionv1.ValidatingAdmissionPolicy {
	fail := ptr.To(admissionv1.Fail)
	managedLabel := "app.kubernetes.io/managed-by"
	return []*admissionv1.ValidatingAdmissionPolicy{
		{
			ObjectMeta: admission.SharedMeta(policyStorage),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy:    fail,
				ParamKind:        paramsKind(),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("", "persistentvolumeclaims", admissionv1.Create)}},
				Validations: []admissionv1.Validation{{
					Expression: "has(object.spec.storageClassName) && has(params.status.allowedStorageClasses) && object.spec.storageClassName in params.status.allowedStorageClasses",
					MessageExpression: "'PersistentVolumeClaim ' + object.metadata.name + ' uses ' + " +
						"(has(object.spec.storageClassName) && object.spec.storageClassName != '' ? 'StorageClass ' + object.spec.storageClassName : 'no StorageClass') + " +
						"', which is not encrypted at rest or not allowed for tenant ' + params.metadata.name + ' (FT-CLD-21). Use one of: ' + " +
						"(has(params.status.allowedStorageClasses) ? params.status.allowedStorageClasses.join(', ') : 'none is available, ask the platform team for an encrypted class') + '.'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				}},
			},
		},
		{
			ObjectMeta: admission.SharedMeta(policyAdminInterfaces),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				ParamKind:     paramsKind(),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
					admission.Rule("", "services", admissionv1.Create, admissionv1.Update),
					admission.Rule("networking.k8s.io", "ingresses", admissionv1.Create, admissionv1.Update),
				}},
				Variables: []admissionv1.Variable{
					{Name: "allowed", Expression: "has(params.spec.adminInterfaces) && has(params.spec.adminInterfaces.allowedSourceRanges) ? params.spec.adminInterfaces.allowedSourceRanges : []"},
					{Name: "allowedText", Expression: "size(variables.allowed) > 0 ? variables.allowed.join(', ') : 'no range: none is allowed'"},
					{Name: "rangeKeys", Expression: "has(object.metadata.annotations) ? " + admission.StringList(sourceRangeAnnotations) + ".filter(k, k in object.metadata.annotations) : []"},
					{Name: "ranges", Expression: "request.kind.kind == 'Service' ? (has(object.spec.loadBalancerSourceRanges) ? object.spec.loadBalancerSourceRanges : []) : " +
						"(size(variables.rangeKeys) > 0 ? object.metadata.annotations[variables.rangeKeys[0]].split(',').map(r, r.trim()) : [])"},
					{Name: "restricted", Expression: "size(variables.ranges) > 0 && variables.ranges.all(r, isCIDR(r) && variables.allowed.exists(a, cidr(a).containsCIDR(r)))"},
				},
				Validations: []admissionv1.Validation{
					{
						Expression:        "request.kind.kind != 'Service' || object.spec.type != 'NodePort'",
						MessageExpression: "'Service ' + object.metadata.name + ' is an administration interface of tenant ' + params.metadata.name + ' and cannot be a NodePort, which opens it on every node (FT-CLD-19).'",
						Reason:            ptr.To(metav1.StatusReasonForbidden),
					},
					{
						Expression: "request.kind.kind != 'Service' || object.spec.type != 'LoadBalancer' || variables.restricted",
						MessageExpression: "'Service ' + object.metadata.name + ' is an administration interface of tenant ' + params.metadata.name + " +
							"': a LoadBalancer must set loadBalancerSourceRanges within ' + variables.allowedText + ' (FT-CLD-19).'",
						Reason: ptr.To(metav1.StatusReasonForbidden),
					},
					{
						Expression: "request.kind.kind != 'Ingress' || variables.restricted",
						MessageExpression: "'Ingress ' + object.metadata.name + ' is an administration interface of tenant ' + params.metadata.name + " +
							"': restrict its sources with the annotation nginx.ingress.kubernetes.io/whitelist-source-range within ' + variables.allowedText + ' (FT-CLD-19).'",
						Reason: ptr.To(metav1.StatusReasonForbidden),
					},
				},
			},
		},
		{
			ObjectMeta: admission.SharedMeta(policyNodeIsolation),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy:    fail,
				ParamKind:        paramsKind(),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("", "pods", admissionv1.Create)}},
				Validations: []admissionv1.Validation{{
					Expression: "!has(params.spec.nodeIsolation) || params.spec.nodeIsolation.nodeSelector.all(k, has(object.spec.nodeSelector) && k in object.spec.nodeSelector && object.spec.nodeSelector[k] == params.spec.nodeIsolation.nodeSelector[k])",
					MessageExpression: "'Pod ' + (object.metadata.name != '' ? object.metadata.name : object.metadata.generateName) + ' must run on the dedicated nodes of tenant ' + params.metadata.name + " +
						"': set spec.nodeSelector to ' + params.spec.nodeIsolation.nodeSelector.map(k, k + '=' + params.spec.nodeIsolation.nodeSelector[k]).join(', ') + ' (FLX-3.6, FT-CLD-25).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				}},
			},
		},
		{
			ObjectMeta: admission.SharedMeta(policyProtectManaged),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				MatchConstraints: &admissionv1.MatchResources{
					ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{managedLabel: rempartv1.ManagedByValue}},
					ResourceRules: []admissionv1.NamedRuleWithOperations{
						admission.Rule("networking.k8s.io", "networkpolicies", admissionv1.Update, admissionv1.Delete),
						admission.Rule("", "resourcequotas", admissionv1.Update, admissionv1.Delete),
						admission.Rule("", "limitranges", admissionv1.Update, admissionv1.Delete),
						admission.Rule(rempartv1.GroupVersion.Group, "namespaceownerships", admissionv1.Update, admissionv1.Delete),
						// The bindings of AdminAccess grants: their subject must not add a friend.
						admission.Rule("rbac.authorization.k8s.io", "rolebindings", admissionv1.Update, admissionv1.Delete),
						admission.Rule("rbac.authorization.k8s.io", "clusterrolebindings", admissionv1.Update, admissionv1.Delete),
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
			ObjectMeta: admission.SharedMeta(policyProtectNS),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				MatchConstraints: &admissionv1.MatchResources{
					ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpExists}}},
					ResourceRules:  []admissionv1.NamedRuleWithOperations{admission.Rule("", "namespaces", admissionv1.Update, admissionv1.Delete)},
				},
				Variables: []admissionv1.Variable{
					{Name: "privileged", Expression: privilegedExpression(cfg)},
					{Name: "oldLabels", Expression: "has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}"},
					{Name: "newLabels", Expression: "object != null && has(object.metadata.labels) ? object.metadata.labels : {}"},
					{Name: "tenantKeys", Expression: admission.StringList(protectedNamespaceLabels())},
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
			ObjectMeta: admission.SharedMeta(policyAdminBindings),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				ParamKind:     paramsKind(),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
					admission.Rule("rbac.authorization.k8s.io", "rolebindings", admissionv1.Create, admissionv1.Update)}},
				Variables: []admissionv1.Variable{
					{Name: "trusted", Expression: privilegedExpression(cfg) + " || request.userInfo.username in " + admission.StringList(cfg.PlatformAccounts)},
					{Name: "adminRoles", Expression: admission.StringList(adminRoles)},
				},
				Validations: []admissionv1.Validation{{
					Expression: "variables.trusted || object.roleRef.kind != 'ClusterRole' || !(object.roleRef.name in variables.adminRoles)",
					MessageExpression: "'RoleBinding ' + object.metadata.name + ' binds ClusterRole ' + object.roleRef.name + ' in a namespace of tenant ' + params.metadata.name + " +
						"': admin rights on a tenant are granted through an AdminAccess, nominative, approved and time-bound (FT-CLD-16, FT-CLD-18).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				}},
			},
		},
		{
			ObjectMeta: admission.SharedMeta(policyClaims),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: fail,
				// One parameter, the operator's NamespaceOwnership, so a claim costs the same
				// whatever the number of tenants.
				ParamKind: &admissionv1.ParamKind{APIVersion: rempartv1.GroupVersion.String(), Kind: "NamespaceOwnership"},
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
					admission.Rule(rempartv1.GroupVersion.Group, "tenantisolations", admissionv1.Create, admissionv1.Update)}},
				MatchConditions: []admissionv1.MatchCondition{{Name: "adds-namespaces",
					Expression: "request.operation == 'CREATE' || object.spec.namespaces.exists(n, !(n in oldObject.spec.namespaces))"}},
				Variables: []admissionv1.Variable{
					// Only namespaces a request adds are checked, so a tenant caught in a conflict can
					// still be updated and deleted.
					{Name: "added", Expression: "object.spec.namespaces.filter(n, oldObject == null || !(n in oldObject.spec.namespaces))"},
					{Name: "owners", Expression: "has(params.spec.owners) ? params.spec.owners : {}"},
					{Name: "taken", Expression: "variables.added.filter(n, n in variables.owners && variables.owners[n] != object.metadata.name)"},
				},
				Validations: []admissionv1.Validation{{
					Expression: "size(variables.taken) == 0",
					MessageExpression: "'TenantIsolation ' + object.metadata.name + ' claims namespaces that belong to another tenant: ' + " +
						"variables.taken.map(n, n + ' (tenant ' + variables.owners[n] + ')').join(', ') + '. A namespace belongs to one tenant only (FT-CLD-20).'",
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

// claimsBinding binds the claims policy to the operator's NamespaceOwnership.
func claimsBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: admission.SharedMeta(policyClaims),
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: policyClaims,
			ParamRef: &admissionv1.ParamRef{Name: rempartv1.NamespaceOwnershipName,
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
			ObjectMeta: admission.SharedMeta(p),
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        p,
				ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			},
		})
	}
	return out
}

// tenantBindings bind the shared policies to the tenant's namespaces, with the tenant's
// parameters; in Audit mode they warn and audit instead of refusing.
func tenantBindings(ti *rempartv1.TenantIsolation) []*admissionv1.ValidatingAdmissionPolicyBinding {
	actions := admission.Actions(ti.Spec.Enforcement)
	tenantNamespaces := &metav1.LabelSelector{MatchLabels: map[string]string{rempartv1.LabelTenant: ti.Name}}
	binding := func(policy string, objectSelector *metav1.LabelSelector) *admissionv1.ValidatingAdmissionPolicyBinding {
		meta := objectMeta(ti, "", bindingName(policy, ti.Name), "admission")
		return &admissionv1.ValidatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
			ObjectMeta: meta,
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        policy,
				ParamRef:          &admissionv1.ParamRef{Name: ti.Name, ParameterNotFoundAction: ptr.To(admissionv1.DenyAction)},
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
	out = append(out, binding(policyAdminBindings, nil))
	return out
}

// namespaceOwnership is the index of which tenant holds which namespace, from every tenant.
func namespaceOwnership(owners map[string]string) *rempartv1.NamespaceOwnership {
	return &rempartv1.NamespaceOwnership{
		TypeMeta:   metav1.TypeMeta{APIVersion: rempartv1.GroupVersion.String(), Kind: "NamespaceOwnership"},
		ObjectMeta: admission.SharedMeta(rempartv1.NamespaceOwnershipName),
		Spec:       rempartv1.NamespaceOwnershipSpec{Owners: owners},
	}
}
