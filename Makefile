# Acceso: see README.md. Every tool is pinned in go.mod (go tool …).
GO ?= go

.PHONY: run test check bench fuzz generate

run:
	$(GO) run . serve

test:
	$(GO) tool opa test rules/
	$(GO) test ./...

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@test -z "$$($(GO) tool opa fmt --list rules)" || { $(GO) tool opa fmt --list rules; echo 'opa fmt: files above need formatting'; exit 1; }
	$(GO) tool opa check --strict rules/
	$(GO) run . rules test

generate:
	$(GO) tool templ generate

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./rules/
	$(GO) test -run '^$$' -bench EvaluateAPI -benchmem ./server/
	$(GO) run ./server/internal/loadtest

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeAndEvaluate -fuzztime 2m ./rules/
