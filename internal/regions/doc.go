// Package regions maps cloud regions to the countries they are in, and countries to the
// jurisdictions a contract allows (FT-CLD-74, SIS-LOCATION, ALM-5.6.8). Data is kept apart from
// logic: catalog.go and jurisdictions.go hold facts with their sources, resolve.go the rules.
// Anything not in the catalog is unknown and never allowed by default.
package regions
