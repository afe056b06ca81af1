package tenantisolation

import (
	"strings"

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
	policyReservedClaims  = "rempart-tenant-reserved-namespaces"
	policyAdminBindings   = "rempart-tenant-admin-bindings"
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
	// ClusterCIDRs are the cluster's pod and service networks, which a tenant's own NetworkPolicy
	// may not reach by ipBlock; empty means DefaultClusterCIDRs.
	ClusterCIDRs []string
	// ClusterDomain is the cluster's DNS domain; empty means cluster.local.
	ClusterDomain string
	// ReservedNamespaces are namespaces no tenant may hold besides default and kube-*: the
	// operator's own, Velero's.
	ReservedNamespaces []string
	// BreakGlassGroup is the group whose members may change what Rempart manages, besides cluster
	// administrators (system:masters): an emergency path, visible in the API server's audit log.
	// Empty means admission.DefaultBreakGlassGroup.
	BreakGlassGroup string
}

func (c AdmissionConfig) breakGlassGroup() string {
	if c.BreakGlassGroup == "" {
		return admission.DefaultBreakGlassGroup
	}
	return c.BreakGlassGroup
}

func (c AdmissionConfig) clusterCIDRs() []string {
	if len(c.ClusterCIDRs) == 0 {
		return DefaultClusterCIDRs
	}
	return c.ClusterCIDRs
}

func (c AdmissionConfig) clusterDomain() string {
	if c.ClusterDomain == "" {
		return defaultClusterDomain
	}
	return strings.ToLower(strings.TrimSuffix(c.ClusterDomain, "."))
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
	return admission.Privileged(cfg.OperatorUser, cfg.breakGlassGroup())
}

// sharedPolicies are the admission policies every tenant's bindings use. classes maps each
// IngressClass to the family of its controller (see ingressFamily), so an admin Ingress's source
// range is read the way its controller reads it.
func sharedPolicies(cfg AdmissionConfig, adminRoles []string, classes map[string]string) []*admissionv1.ValidatingAdmissionPolicy {
	return []*admissionv1.ValidatingAdmissionPolicy{
		storagePolicy(cfg),
		adminInterfacesPolicy(classes),
		nodeIsolationPolicy(),
		protectManagedPolicy(cfg),
		protectNamespacesPolicy(cfg),
		rbacPolicy(cfg, adminRoles),
		reservedClaimsPolicy(cfg),
		claimsPolicy(),
		exposurePolicy(cfg),
		networkPolicyPolicy(cfg),
		workloadStoragePolicy(),
		namespaceLabelsPolicy(cfg),
		dedicatedNodesPolicy(),
	}
}

// storagePolicy keeps the tenant's claims on its encrypted, allowed StorageClasses and refuses claims pre-bound to a volume (FT-CLD-21).
func storagePolicy(cfg AdmissionConfig) *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyStorage),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			ParamKind:        paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("", "persistentvolumeclaims", admissionv1.Create)}},
			Validations: []admissionv1.Validation{{
				// A claim pre-bound to a volume skips provisioning: only the platform binds by hand.
				Expression: "!has(object.spec.volumeName) || object.spec.volumeName == '' || " + privilegedExpression(cfg) + " || request.userInfo.username in " + admission.StringList(cfg.PlatformAccounts),
				MessageExpression: "'PersistentVolumeClaim ' + object.metadata.name + ' is pre-bound to PersistentVolume ' + object.spec.volumeName + " +
					"': in tenant ' + params.metadata.name + ' volumes are provisioned from an encrypted StorageClass, never bound by hand (FT-CLD-21, FT-CLD-20). Remove spec.volumeName.'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}, {
				Expression: "has(object.spec.storageClassName) && has(params.status.allowedStorageClasses) && object.spec.storageClassName in params.status.allowedStorageClasses",
				MessageExpression: "'PersistentVolumeClaim ' + object.metadata.name + ' uses ' + " +
					"(has(object.spec.storageClassName) && object.spec.storageClassName != '' ? 'StorageClass ' + object.spec.storageClassName : 'no StorageClass') + " +
					"', which is not encrypted at rest or not allowed for tenant ' + params.metadata.name + ' (FT-CLD-21). Use one of: ' + " +
					"(has(params.status.allowedStorageClasses) ? params.status.allowedStorageClasses.join(', ') : 'none is available, ask the platform team for an encrypted class') + '.'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// nodeIsolationPolicy sends the workloads of a tenant with dedicated nodes to those nodes (FLX-3.6).
func nodeIsolationPolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyNodeIsolation),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			ParamKind:        paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: workloadRules()},
			MatchConditions:  templateChanged(),
			Variables:        []admissionv1.Variable{{Name: "podSpec", Expression: podSpecExpression}},
			Validations: []admissionv1.Validation{{
				Expression: "!has(params.spec.nodeIsolation) || params.spec.nodeIsolation.nodeSelector.all(k, has(variables.podSpec.nodeSelector) && k in variables.podSpec.nodeSelector && variables.podSpec.nodeSelector[k] == params.spec.nodeIsolation.nodeSelector[k])",
				MessageExpression: podNameExpression + " + ' must run on the dedicated nodes of tenant ' + params.metadata.name + " +
					"': set spec.nodeSelector to ' + params.spec.nodeIsolation.nodeSelector.map(k, k + '=' + params.spec.nodeIsolation.nodeSelector[k]).join(', ') + ' (FLX-3.6, FT-CLD-25).'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// protectManagedPolicy keeps everyone but the operator and the platform from changing or deleting what Rempart generated (FT-CLD-20).
func protectManagedPolicy(cfg AdmissionConfig) *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyProtectManaged),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{
				ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/managed-by": rempartv1.ManagedByValue}},
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
	}
}

// protectNamespacesPolicy keeps a tenant namespace's labels, owners, finalizers and the namespace itself in Rempart's hands (FT-CLD-20).
func protectNamespacesPolicy(cfg AdmissionConfig) *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyProtectNS),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{
				ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: rempartv1.LabelTenant, Operator: metav1.LabelSelectorOpExists}}},
				ResourceRules:  []admissionv1.NamedRuleWithOperations{admission.Rule("", "namespaces", admissionv1.Update, admissionv1.Delete)},
			},
			Variables: []admissionv1.Variable{
				{Name: "privileged", Expression: privilegedExpression(cfg)},
				{Name: "oldLabels", Expression: "has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}"},
				{Name: "newLabels", Expression: "object != null && has(object.metadata.labels) ? object.metadata.labels : {}"},
				{Name: "tenantKeys", Expression: admission.StringList(protectedNamespaceLabels())},
				{Name: "tenant", Expression: "'rempart.io/tenant' in variables.oldLabels ? variables.oldLabels['rempart.io/tenant'] : variables.newLabels['rempart.io/tenant']"},
				{Name: "oldOwners", Expression: "has(oldObject.metadata.ownerReferences) ? oldObject.metadata.ownerReferences : []"},
				{Name: "newOwners", Expression: "object != null && has(object.metadata.ownerReferences) ? object.metadata.ownerReferences : []"},
				{Name: "oldFinalizers", Expression: "has(oldObject.metadata.finalizers) ? oldObject.metadata.finalizers : []"},
				{Name: "newFinalizers", Expression: "object != null && has(object.metadata.finalizers) ? object.metadata.finalizers : []"},
			},
			Validations: []admissionv1.Validation{
				{
					// An owner reference to a missing object makes the garbage collector, which
					// is trusted, delete the namespace and its data; a finalizer blocks its end.
					Expression: "variables.privileged || request.operation == 'DELETE' || (variables.oldOwners == variables.newOwners && variables.oldFinalizers == variables.newFinalizers)",
					MessageExpression: "'Namespace ' + request.name + ' belongs to tenant ' + variables.tenant + " +
						"': its owner references and finalizers are changed only by Rempart and the cluster\\'s controllers, since an owner reference hands its deletion to the garbage collector (FT-CLD-20, FT-CLD-76).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					// Holds for everyone, the operator included, so two tenants can never both claim a namespace.
					Expression: "request.operation == 'DELETE' || !('rempart.io/tenant' in variables.oldLabels) || !('rempart.io/tenant' in variables.newLabels) || variables.oldLabels['rempart.io/tenant'] == variables.newLabels['rempart.io/tenant']",
					MessageExpression: "'Namespace ' + request.name + ' belongs to tenant ' + variables.tenant + " +
						"' and cannot be moved to another tenant: a namespace belongs to one tenant only (FT-CLD-20).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "variables.privileged || (request.operation == 'UPDATE' && variables.tenantKeys.all(k, (k in variables.oldLabels) == (k in variables.newLabels) && (!(k in variables.oldLabels) || variables.oldLabels[k] == variables.newLabels[k])))",
					MessageExpression: "'Namespace ' + request.name + ' belongs to tenant ' + variables.tenant + " +
						"': its tenant, environment and Pod Security labels, and the namespace itself, are managed by Rempart; change the TenantIsolation instead (FT-CLD-20).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// reservedClaimsPolicy refuses a TenantIsolation that claims the platform's namespaces; it has no parameter, so it holds before any tenant wrote the ownership index (FT-CLD-20).
func reservedClaimsPolicy(cfg AdmissionConfig) *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		// Without a parameter, so it holds before any tenant has written the ownership index
		// (the claims policy below admits while the index is absent).
		ObjectMeta: admission.SharedMeta(policyReservedClaims),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule(rempartv1.GroupVersion.Group, "tenantisolations", admissionv1.Create, admissionv1.Update)}},
			Variables: []admissionv1.Variable{
				{Name: "reserved", Expression: "object.spec.namespaces.filter(n, n in " + admission.StringList(cfg.ReservedNamespaces) + " && (oldObject == null || !(n in oldObject.spec.namespaces)))"},
			},
			Validations: []admissionv1.Validation{{
				Expression: "size(variables.reserved) == 0",
				MessageExpression: "'TenantIsolation ' + object.metadata.name + ' claims namespaces reserved for the platform: ' + variables.reserved.join(', ') + " +
					"'. A tenant holds only its own namespaces, never the cluster\\'s, the operator\\'s or the backup system\\'s (FT-CLD-20).'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// claimsPolicy refuses a TenantIsolation that claims another tenant's namespace or a shared one, read from the ownership index (FT-CLD-20).
func claimsPolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyClaims),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
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
				{Name: "peers", Expression: "has(params.spec.peers) ? params.spec.peers : {}"},
				{Name: "shared", Expression: "variables.added.filter(n, n in variables.peers && variables.peers[n] != object.metadata.name)"},
			},
			Validations: []admissionv1.Validation{{
				Expression: "size(variables.shared) == 0",
				MessageExpression: "'TenantIsolation ' + object.metadata.name + ' claims namespaces shared by the platform: ' + " +
					"variables.shared.map(n, n + ' (a flow peer of tenant ' + variables.peers[n] + ')').join(', ') + " +
					"'. A tenant holds only its own namespaces, never the cluster\\'s, the operator\\'s or shared infrastructure (FT-CLD-20).'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}, {
				Expression: "size(variables.taken) == 0",
				MessageExpression: "'TenantIsolation ' + object.metadata.name + ' claims namespaces that belong to another tenant: ' + " +
					"variables.taken.map(n, n + ' (tenant ' + variables.owners[n] + ')').join(', ') + '. A namespace belongs to one tenant only (FT-CLD-20).'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// protectedNamespaceLabels are the namespace labels tenant users may not change.
func protectedNamespaceLabels() []string {
	return []string{rempartv1.LabelTenant, rempartv1.LabelEnvironment, psaEnforce, psaEnforceVersion, psaAudit, psaAuditVersion, psaWarn, psaWarnVersion}
}

// claimsBinding binds the claims policy to the operator's NamespaceOwnership.
func claimsBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return admission.OwnershipBinding(policyClaims, admissionv1.AllowAction, nil)
}

// protectionBindings bind the protection policies cluster-wide: no parameters needed.
func protectionBindings() []*admissionv1.ValidatingAdmissionPolicyBinding {
	var out []*admissionv1.ValidatingAdmissionPolicyBinding
	for _, p := range []string{policyProtectManaged, policyProtectNS, policyNamespaceLabels, policyReservedClaims} {
		out = append(out, &admissionv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: admission.SharedMeta(p),
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        p,
				ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			},
		})
	}
	return append(out, dedicatedNodesBinding())
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
		out = append(out, binding(policyStorage, nil), binding(policyWorkloadStorage, nil))
	}
	out = append(out, binding(policyExposure, nil), binding(policyNetworkPolicies, nil))
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
func namespaceOwnership(owners, peers map[string]string, pools []rempartv1.DedicatedNodePool) *rempartv1.NamespaceOwnership {
	return &rempartv1.NamespaceOwnership{
		TypeMeta:   metav1.TypeMeta{APIVersion: rempartv1.GroupVersion.String(), Kind: "NamespaceOwnership"},
		ObjectMeta: admission.SharedMeta(rempartv1.NamespaceOwnershipName),
		Spec:       rempartv1.NamespaceOwnershipSpec{Owners: owners, Peers: peers, DedicatedNodes: pools},
	}
}
