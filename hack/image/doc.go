// Command image writes the operator's container image as an OCI image layout, without a
// container engine: one layer holding the static binary alone, run as user 65532 with no shell,
// labelled with the OCI annotations (source, version, revision, licenses). The layout directory
// and its tar (an oci-archive) load with podman, skopeo or crane, and push to any registry.
package main
