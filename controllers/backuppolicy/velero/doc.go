// Package velero is the vocabulary of Velero's API (velero.io/v1) that the BackupPolicy
// controller and its restore test share: Velero is not imported as code, only spoken to as
// unstructured objects.
package velero
