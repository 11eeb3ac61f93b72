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
