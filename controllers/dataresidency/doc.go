// Package dataresidency reconciles DataResidency: it resolves the allowed countries to the region
// label values the admission policies pin covered pods to, binds those policies to the covered
// namespaces, and audits nodes, pods, volumes and storage classes (FT-CLD-74, SIS-LOCATION,
// ALM-5.6.8).
package dataresidency
