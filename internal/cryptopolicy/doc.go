// Package cryptopolicy holds the ANSSI rules for certificate keys and lifetimes (FT-CLD-40,
// SIS-TLS, ALM-5.5) and checks a certificate's settings against a policy. Facts and their source
// are in anssi.go; this file is the logic. It is pure, for the controller, the admission policy's
// tests and the report alike.
package cryptopolicy
