# The front door. `make test` and `make run` are the two commands the README promises.
BUILD ?= build
JOBS ?= $(shell nproc)
PYTEST ?= /usr/bin/python3 -m pytest

.PHONY: all deps build test unit integration run examples bench bench-translate bench-proxy bench-failover bench-memory format clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

unit: build
	ctest --test-dir $(BUILD) --output-on-failure

integration: build
	CAUSEWAY_BIN=$(abspath $(BUILD))/causeway $(PYTEST) -q tests/integration

test: deps
	$(MAKE) unit
	$(MAKE) integration

run: deps build
	bash scripts/quickstart.sh $(abspath $(BUILD))/causeway

examples: build
	bash scripts/run-examples.sh $(BUILD)/causeway

bench: bench-translate bench-proxy bench-failover

bench-translate: deps build
	bash bench/translate_scale.sh

bench-proxy: deps build
	bash bench/proxy_bench.sh

bench-failover: deps build
	bash bench/failover_bench.sh

bench-memory: deps build
	CAUSEWAY=$(BUILD)/causeway bash bench/memory_bench.sh

format:
	clang-format -i $$(find src tests bench -name '*.[ch]')

clean:
	rm -rf $(BUILD)

# The unit and integration tests against an ASan + UBSan build of its own (build-sanitize). Every
# report fails the run: UBSan's are fatal (-fno-sanitize-recover), LeakSanitizer checks each exit,
# and tests/integration/conftest.py fails a test during which a causeway wrote a report.
SANITIZE_BUILD ?= build-sanitize
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 CAUSEWAY_SANITIZED=1
FUZZ_SECONDS ?= 60
.PHONY: test-sanitize fuzz

test-sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCW_SANITIZE=address,undefined
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	$(SANITIZER_ENV) ctest --test-dir $(SANITIZE_BUILD) --output-on-failure
	$(SANITIZER_ENV) CAUSEWAY_BIN=$(abspath $(SANITIZE_BUILD))/causeway $(PYTEST) -q tests/integration

# libFuzzer targets in fuzz/ (clang, ASan + UBSan), each run FUZZ_SECONDS; see fuzz/README.md.
fuzz:
	bash scripts/install-fuzz-deps.sh
	CC=clang cmake -S fuzz -B build-fuzz
	cmake --build build-fuzz -j $(JOBS)
	bash fuzz/run.sh build-fuzz $(FUZZ_SECONDS)
