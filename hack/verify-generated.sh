#!/usr/bin/env bash
# Regenerates every generated file in a copy of the work tree and fails if any differs from the
# committed one, so generated code can never drift from the markers it comes from.
set -euo pipefail
controller_gen=$1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$tmp" -xf -

generated=(config/argocd/health.yaml config/argocd/resource_customizations/rempart.io/TenantIsolation/health.lua config/argocd/resource_customizations/rempart.io/DataResidency/health.lua config/argocd/resource_customizations/rempart.io/BackupPolicy/health.lua config/argocd/resource_customizations/rempart.io/AdminAccess/health.lua config/argocd/resource_customizations/rempart.io/CertificatePolicy/health.lua config/crd/kustomization.yaml config/crd/bases config/rbac/role.yaml test/apitest/crd charts/rempart/templates/crds charts/rempart/templates/clusterrole.yaml charts/rempart/templates/manager-role.yaml)
# Remove what generation produces, so a file left over from a deleted type is caught too.
for g in "${generated[@]}"; do rm -rf "${tmp:?}/$g"; done
find "$tmp" -name zz_generated.deepcopy.go -delete

make -C "$tmp" --no-print-directory generate manifests CONTROLLER_GEN="$controller_gen" >/dev/null

status=0
for g in "${generated[@]}"; do
  [ -e "$root/$g" ] || [ -e "$tmp/$g" ] || continue
  diff -ruN "$root/$g" "$tmp/$g" || status=1
done
while IFS= read -r -d '' f; do
  rel=${f#"$tmp"/}
  diff -uN "$root/$rel" "$f" || status=1
done < <(find "$tmp" -name zz_generated.deepcopy.go -print0)
while IFS= read -r -d '' f; do
  [ -e "$tmp/$f" ] || { echo "stale generated file: $f"; status=1; }
done < <(git ls-files -z --cached --others --exclude-standard -- '*zz_generated.deepcopy.go')

if [ "$status" -ne 0 ]; then
  echo "generated files are out of date: run 'make generate manifests' and commit the result" >&2
fi
exit "$status"
