# livecluster — top-level Makefile (plain GNU make, no autotools).
#
# Targets
#   all (default)  build/libstream.a and the daemons build/smd, build/spd, build/epd
#   check          deps, build, unit + integration tests, then the same tests on an
#                  AddressSanitizer+UBSan build, then a short libFuzzer pass
#   check-tests    lint, then build and run unit + integration tests, the link check and
#                  the abuse suite (no deps, no recursion)
#   lint           layering checks on the source tree and the manual pages' rendering
#                  (scripts/check-*.sh), no build needed
#   check-links    smd must not link the RTMP server, sessions or the hub
#   unit           build and run the cmocka unit tests
#   integration    run the black-box integration tests against the built daemons
#   abuse          the abuse suite: every flood class at spd and epd while an honest viewer
#                  watches; RSS growth, attacker closed, viewer kept up (test/abuse/run.sh)
#   topology       the seed's deployment on one machine: 1 smd, 5 spd, 34 epd, each in its
#                  own network namespace, publishers, viewers and every fault kind for 10
#                  minutes; prints the verdict and the targets (root; test/topology/)
#   topology-ci    its CI-sized form (1 smd, 3 spd, 6 epd, about a minute), part of
#                  check-tests; says it skipped without root or network namespaces
#   fuzz           build the libFuzzer targets and run each for FUZZ_SECONDS
#   coverage       gcov line coverage of libstream from the unit tests, per file and total
#   bench          benchmarks (figures only; never fails on time)
#   demo           a whole cluster on loopback (see README)
#   deps           install missing Debian packages (as root)
#   install        binaries, example configs, systemd units and manual pages
#   clean
#
# Variables
#   CC, CFLAGS, CPPFLAGS, LDFLAGS   respected; project flags are appended
#   SANITIZE=1     build with -fsanitize=address,undefined into build/asan
#   BUILD          output directory (default build, or build/asan with SANITIZE=1)
#   V=1            print full commands
#   FUZZ_SECONDS   seconds per fuzz target (default 60 for `make fuzz`; check uses 8)
#   FUZZ_CC        compiler for fuzz targets (default clang)
#   TOPOLOGY_ARGS  options for make topology (test/topology/topology.py --help)
#   PREFIX=/usr/local DESTDIR= SBINDIR SYSCONFDIR SYSTEMDUNITDIR MANDIR   install locations

VERSION := 0.1.0

CC ?= cc
CFLAGS ?= -O2 -g
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= /lib/systemd/system
MANDIR ?= $(PREFIX)/share/man

ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SAN_FLAGS :=
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

PKGS := libevent libevent_openssl openssl libconfig libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
override CPPFLAGS += -D_GNU_SOURCE -DLS_VERSION='"$(VERSION)"' -Ilibstream/include -Ilibstream -Itest
override CFLAGS += -std=c11 $(WARN) -MMD -MP $(SAN_FLAGS) $(PKG_CFLAGS)
override LDFLAGS += $(SAN_FLAGS)
LIBS := $(PKG_LIBS) -lm

# libstream/codec/ holds the pure codecs (scripts/check-pure.sh keeps them so).
LIB_SRCS := $(sort $(wildcard libstream/*.c libstream/codec/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIBSTREAM := $(BUILD)/libstream.a

# A daemon is built once its directory has sources.
DAEMONS := $(foreach d,smd spd epd,$(if $(wildcard $(d)/*.c),$(BUILD)/$(d)))

UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/test/unit/%)
TEST_SUPPORT_SRCS := $(sort $(wildcard test/support/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)
# Test tools: one C program per file, used by integration tests and benchmarks.
TOOL_SRCS := $(sort $(wildcard test/tools/*.c) $(wildcard test/bench/*.c))
TOOL_BINS := $(foreach s,$(TOOL_SRCS),$(BUILD)/tools/$(basename $(notdir $(s))))

.SECONDARY:

.PHONY: all check check-tests check-links lint unit integration abuse fuzz fuzz-check coverage \
        bench demo deps install clean tools topology topology-ci

all: $(LIBSTREAM) $(DAEMONS)

tools: $(TOOL_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBSTREAM): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

define daemon_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c)) $(LIBSTREAM)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach d,smd spd epd,$(eval $(call daemon_rule,$(d))))

$(BUILD)/test/unit/%: $(BUILD)/obj/test/unit/%.o $(TEST_SUPPORT_OBJS) $(LIBSTREAM)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

define tool_rule
$(BUILD)/tools/$(basename $(notdir $(1))): $(BUILD)/obj/$(basename $(1)).o $(TEST_SUPPORT_OBJS) $(LIBSTREAM)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach s,$(TOOL_SRCS),$(eval $(call tool_rule,$(s))))

# ---- daemon unit tests ---------------------------------------------------------------
# test/unit/D/test_*.c test daemon D's own logic in-process: each links D's objects except
# main.o (as chrony's test/unit does), plus those of the daemons in UNIT_PEERS_D (spd's
# registry client is tested against a real smd registry on loopback), and include those
# daemons' headers by name ("smd.h"). Discovered by pattern like the libstream tests:
# adding a test needs no edit here.
UNIT_PEERS_spd := smd
define daemon_unit_rule
$(1)_UNIT_BINS := $$(patsubst test/unit/$(1)/%.c,$(BUILD)/test/unit/$(1)/%,$$(sort $$(wildcard test/unit/$(1)/test_*.c)))
$(1)_UNIT_OBJS := $$(foreach d,$(1) $$(UNIT_PEERS_$(1)),$$(filter-out $(BUILD)/obj/$$(d)/main.o,$$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard $$(d)/*.c))))
ifneq ($$($(1)_UNIT_BINS),)
$(BUILD)/obj/test/unit/$(1)/%.o: override CPPFLAGS += $$(foreach d,$(1) $$(UNIT_PEERS_$(1)),-I$$(d))
$$($(1)_UNIT_BINS): $(BUILD)/test/unit/$(1)/%: $(BUILD)/obj/test/unit/$(1)/%.o $$($(1)_UNIT_OBJS) $$(TEST_SUPPORT_OBJS) $$(LIBSTREAM)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(CMOCKA_LIBS) $$(LIBS)
UNIT_BINS += $$($(1)_UNIT_BINS)
endif
endef
$(foreach d,smd spd epd,$(eval $(call daemon_unit_rule,$(d))))

# ---- tests -------------------------------------------------------------------------

unit: $(UNIT_BINS)
	$(Q)scripts/run-unit.sh $(UNIT_BINS)

integration: all tools
	$(Q)BUILD=$(BUILD) test/integration/run.sh

abuse: all tools
	$(Q)BUILD=$(BUILD) sh test/abuse/run.sh

# Cheap source checks (a second each) that run before any test.
lint:
	$(Q)scripts/check-layers.sh
	$(Q)scripts/check-pure.sh
	$(Q)scripts/check-selfcontained.sh
	$(Q)scripts/check-man.sh

check-tests: lint unit integration check-links abuse topology-ci

topology: all tools
	$(Q)BUILD=$(BUILD) sh test/topology/run.sh $(TOPOLOGY_ARGS)

# About a minute of 40 processes on the machine's cores: in the normal pass only (the
# sanitizers would judge their own slowness, not the cluster's).
ifeq ($(SANITIZE),1)
topology-ci:
	@echo "topology: the CI-sized run is part of the normal pass only"
else
topology-ci: all tools
	$(Q)BUILD=$(BUILD) sh test/topology/run.sh --ci
endif

# Under the sanitizers the abuse suite runs the attacks that drive the parsers and queues
# hardest (memory errors under floods; the media floods are CPU-bound under ASan and
# would judge the machine, not the daemon); the RSS and CPU figures that judge every flood
# class come from the normal build, which runs all of them. Keeps make check near 10 min.
ifeq ($(SANITIZE),1)
abuse: export ABUSE_ONLY ?= ackflood errorflood bigmsg amf3traits vodflood
endif

# The registry is not a media node: keep generic modules from dragging the media side in.
check-links: $(BUILD)/smd
	$(Q)scripts/check-smd-links.sh $(BUILD)/smd

ifeq ($(SANITIZE),1)
check: deps
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 check-tests
else
check: deps
	$(Q)$(MAKE) --no-print-directory check-tests
	@echo "== sanitizer build (ASan + UBSan): same tests"
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 check-tests
	@echo "== short fuzz pass"
	$(Q)$(MAKE) --no-print-directory fuzz-check
endif

# ---- fuzzing (clang libFuzzer) -------------------------------------------------------

FUZZ_SRCS := $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BUILD := build/fuzz
FUZZ_BINS := $(FUZZ_SRCS:test/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DLS_VERSION='"$(VERSION)"' -g -O1 -Ilibstream/include \
               -Ilibstream $(PKG_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=undefined
# libstream is instrumented once (fuzzer-no-link) and linked into every target.
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/libstream.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/%: test/fuzz/%.c $(FUZZ_BUILD)/libstream.a
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libstream.a \
	    $(PKG_LIBS) -lm

# A target named fuzz_D_*.c drives daemon D in-process: it also links D's objects except
# main.o (as D's unit tests do) and includes D's headers by name ("smd.h").
define fuzz_daemon_rule
FUZZ_$(1)_OBJS := $$(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c)))
$$(patsubst test/fuzz/%.c,$(FUZZ_BUILD)/%,$$(wildcard test/fuzz/fuzz_$(1)_*.c)): $(FUZZ_BUILD)/%: test/fuzz/%.c $$(FUZZ_$(1)_OBJS) $(FUZZ_BUILD)/libstream.a
	@$$(if $$(Q),echo "  FUZZ    $$@")
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) -I$(1) -fsanitize=fuzzer -o $$@ $$< \
	    $$(FUZZ_$(1)_OBJS) $(FUZZ_BUILD)/libstream.a $$(PKG_LIBS) -lm
endef
$(foreach d,smd spd epd,$(eval $(call fuzz_daemon_rule,$(d))))

fuzz: $(FUZZ_BINS)
	$(Q)scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-check: $(FUZZ_BINS)
	$(Q)scripts/run-fuzz.sh 8 $(FUZZ_BINS)

# ---- coverage ----------------------------------------------------------------------

coverage:
	$(Q)rm -rf build/cov
	$(Q)$(MAKE) --no-print-directory BUILD=build/cov CFLAGS="-O0 -g --coverage" \
	    LDFLAGS="--coverage" $(UNIT_SRCS:test/unit/%.c=build/cov/test/unit/%)
	$(Q)scripts/run-unit.sh $(UNIT_SRCS:test/unit/%.c=build/cov/test/unit/%) >/dev/null
	$(Q)scripts/coverage.sh build/cov $(LIB_SRCS)

# ---- operations --------------------------------------------------------------------

bench: all tools
	$(Q)BUILD=$(BUILD) test/bench/run.sh

demo: all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

deps:
	$(Q)scripts/deps.sh

install: all
	install -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(SYSCONFDIR)/livecluster" "$(DESTDIR)$(SYSTEMDUNITDIR)"
	install -m 755 $(DAEMONS) "$(DESTDIR)$(SBINDIR)"
	for f in conf/*.conf; do \
	    [ -e "$(DESTDIR)$(SYSCONFDIR)/livecluster/$$(basename $$f)" ] || \
	    install -m 644 $$f "$(DESTDIR)$(SYSCONFDIR)/livecluster/"; done
	for u in systemd/*.service.in; do \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u \
	        > "$(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$u .in)"; done
	install -d "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(MANDIR)/man8"
	install -m 644 man/*.5 "$(DESTDIR)$(MANDIR)/man5/"
	install -m 644 man/*.8 "$(DESTDIR)$(MANDIR)/man8/"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
