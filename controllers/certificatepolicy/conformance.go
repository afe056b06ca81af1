package certificatepolicy

import (
	"fmt"
	"strconv"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/cryptopolicy"
)

// keyRules turns the policy's allowed keys into the crypto rules.
func keyRules(p rempartv1.PrivateKeyPolicy) []cryptopolicy.KeyRule {
	if len(p.Allowed) == 0 {
		return cryptopolicy.DefaultKeys()
	}
	out := make([]cryptopolicy.KeyRule, 0, len(p.Allowed))
	for _, a := range p.Allowed {
		r := cryptopolicy.KeyRule{Algorithm: cryptopolicy.Algorithm(a.Algorithm), MinSize: int(a.MinSize)}
		for _, c := range a.Curves {
			r.Sizes = append(r.Sizes, int(c))
		}
		out = append(out, r)
	}
	return out
}

func requireRotation(p rempartv1.PrivateKeyPolicy) bool {
	return p.RequireRotation == nil || *p.RequireRotation
}

// certKey is a Certificate's key settings with cert-manager's defaults applied.
func certKey(c *cmapi.Certificate) cryptopolicy.Key {
	if c.Spec.PrivateKey == nil {
		return cryptopolicy.KeyOf("", 0)
	}
	return cryptopolicy.KeyOf(string(c.Spec.PrivateKey.Algorithm), c.Spec.PrivateKey.Size)
}

func certLifetime(c *cmapi.Certificate) cryptopolicy.Lifetime {
	var d, rb time.Duration
	if c.Spec.Duration != nil {
		d = c.Spec.Duration.Duration
	}
	if c.Spec.RenewBefore != nil {
		rb = c.Spec.RenewBefore.Duration
	}
	return cryptopolicy.LifetimeOf(d, rb)
}

// issuerAllowed says whether the Certificate's issuer is one of the policy's.
func issuerAllowed(c *cmapi.Certificate, issuers []rempartv1.IssuerRef) bool {
	kind, group := c.Spec.IssuerRef.Kind, c.Spec.IssuerRef.Group
	if kind == "" {
		kind = "Issuer"
	}
	if group == "" {
		group = "cert-manager.io"
	}
	for _, i := range issuers {
		ik, ig := i.Kind, i.Group
		if ik == "" {
			ik = "ClusterIssuer"
		}
		if ig == "" {
			ig = "cert-manager.io"
		}
		if ik == kind && ig == group && i.Name == c.Spec.IssuerRef.Name {
			return true
		}
	}
	return false
}

func issuerName(c *cmapi.Certificate) string {
	kind := c.Spec.IssuerRef.Kind
	if kind == "" {
		kind = "Issuer"
	}
	return kind + "/" + c.Spec.IssuerRef.Name
}

// Violations lists what in a Certificate's spec breaks the policy, each a sentence naming the rule.
func Violations(c *cmapi.Certificate, spec rempartv1.CertificatePolicySpec) []string {
	var out []string
	if err := cryptopolicy.CheckKey(certKey(c), keyRules(spec.PrivateKey)); err != nil {
		out = append(out, err.Error())
	}
	if requireRotation(spec.PrivateKey) && !rotatesKeys(c) {
		out = append(out, "privateKey.rotationPolicy must be Always: a new key at every renewal (FT-CLD-40)")
	}
	if err := cryptopolicy.CheckLifetime(certLifetime(c), spec.MaxCertificateDuration(), spec.RenewBeforeAtLeast()); err != nil {
		out = append(out, err.Error())
	}
	if !issuerAllowed(c, spec.Issuers) {
		out = append(out, fmt.Sprintf("issuer %s is not one of the policy's issuers (FT-CLD-40)", issuerName(c)))
	}
	return out
}

// rotatesKeys says whether cert-manager makes a new key at each renewal: rotationPolicy Always,
// or unset, which cert-manager reads as Always since v1.18 (the version Rempart pins is newer).
func rotatesKeys(c *cmapi.Certificate) bool {
	return c.Spec.PrivateKey == nil || c.Spec.PrivateKey.RotationPolicy == "" || c.Spec.PrivateKey.RotationPolicy == cmapi.RotationPolicyAlways
}

// IssuedOutOfPolicy says why a Certificate whose spec conforms must still be re-issued: the
// certificate in place was issued for longer than the policy now allows.
func IssuedOutOfPolicy(c *cmapi.Certificate, spec rempartv1.CertificatePolicySpec) string {
	if c.Status.NotBefore == nil || c.Status.NotAfter == nil {
		return ""
	}
	lived := c.Status.NotAfter.Sub(c.Status.NotBefore.Time)
	// cert-manager's CA issuer may round; a minute of slack avoids re-issuing what is in policy.
	if lived > spec.MaxCertificateDuration()+time.Minute {
		return fmt.Sprintf("the certificate in place lives %s, longer than the policy's %s", lived.Round(time.Hour), spec.MaxCertificateDuration())
	}
	return ""
}

// AnnotationReissuedAt records on a Certificate the revision whose replacement Rempart requested.
const AnnotationReissuedAt = "rempart.io/reissued-at-revision"

// revision is the Certificate's current revision, 0 before its first issuance.
func revision(c *cmapi.Certificate) int {
	if c.Status.Revision == nil {
		return 0
	}
	return *c.Status.Revision
}

// reissuedOnce says whether Rempart already asked to replace this revision or the one before it:
// the certificate in place is pending, or is the answer to that request.
func reissuedOnce(c *cmapi.Certificate) bool {
	at, err := strconv.Atoi(c.Annotations[AnnotationReissuedAt])
	if err != nil {
		return false
	}
	return revision(c) <= at+1
}

// setCondition replaces the condition of the same type, or appends it.
func setCondition(conds []cmapi.CertificateCondition, c cmapi.CertificateCondition) []cmapi.CertificateCondition {
	for i := range conds {
		if conds[i].Type == c.Type {
			conds[i] = c
			return conds
		}
	}
	return append(conds, c)
}

// issuedViolation says why the certificate in place breaks the policy although the spec does
// not, naming the issuer once Rempart's re-issuance did not help.
func issuedViolation(c *cmapi.Certificate, spec rempartv1.CertificatePolicySpec) string {
	why := IssuedOutOfPolicy(c, spec)
	if why == "" {
		return ""
	}
	if reissuedOnce(c) && revision(c) > 0 {
		return fmt.Sprintf("%s although it asks for %s: issuer %s ignores the requested duration, and Rempart re-issued once and stops; configure the issuer to honour spec.duration (FT-CLD-40)",
			why, certLifetime(c).Duration, issuerName(c))
	}
	return why + ": re-issuance requested (FT-CLD-40)"
}
