# Acceso: see README.md. Every tool is pinned in go.mod (go tool …).
GO ?= go

# The help site's accessibility (axe-core, run in Chromium) and HTML validity
# (the Nu Html Checker, vnu-jar, run with Java) tests use these npm packages,
# installed once at these versions into .cache/npm (git-ignored).
AXE_CORE_VERSION := 4.14.1
VNU_JAR_VERSION := 26.9.27
NPM_DIR := .cache/npm
NPM_STAMP := $(NPM_DIR)/.installed-axe-core-$(AXE_CORE_VERSION)-vnu-jar-$(VNU_JAR_VERSION)

# Lighthouse (in Chromium) scores the site and its static export for search
# engines, accessibility and best practices (server/lighthouse_test.go);
# 12.8 is the newest that runs on the Node.js 20 this machine has.
LIGHTHOUSE_VERSION := 12.8.2
LIGHTHOUSE_NPM_DIR := $(NPM_DIR)/lighthouse
LIGHTHOUSE_NPM_STAMP := $(LIGHTHOUSE_NPM_DIR)/.installed-lighthouse-$(LIGHTHOUSE_VERSION)

# The OpenAPI document is checked by tools nobody here wrote: Redocly CLI's
# recommended ruleset, and a client typed by openapi-typescript compiled by
# tsc (openapi-typescript 7 needs TypeScript 5).
REDOCLY_CLI_VERSION := 2.77.0
OPENAPI_TYPESCRIPT_VERSION := 7.13.0
TYPESCRIPT_VERSION := 5.9.3
OPENAPI_NPM_DIR := $(NPM_DIR)/openapi
OPENAPI_NPM_STAMP := $(OPENAPI_NPM_DIR)/.installed-redocly-$(REDOCLY_CLI_VERSION)-openapi-typescript-$(OPENAPI_TYPESCRIPT_VERSION)-typescript-$(TYPESCRIPT_VERSION)
OPENAPI_CHECK_DIR := .cache/openapi-check

# Recipes use bash for pipefail: a build piped through the progress filter
# still fails when the build fails.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

BIN := bin/acceso

.PHONY: build run test check bench fuzz generate npm-tools openapi-check

# go build -v names each package as it compiles it; the filter below turns
# those names into a progress line every 40 packages and passes compiler
# errors through, so a first build (OPA: several hundred packages) is not
# minutes of silence.
build:
	@echo 'acceso: building $(BIN) (the first build compiles OPA: a few minutes on two cores)'
	@$(GO) build -buildvcs=auto -v -o $(BIN) . 2>&1 | awk '/^[^ :]+$$/ { if (++n % 40 == 0) printf "  … %d packages compiled\n", n; next } { print }'
	@echo 'acceso: built $(BIN)'

# The server prints its address once it listens; Ctrl-C stops it (exit 0).
run: build
	@trap 'exit 0' INT; ./$(BIN) serve

# The Rego tests run through the embedded OPA (acceso rules test). The Go
# tests run through gotestsum (pinned in go.mod), whose summary ends with
# every test skipped and why: a test that needs Chromium, Java or
# PostgreSQL skips without it (and fails under CI=true).
# The server's browser tests walk every state of the self-diagnosis in
# Chromium: more than go test's default 10 minutes on a busy machine.
test: npm-tools build
	./$(BIN) rules test
	$(GO) tool gotestsum --format pkgname --format-hide-empty-pkg -- -timeout 30m ./...

check:
	@echo 'check: gofmt, go vet (the first vet compiles every package: minutes on a cold cache)'
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) -C loadtest vet ./...
	@echo 'check: opa fmt, opa check --strict, stock opa test, the rules, templ, OpenAPI'
	@test -z "$$($(GO) tool opa fmt --list rules)" || { $(GO) tool opa fmt --list rules; echo 'opa fmt: files above need formatting'; exit 1; }
	$(GO) tool opa check --strict --capabilities rules/capabilities.json rules/
	$(GO) tool opa test rules/
	$(GO) run . rules test
	$(GO) tool templ generate
	@git diff --quiet -- '*_templ.go' || { git diff --stat -- '*_templ.go'; echo 'templ: generated files above were stale; commit them'; exit 1; }
	$(MAKE) openapi-check

npm-tools: $(NPM_STAMP) $(LIGHTHOUSE_NPM_STAMP)

$(LIGHTHOUSE_NPM_STAMP):
	npm install --no-save --no-audit --no-fund --ignore-scripts --prefix $(LIGHTHOUSE_NPM_DIR) lighthouse@$(LIGHTHOUSE_VERSION)
	touch $@

# vnu-jar ships its jar; its install script (which would fetch a Java) is
# not needed and not run.
$(NPM_STAMP):
	npm install --no-save --no-audit --no-fund --ignore-scripts --prefix $(NPM_DIR) \
		axe-core@$(AXE_CORE_VERSION) vnu-jar@$(VNU_JAR_VERSION)
	touch $@

$(OPENAPI_NPM_STAMP):
	npm install --no-save --no-audit --no-fund --ignore-scripts --prefix $(OPENAPI_NPM_DIR) \
		@redocly/cli@$(REDOCLY_CLI_VERSION) openapi-typescript@$(OPENAPI_TYPESCRIPT_VERSION) typescript@$(TYPESCRIPT_VERSION)
	touch $@

# The document served for the built-in rules: 0 errors and 0 warnings from
# redocly lint, and server/testdata/openapi/client.ts, which calls every
# operation through the generated types, compiles.
openapi-check: $(OPENAPI_NPM_STAMP)
	@mkdir -p $(OPENAPI_CHECK_DIR)
	$(GO) run . openapi > .cache/openapi.json
	$(OPENAPI_NPM_DIR)/node_modules/.bin/redocly lint --extends recommended --max-problems 50 .cache/openapi.json 2>&1 | tee $(OPENAPI_CHECK_DIR)/lint.txt
	@grep -q 'Your API description is valid' $(OPENAPI_CHECK_DIR)/lint.txt && ! grep -q 'You have [0-9]* warning' $(OPENAPI_CHECK_DIR)/lint.txt || { echo 'redocly lint: the OpenAPI document has errors or warnings (above)'; exit 1; }
	$(OPENAPI_NPM_DIR)/node_modules/.bin/openapi-typescript .cache/openapi.json -o $(OPENAPI_CHECK_DIR)/openapi.d.ts
	cp server/testdata/openapi/client.ts $(OPENAPI_CHECK_DIR)/client.ts
	$(OPENAPI_NPM_DIR)/node_modules/.bin/tsc --noEmit --strict --target es2022 --module es2022 --moduleResolution bundler --lib es2022,dom $(OPENAPI_CHECK_DIR)/client.ts

generate:
	$(GO) tool templ generate

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./rules/ ./answer/
	$(GO) test -run '^$$' -bench 'EvaluateAPI|EvaluateMixAPI' -benchmem ./server/
	$(GO) test -run '^$$' -bench DiagnosePage -benchmem ./server/
	$(GO) -C loadtest run .

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeAndEvaluate -fuzztime 2m ./answer/
	$(GO) test -run '^$$' -fuzz FuzzEvaluateAPI -fuzztime 2m ./server/
