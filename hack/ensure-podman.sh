#!/usr/bin/env bash
# Installs Debian's podman and runc, so the image test can start the image it built and run
# `rempart --version` in it. Does nothing when both are on the PATH.
set -euo pipefail
if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "podman or runc is missing and this is not a Debian-like system: the image test will not start the image" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "installing podman and runc from Debian packages (first time only)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq podman runc >/dev/null
