package restoretest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
)

// clientWithRoots is hc trusting only the given roots.
func clientWithRoots(hc *http.Client, roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: hc.Timeout, Transport: &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}}
}
