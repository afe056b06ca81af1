// Package netpol answers "may this pod reach that pod on this port?" from NetworkPolicy objects,
// following the networking.k8s.io/v1 semantics, so the isolation a cluster really enforces can be
// compared with the isolation that was declared.
package netpol
