# The two commands a newcomer needs:  `make demo`  and  `make test`.  Both set up a fresh machine
# (Debian packages + a cached venv holding the torch and pyarrow wheels), build, and run; both are idempotent.
AHA_CACHE ?= $(HOME)/.cache/aha
BUILD ?= build
JOBS ?= $(shell nproc)
export CCACHE_DIR ?= $(AHA_CACHE)/ccache
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_MAXSIZE ?= 5G

.PHONY: setup configure build demo test clean

setup:
	@AHA_CACHE=$(AHA_CACHE) scripts/setup.sh

configure: setup
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	    -DCMAKE_PREFIX_PATH="$$(cat $(AHA_CACHE)/torch_cmake_prefix)" \
	    -DAHA_ARROW_ROOT="$$(cat $(AHA_CACHE)/arrow_root)" ; fi

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/aha train --config examples/tiny/grpo.json --overwrite

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)
