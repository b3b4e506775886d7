# fcgi-run: the two commands.
#   make run    installs missing Debian packages, builds, starts fcgi-run on examples/
#   make test   installs, builds, runs every test (unit, end-to-end, fuzz 30 s under ASan+UBSan)
# Other targets: make (build only), make fuzz [FUZZ_SECONDS=N], make bench [QUICK=1], make clean.

BUILD        ?= build
BUILD_TYPE   ?= RelWithDebInfo
JOBS         ?= $(shell nproc)
FUZZ_SECONDS ?= 30
FUZZ_BUILD   ?= build-fuzz
CMAKE_FLAGS  ?=

.PHONY: all build deps test unit-test e2e-test fuzz fuzz-build run bench clean

all: build

deps:
	@scripts/install-deps test

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: deps build
	@echo "== unit and end-to-end tests (ctest)"
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	@echo "== fuzzing, $(FUZZ_SECONDS) s per target under ASan+UBSan"
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

fuzz-build:
	@scripts/install-deps build
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFCGI_RUN_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: fuzz-build
	@scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

run: deps build
	@scripts/run-example $(BUILD)

# Release build of what the benchmark measures, in its own directory (BENCH_BUILD).
bench:
	@scripts/install-deps bench
	@cmake -S . -B $(or $(BENCH_BUILD),build-bench) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(or $(BENCH_BUILD),build-bench) -j $(JOBS) --target fcgi-run fcgi_compat examples
	@bench/run --build $(or $(BENCH_BUILD),build-bench) $(if $(QUICK),--quick,)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
