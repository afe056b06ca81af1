package dataresidency

import (
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/admission"
	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/controllers/scope"
)

// Names of the admission policies, shared by every DataResidency; each one has its own bindings
// with itself as the parameter: spec.regionLabel, and status.allowedRegions, status.namespaces
// and the storage class lists that the operator resolves.
const (
	policyPods    = "rempart-residency-pods"
	policyPin     = "rempart-residency-pin"
	policyVolumes = "rempart-residency-volumes"
	policyClaims  = "rempart-residency-claims"
	policyClasses = "rempart-residency-storage-classes"
	// policyBackupLocations refuses a BackupPolicy of a covered tenant that declares its
	// storage location in a region outside the allowed ones.
	policyBackupLocations = "rempart-residency-backup-locations"
)

func paramsKind() *admissionv1.ParamKind {
	return &admissionv1.ParamKind{APIVersion: rempartv1.GroupVersion.String(), Kind: "DataResidency"}
}

const nodeSelectorTerm = "Object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"

// Variables every policy on pods reads. A pod's required node affinity is a list of terms (OR),
// each a list of expressions (AND): a term is pinned when the intersection of its "region In"
// expressions is not empty of expressions and lies within the allowed regions. Two DataResidency
// objects on one namespace add one expression each, so the stricter wins.
func podVariables() []admissionv1.Variable {
	return []admissionv1.Variable{
		{Name: "label", Expression: "has(params.spec.regionLabel) ? params.spec.regionLabel : '" + rempartv1.DefaultRegionLabel + "'"},
		{Name: "allowed", Expression: "has(params.status.allowedRegions) ? params.status.allowedRegions : []"},
		{Name: "allowedText", Expression: "size(variables.allowed) > 0 ? variables.allowed.join(', ') : 'none yet (the operator has not resolved the policy, or no catalog region lies in the allowed countries)'"},
		{Name: "podName", Expression: "object.metadata.name != '' ? object.metadata.name : object.metadata.generateName"},
		{Name: "selector", Expression: "has(object.spec.nodeSelector) ? object.spec.nodeSelector : {}"},
		{Name: "terms", Expression: "has(object.spec.affinity) && has(object.spec.affinity.nodeAffinity) && has(object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution) ? " +
			"object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms : []"},
		{Name: "regionTerms", Expression: "variables.terms.map(t, has(t.matchExpressions) ? t.matchExpressions.filter(e, e.key == variables.label && e.operator == 'In' && has(e.values)) : [])"},
		{Name: "foreignPins", Expression: "has(params.status.combinedPins) ? params.status.combinedPins : []"},
		{Name: "ownRegionExprs", Expression: "variables.regionTerms.flatten().filter(e, !(e.values.join(',') in variables.foreignPins))"},
		{Name: "selectorPinned", Expression: "variables.label in variables.selector && variables.selector[variables.label] in variables.allowed"},
		{Name: "termsPinned", Expression: "size(variables.regionTerms) > 0 && variables.regionTerms.all(x, size(x) > 0 && " +
			"x.all(e, e.values.all(v, v in variables.allowed || x.exists(f, !(v in f.values)))))"},
	}
}

// PolicyConfig says what the server offers.
type PolicyConfig struct {
	// Mutation is true when the server offers MutatingAdmissionPolicy: covered pods are pinned
	// by mutation; without it they must pin an allowed region themselves.
	Mutation bool
}

// sharedPolicies are the validating policies every DataResidency's bindings use.
func sharedPolicies() []*admissionv1.ValidatingAdmissionPolicy {
	return []*admissionv1.ValidatingAdmissionPolicy{
		backupLocationsPolicy(),
		podsPolicy(),
		volumesPolicy(),
		claimsPolicy(),
		classesPolicy(),
	}
}

// backupLocationsPolicy refuses a BackupPolicy of a covered tenant whose Velero location lies outside the allowed countries (FT-CLD-74).
func backupLocationsPolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyBackupLocations),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			ParamKind:     paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule(rempartv1.GroupVersion.Group, "backuppolicies", admissionv1.Create, admissionv1.Update)}},
			Variables: []admissionv1.Variable{
				{Name: "allowed", Expression: "has(params.status.allowedRegions) ? params.status.allowedRegions : []"},
				{Name: "allowedText", Expression: "size(variables.allowed) > 0 ? variables.allowed.join(', ') : 'none yet'"},
				{Name: "covered", Expression: "(has(object.spec.tenant) && has(params.status.tenants) && object.spec.tenant in params.status.tenants) || " +
					"(has(object.spec.namespaces) && has(params.status.namespaces) && object.spec.namespaces.exists(n, n in params.status.namespaces))"},
			},
			Validations: []admissionv1.Validation{{
				// In Audit mode the BackupPolicy only reports; its controls still show the breach.
				Expression: "(has(object.spec.enforcement) && object.spec.enforcement == 'Audit') || !variables.covered || variables.allowed.exists(a, a.lowerAscii() == object.spec.storageLocation.region.lowerAscii())",
				MessageExpression: "'BackupPolicy ' + object.metadata.name + ' sends backups to region ' + object.spec.storageLocation.region + " +
					"', outside the regions where DataResidency ' + params.metadata.name + ' lets the data be (FT-CLD-74): use a storage location in one of ' + variables.allowedText + '.'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// podsPolicy refuses a covered pod that selects a region outside the allowed ones or names its node (FT-CLD-74).
func podsPolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyPods),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			ParamKind:        paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("", "pods", admissionv1.Create)}},
			Variables:        podVariables(),
			Validations: []admissionv1.Validation{
				{
					Expression:        "!(variables.label in variables.selector) || variables.selector[variables.label] in variables.allowed",
					MessageExpression: refusal("'Pod ' + variables.podName + ' selects region ' + variables.selector[variables.label]", "with its nodeSelector, outside the regions its data may be in"),
					Reason:            ptr.To(metav1.StatusReasonForbidden),
				},
				{
					// The expressions other policies on the namespace added are theirs, not the pod's.
					Expression: "!variables.ownRegionExprs.exists(e, e.values.exists(v, !(v in variables.allowed)))",
					MessageExpression: refusal("'Pod ' + variables.podName + ' requires, in its node affinity, region ' + "+
						"variables.ownRegionExprs.map(e, e.values.filter(v, !(v in variables.allowed))).flatten().join(', ')",
						"outside the regions its data may be in"),
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "!has(object.spec.nodeName) || object.spec.nodeName == ''",
					MessageExpression: "'Pod ' + variables.podName + ' names its node in spec.nodeName, which bypasses the scheduler and so the region rule of DataResidency ' + " +
						"params.metadata.name + ' (FT-CLD-74): leave spec.nodeName empty and let the scheduler place it in an allowed region.'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
				{
					Expression: "variables.selectorPinned || variables.termsPinned",
					MessageExpression: "'Pod ' + variables.podName + ' does not pin an allowed region (FT-CLD-74): set spec.nodeSelector ' + variables.label + " +
						"': <region>, or a required node affinity ' + variables.label + ' In [<regions>] in every term, with regions among those DataResidency ' + params.metadata.name + " +
						"' allows: ' + variables.allowedText + '.'",
					Reason: ptr.To(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// volumesPolicy refuses a PersistentVolume whose node affinity or labels place it outside the allowed regions (FT-CLD-74).
func volumesPolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyVolumes),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			ParamKind:     paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule("", "persistentvolumes", admissionv1.Create, admissionv1.Update)}},
			// A volume is checked when it is created for, or bound to, a claim; never on its
			// way out, so an out-of-region volume can always be deleted.
			MatchConditions: []admissionv1.MatchCondition{{Name: "claimed",
				Expression: "has(object.spec.claimRef) && has(object.spec.claimRef.namespace) && !has(object.metadata.deletionTimestamp) && " +
					"(request.operation == 'CREATE' || !has(oldObject.spec.claimRef) || !has(oldObject.spec.claimRef.namespace) || " +
					"oldObject.spec.claimRef.namespace != object.spec.claimRef.namespace || oldObject.spec.claimRef.name != object.spec.claimRef.name)"}},
			Variables: append(volumeVariables(
				"(has(object.spec.nodeAffinity) && has(object.spec.nodeAffinity.required) ? object.spec.nodeAffinity.required.nodeSelectorTerms : [])",
				"(has(t.matchExpressions) ? t.matchExpressions : [])"),
				admissionv1.Variable{Name: "covered", Expression: "has(params.status.namespaces) && object.spec.claimRef.namespace in params.status.namespaces"},
				admissionv1.Variable{Name: "labelOutside", Expression: "has(object.metadata.labels) && variables.label in object.metadata.labels && !(object.metadata.labels[variables.label] in variables.allowed)"},
			),
			Validations: []admissionv1.Validation{{
				Expression: "!variables.covered || (!variables.outside && !variables.labelOutside)",
				MessageExpression: refusal("'PersistentVolume ' + request.name + ' for claim ' + object.spec.claimRef.namespace + '/' + object.spec.claimRef.name",
					"lies, by its node affinity or its ' + variables.label + ' label, outside the regions the claim\\'s data may be in"),
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// claimsPolicy refuses a covered claim that would put its data outside the allowed regions (FT-CLD-74).
func claimsPolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyClaims),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr.To(admissionv1.Fail),
			ParamKind:        paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("", "persistentvolumeclaims", admissionv1.Create)}},
			Variables:        []admissionv1.Variable{{Name: "outsideClasses", Expression: "has(params.status.storageClassesOutside) ? params.status.storageClassesOutside : []"}},
			Validations: []admissionv1.Validation{{
				Expression: "!has(object.spec.storageClassName) || !(object.spec.storageClassName in variables.outsideClasses)",
				MessageExpression: "'PersistentVolumeClaim ' + object.metadata.name + ' uses StorageClass ' + object.spec.storageClassName + " +
					"', whose allowedTopologies provision volumes outside the regions DataResidency ' + params.metadata.name + ' allows (FT-CLD-74): use a class limited to allowed regions.'",
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// classesPolicy refuses a StorageClass used by covered claims that may provision outside the allowed regions (FT-CLD-74).
func classesPolicy() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyClasses),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			ParamKind:     paramsKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				admission.Rule("storage.k8s.io", "storageclasses", admissionv1.Create, admissionv1.Update)}},
			Variables: append(volumeVariables(
				"(has(object.allowedTopologies) ? object.allowedTopologies : [])",
				"(has(t.matchLabelExpressions) ? t.matchLabelExpressions : [])"),
				admissionv1.Variable{Name: "used", Expression: "has(params.status.storageClassesInUse) && request.name in params.status.storageClassesInUse"},
			),
			Validations: []admissionv1.Validation{{
				Expression: "!variables.used || !variables.outside",
				MessageExpression: refusal("'StorageClass ' + request.name + ' is used by claims DataResidency ' + params.metadata.name + ' covers; its allowedTopologies'",
					"may not reach outside the regions their data may be in"),
				Reason: ptr.To(metav1.StatusReasonForbidden),
			}},
		},
	}
}

// pinPolicy adds the allowed regions to the required node affinity of every covered pod that
// does not pin them already. It changes Pods only, never their controllers' templates, so what
// Git owns does not drift.
func pinPolicy() *admissionv1.MutatingAdmissionPolicy {
	expr := nodeSelectorTerm + ".matchExpressions{key: variables.label, operator: 'In', values: variables.allowed}"
	required := "Object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution{nodeSelectorTerms: [" + nodeSelectorTerm + "{matchExpressions: [" + expr + "]}]}"
	nodeAffinity := "Object.spec.affinity.nodeAffinity{requiredDuringSchedulingIgnoredDuringExecution: " + required + "}"
	patch := func(op, path, value string) string {
		return fmt.Sprintf("[JSONPatch{op: '%s', path: '%s', value: %s}]", op, path, value)
	}
	requiredPath := "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution"
	expression := strings.Join([]string{
		"variables.selectorPinned || variables.termsPinned || size(variables.allowed) == 0 ? [] : ",
		"!has(object.spec.affinity) ? " + patch("add", "/spec/affinity", "Object.spec.affinity{nodeAffinity: "+nodeAffinity+"}") + " : ",
		"!has(object.spec.affinity.nodeAffinity) ? " + patch("add", "/spec/affinity/nodeAffinity", nodeAffinity) + " : ",
		"size(variables.terms) == 0 ? " + patch("add", requiredPath, required) + " : ",
		patch("replace", requiredPath+"/nodeSelectorTerms",
			"variables.terms.map(t, "+nodeSelectorTerm+"{matchExpressions: (has(t.matchExpressions) ? t.matchExpressions : []) + ["+expr+"], ?matchFields: t.?matchFields})"),
	}, "")
	return &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: admission.SharedMeta(policyPin),
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			FailurePolicy:      ptr.To(admissionv1.Fail),
			ParamKind:          paramsKind(),
			MatchConstraints:   &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{admission.Rule("", "pods", admissionv1.Create)}},
			Variables:          podVariables(),
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			Mutations: []admissionv1.Mutation{{
				PatchType: admissionv1.PatchTypeJSONPatch,
				JSONPatch: &admissionv1.JSONPatch{Expression: expression},
			}},
		},
	}
}

func bindingMeta(dr *rempartv1.DataResidency, name string) metav1.ObjectMeta {
	return apply.Generated("DataResidency", dr, "", name, labelPolicy, dr.Name)
}

// labelPolicy marks the bindings of one DataResidency, to find the stale ones.
const labelPolicy = "rempart.io/data-residency"

// validatingBindings bind the shared policies with the DataResidency as parameter: the pod and
// claim policies to the covered namespaces, the volume and class policies cluster-wide (they are
// cluster-scoped; the policies read status.namespaces and the class lists).
func validatingBindings(dr *rempartv1.DataResidency, cov scope.Scope) []*admissionv1.ValidatingAdmissionPolicyBinding {
	actions := admission.Actions(dr.Spec.Enforcement)
	binding := func(policy, suffix string, namespaces *metav1.LabelSelector) *admissionv1.ValidatingAdmissionPolicyBinding {
		b := &admissionv1.ValidatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
			ObjectMeta: bindingMeta(dr, policy+"."+dr.Name+suffix),
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        policy,
				ParamRef:          &admissionv1.ParamRef{Name: dr.Name, ParameterNotFoundAction: ptr.To(admissionv1.DenyAction)},
				ValidationActions: actions,
			},
		}
		if namespaces != nil {
			b.Spec.MatchResources = &admissionv1.MatchResources{NamespaceSelector: namespaces}
		} else {
			// Cluster-wide: while the policy is being deleted and its bindings not yet collected,
			// volumes and classes of the whole cluster must not be refused for want of it.
			b.Spec.ParamRef.ParameterNotFoundAction = ptr.To(admissionv1.AllowAction)
		}
		return b
	}
	var out []*admissionv1.ValidatingAdmissionPolicyBinding
	selectors := cov.Selectors()
	for _, kind := range []string{"tenants", "namespaces"} {
		sel, ok := selectors[kind]
		if !ok {
			continue
		}
		out = append(out, binding(policyPods, "."+kind, sel), binding(policyClaims, "."+kind, sel.DeepCopy()))
	}
	return append(out, binding(policyVolumes, "", nil), binding(policyClasses, "", nil), binding(policyBackupLocations, "", nil))
}

// mutatingBindings bind the pin policy to the covered namespaces; none in Audit mode, where no
// user object is changed.
func mutatingBindings(dr *rempartv1.DataResidency, cov scope.Scope) []*admissionv1.MutatingAdmissionPolicyBinding {
	if dr.Spec.Enforcement == rempartv1.EnforcementAudit {
		return nil
	}
	var out []*admissionv1.MutatingAdmissionPolicyBinding
	selectors := cov.Selectors()
	for _, kind := range []string{"tenants", "namespaces"} {
		sel, ok := selectors[kind]
		if !ok {
			continue
		}
		out = append(out, &admissionv1.MutatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicyBinding"},
			ObjectMeta: bindingMeta(dr, policyPin+"."+dr.Name+"."+kind),
			Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{
				PolicyName:     policyPin,
				ParamRef:       &admissionv1.ParamRef{Name: dr.Name, ParameterNotFoundAction: ptr.To(admissionv1.DenyAction)},
				MatchResources: &admissionv1.MatchResources{NamespaceSelector: sel},
			},
		})
	}
	return out
}

// refusal is the message of a refused object: what is wrong, the requirement, and the regions
// the policy allows.
func refusal(subject, what string) string {
	return subject + " + ' " + what + " (FT-CLD-74). Allowed regions of DataResidency ' + params.metadata.name + ': ' + variables.allowedText + '.'"
}

// volumeVariables are the variables of the volume and class policies: the region label, the
// allowed regions, and whether the topology terms at termsPath name a region outside them.
func volumeVariables(termsPath, labelsOf string) []admissionv1.Variable {
	return []admissionv1.Variable{
		{Name: "label", Expression: "has(params.spec.regionLabel) ? params.spec.regionLabel : '" + rempartv1.DefaultRegionLabel + "'"},
		{Name: "allowed", Expression: "has(params.status.allowedRegions) ? params.status.allowedRegions : []"},
		{Name: "allowedText", Expression: "size(variables.allowed) > 0 ? variables.allowed.join(', ') : 'none yet'"},
		{Name: "outside", Expression: termsPath + ".exists(t, " + labelsOf + ".exists(e, e.key == variables.label && has(e.values) && e.values.exists(v, !(v in variables.allowed))))"},
	}
}
