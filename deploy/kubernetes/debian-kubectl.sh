#!/usr/bin/env bash
# Makes Debian bookworm's kubectl 1.20 (package kubernetes-client; kustomize v2.0.3 inside) available
# at /opt/kubernetes-client/usr/bin/kubectl for the manifest tests, without touching /usr/bin:
# some machines have another kubectl there (a cloud SDK's), and the tests render with both.
# Needs apt (run as root, or with sudo). Prints the kubectl's path.
set -euo pipefail
target="${NIMBUS_KUBECTL_DIR:-/opt/kubernetes-client}"
kubectl="$target/usr/bin/kubectl"
if [ -x "$kubectl" ]; then echo "$kubectl"; exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT
chmod 0777 "$download" # apt's download user writes here
if ! (cd "$download" && apt-get download kubernetes-client >/dev/null 2>&1); then
  $SUDO apt-get update >/dev/null
  (cd "$download" && apt-get download kubernetes-client >/dev/null)
fi
$SUDO mkdir -p "$target"
$SUDO dpkg-deb -x "$download"/kubernetes-client_*.deb "$target"
"$kubectl" version --client >/dev/null
echo "$kubectl"
