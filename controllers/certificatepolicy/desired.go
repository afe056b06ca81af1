package certificatepolicy

import (
	"sort"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// LabelPolicy marks the Certificates a CertificatePolicy created, with its name.
const LabelPolicy = "rempart.io/certificate-policy"

// ingressClass reads an Ingress's class from its spec or the older annotation.
func ingressClass(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations["kubernetes.io/ingress.class"]
}

// inScope says whether requireIngressTLS applies to the Ingress.
func inScope(ing *networkingv1.Ingress, spec rempartv1.CertificatePolicySpec) bool {
	if spec.RequireIngressTLS != nil && !*spec.RequireIngressTLS {
		return false
	}
	if len(spec.IngressClasses) == 0 {
		return true
	}
	class := ingressClass(ing)
	for _, c := range spec.IngressClasses {
		if c == class {
			return true
		}
	}
	return false
}

// defaultIssuer is the issuer of the Certificates the operator creates.
func defaultIssuer(spec rempartv1.CertificatePolicySpec) cmmeta.IssuerReference {
	ref := spec.Issuers[0]
	if spec.DefaultIssuer != nil {
		ref = *spec.DefaultIssuer
	}
	kind, group := ref.Kind, ref.Group
	if kind == "" {
		kind = "ClusterIssuer"
	}
	if group == "" {
		group = "cert-manager.io"
	}
	return cmmeta.IssuerReference{Kind: kind, Group: group, Name: ref.Name}
}

// defaultKey is the first key the policy allows: the smallest allowed curve, or the RSA minimum.
func defaultKey(spec rempartv1.CertificatePolicySpec) *cmapi.CertificatePrivateKey {
	k := &cmapi.CertificatePrivateKey{RotationPolicy: cmapi.RotationPolicyAlways}
	rules := keyRules(spec.PrivateKey)
	r := rules[0]
	k.Algorithm = cmapi.PrivateKeyAlgorithm(r.Algorithm)
	switch r.Algorithm {
	case "ECDSA":
		sizes := append([]int(nil), r.Sizes...)
		sort.Ints(sizes)
		k.Size = sizes[0]
	case "RSA":
		k.Size = r.MinSize
	}
	return k
}

// desiredCertificates are the Certificates the operator provides for the TLS entries of covered
// Ingresses whose secret no Certificate issues, named after the secret as cert-manager's own
// ingress-shim does. The user's Ingress is never changed.
func desiredCertificates(cp *rempartv1.CertificatePolicy, ingresses []*networkingv1.Ingress, issuesSecret map[string]bool) []*cmapi.Certificate {
	var out []*cmapi.Certificate
	if len(cp.Spec.Issuers) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, ing := range ingresses {
		if !inScope(ing, cp.Spec) {
			continue
		}
		for _, tls := range ing.Spec.TLS {
			key := ing.Namespace + "/" + tls.SecretName
			if tls.SecretName == "" || len(tls.Hosts) == 0 || issuesSecret[key] || seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, &cmapi.Certificate{
				TypeMeta: metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: "Certificate"},
				ObjectMeta: metav1.ObjectMeta{
					Namespace: ing.Namespace, Name: tls.SecretName,
					Labels: map[string]string{rempartv1.LabelManagedBy: rempartv1.ManagedByValue, LabelPolicy: cp.Name},
					OwnerReferences: []metav1.OwnerReference{{APIVersion: rempartv1.GroupVersion.String(), Kind: "CertificatePolicy",
						Name: cp.Name, UID: cp.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
				},
				Spec: cmapi.CertificateSpec{
					SecretName:  tls.SecretName,
					DNSNames:    append([]string(nil), tls.Hosts...),
					IssuerRef:   defaultIssuer(cp.Spec),
					PrivateKey:  defaultKey(cp.Spec),
					Duration:    &metav1.Duration{Duration: cp.Spec.MaxCertificateDuration()},
					RenewBefore: &metav1.Duration{Duration: cp.Spec.RenewBeforeAtLeast()},
				},
			})
		}
	}
	return out
}

// uncoveredHosts are the hosts of a covered Ingress served without a TLS entry whose secret a
// Certificate issues.
func uncoveredHosts(ing *networkingv1.Ingress, issued func(secret string) bool) []string {
	covered := map[string]bool{}
	for _, tls := range ing.Spec.TLS {
		if tls.SecretName == "" || !issued(tls.SecretName) {
			continue
		}
		for _, h := range tls.Hosts {
			covered[h] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range ing.Spec.Rules {
		if r.Host != "" && !covered[r.Host] && !seen[r.Host] {
			seen[r.Host] = true
			out = append(out, r.Host)
		}
	}
	return out
}
