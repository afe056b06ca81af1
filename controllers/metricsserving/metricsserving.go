package metricsserving

import (
	"fmt"
	"net"
	"net/netip"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The operator asks the API server who a scraper is and whether it may read /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Options are the metrics server's options for bindAddress: secure (HTTPS with authentication
// and authorization through the API server, the certificate from certDir or self-signed when it
// holds none) or plain HTTP, which is refused unless the address is loopback.
func Options(bindAddress string, secure bool, certDir string) (metricsserver.Options, error) {
	if bindAddress == "0" {
		return metricsserver.Options{BindAddress: "0"}, nil
	}
	if !secure {
		if !Loopback(bindAddress) {
			return metricsserver.Options{}, fmt.Errorf("metrics over plain HTTP are served on a loopback address only, not %q: drop --metrics-secure=false or bind 127.0.0.1", bindAddress)
		}
		return metricsserver.Options{BindAddress: bindAddress}, nil
	}
	return metricsserver.Options{
		BindAddress:    bindAddress,
		SecureServing:  true,
		CertDir:        certDir,
		FilterProvider: filters.WithAuthenticationAndAuthorization,
	}, nil
}

// Loopback says whether a bind address listens on the loopback interface only.
func Loopback(bindAddress string) bool {
	host, _, err := net.SplitHostPort(bindAddress)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
