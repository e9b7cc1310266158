# Setup, build, test, demo and benchmarks. Each target installs the system packages it needs
# when they are missing (apt-get update runs once, only then).
SWIFT ?= swift
DEB_PACKAGES := pkg-config libsqlite3-dev libzstd-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release test demo bench clean fuzz libfuzzer

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing </dev/null; \
	fi

build: deps
	$(SWIFT) build --product cairn

release: deps
	$(SWIFT) build -c release --product cairn

# Builds everything once (the CLI tests run the debug cairn this build makes), then runs
# XCTest and Swift Testing.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: release
	./scripts/demo.sh "$$($(SWIFT) build -c release --show-bin-path)/cairn"

bench: deps
	./bench/run.sh

clean:
	rm -rf .build

# The fuzz tests of `make test`, each target run for FUZZ_SECONDS from a new seed (printed;
# CAIRN_FUZZ_SEED=N replays one). Findings land in .build/fuzz-findings/ (docs/fuzzing.md).
# Then the SIGKILL tests of docs/reliability.md, KILL_ROUNDS kills per command (25 in make test).
FUZZ_SECONDS ?= 60
FUZZ_SEED ?= $(shell date +%s)
KILL_ROUNDS ?= 100
fuzz: deps
	$(SWIFT) build --build-tests
	CAIRN_FUZZ_SECONDS=$(FUZZ_SECONDS) CAIRN_FUZZ_SEED=$(FUZZ_SEED) $(SWIFT) test --skip-build --filter CairnFuzzTests
	CAIRN_KILL_ROUNDS=$(KILL_ROUNDS) $(SWIFT) test --skip-build --filter 'ReliabilityTests/sigkill'
	$(MAKE) libfuzzer

# libFuzzer (coverage-guided) on the value decoder and tree nodes, for FUZZ_SECONDS, from the
# regression inputs: an instrumented build of its modules in .build-fuzz (a second build, so
# not part of make test). A crash is saved as crash-*; copy it to testdata/fuzz/value/.
libfuzzer: deps
	$(SWIFT) build -c release --scratch-path .build-fuzz --product cairn-fuzz-value \
	  -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library -Xswiftc -DCAIRN_LIBFUZZER
	mkdir -p .build-fuzz/corpus && cp testdata/fuzz/value/* .build-fuzz/corpus/
	.build-fuzz/release/cairn-fuzz-value -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 .build-fuzz/corpus
