# trk: the set-up and test entry points. CMake builds; this file installs and orchestrates.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS  += --no-print-directory
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian 12 packages the build, the tests and the demo need.
DEBS = cmake make gcc libc6-dev pkg-config lua5.4 liblua5.4-dev lua-cjson lua-cjson-dev \
       lua-busted libcurl4-openssl-dev libmicrohttpd-dev libsqlite3-dev ca-certificates \
       tzdata curl sqlite3 bc time     # bc, time: the red-team runners
DEBS += g++ libsimdjson-dev       # bindings/lazyjson.cpp: lazy records (simdjson On-Demand)
DEBS += lua-check                 # make lint
DEBS += clang libclang-rt-14-dev  # libFuzzer targets (make fuzz, and briefly in make test)
DEBS += luarocks                  # the rockspec's test
BENCH_DEBS = python3 time         # make bench: the Python reference and /usr/bin/time
PREFIX ?= /usr/local
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps build asan test demo clean bench soak fuzz fuzz-build install lint

all: build

# Installs only what is missing; apt-get update runs only then.
deps:
	@missing=$$(for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTRK_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# Lint, every test, the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer,
# then each fuzz target for a few seconds over its corpus.
test: lint build asan fuzz-build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)
	spec/fuzz/run.sh $(FUZZ_BUILD) 5

demo: build
	examples/demo.sh $(BUILD)/trk

# Every benchmark beside its target; writes bench/RESULTS.md. Not part of make test.
bench: DEBS += $(BENCH_DEBS)
bench: build
	bench/run.sh $(BUILD)/trk

# The reliability suite at full size (make test runs it scaled down).
soak: build
	cd $(BUILD) && TRK_SOAK=1 ctest --output-on-failure -R 'soak|journal|alloc'

# libFuzzer targets, built with clang; make fuzz runs each for FUZZ_SECONDS.
fuzz-build: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTRK_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) --target fuzzers -j$(JOBS)

fuzz: fuzz-build
	spec/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

lint: deps
	luacheck --quiet bindings/lua scripts examples spec

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
