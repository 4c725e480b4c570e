# Thin wrapper over CMake/CTest. The two commands README documents:
#   make demo   — build slogate and show the gate's decisions over a shipped history
#   make test   — install what the tests need (Debian, as root), then the CI stages
#                 below (CI_STAGES; .ci/run calls exactly this)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

# Sanitizer builds, one directory each, clang-14. -O0 -g1 costs about a third
# of the compile time of -O2 -g, and the suite is mostly I/O; the CPU-bound
# targets (engine, test-data generators) are -O2 anyway (SLOGATE_SANITIZE_OPTIMIZE
# in CMakeLists.txt). Debug: assert()s live; _GLIBCXX_ASSERTIONS: checked
# operator[], front(), optional access. Run-time options and suppression
# files: tests/sanitizers/ (compiled into every executable of these builds).
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
SAN_CMAKE = CC=clang-14 CXX=clang++-14 cmake -S . -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" -DCMAKE_CXX_FLAGS=-D_GLIBCXX_ASSERTIONS
# ASan+UBSan also builds the fuzz harnesses (for the smoke; without coverage
# instrumentation of the libraries, which would slow their tests 3-4x) and
# runs all 10,000 property-test histories. TSan builds the benchmarks (so they
# keep compiling) and runs 500 histories: the engine is single-threaded, TSan
# has nothing to find there that the ASan+UBSan run does not.
ASAN_CMAKE_FLAGS ?= -DSLOGATE_SANITIZE=address,undefined -DSLOGATE_BENCH=OFF \
  -DSLOGATE_FUZZ=ON -DSLOGATE_FUZZ_LIB_COVERAGE=OFF
TSAN_CMAKE_FLAGS ?= -DSLOGATE_SANITIZE=thread -DSLOGATE_BENCH=ON
TSAN_PROPERTY_CASES ?= 500

# What `make test` (CI) runs after deps, in order; every stage runs even when
# an earlier one failed, and the summary names the failed ones. Measured cold
# on the 2-vCPU machine (empty ccache, 2026-12-02): format-check 5 s, cppcheck
# 5 s, tidy 141 s, test-asan 665 s (build 352 s, 347 tests 239 s, fuzz smoke
# 60 s), test-tsan 500 s (build 351 s, 354 tests 147 s): 22 minutes, plus
# about a minute of apt-get on a fresh machine. test-plain (the g++
# RelWithDebInfo build of `make build`/`make demo`, 12 minutes cold) is not in
# it: every test already runs twice, under ASan+UBSan and under TSan, and the
# same -Werror warning set is checked by clang there; run it with
#   make CI_STAGES="format-check test-plain" test
CI_STAGES ?= format-check cppcheck tidy test-asan test-tsan

DEB_PACKAGES := cmake ninja-build g++ ccache pkg-config googletest libgtest-dev libgmock-dev \
  libbenchmark-dev libboost-dev libssl-dev libcpprest-dev libyaml-cpp-dev prometheus-cpp-dev \
  prometheus clang-format clang-tidy curl tzdata \
  clang-14 libclang-rt-14-dev llvm cppcheck

.PHONY: deps configure build test test-plain test-asan test-tsan lint unit integration bench \
  bench-prometheus fuzz-smoke fuzz-long format-check tidy cppcheck demo clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

configure:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	@failed=; for stage in $(CI_STAGES); do \
	  echo "=== make $$stage"; start=$$(date +%s); \
	  $(MAKE) --no-print-directory $$stage || failed="$$failed $$stage"; \
	  echo "=== make $$stage: $$(( $$(date +%s) - start )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "=== make test FAILED:$$failed"; exit 1; fi; \
	echo "=== make test: all stages passed"

# The RelWithDebInfo build (g++) and every test, all 10,000 property histories.
test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Every test under ASan+UBSan, then every fuzz harness for a few seconds.
test-asan:
	$(SAN_CMAKE) -B $(ASAN_BUILD) $(ASAN_CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)
	cmake --build $(ASAN_BUILD) --target fuzz-smoke

# Every test under TSan.
test-tsan:
	$(SAN_CMAKE) -B $(TSAN_BUILD) $(TSAN_CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	SLOGATE_PROPERTY_CASES=$(TSAN_PROPERTY_CASES) ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(JOBS)

lint: format-check cppcheck tidy

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -L unit -j $(JOBS)

integration: build
	ctest --test-dir $(BUILD) --output-on-failure -L integration

bench: build
	$(BUILD)/tests/bench/engine_bench
	$(BUILD)/tests/bench/kube_bench

# Cold start and Prometheus CPU against Sloth-style rules (about 6 minutes).
bench-prometheus: build
	$(BUILD)/tests/bench/prometheus_bench --slos 1000 --steady-minutes 10 --sloth-minutes 3

format-check:
	@files=$$(git ls-files 'controller/*.h' 'controller/*.cc' 'controller/*.cpp' 'tests/*.h' 'tests/*.cc'); \
	if [ -n "$$files" ]; then clang-format --dry-run --Werror $$files; fi

# clang-tidy-14 (checked-in .clang-tidy: findings are errors) over controller/
# and tests/ (the sources in $(BUILD)'s compile commands: configured, not built).
tidy: configure
	@run-clang-tidy-14 -p $(BUILD) -j $(JOBS) -quiet '$(CURDIR)/(controller|tests)/' \
	  > $(BUILD)/clang-tidy.log 2>&1; rc=$$?; \
	sed 's/\x1b\[[0-9;]*m//g' $(BUILD)/clang-tidy.log | \
	  grep -v -e '^clang-tidy-14 ' -e ' warnings generated\.$$' -e '^Suppressed [0-9]* warnings' \
	    -e '^Use -header-filter' -e '^$$'; \
	if [ $$rc -ne 0 ]; then echo "clang-tidy: findings above (log: $(BUILD)/clang-tidy.log)"; exit 1; fi; \
	echo "clang-tidy: no findings"

# cppcheck over controller/; suppressions (each with its reason) in .cppcheck-suppressions.
CPPCHECK_FLAGS := --std=c++20 --language=c++ --enable=warning,style,performance,portability \
  --suppressions-list=.cppcheck-suppressions --inline-suppr --error-exitcode=1 --quiet \
  -I controller --template='{file}:{line}: {severity} [{id}] {message}'
cppcheck:
	cppcheck $(CPPCHECK_FLAGS) -j $(JOBS) controller/
	@echo "cppcheck: no findings"

# libFuzzer harnesses under ASan+UBSan (clang-14) in their own -O2 build with
# coverage of the libraries: fuzz-smoke about a minute in all, fuzz-long 10M
# runs each. (`make test-asan` runs the same smoke from its -O0 build.)
FUZZ_BUILD ?= build-fuzz
fuzz-smoke fuzz-long:
	@dpkg-query -W -f='$${Status}' clang-14 libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed" || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev)
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSLOGATE_FUZZ=ON -DSLOGATE_SANITIZE=address,undefined -DSLOGATE_BENCH=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $@

demo: deps build
	$(BUILD)/tests/harness/slogate_demo

clean:
	rm -rf $(BUILD)

# The webhook server implementations side by side (about 12 minutes; README
# "Performance"): Beast (what slogate runs) and cpprestsdk's http_listener, one
# server thread each, wrk peak and slogate_loadgen at a fixed 2,000 req/s, with
# and without a malformed/oversize flood. Raw results in $(BUILD)/bench-webhook.
.PHONY: bench-webhook
bench-webhook:
	@dpkg-query -W -f='$${Status}' wrk 2>/dev/null | grep -q "install ok installed" || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk)
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS) --target slogate_loadgen cpprest_listener_bench
	BUILD=$(BUILD) bash tests/bench/webhook_compare.sh
