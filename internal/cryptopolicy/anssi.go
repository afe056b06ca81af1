package cryptopolicy

import "time"

// ANSSI, "Guide des mécanismes cryptographiques" v2.04 (2021) and RGS annexe B1, as transcribed in
// REFERENCE-DATA.md: RSA moduli of at least 2048 bits, 3072 recommended now and required from 2031;
// elliptic curves with a prime-order subgroup of at least 250 bits (P-256, P-384, P-521 are, P-224
// is not). Ed25519 is not in the transcriptions: out of the default, allowed by configuration.
const (
	RSAFloor       = 2048
	RSARecommended = 3072
)

// RSA2048Until is when RSA 2048 stops being accepted (required 3072 from 2031).
var RSA2048Until = time.Date(2030, 12, 31, 23, 59, 59, 0, time.UTC)

// CompliantCurves are the ECDSA curve sizes cert-manager offers that ANSSI accepts.
var CompliantCurves = []int{256, 384, 521}

// DefaultKeys is Rempart's default: ECDSA P-256 or P-384, or RSA from 3072 bits.
func DefaultKeys() []KeyRule {
	return []KeyRule{{Algorithm: ECDSA, Sizes: []int{256, 384}}, {Algorithm: RSA, MinSize: RSARecommended}}
}
