#!/usr/bin/env bash
# Builds the local control plane binaries from pinned Go modules into bin/controlplane/<key>/,
# where <key> names every pinned version: a second run with the same pins does nothing.
# Only the Go module proxy is used; nothing is downloaded as a prebuilt binary.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/hack/tools"

# pinned <module dir> <module path>: the version a tool module requires, directly or in a block.
pinned() {
  awk -v m="$2" '($1=="require" && $2==m) {print $3; exit} ($1==m && $3!="=>") {print $2; exit}' "$1/go.mod"
}
kube_version=$(pinned "$tools/kubernetes" k8s.io/kubernetes)
etcd_version=$(pinned "$tools/etcd" go.etcd.io/etcd/server/v3)
kwok_version=$(pinned "$tools/kwok" sigs.k8s.io/kwok)
go_version=$(go env GOVERSION)

key="k8s-${kube_version}_etcd-${etcd_version}_kwok-${kwok_version}_${go_version}"
dest="$root/bin/controlplane/$key"

if [ "${1:-}" = "--print-dir" ]; then
  # Velero's server, its S3 plugin and versitygw (an S3 store over a directory), built together
# in their tool module; the versions are in the names so a new pin rebuilds.
velero_version=$(pinned "$tools/velero" github.com/vmware-tanzu/velero)
aws_version=$(pinned "$tools/velero" github.com/vmware-tanzu/velero-plugin-for-aws)
gw_version=$(pinned "$tools/velero" github.com/versity/versitygw)
velero_bins=("velero-$velero_version" "velero-plugin-for-aws-$aws_version" "versitygw-$gw_version")
for b in "${velero_bins[@]}"; do
  if [ ! -x "$dest/$b" ]; then
    echo "building Velero $velero_version, its AWS plugin $aws_version and versitygw $gw_version into $dest (first time only)" >&2
    tmp=$(mktemp -d "$dest/.build.XXXXXX")
    (cd "$tools/velero" && go build "${buildflags[@]}" \
      -ldflags "-s -w -X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$velero_version" \
      -o "$tmp/" github.com/vmware-tanzu/velero/cmd/velero \
      github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws \
      github.com/versity/versitygw/cmd/versitygw)
    mv "$tmp/velero" "$dest/velero-$velero_version"
    # Velero finds plugins by listing a directory: the plugin keeps its own name in a folder of its own.
    mkdir -p "$dest/velero-plugins-$aws_version"
    mv "$tmp/velero-plugin-for-aws" "$dest/velero-plugins-$aws_version/velero-plugin-for-aws"
    ln -sf "velero-plugins-$aws_version/velero-plugin-for-aws" "$dest/velero-plugin-for-aws-$aws_version"
    mv "$tmp/versitygw" "$dest/versitygw-$gw_version"
    rmdir "$tmp"
    break
  fi
done

echo "$dest"
  exit 0
fi

mkdir -p "$dest"
export CGO_ENABLED=0
buildflags=(-trimpath)

build() { # <name> <module dir> <ldflags> <packages...>
  local name=$1 dir=$2 ldflags=$3
  shift 3
  if [ -x "$dest/$name" ]; then
    return 0
  fi
  echo "building $name into $dest (first time only)" >&2
  local tmp
  tmp=$(mktemp -d "$dest/.build.XXXXXX")
  (cd "$dir" && go build "${buildflags[@]}" -ldflags "$ldflags" -o "$tmp/" "$@")
  # Move into place only when complete, so an interrupted build is retried next time.
  for f in "$tmp"/*; do mv "$f" "$dest/"; done
  rmdir "$tmp"
}

major=${kube_version#v}; major=${major%%.*}
minor=${kube_version#v*.}; minor=${minor%%.*}
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# The Kubernetes binaries share most packages: one go build compiles them together.
kube_bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
for b in "${kube_bins[@]}"; do
  if [ ! -x "$dest/$b" ]; then
    for old in "${kube_bins[@]}"; do rm -f "$dest/$old"; done
    build kube-apiserver "$tools/kubernetes" "$kube_ldflags" "${kube_bins[@]/#/k8s.io/kubernetes/cmd/}"
    break
  fi
done
build etcd "$tools/etcd" "-s -w" .
build kwok "$tools/kwok" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version" sigs.k8s.io/kwok/cmd/kwok

# cert-manager's controllers, run by our runner; the version is in the name so a new pin rebuilds.
cm_version=$(pinned "$tools/certmanager" github.com/cert-manager/cert-manager)
if [ ! -x "$dest/cert-manager-$cm_version" ]; then
  echo "building cert-manager-$cm_version into $dest (first time only)" >&2
  (cd "$tools/certmanager" && go build "${buildflags[@]}" -ldflags "-s -w" -o "$dest/.cert-manager.tmp" .)
  mv "$dest/.cert-manager.tmp" "$dest/cert-manager-$cm_version"
fi

# Velero's server, its S3 plugin and versitygw (an S3 store over a directory), built together
# in their tool module; the versions are in the names so a new pin rebuilds.
velero_version=$(pinned "$tools/velero" github.com/vmware-tanzu/velero)
aws_version=$(pinned "$tools/velero" github.com/vmware-tanzu/velero-plugin-for-aws)
gw_version=$(pinned "$tools/velero" github.com/versity/versitygw)
velero_bins=("velero-$velero_version" "velero-plugin-for-aws-$aws_version" "versitygw-$gw_version")
for b in "${velero_bins[@]}"; do
  if [ ! -x "$dest/$b" ]; then
    echo "building Velero $velero_version, its AWS plugin $aws_version and versitygw $gw_version into $dest (first time only)" >&2
    tmp=$(mktemp -d "$dest/.build.XXXXXX")
    (cd "$tools/velero" && go build "${buildflags[@]}" \
      -ldflags "-s -w -X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$velero_version" \
      -o "$tmp/" github.com/vmware-tanzu/velero/cmd/velero \
      github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws \
      github.com/versity/versitygw/cmd/versitygw)
    mv "$tmp/velero" "$dest/velero-$velero_version"
    # Velero finds plugins by listing a directory: the plugin keeps its own name in a folder of its own.
    mkdir -p "$dest/velero-plugins-$aws_version"
    mv "$tmp/velero-plugin-for-aws" "$dest/velero-plugins-$aws_version/velero-plugin-for-aws"
    ln -sf "velero-plugins-$aws_version/velero-plugin-for-aws" "$dest/velero-plugin-for-aws-$aws_version"
    mv "$tmp/versitygw" "$dest/versitygw-$gw_version"
    rmdir "$tmp"
    break
  fi
done

echo "$dest"
