package adminaccess

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
	"github.com/rempart-io/rempart/controllers/apply"
)

// PolicyApproval guards AdminAccess objects themselves.
const PolicyApproval = "rempart-admin-access-approval"

// PolicyRequester records who asks for a grant.
const PolicyRequester = "rempart-admin-access-requester"

// policyScope keeps a grant out of the namespaces of tenants it does not name.
const policyScope = "rempart-admin-access-scope"

// scopePolicy refuses a grant that names a namespace no tenant it names holds, read from the
// operator's NamespaceOwnership (FT-CLD-16): another tenant's, the platform's (an ingress
// controller's, a GitOps tool's, whose admin reaches every tenant), or one that does not exist yet.
func scopePolicy(operatorUser string) *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyScope),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			ParamKind:     &admissionv1.ParamKind{APIVersion: rempartv1.GroupVersion.String(), Kind: "NamespaceOwnership"},
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule(rempartv1.GroupVersion.Group, "adminaccesses", admissionv1.Create, admissionv1.Update)}},
			MatchConditions: []admissionv1.MatchCondition{
				{Name: "not-the-operator", Expression: fmt.Sprintf("request.userInfo.username != %q", operatorUser)},
				{Name: "names-namespaces", Expression: "has(object.spec.namespaces) && size(object.spec.namespaces) > 0"},
				// Only a change of scope is judged: a grant whose namespace has since left its tenant
				// must still take its finalizer off and be revoked.
				{Name: "scope-changed", Expression: "request.operation == 'CREATE' || object.spec.namespaces != (has(oldObject.spec.namespaces) ? oldObject.spec.namespaces : []) || " +
					"(has(object.spec.tenants) ? object.spec.tenants : []) != (has(oldObject.spec.tenants) ? oldObject.spec.tenants : [])"},
			},
			Variables: []admissionv1.Variable{
				{Name: "owners", Expression: "params != null && has(params.spec.owners) ? params.spec.owners : {}"},
				{Name: "tenants", Expression: "has(object.spec.tenants) ? object.spec.tenants : []"},
				{Name: "outside", Expression: "object.spec.namespaces.filter(n, !(n in variables.owners) || !(variables.owners[n] in variables.tenants))"},
			},
			Validations: []admissionv1.Validation{
				{
					Expression: "size(variables.outside) == 0",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' names namespaces outside the tenants it names: ' + " +
						"variables.outside.map(n, n in variables.owners ? n + ' (tenant ' + variables.owners[n] + ')' : n + ' (no tenant)').join(', ') + " +
						"'. A grant reaches only namespaces of the tenants it names, so their reports count it (FT-CLD-16, PAS-12.2).'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// scopeBinding: before the first tenant the ownership index does not exist, and a missing
// parameter would refuse every grant, not only those naming namespaces (the API server resolves
// the parameter before the match conditions). Admitting those then is safe: the operator grants
// only in namespaces a named tenant holds.
func scopeBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return admission.OwnershipBinding(policyScope, admissionv1.AllowAction, nil)
}

// approvalPolicy refuses, in the API server: a grant created already approved, or without the
// requester the mutating policy records; an approval not made by the approver in their own name,
// or by someone without the approve verb; a break-glass grant asked for by anyone but a member of
// the break-glass group for themselves; reserved namespaces; a role the settings do not allow; a
// temporary grant longer than allowed. CEL has no clock: on creation the API server has set
// creationTimestamp before validating admission runs, so it stands for "now" when notBefore is
// unset. The freeze of an approved grant is in the CRD, where it holds for everyone.
func approvalPolicy(cfg Config, operatorUser string) *admissionv1.ValidatingAdmissionPolicy {
	roles := append(append([]string(nil), BuiltinRoles...), cfg.ExtraRoles...)
	forbidden := ptr.To(metav1.StatusReasonForbidden)
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(PolicyApproval),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule(rempartv1.GroupVersion.Group, "adminaccesses", admissionv1.Create, admissionv1.Update)}},
			MatchConditions: []admissionv1.MatchCondition{
				// The operator only writes finalizers and status; a change that leaves the spec
				// as it was (labels, finalizers) is not a new request for access.
				{Name: "not-the-operator", Expression: fmt.Sprintf("request.userInfo.username != %q", operatorUser)},
				{Name: "spec-changed", Expression: "request.operation == 'CREATE' || object.spec != oldObject.spec"},
			},
			Variables: []admissionv1.Variable{
				{Name: "start", Expression: "has(object.spec.notBefore) ? timestamp(object.spec.notBefore) : timestamp(object.metadata.creationTimestamp)"},
				{Name: "role", Expression: "has(object.spec.role) ? object.spec.role : 'admin'"},
				{Name: "reserved", Expression: "has(object.spec.namespaces) ? object.spec.namespaces.filter(n, n in " + admission.StringList(cfg.ReservedNamespaces) + ") : []"},
				{Name: "approving", Expression: "request.operation == 'UPDATE' && has(object.spec.approvedBy) && !has(oldObject.spec.approvedBy)"},
				{Name: "wasApproved", Expression: "request.operation == 'UPDATE' && has(oldObject.spec.approvedBy)"},
				{Name: "revoked", Expression: "has(object.spec.revoked) && object.spec.revoked"},
				{Name: "breakGlass", Expression: "has(object.spec.breakGlass) && object.spec.breakGlass"},
				{Name: "inBreakGlassGroup", Expression: fmt.Sprintf("has(request.userInfo.groups) && %q in request.userInfo.groups", cfg.BreakGlassGroup)},
				// What a request may ask for is judged until approval; revoking is always possible.
				{Name: "asking", Expression: "request.operation == 'CREATE' || (!variables.wasApproved && !variables.revoked)"},
			},
			Validations: []admissionv1.Validation{
				{
					// Admin in the operator's namespace yields the token every protection exempts.
					Expression: "!variables.asking || size(variables.reserved) == 0",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' names ' + variables.reserved.join(', ') + " +
						"', reserved to the platform: admin there reaches every tenant (FT-CLD-16, PAS-12.2).'",
					Reason: forbidden,
				},
				{
					// The mutating policy writes the requester; without it (not yet in place) the
					// requester could name someone else.
					Expression: "request.operation != 'CREATE' || (has(object.spec.requestedBy) && object.spec.requestedBy == request.userInfo.username)",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' names requestedBy ' + (has(object.spec.requestedBy) ? object.spec.requestedBy : '(nobody)') + ' but is created by ' + request.userInfo.username + " +
						"': the API server records the requester; leave requestedBy out (PAS-12.2).'",
					Reason: forbidden,
				},
				{
					Expression: "request.operation != 'CREATE' || !has(object.spec.approvedBy)",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' is created already approved by ' + object.spec.approvedBy + " +
						"': a grant is requested without approvedBy, then approved by another person in their own name with kubectl rempart grant approve (FT-CLD-16, PAS-12.2).'",
					Reason: forbidden,
				},
				{
					Expression: "!variables.approving || object.spec.approvedBy == request.userInfo.username",
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' is approved in the name of ' + object.spec.approvedBy + ' by ' + request.userInfo.username + " +
						"': an approval is made by the approver, in their own name (FT-CLD-16, PAS-12.2).'",
					Reason: forbidden,
				},
				{
					Expression: "!variables.approving || authorizer.group('rempart.io').resource('adminaccesses').name(object.metadata.name).check('approve').allowed()",
					MessageExpression: "request.userInfo.username + ' may not approve AdminAccess ' + object.metadata.name + " +
						"': approving needs the approve verb on adminaccesses (ClusterRole rempart-adminaccess-approver) (FT-CLD-16, PAS-12.2).'",
					Reason: forbidden,
				},
				{
					// Before approval a break-glass request is the requester's own, for themselves;
					// revoking it, or shrinking it once approved, stays open to anyone allowed.
					Expression: "!variables.breakGlass || variables.approving || variables.wasApproved || variables.revoked || " +
						"(variables.inBreakGlassGroup && object.spec.subject.kind != 'Group' && object.spec.subject.name == request.userInfo.username && object.spec.requestedBy == request.userInfo.username)",
					MessageExpression: fmt.Sprintf("'AdminAccess ' + object.metadata.name + ' asks for break-glass: only a member of group %s asks for it, for themselves, and another person approves it (FT-CLD-16, PAS-12.2).'", cfg.BreakGlassGroup),
					Reason:            forbidden,
				},
				{
					Expression: "!variables.asking || variables.role in " + admission.StringList(roles),
					MessageExpression: "'AdminAccess ' + object.metadata.name + ' grants role ' + variables.role + ', which may not be granted: use one of " +
						fmt.Sprintf("%v", roles) + ", or ask the platform team to allow it (FT-CLD-16).'",
					Reason: forbidden,
				},
				{
					Expression:        fmt.Sprintf("!variables.asking || (has(object.spec.standing) && object.spec.standing) || timestamp(object.spec.expires) - variables.start <= duration('%s')", cfg.Limits.MaxTemporary),
					MessageExpression: fmt.Sprintf("'AdminAccess ' + object.metadata.name + ' lasts longer than a temporary grant may (%s): shorten it, or make it a standing grant with a yearly review (FT-CLD-14, FT-CLD-17).'", cfg.Limits.MaxTemporary),
					Reason:            forbidden,
				},
			},
		},
	}
}

// requesterPolicy records who creates a grant, from the request: whatever requestedBy the
// request carried is overwritten.
func requesterPolicy() *admissionv1.MutatingAdmissionPolicy {
	return &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(PolicyRequester),
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule(rempartv1.GroupVersion.Group, "adminaccesses", admissionv1.Create)}},
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			Mutations: []admissionv1.Mutation{{
				PatchType:          admissionv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionv1.ApplyConfiguration{Expression: "Object{spec: Object.spec{requestedBy: request.userInfo.username}}"},
			}},
		},
	}
}

func requesterBinding() *admissionv1.MutatingAdmissionPolicyBinding {
	return &admissionv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: admission.SharedMeta(PolicyRequester),
		Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: PolicyRequester},
	}
}

func approvalBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: admission.SharedMeta(PolicyApproval),
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        PolicyApproval,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
}

// GuardMargin covers the time the API server takes to start enforcing a policy it has just
// stored: a grant created within it is not trusted to have been checked.
const GuardMargin = 2 * time.Second

// ensureApproval puts the admission policies that guard grants in place and returns since when
// they have guarded them: the latest creation among the policies that record the requester and
// check approvals, plus a margin. A grant created earlier was not checked and is refused.
func (r *Reconciler) ensureApproval(ctx context.Context) (time.Time, error) {
	guards := []client.Object{
		approvalPolicy(r.Config, r.OperatorUser), approvalBinding(),
		requesterPolicy(), requesterBinding(),
		creatorStampPolicy(r.Config, r.OperatorUser), creatorStampBinding(),
	}
	rest := []client.Object{
		creatorProtectPolicy(r.Config, r.OperatorUser), creatorProtectBinding(),
		scopePolicy(r.OperatorUser), scopeBinding(),
		tokenPolicy(r.Config, r.OperatorUser), tokenBinding(),
	}
	var errs []error
	var since time.Time
	for i, obj := range append(guards, rest...) {
		created, err := r.policies.ensure(ctx, r.Client, obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if i < len(guards) && created.After(since) {
			since = created
		}
	}
	return since.Add(GuardMargin), errors.Join(errs...)
}

// policyMemo remembers, per policy object, the resourceVersion it last found up to date, so that
// a reconcile checks its policies against the cache in O(1) and compares them in full only when
// one changed (drift, deletion) or was never checked.
type policyMemo struct {
	mu      sync.Mutex
	checked map[string]string
}

// ensure applies obj if the cached copy differs, and returns the object's creation time (now,
// when this call created it).
func (m *policyMemo) ensure(ctx context.Context, c client.Client, obj client.Object) (time.Time, error) {
	key := fmt.Sprintf("%T/%s", obj, obj.GetName())
	existing := obj.DeepCopyObject().(client.Object)
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), existing, client.UnsafeDisableDeepCopy); err == nil {
		m.mu.Lock()
		same := m.checked[key] == existing.GetResourceVersion()
		m.mu.Unlock()
		if same {
			return existing.GetCreationTimestamp().Time, nil
		}
	} else if !apierrors.IsNotFound(err) {
		return time.Time{}, fmt.Errorf("get %s: %w", obj.GetName(), err)
	}
	existing = obj.DeepCopyObject().(client.Object)
	if err := apply.IfChanged(ctx, c, obj, existing); err != nil {
		return time.Time{}, err
	}
	created := existing.GetCreationTimestamp().Time
	if created.IsZero() {
		// Created by this call; compared with the API server's timestamps.
		return time.Now(), nil
	}
	if upToDate, err := apply.UpToDate(obj, existing, c.Scheme()); err == nil && upToDate {
		m.mu.Lock()
		if m.checked == nil {
			m.checked = map[string]string{}
		}
		m.checked[key] = existing.GetResourceVersion()
		m.mu.Unlock()
	}
	return created, nil
}
