package compliance

import "github.com/rempart-io/rempart/internal/requirements"

// The controls of a CertificatePolicy.
var (
	TLSIngressHosts = Control{
		ID: "tls.ingress-hosts", Kind: KindCertificatePolicy, Requirements: []req{requirements.FTCLD38, requirements.SISTLS},
		Checks:     "Every host of the covered Ingresses and Gateway listeners is served over TLS with a certificate cert-manager issues.",
		PassReason: "HostsCovered", PassMessage: "Every host of the covered Ingresses and Gateway listeners is served over TLS with a certificate cert-manager issues (FT-CLD-38).",
		FailReason: "HostsWithoutTLS", FailMessage: "Hosts are served without a TLS entry whose secret a cert-manager Certificate issues: give them a TLS entry (Ingress spec.tls, or an HTTPS listener with a certificateRef) with a secret name (FT-CLD-38).",
	}
	TLSCertificatesConformant = Control{
		ID: "tls.certificates-conformant", Kind: KindCertificatePolicy, Requirements: []req{requirements.FTCLD40, requirements.ALM55},
		Checks:     "Every covered Certificate has an allowed issuer, an ANSSI-grade key, and a bounded lifetime and renewal.",
		PassReason: "CertificatesConformant", PassMessage: "Every covered Certificate has an allowed issuer, key, lifetime and renewal (FT-CLD-40).",
		FailReason: "CertificatesOutOfPolicy", FailMessage: "Covered Certificates break the policy (FT-CLD-40).",
	}
	TLSCertificatesReady = Control{
		ID: "tls.certificates-ready", Kind: KindCertificatePolicy, Requirements: []req{requirements.FTCLD38},
		Checks:     "Every covered Certificate is issued and Ready.",
		PassReason: "CertificatesReady", PassMessage: "Every covered Certificate is issued and Ready (FT-CLD-38).",
		FailReason: "CertificatesNotReady", FailMessage: "Covered Certificates are not Ready: see their conditions and events (FT-CLD-38).",
	}
	TLSExpiry = Control{
		ID: "tls.expiry", Kind: KindCertificatePolicy, Requirements: []req{requirements.FTCLD40, requirements.ALM55},
		Checks:     "No covered certificate expires within the warning period without a renewal scheduled first.",
		PassReason: "NoExpiryAhead", PassMessage: "No covered certificate expires within the warning period without a renewal scheduled (ALM-5.5).",
		FailReason: "ExpiringWithoutRenewal", FailMessage: "Covered certificates expire soon, or have expired, with no renewal scheduled before (ALM-5.5).",
	}
	TLSKeyRotation = Control{
		ID: "tls.key-rotation", Kind: KindCertificatePolicy, Requirements: []req{requirements.FTCLD40},
		Checks:     "Every covered Certificate gets a new private key at each renewal.",
		PassReason: "KeysRotated", PassMessage: "Every covered Certificate gets a new private key at each renewal (FT-CLD-40).",
		FailReason: "KeysNotRotated", FailMessage: "Covered Certificates keep their private key across renewals: set privateKey.rotationPolicy: Always (FT-CLD-40).",
	}
)
