# Thin wrapper over CMake/CTest. The two commands README documents:
#   make demo   — build slogate and show the gate's decisions over a shipped history
#   make test   — install what the tests need (Debian, as root), build, run every test
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

DEB_PACKAGES := cmake ninja-build g++ ccache pkg-config googletest libgtest-dev libgmock-dev \
  libbenchmark-dev libboost-dev libssl-dev libcpprest-dev libyaml-cpp-dev prometheus-cpp-dev \
  prometheus clang-format clang-tidy curl tzdata

.PHONY: deps build test unit integration bench bench-prometheus fuzz-smoke fuzz-long format-check tidy demo clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

test: deps build format-check
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -L unit -j $(JOBS)

integration: build
	ctest --test-dir $(BUILD) --output-on-failure -L integration

bench: build
	$(BUILD)/tests/bench/engine_bench

# Cold start and Prometheus CPU against Sloth-style rules (about 6 minutes).
bench-prometheus: build
	$(BUILD)/tests/bench/prometheus_bench --slos 1000 --steady-minutes 10 --sloth-minutes 3

format-check:
	@files=$$(git ls-files 'controller/*.h' 'controller/*.cc' 'controller/*.cpp' 'tests/*.h' 'tests/*.cc'); \
	if [ -n "$$files" ]; then clang-format --dry-run --Werror $$files; fi

# clang-tidy (checked-in .clang-tidy) over every project source.
tidy: build
	@files=$$(git ls-files 'controller/*.cc' 'controller/*.cpp'); \
	for f in $$files; do clang-tidy --quiet -p $(BUILD) $$f 2>/dev/null || exit 1; done

# libFuzzer harnesses under ASan+UBSan (clang-14), 20 s each; fuzz-long: 10M runs each.
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
