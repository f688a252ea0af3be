# Acceso: see README.md. Every tool is pinned in go.mod (go tool …).
GO ?= go

# The help site's accessibility (axe-core, run in Chromium) and HTML validity
# (the Nu Html Checker, vnu-jar, run with Java) tests use these npm packages,
# installed once at these versions into .cache/npm (git-ignored).
AXE_CORE_VERSION := 4.14.1
VNU_JAR_VERSION := 26.9.27
NPM_DIR := .cache/npm
NPM_STAMP := $(NPM_DIR)/.installed-axe-core-$(AXE_CORE_VERSION)-vnu-jar-$(VNU_JAR_VERSION)

.PHONY: run test check bench fuzz generate npm-tools

run:
	@echo 'acceso: building (the first build compiles OPA and takes a few minutes)…'
	$(GO) run . serve

# The Rego tests run through the embedded OPA (acceso rules test), which
# builds with the binary; go tool opa would compile the whole OPA CLI first.
test: npm-tools
	$(GO) run . rules test
	$(GO) test ./...

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@test -z "$$($(GO) tool opa fmt --list rules)" || { $(GO) tool opa fmt --list rules; echo 'opa fmt: files above need formatting'; exit 1; }
	$(GO) tool opa check --strict --capabilities rules/capabilities.json rules/
	$(GO) run . rules test
	$(GO) tool templ generate
	@git diff --quiet -- '*_templ.go' || { git diff --stat -- '*_templ.go'; echo 'templ: generated files above were stale; commit them'; exit 1; }

npm-tools: $(NPM_STAMP)

# vnu-jar ships its jar; its install script (which would fetch a Java) is
# not needed and not run.
$(NPM_STAMP):
	npm install --no-save --no-audit --no-fund --ignore-scripts --prefix $(NPM_DIR) \
		axe-core@$(AXE_CORE_VERSION) vnu-jar@$(VNU_JAR_VERSION)
	touch $@

generate:
	$(GO) tool templ generate

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./rules/
	$(GO) test -run '^$$' -bench EvaluateAPI -benchmem ./server/
	$(GO) test -run '^$$' -bench DiagnosePage -benchmem ./server/
	$(GO) run ./server/internal/loadtest

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeAndEvaluate -fuzztime 2m ./rules/
	$(GO) test -run '^$$' -fuzz FuzzEvaluateAPI -fuzztime 2m ./server/
