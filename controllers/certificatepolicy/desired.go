package certificatepolicy

import (
	"slices"
	"sort"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/apply"
)

// LabelPolicy marks the Certificates a CertificatePolicy created, with its name.
const LabelPolicy = "rempart.io/certificate-policy"

// AnnotationOrphanedFrom names the CertificatePolicy that created a Certificate it no longer
// manages (deleted, or narrowed away from the Certificate's namespace).
const AnnotationOrphanedFrom = "rempart.io/orphaned-from"

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
// endpoints whose secret no Certificate issues, named after the secret as cert-manager's own
// ingress- and gateway-shims do. The user's Ingresses and Gateways are never changed.
func desiredCertificates(cp *rempartv1.CertificatePolicy, endpoints []endpoint, issuesSecret map[string]bool) []*cmapi.Certificate {
	if len(cp.Spec.Issuers) == 0 {
		return nil
	}
	byKey := map[string]*cmapi.Certificate{}
	var out []*cmapi.Certificate
	for _, e := range endpoints {
		for _, tls := range e.entries {
			key := e.ref.Namespace + "/" + tls.secret
			if tls.secret == "" || len(tls.hosts) == 0 || issuesSecret[key] {
				continue
			}
			if existing, ok := byKey[key]; ok {
				// Listeners or entries sharing a Secret share one certificate for all their hosts.
				for _, h := range tls.hosts {
					if !slices.Contains(existing.Spec.DNSNames, h) {
						existing.Spec.DNSNames = append(existing.Spec.DNSNames, h)
					}
				}
				continue
			}
			c := &cmapi.Certificate{
				TypeMeta: metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: "Certificate"},
				ObjectMeta: metav1.ObjectMeta{
					Namespace: e.ref.Namespace, Name: tls.secret,
					// No owner reference: deleting the policy must not delete the Certificate and
					// stop its renewals; the label says whose it is.
					Labels: apply.ManagedLabels(LabelPolicy, cp.Name),
				},
				Spec: cmapi.CertificateSpec{
					SecretName:  tls.secret,
					DNSNames:    append([]string(nil), tls.hosts...),
					IssuerRef:   defaultIssuer(cp.Spec),
					PrivateKey:  defaultKey(cp.Spec),
					Duration:    &metav1.Duration{Duration: cp.Spec.MaxCertificateDuration()},
					RenewBefore: &metav1.Duration{Duration: cp.Spec.RenewBeforeAtLeast()},
				},
			}
			byKey[key] = c
			out = append(out, c)
		}
	}
	return out
}

// uncoveredHosts are the hosts an endpoint serves without a TLS entry whose secret a Certificate
// issues.
func uncoveredHosts(e endpoint, issued func(secret string) bool) []string {
	covered := map[string]bool{}
	for _, tls := range e.entries {
		if tls.secret == "" || !issued(tls.secret) {
			continue
		}
		for _, h := range tls.hosts {
			covered[h] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, h := range e.hosts {
		if !covered[h] && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}
