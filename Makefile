# fastsniff — see README.md. `make run` and `make test` are the quickstart.
GO       ?= go
BIN      ?= bin/fastsniff
PCAP     ?= testdata/pcaps/sniffer-06-gmail.pcap
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test unit lint bench fuzz clean demo-live

all: build

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/fastsniff

# Build fastsniff and run its main job on a bundled capture: reassemble
# every connection and print the connection log.
run: build
	$(BIN) -r $(PCAP) --conn-log - --digest

# What CI runs: formatting, vet, staticcheck, then every test with -race.
test: lint unit

unit:
	$(GO) test -race -count=1 -timeout 45m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Benchmarks with allocation counts (see docs/PERFORMANCE.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Short fuzzing of every fuzz target (FUZZTIME each).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done

# Live capture demo (root): a namespace and veth pair, a bundled capture
# replayed with tcpreplay, `fastsniff -i` on it, the connection log.
demo-live: build
	scripts/demo-live

clean:
	rm -rf bin
