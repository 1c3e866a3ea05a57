#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (test/browser/) and the README
# screenshot: playwright-core drives /usr/bin/chromium; it never downloads a browser.
# Idempotent; needs root (apt-get). Prints the browser version.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "[chromium-setup] already installed: $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "chromium-setup: needs root: apt-get install -y chromium" >&2; exit 1; }
command -v apt-get >/dev/null || { echo "chromium-setup: no apt-get here; install chromium so that /usr/bin/chromium exists" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# Other installs (test helpers, CI steps) may hold the dpkg lock: wait instead of failing.
lock=(-o DPkg::Lock::Timeout=120)
echo "[chromium-setup] installing chromium"
if ! apt-get "${lock[@]}" install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; then
  apt-get "${lock[@]}" update -qq >/dev/null
  apt-get "${lock[@]}" install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null | tail -n 1
