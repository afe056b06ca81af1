package certificatepolicy

import (
	"fmt"
	"sort"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
)

// observed is what the reconciler read in the covered namespaces.
type observed struct {
	policy       *rempartv1.CertificatePolicy
	ingresses    []*networkingv1.Ingress
	gateways     []*gwapiv1.Gateway
	certificates []*cmapi.Certificate
}

// endpoints are the covered Ingresses (of the policy's classes) and Gateways.
func (o observed) endpoints() []endpoint {
	var out []endpoint
	for _, ing := range o.ingresses {
		if inScope(ing, o.policy.Spec) {
			out = append(out, ingressEndpoint(ing))
		}
	}
	if o.policy.Spec.RequireIngressTLS == nil || *o.policy.Spec.RequireIngressTLS {
		for _, gw := range o.gateways {
			out = append(out, gatewayEndpoint(gw))
		}
	}
	return out
}

func certRef(c *cmapi.Certificate) rempartv1.ObjectReference {
	return rempartv1.ObjectReference{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: "Certificate", Namespace: c.Namespace, Name: c.Name}
}

func ready(c *cmapi.Certificate) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == cmapi.CertificateConditionReady {
			return cond.Status == cmmeta.ConditionTrue
		}
	}
	return false
}

type evaluation struct {
	results    []rempartv1.ControlResult
	exceptions compliance.ExceptionSet
	summaries  []rempartv1.CertificateSummary
	nextExpiry *metav1.Time
	// next is the earliest renewal, warning or expiry instant ahead.
	next time.Time
}

// evaluate judges every control on what was observed, at now: one line per control.
func evaluate(o observed, now time.Time) evaluation {
	j, exceptionsResult := compliance.ExceptionsOf(compliance.KindCertificatePolicy, now, o.policy.Spec.Exceptions)
	certs := inspectCertificates(o, now)
	return evaluation{
		exceptions: j,
		results: compliance.Results(
			exceptionsResult,
			hostsResult(o, j),
			conformantResult(certs, j),
			j.Judge(compliance.TLSCertificatesReady, certs.notReady),
			j.Judge(compliance.TLSExpiry, certs.expiring),
			j.Judge(compliance.TLSKeyRotation, certs.unrotated),
		),
		summaries:  certs.summaries,
		nextExpiry: certs.nextExpiry,
		next:       certs.next,
	}
}

// hostsResult judges the hosts of the covered endpoints: each needs a TLS entry whose secret a
// Certificate of an allowed issuer provides.
func hostsResult(o observed, j compliance.ExceptionSet) rempartv1.ControlResult {
	issues := map[string]bool{}
	for _, c := range o.certificates {
		if issuerAllowed(c, o.policy.Spec.Issuers) {
			issues[c.Namespace+"/"+c.Spec.SecretName] = true
		}
	}
	var offenders []rempartv1.ObjectReference
	var words []string
	for _, e := range o.endpoints() {
		if hosts := uncoveredHosts(e, func(secret string) bool { return issues[e.ref.Namespace+"/"+secret] }); len(hosts) > 0 {
			offenders = append(offenders, e.ref)
			words = append(words, fmt.Sprintf("%s %s/%s (%s)", e.ref.Kind, e.ref.Namespace, e.ref.Name, strings.Join(hosts, ", ")))
		}
	}
	return j.Detailed(compliance.TLSIngressHosts, offenders, func() string {
		return "Hosts are served without a TLS entry whose secret a cert-manager Certificate issues: " + strings.Join(words, "; ") +
			". Give them a TLS entry (Ingress spec.tls, or an HTTPS listener with a certificateRef) with a secret name (FT-CLD-38)."
	})
}

func conformantResult(certs certificateFacts, j compliance.ExceptionSet) rempartv1.ControlResult {
	return j.Detailed(compliance.TLSCertificatesConformant, certs.bad, func() string {
		shown := certs.badWords
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(certs.badWords)-5))
		}
		return fmt.Sprintf("%d covered Certificates break the policy: %s.", len(certs.bad), strings.Join(shown, "; "))
	})
}

// certificateFacts is what the covered Certificates show: the offenders of each certificate
// control, the inventory status lists, and the instants a result may change.
type certificateFacts struct {
	bad, notReady, expiring, unrotated []rempartv1.ObjectReference
	badWords                           []string
	summaries                          []rempartv1.CertificateSummary
	nextExpiry                         *metav1.Time
	// next is the earliest renewal, warning or expiry instant ahead.
	next time.Time
}

func inspectCertificates(o observed, now time.Time) certificateFacts {
	spec := o.policy.Spec
	var f certificateFacts
	warning := spec.ExpiryWarningPeriod()
	consider := func(t time.Time) {
		if t.After(now) && (f.next.IsZero() || t.Before(f.next)) {
			f.next = t
		}
	}
	for _, c := range o.certificates {
		violations := Violations(c, spec)
		if why := issuedViolation(c, spec); why != "" {
			violations = append(violations, why)
		}
		s := rempartv1.CertificateSummary{Namespace: c.Namespace, Name: c.Name, Issuer: issuerName(c), Key: certKey(c).String(),
			NotAfter: c.Status.NotAfter, RenewalTime: c.Status.RenewalTime, Ready: ready(c), Conformant: len(violations) == 0}
		if len(violations) > 0 {
			s.Reason = strings.Join(violations, "; ")
			f.bad = append(f.bad, certRef(c))
			f.badWords = append(f.badWords, fmt.Sprintf("%s/%s: %s", c.Namespace, c.Name, violations[0]))
		}
		if !s.Ready {
			f.notReady = append(f.notReady, certRef(c))
		}
		if !rotatesKeys(c) {
			f.unrotated = append(f.unrotated, certRef(c))
		}
		if c.Status.NotAfter != nil {
			notAfter := c.Status.NotAfter.Time
			renewsFirst := c.Status.RenewalTime != nil && c.Status.RenewalTime.Time.Before(notAfter) && c.Status.RenewalTime.Time.After(now)
			if !notAfter.After(now) || (notAfter.Sub(now) <= warning && !renewsFirst) {
				f.expiring = append(f.expiring, certRef(c))
			}
			if f.nextExpiry == nil || notAfter.Before(f.nextExpiry.Time) {
				f.nextExpiry = &metav1.Time{Time: notAfter}
			}
			consider(notAfter)
			consider(notAfter.Add(-warning))
			if c.Status.RenewalTime != nil {
				consider(c.Status.RenewalTime.Time)
			}
		}
		f.summaries = append(f.summaries, s)
	}
	// The least conformant first, so the bounded list shows what needs attention.
	sort.SliceStable(f.summaries, func(i, j int) bool {
		a, b := f.summaries[i], f.summaries[j]
		if a.Conformant != b.Conformant {
			return !a.Conformant
		}
		if a.Ready != b.Ready {
			return !a.Ready
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return f
}
