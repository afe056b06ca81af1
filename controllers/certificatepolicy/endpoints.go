package certificatepolicy

import (
	networkingv1 "k8s.io/api/networking/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
)

// endpoint is what an Ingress or a Gateway serves: its hosts, and the TLS entries that say which
// Secret holds the certificate for which hosts.
type endpoint struct {
	ref     rempartv1.ObjectReference
	hosts   []string
	entries []tlsEntry
}

type tlsEntry struct {
	hosts  []string
	secret string
}

// ingressEndpoint reads an Ingress's hosts and TLS entries.
func ingressEndpoint(ing *networkingv1.Ingress) endpoint {
	e := endpoint{ref: rempartv1.ObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name}}
	for _, r := range ing.Spec.Rules {
		if r.Host != "" {
			e.hosts = append(e.hosts, r.Host)
		}
	}
	for _, t := range ing.Spec.TLS {
		e.entries = append(e.entries, tlsEntry{hosts: t.Hosts, secret: t.SecretName})
	}
	return e
}

// gatewayEndpoint reads a Gateway's listener hostnames and the Secrets its terminating HTTPS and
// TLS listeners name in their own namespace. Passthrough listeners end TLS at the backend and are
// left out.
func gatewayEndpoint(gw *gwapiv1.Gateway) endpoint {
	e := endpoint{ref: rempartv1.ObjectReference{APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway", Namespace: gw.Namespace, Name: gw.Name}}
	for _, l := range gw.Spec.Listeners {
		if l.Hostname == nil || *l.Hostname == "" {
			continue
		}
		host := string(*l.Hostname)
		terminates := l.TLS == nil || l.TLS.Mode == nil || *l.TLS.Mode == gwapiv1.TLSModeTerminate
		if (l.Protocol == gwapiv1.TLSProtocolType || l.Protocol == gwapiv1.HTTPSProtocolType) && !terminates {
			continue
		}
		e.hosts = append(e.hosts, host)
		if l.TLS == nil || !terminates {
			continue
		}
		for _, ref := range l.TLS.CertificateRefs {
			if ref.Kind != nil && *ref.Kind != "Secret" || ref.Group != nil && *ref.Group != "" ||
				ref.Namespace != nil && string(*ref.Namespace) != gw.Namespace {
				continue
			}
			e.entries = append(e.entries, tlsEntry{hosts: []string{host}, secret: string(ref.Name)})
			break
		}
	}
	return e
}
