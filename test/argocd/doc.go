// Package argocd runs Rempart's Argo CD health checks as Argo CD runs them (gopher-lua, the
// object as a table named obj), and tests every case of their health_test.yaml files, the layout
// Argo CD's own resource_customizations use.
package argocd
