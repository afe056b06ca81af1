// Package localcluster runs Rempart's local control plane: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok simulating nodes in several cloud regions, all
// built from pinned Go modules by `make controlplane`. End-to-end tests and `make demo` use it;
// every process it starts is stopped with it, and dies with its parent if that is killed.
package localcluster
