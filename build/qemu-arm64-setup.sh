#!/usr/bin/env bash
# Installs what the arm64 smoke test of build/dist.test.ts needs to run
# server/dist/plugin-linux-arm64 on an x86-64 machine:
#   qemu-user                 qemu-aarch64 (user-mode emulation; run explicitly, binfmt is not needed)
#   libstdc++6-arm64-cross    the arm64 glibc/libstdc++/libgcc_s the official node binary links
#                             (dynamically: readelf -d lists libstdc++.so.6, libc.so.6, ...)
#                             under /usr/aarch64-linux-gnu, the root given to qemu-aarch64 -L
# Idempotent; needs root (apt-get). No dpkg --add-architecture needed.
set -euo pipefail
pkgs=(qemu-user libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[qemu-arm64-setup] already installed: ${pkgs[*]}"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "qemu-arm64-setup: needs root: apt-get install -y ${missing[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "[qemu-arm64-setup] installing ${missing[*]}"
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
qemu-aarch64 --version | head -n 1
