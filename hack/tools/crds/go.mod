// CRDs of other projects the tests install, taken from their Go modules: Kyverno's copy of the
// wgpolicyk8s.io PolicyReport CRDs (config/crds/policyreport) and OpenReports' openreports.io
// Report CRDs (config/crd). Nothing here is built.
module github.com/rempart-io/rempart/hack/tools/crds

go 1.26.6

require github.com/kyverno/kyverno v1.19.1

require github.com/openreports/reports-api v0.2.1
