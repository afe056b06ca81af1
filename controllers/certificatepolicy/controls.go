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
	"github.com/rempart-io/rempart/controllers/controls"
	"github.com/rempart-io/rempart/internal/requirements"
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

var knownControls = []rempartv1.ControlID{"tls.ingress-hosts", "tls.certificates-conformant", "tls.certificates-ready", "tls.expiry", "tls.key-rotation"}

var (
	controlHosts = controls.Control{ID: "tls.ingress-hosts", Requirements: []requirements.ID{requirements.FTCLD38, requirements.SISTLS},
		PassReason: "HostsCovered", PassMessage: "Every host of the covered Ingresses and Gateway listeners is served over TLS with a certificate cert-manager issues (FT-CLD-38).",
		FailReason: "HostsWithoutTLS", FailMessage: "Hosts are served without a TLS entry whose secret a cert-manager Certificate issues (FT-CLD-38)."}
	controlConformant = controls.Control{ID: "tls.certificates-conformant", Requirements: []requirements.ID{requirements.FTCLD40, requirements.ALM55},
		PassReason: "CertificatesConformant", PassMessage: "Every covered Certificate has an allowed issuer, key, lifetime and renewal (FT-CLD-40).",
		FailReason: "CertificatesOutOfPolicy", FailMessage: "Covered Certificates break the policy (FT-CLD-40)."}
	controlReady = controls.Control{ID: "tls.certificates-ready", Requirements: []requirements.ID{requirements.FTCLD38},
		PassReason: "CertificatesReady", PassMessage: "Every covered Certificate is issued and Ready (FT-CLD-38).",
		FailReason: "CertificatesNotReady", FailMessage: "Covered Certificates are not Ready: see their conditions and events (FT-CLD-38)."}
	controlExpiry = controls.Control{ID: "tls.expiry", Requirements: []requirements.ID{requirements.FTCLD40, requirements.ALM55},
		PassReason: "NoExpiryAhead", PassMessage: "No covered certificate expires within the warning period without a renewal scheduled (ALM-5.5).",
		FailReason: "ExpiringWithoutRenewal", FailMessage: "Covered certificates expire soon, or have expired, with no renewal scheduled before (ALM-5.5)."}
	controlRotation = controls.Control{ID: "tls.key-rotation", Requirements: []requirements.ID{requirements.FTCLD40},
		PassReason: "KeysRotated", PassMessage: "Every covered Certificate gets a new private key at each renewal (FT-CLD-40).",
		FailReason: "KeysNotRotated", FailMessage: "Covered Certificates keep their private key across renewals: set privateKey.rotationPolicy: Always (FT-CLD-40)."}
)

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
	exceptions controls.ExceptionSet
	summaries  []rempartv1.CertificateSummary
	nextExpiry *metav1.Time
	// next is the earliest renewal, warning or expiry instant ahead.
	next time.Time
}

func evaluate(o observed, now time.Time) evaluation {
	spec := o.policy.Spec
	exceptions, exceptionsResult := controls.NewExceptionSet(now, spec.Exceptions, knownControls)
	ev := evaluation{exceptions: exceptions}
	issues := map[string]bool{}
	for _, c := range o.certificates {
		if issuerAllowed(c, spec.Issuers) {
			issues[c.Namespace+"/"+c.Spec.SecretName] = true
		}
	}
	var hostOffenders []rempartv1.ObjectReference
	var hostWords []string
	for _, e := range o.endpoints() {
		if hosts := uncoveredHosts(e, func(secret string) bool { return issues[e.ref.Namespace+"/"+secret] }); len(hosts) > 0 {
			hostOffenders = append(hostOffenders, e.ref)
			hostWords = append(hostWords, fmt.Sprintf("%s %s/%s (%s)", e.ref.Kind, e.ref.Namespace, e.ref.Name, strings.Join(hosts, ", ")))
		}
	}
	hosts := controls.Judge(controlHosts, hostOffenders, exceptions)
	if hosts.State == rempartv1.ControlNonCompliant {
		hosts.Message = "Hosts are served without a TLS entry whose secret a cert-manager Certificate issues: " + strings.Join(hostWords, "; ") +
			". Give them a TLS entry (Ingress spec.tls, or an HTTPS listener with a certificateRef) with a secret name (FT-CLD-38)."
	}

	var bad, notReady, expiring, unrotated []rempartv1.ObjectReference
	var badWords []string
	warning := spec.ExpiryWarningPeriod()
	consider := func(t time.Time) {
		if t.After(now) && (ev.next.IsZero() || t.Before(ev.next)) {
			ev.next = t
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
			bad = append(bad, certRef(c))
			badWords = append(badWords, fmt.Sprintf("%s/%s: %s", c.Namespace, c.Name, violations[0]))
		}
		if !s.Ready {
			notReady = append(notReady, certRef(c))
		}
		if !rotatesKeys(c) {
			unrotated = append(unrotated, certRef(c))
		}
		if c.Status.NotAfter != nil {
			notAfter := c.Status.NotAfter.Time
			renewsFirst := c.Status.RenewalTime != nil && c.Status.RenewalTime.Time.Before(notAfter) && c.Status.RenewalTime.Time.After(now)
			if !notAfter.After(now) || (notAfter.Sub(now) <= warning && !renewsFirst) {
				expiring = append(expiring, certRef(c))
			}
			if ev.nextExpiry == nil || notAfter.Before(ev.nextExpiry.Time) {
				ev.nextExpiry = &metav1.Time{Time: notAfter}
			}
			consider(notAfter)
			consider(notAfter.Add(-warning))
			if c.Status.RenewalTime != nil {
				consider(c.Status.RenewalTime.Time)
			}
		}
		ev.summaries = append(ev.summaries, s)
	}
	conformant := controls.Judge(controlConformant, bad, exceptions)
	if conformant.State == rempartv1.ControlNonCompliant {
		shown := badWords
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(badWords)-5))
		}
		conformant.Message = fmt.Sprintf("%d covered Certificates break the policy: %s.", len(bad), strings.Join(shown, "; "))
	}
	ev.results = []rempartv1.ControlResult{exceptionsResult, hosts, conformant,
		controls.Judge(controlReady, notReady, exceptions),
		controls.Judge(controlExpiry, expiring, exceptions),
		controls.Judge(controlRotation, unrotated, exceptions)}
	controls.SortResults(ev.results)
	// The least conformant first, so the bounded list shows what needs attention.
	sort.SliceStable(ev.summaries, func(i, j int) bool {
		a, b := ev.summaries[i], ev.summaries[j]
		if a.Conformant != b.Conformant {
			return !a.Conformant
		}
		if a.Ready != b.Ready {
			return !a.Ready
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return ev
}
