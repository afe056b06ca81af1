// Package metricsserving says how the operator serves its Prometheus metrics: over HTTPS, each
// scrape authenticated (TokenReview) and authorized (SubjectAccessReview on GET /metrics) by the
// API server, as kubebuilder's current layout does; plain HTTP only on a loopback address.
package metricsserving
