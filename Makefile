# trainyard — one Makefile for the web app, the three workers and the tests.
#
# Sources are found by directory, so adding a file needs no edit here:
#   lib/base/*.c            -> libbase.a   (every binary: util, service shell, jobs)
#   lib/engine/*.c          -> libengine.a (every binary: tensors, nn, model, img)
#   app/*.c                 -> trainyard-web        (main() lives in main.c)
#   workers/<part>/*.c      -> trainyard-<part>     (main() lives in main.c)
#   examples/*.c            -> one program each
#   tests/unit/test_*.c     -> one test program each, linked with every part
#   tests/fuzz/fuzz_*.c     -> one libFuzzer harness each (clang)
#
# make            build everything into bin/
# make test       install missing packages, build, run every test
# make test SAN=1 the same under AddressSanitizer + UBSan (build/san/)
# make fuzz       build the fuzz harnesses and run each for FUZZ_SECONDS
# make bench      benchmarks that print figures and ratios

SAN ?= 0
CC ?= cc
# O (objects, libraries, test programs) and BIN (the binaries) may be
# overridden, e.g. to keep two builds apart: make O=build/x BIN=build/x/bin
ifeq ($(SAN),1)
O ?= build/san
BIN ?= build/san/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1 -g
else
O ?= build/rel
BIN ?= bin
SANFLAGS :=
OPT := -O2 -g
endif

PKGS := sqlite3 libcurl libsodium libcjson libarchive openblas stb
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wformat=2 -Wvla
# -fno-math-errno: nothing reads errno after sqrtf/expf, and with errno
# set they cannot vectorise (Adam's update ran scalar: 2.3x slower).
CFLAGS += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS) -pthread \
	-fno-math-errno \
	-Ilib/base -Ilib/engine $(PKG_CFLAGS)
LDLIBS += -lcivetweb $(PKG_LIBS) -lm -lpthread -ldl
LDFLAGS += $(SANFLAGS) -pthread

PARTS := preprocess train infer
BASE_SRC := $(wildcard lib/base/*.c)
ENGINE_SRC := $(wildcard lib/engine/*.c)
COMMON_SRC := $(BASE_SRC) $(ENGINE_SRC)
APP_SRC := $(filter-out app/main.c,$(wildcard app/*.c))
part_src = $(filter-out workers/$(1)/main.c,$(wildcard workers/$(1)/*.c))
obj = $(patsubst %.c,$(O)/%.o,$(1))

LIB_COMMON := $(O)/libengine.a $(O)/libbase.a
LIB_APP := $(O)/libapp.a
LIB_PART = $(O)/lib$(1).a
ALL_LIBS := $(LIB_APP) $(foreach p,$(PARTS),$(call LIB_PART,$(p))) $(LIB_COMMON)

BINARIES := $(if $(wildcard app/main.c),$(BIN)/trainyard-web) \
	$(foreach p,$(PARTS),$(if $(wildcard workers/$(p)/main.c),$(BIN)/trainyard-$(p)))
EXAMPLES := $(patsubst examples/%.c,$(BIN)/%,$(wildcard examples/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all test tests deps fuzz bench clean format
.SECONDARY:
all: $(BINARIES) $(EXAMPLES)
tests: all $(UNIT_TESTS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/libbase.a: $(call obj,$(BASE_SRC))
$(O)/libengine.a: $(call obj,$(ENGINE_SRC))
# Each binary sees its own headers and the library's, not another part's:
# app/ objects get -Iapp; a worker's sources find their headers beside them.
$(O)/app/%.o: CFLAGS += -Iapp
$(O)/tests/%.o: CFLAGS += -Iapp
$(LIB_APP): $(call obj,$(APP_SRC))
$(foreach p,$(PARTS),$(eval $(call LIB_PART,$(p)): $(call obj,$(call part_src,$(p)))))
$(O)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@; ar rcs $@ $^

$(BIN)/trainyard-web: $(O)/app/main.o $(LIB_APP) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/trainyard-%: $(O)/workers/%/main.o $(O)/lib%.a $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/%: $(O)/examples/%.o $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(O)/tests/%: $(O)/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LDLIBS)

deps:
	@scripts/install-deps.sh

test: deps
	$(MAKE) tests O=$(O) BIN=$(BIN)
	SAN=$(SAN) BIN=$(abspath $(BIN)) TESTBIN=$(abspath $(O)/tests) tests/run

# libFuzzer harnesses: every source is rebuilt with clang and coverage.
FUZZ_O := build/fuzz
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -pthread -Ilib/base -Ilib/engine -Iapp \
	$(PKG_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined
FUZZ_SRC := $(COMMON_SRC) $(APP_SRC) $(foreach p,$(PARTS),$(call part_src,$(p)))
FUZZ_OBJ := $(patsubst %.c,$(FUZZ_O)/%.o,$(FUZZ_SRC))
FUZZERS := $(patsubst tests/fuzz/%.c,$(FUZZ_O)/%,$(wildcard tests/fuzz/fuzz_*.c))
$(FUZZ_O)/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_O)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
fuzz: deps $(FUZZERS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZERS)

bench: deps all
	bench/run

format:
	clang-format -i $(wildcard lib/*/*.[ch] app/*.[ch] workers/*/*.[ch] tests/unit/*.c)

clean:
	rm -rf build bin

-include $(shell find $(O) $(FUZZ_O) -name '*.d' -type f 2>/dev/null)

# Kubernetes (docs/deploy.md). k8s-validate: k8s/ against the API schemas,
# offline (also part of make test). test-k8s: the real deployment played by
# podman, pipeline included; needs root, takes a few minutes.
.PHONY: k8s-validate test-k8s
k8s-validate:
	bash tests/shell/test_k8s_manifests.sh
test-k8s:
	tests/k8s/test_k8s.sh
