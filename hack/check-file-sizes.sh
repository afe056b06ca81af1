#!/usr/bin/env bash
# Fails when a file git tracks (or would add) is larger than 1 MiB: built binaries and other
# generated artefacts belong in bin/ or a release, not in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((1024 * 1024))
status=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	size=$(stat -c %s "$f")
	if [ "$size" -gt "$limit" ]; then
		echo "$f is $size bytes, over the 1 MiB limit: build it into bin/ (ignored) instead of committing it" >&2
		status=1
	fi
done < <(git ls-files -z --cached --others --exclude-standard)
exit $status
