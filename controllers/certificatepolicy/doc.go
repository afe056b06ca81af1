// Package certificatepolicy reconciles CertificatePolicy: cert-manager Certificates for the
// covered Ingress hosts, an admission policy refusing non-conformant Certificates, re-issuance
// when a certificate falls out of policy or keys must rotate, and the expiry watch (FT-CLD-38,
// FT-CLD-40, ALM-5.5, SIS-TLS).
package certificatepolicy
