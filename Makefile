# fcgi-run: the two commands.
#   make run    installs missing Debian packages, builds, starts fcgi-run on examples/
#   make test   installs, builds, runs every test (unit, end-to-end, fuzz 30 s under ASan+UBSan)
# Other targets: make (build only), make fuzz [FUZZ_SECONDS=N], make bench [QUICK=1], make clean,
#   make install [PREFIX=/usr/local] [DESTDIR=], make deb (Debian package in $(BUILD)/).

BUILD        ?= build
BUILD_TYPE   ?= RelWithDebInfo
JOBS         ?= $(shell nproc)
FUZZ_SECONDS ?= 30
FUZZ_BUILD   ?= build-fuzz
ASAN_BUILD   ?= build-asan
CMAKE_FLAGS  ?=
PREFIX       ?= /usr/local

.PHONY: all build deps test unit-test e2e-test sanitize-test fuzz fuzz-build run bench soak clean install deb install-build

all: build

deps:
	@scripts/install-deps test

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: deps build
	@echo "== unit and end-to-end tests (ctest)"
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	@$(MAKE) --no-print-directory sanitize-test
	@echo "== fuzzing, $(FUZZ_SECONDS) s per target under ASan+UBSan"
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# ASan+UBSan: fcgi-run and the unit tests built with -DFCGI_RUN_SANITIZE=ON in
# $(ASAN_BUILD); the e2e suite (exec mode) and the conformance suite of $(BUILD)
# rerun against that fcgi-run (FCGI_RUN_BINARY); the fuzzers' regression inputs
# and seed corpora replayed by the ASan+UBSan replay binaries (fuzz-replay).
# libcompat is never sanitized (an ASan runtime preloaded into CGI programs
# breaks them): it is checked under valgrind memcheck instead, by the
# "libcompat-valgrind" ctest case of $(BUILD) (label valgrind). So fork and
# persistent modes are not rerun here. Nor is the ulimit -n 64 fault test: the
# sanitizer runtime needs descriptors of its own for its checks (it reports a
# false "invalid vptr" when pipe(2) fails with EMFILE), nor the RSS-bound tests
# ("bounded memory": ASan's shadow memory and quarantine inflate RSS).
sanitize-test:
	@echo "== ASan+UBSan: unit tests, fuzz regressions, then e2e (exec) and conformance against an ASan+UBSan fcgi-run"
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFCGI_RUN_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target fcgi-run fcgi_run_tests fuzz_replay
	$(ASAN_BUILD)/tests/fcgi_run_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure --timeout 600 -R '^fuzz-replay:'
	cd $(BUILD) && FCGI_RUN_BINARY=$(abspath $(ASAN_BUILD))/launcher/fcgi-run \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 -R '^(e2e-exec|conformance):' -E 'ulimit -n 64|bounded memory'

fuzz-build:
	@scripts/install-deps build
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFCGI_RUN_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: fuzz-build
	@scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Builds only what it serves (fcgi-run, its shim, the examples), quietly: make's
# output goes to $(BUILD)/make-run.log and is shown only if the build fails.
run: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	@echo "building fcgi-run and the examples (log: $(BUILD)/make-run.log)"
	@cmake --build $(BUILD) -j $(JOBS) --target fcgi-run fcgi_compat examples >$(BUILD)/make-run.log 2>&1 || \
	  { cat $(BUILD)/make-run.log; exit 1; }
	@scripts/run-example $(BUILD)

# Release build of what the benchmark measures, in its own directory (BENCH_BUILD),
# then the soak (QUICK=1: 20,000 requests instead of SOAK_REQUESTS).
bench:
	@scripts/install-deps bench
	@cmake -S . -B $(or $(BENCH_BUILD),build-bench) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(or $(BENCH_BUILD),build-bench) -j $(JOBS) --target fcgi-run fcgi_compat examples
	@bench/run --build $(or $(BENCH_BUILD),build-bench) $(if $(QUICK),--quick,)
	@$(MAKE) --no-print-directory soak $(if $(QUICK),SOAK_REQUESTS=20000,)

# Soak: SOAK_REQUESTS mixed requests (responder, authorizer, filter; crashes,
# aborts, disconnects, timeouts) split over exec, fork and persistent modes;
# prints each launcher's fd count and VmRSS after the first 1,000 requests and
# at the end, and fails unless they are flat (bench/soak). About 6 minutes for
# 200,000 on 2 cores.
SOAK_REQUESTS ?= 200000
soak:
	@cmake -S . -B $(or $(BENCH_BUILD),build-bench) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(or $(BENCH_BUILD),build-bench) -j $(JOBS) --target fcgi-run fcgi_compat process_control_programs
	python3 bench/soak --fcgi-run $(or $(BENCH_BUILD),build-bench)/launcher/fcgi-run \
	  --program $(or $(BENCH_BUILD),build-bench)/tests/e2e/programs/soak.cgi --requests $(SOAK_REQUESTS)

# What make install and make deb ship: fcgi-run, libfcgi-run-compat.so, the man page
# (cmake/Packaging.cmake has the layout). DESTDIR is honoured by cmake --install.
install-build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target fcgi-run fcgi_compat fcgi_run_man_page

install: install-build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

deb: install-build
	@command -v dpkg-shlibdeps >/dev/null || scripts/install-deps test
	cd $(BUILD) && cpack -G DEB
	@ls $(BUILD)/fcgi-run_*.deb

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD)
