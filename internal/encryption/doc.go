// Package encryption decides whether a StorageClass encrypts volumes at rest (FT-CLD-21), from
// one catalog of CSI provisioners and the parameters that turn their encryption on.
package encryption
