#!/usr/bin/env bash
# Builds the Go protocol arbiter: `harness` (plays an unmodified Mattermost server
# through hashicorp/go-plugin) and `refplugin` (a Go go-plugin reference plugin).
#
# Everything comes from Debian packages (no Go module proxy): installs what is
# missing, builds in GOPATH mode from a private GOPATH under .cache, and skips the
# build when sources, toolchain and package versions are unchanged.
#
# Output: $OUT/harness, $OUT/refplugin   (OUT defaults to <repo>/.cache/goharness)
# Usage:  test/goharness/build.sh [--force]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="${GOHARNESS_OUT:-$REPO/.cache/goharness}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { echo "goharness: $*" >&2; }

PKGS=(
  golang-go
  golang-github-hashicorp-go-plugin-dev
  golang-github-hashicorp-yamux-dev
  golang-github-hashicorp-go-hclog-dev
  golang-github-oklog-run-dev
  golang-google-grpc-dev
  golang-github-golang-protobuf-1-5-dev
  golang-golang-x-net-dev
  golang-github-mitchellh-go-testing-interface-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

GO="$(command -v go || true)"
[[ -z "$GO" && -x /usr/lib/go/bin/go ]] && GO=/usr/lib/go/bin/go
[[ -z "$GO" ]] && { log "go not found after install"; exit 1; }

# Source hash: our Go sources + this script + go version + the Debian package versions.
hash_input() {
  (cd "$HERE" && find mmtypes harness refplugin -type f -name '*.go' | LC_ALL=C sort | xargs sha256sum)
  sha256sum "$HERE/build.sh"
  "$GO" version
  dpkg-query -W -f='${Package} ${Version}\n' "${PKGS[@]}"
}
SRC_HASH="$(hash_input | sha256sum | cut -d' ' -f1)"

mkdir -p "$OUT"
if [[ $FORCE -eq 0 && -x "$OUT/harness" && -x "$OUT/refplugin" && -f "$OUT/.srchash" ]] &&
   [[ "$(cat "$OUT/.srchash")" == "$SRC_HASH" ]]; then
  log "up to date ($OUT)"
  exit 0
fi

# Private GOPATH: copy the sources to src/mmharness/... so imports resolve as
# mmharness/mmtypes; Debian's /usr/share/gocode provides go-plugin & co.
GP="$OUT/gopath"
rm -rf "$GP"
mkdir -p "$GP/src/mmharness"
for d in mmtypes harness refplugin; do
  mkdir -p "$GP/src/mmharness/$d"
  cp "$HERE/$d"/*.go "$GP/src/mmharness/$d/"
done

export GO111MODULE=off
export GOPATH="$GP:/usr/share/gocode"
export GOFLAGS=""
export GOENV=off
export GOTOOLCHAIN=local
export GOCACHE="$OUT/gocache"
export CGO_ENABLED=0

log "building harness and refplugin with $("$GO" version | cut -d' ' -f3)"
(cd "$GP/src/mmharness" &&
  "$GO" vet ./mmtypes ./harness ./refplugin &&
  "$GO" test -count=1 ./harness >&2 &&
  "$GO" build -trimpath -o "$OUT/harness.tmp" ./harness &&
  "$GO" build -trimpath -o "$OUT/refplugin.tmp" ./refplugin)
mv -f "$OUT/harness.tmp" "$OUT/harness"
mv -f "$OUT/refplugin.tmp" "$OUT/refplugin"
echo "$SRC_HASH" > "$OUT/.srchash"
log "built $OUT/harness $OUT/refplugin"
