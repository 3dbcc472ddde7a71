# tern - the commands people type. The build itself is CMake (CMakeLists.txt).
#   make          build build/tern
#   make run      install what is missing, build, start the demo server
#   make test     install what is missing, build, run every test (also under ASan+UBSan)
#   make fuzz     build the libFuzzer harnesses and run each briefly
#   make bench    compare tern with Dovecot (POP3, IMAP) and with Postfix (bench/README.md)
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
FUZZ_SECONDS ?= 20
# Tests run JOBS at a time (README.md, "How the test suite runs"): ctest
# tests, libFuzzer harnesses, and e2e test files (pytest-xdist; --dist
# loadfile keeps each file, with its module-scoped servers, on one
# worker). E2E_JOBS=1 runs the e2e files one after the other, as does a
# machine without xdist.
E2E_JOBS ?= $(JOBS)
E2E_PARALLEL := $(shell [ $(E2E_JOBS) -gt 1 ] && /usr/bin/python3 -c 'import xdist' 2>/dev/null && printf -- '-n %s --dist loadfile' $(E2E_JOBS))

.PHONY: all build deps deps-test run test unit unit-asan e2e e2e-asan fuzz fuzz-build clean bench

all: build

deps:
	@sh scripts/deps.sh

deps-test:
	@sh scripts/deps.sh test

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

build-asan/tern: FORCE
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

run: deps build
	@sh scripts/run-demo.sh

unit: build
	cd build && ctest -j $(JOBS) --output-on-failure

unit-asan: build-asan/tern
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j $(JOBS) --output-on-failure

e2e: build
	TERN_BIN=$(CURDIR)/build/tern /usr/bin/python3 -m pytest -q $(E2E_PARALLEL) tests/e2e

e2e-asan: build-asan/tern
	TERN_BIN=$(CURDIR)/build-asan/tern TERN_SANITIZED=1 /usr/bin/python3 -m pytest -q $(E2E_PARALLEL) tests/e2e

fuzz-build:
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DTERN_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

fuzz: fuzz-build
	@sh scripts/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS) $(JOBS)

test: deps-test
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) unit-asan
	$(MAKE) e2e-asan
	$(MAKE) fuzz FUZZ_SECONDS=8

bench: build
	@sh scripts/deps.sh bench
	/usr/bin/python3 bench/pop3_bench.py
	/usr/bin/python3 bench/smtp_bench.py
	/usr/bin/python3 bench/relay_bench.py
	/usr/bin/python3 bench/imap_bench.py

clean:
	rm -rf build build-asan build-fuzz

FORCE:
