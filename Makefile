# opt: top-level GNU makefile.
#
# Works from a fresh clone: config.mk is made by configure, and configure
# by autoreconf, whenever they are missing or older than their sources.
# `make check` and `make demo` first run scripts/install-deps, so that
# they pass on a fresh Debian machine.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

CONFIGURE_FLAGS ?= --prefix=/usr/local --sysconfdir=/etc \
	--localstatedir=/var --runstatedir=/run
PROVE ?= prove
PROVE_FLAGS ?=

NOCONFIG_GOALS := clean distclean help deb check-debian13
DEPS_GOALS := check check-valgrind demo bench

ifneq ($(filter $(DEPS_GOALS),$(MAKECMDGOALS)),)
ifeq ($(OPT_DEPS_DONE),)
deps_status := $(shell scripts/install-deps >&2; echo $$?)
ifneq ($(deps_status),0)
$(error scripts/install-deps failed with status $(deps_status))
endif
export OPT_DEPS_DONE := 1
endif
endif

ifneq ($(or $(filter-out $(NOCONFIG_GOALS),$(MAKECMDGOALS)),$(if $(MAKECMDGOALS),,all)),)
include config.mk
endif

config.mk: config.mk.in configure
	./configure $(CONFIGURE_FLAGS)

configure: configure.ac
	autoreconf -fi
	touch $@

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wwrite-strings -Wvla \
	-Wformat=2 -Wno-format-nonliteral
ifeq ($(SANITIZE),1)
SAN = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
endif
OPT_DIRS = -DOPT_CONFIG_DIR='"$(sysconfdir)/mast"' \
	-DOPT_RUN_DIR='"$(runstatedir)/mast"' \
	-DOPT_LOG_DIR='"$(localstatedir)/log/mast"' \
	-DOPT_SPOOL_DIR='"$(localstatedir)/spool/mast"' \
	-DOPT_VERSION='"$(VERSION)"'
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE $(WARN) $(SAN) -Ilib \
	$(PKG_CFLAGS) $(OPT_DIRS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN) $(LDFLAGS)

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:.c=.o)
CLI_OBJ = bin/cli.o
TOOLS = bin/opt-site bin/opt-channel bin/opt-tunnel bin/opt-throttle bin/opt-status \
	bin/opt-queue
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_TESTS = $(UNIT_SRC:.c=.test)
TEST_PROGS = tests/fake-printer tests/send-job tests/argv-exec tests/spool-put \
	tests/lp-device
FUZZ_TARGETS = conf legacy state valid
FUZZ_REPLAY = $(FUZZ_TARGETS:%=tests/fuzz/replay-%)
OBJ = $(LIB_OBJ) $(CLI_OBJ) $(STATUS_OBJ) $(TOOLS:=.o) $(UNIT_SRC:.c=.o) $(TEST_PROGS:=.o) \
	$(FUZZ_TARGETS:%=tests/fuzz/fuzz-%.o) tests/fuzz/replay.o

# Objects are rebuilt when the compiler flags change (SANITIZE=1 and back):
# the flags file is rewritten only when they differ.
FLAGS_FILE = .build-flags
BUILD_SIG = $(subst ','\'',$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS))
$(FLAGS_FILE): FORCE
	@printf '%s\n' '$(BUILD_SIG)' | cmp -s - $@ || \
		printf '%s\n' '$(BUILD_SIG)' >$@
FORCE:

.PHONY: all check clean distclean install uninstall deb demo bench help FORCE

all: $(TOOLS)

%.o: %.c $(FLAGS_FILE) config.mk
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

lib/libopt.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

bin/opt-%: bin/opt-%.o $(CLI_OBJ) lib/libopt.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# opt-status is three files (bin/status.h).
STATUS_OBJ = bin/status-prom.o bin/status-check.o
bin/opt-status: $(STATUS_OBJ)

tests/unit/%.test: tests/unit/%.o lib/libopt.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

tests/%: tests/%.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

tests/spool-put: tests/spool-put.o lib/libopt.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The fuzz targets, run without libFuzzer over their corpus and the inputs
# that once crashed them: regression tests in make check.
tests/fuzz/replay-%: tests/fuzz/fuzz-%.o tests/fuzz/replay.o lib/libopt.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# make fuzz [FUZZ_SECONDS=N]: each target under libFuzzer (clang) for N
# seconds, from a copy of its corpus; what crashes lands in
# tests/fuzz/crashers/ (keep it: it becomes a regression test).
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS = -std=c11 -D_DEFAULT_SOURCE -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Ilib $(PKG_CFLAGS) $(OPT_DIRS)
fuzz: config.mk
	scripts/install-deps --fuzz
	@set -e; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	for t in $(FUZZ_TARGETS); do \
		$(FUZZ_CC) $(FUZZ_FLAGS) -o "$$work/$$t" tests/fuzz/fuzz-$$t.c \
			$(LIB_SRC) $(PKG_LIBS); \
		mkdir -p "$$work/corpus-$$t"; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		"$$work/$$t" -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=tests/fuzz/crashers/$$t- \
			"$$work/corpus-$$t" tests/fuzz/corpus/$$t \
			>"$$work/$$t.log" 2>&1 || \
			{ tail -n 40 "$$work/$$t.log"; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|new_units_added)' \
			"$$work/$$t.log"; \
	done

export LSAN_OPTIONS = suppressions=$(CURDIR)/tests/lsan.supp

check: all $(UNIT_TESTS) $(TEST_PROGS) $(FUZZ_REPLAY)
	OPT_BIN=$(CURDIR)/bin tests/isolated $(PROVE) $(PROVE_FLAGS) -f \
		--exec '' $(UNIT_TESTS) $(sort $(wildcard tests/*.t))

# make check-valgrind: the tunnel tests with every tool under memcheck;
# any error or definite leak in any process fails it.
VALGRIND_TESTS = tests/tunnel-job-checksum.t tests/tunnel-printer-down.t \
	tests/tunnel-stop-drains.t \
	tests/tunnel-survives-sshd-restart.t tests/tunnel-hostkey-mismatch.t \
	tests/tunnel-allow-and-probe.t tests/channel-changes-are-live.t \
	tests/status-states.t tests/site-trust.t tests/site-import.t \
	tests/tunnel-kex-stall.t tests/spool-basics.t
check-valgrind: all $(TEST_PROGS)
	@logs=$$(mktemp -d); trap 'rm -rf "$$logs"' EXIT; \
	OPT_BIN=$(CURDIR)/bin VALGRIND_LOGS=$$logs tests/isolated \
		$(PROVE) $(PROVE_FLAGS) -f --exec '' $(VALGRIND_TESTS) || exit 1; \
	n=$$(ls "$$logs" | wc -l); bad=$$(grep -l . "$$logs"/* || true); \
	if [ -n "$$bad" ]; then cat $$bad; \
		echo "check-valgrind: errors in $$(echo $$bad | wc -w) of $$n processes"; \
		exit 1; fi; \
	echo "check-valgrind: $$n processes ran under memcheck, no error, no leak"

# make check-debian13: as root, make check SANITIZE=1, make deb and
# lintian on Debian 13, in a trixie tree that mmdebstrap builds
# once and keeps (scripts/check-debian13).
check-debian13:
	scripts/install-deps --debian13
	scripts/check-debian13

demo: all $(TEST_PROGS)
	scripts/demo

# make bench [BENCH_FLAGS=...]: opt against ssh + autossh + trickle, as
# root; writes bench/results/latest.md (see bench/README).
bench: all $(TEST_PROGS)
	bench/run $(BENCH_FLAGS)

# Where the files that are neither programs nor pages go.
systemdunitdir = $(prefix)/lib/systemd/system
tmpfilesdir = $(prefix)/lib/tmpfiles.d
logrotatedir = $(sysconfdir)/logrotate.d
bashcompdir = $(datadir)/bash-completion/completions

MAN_PAGES = $(wildcard man/*.[1-8])
SCRIPTS = $(filter-out %~,$(wildcard scripts/opt-* scripts/mast*))
MAST_UTILS = $(wildcard etc/mast-utils.mk)
UNITS = etc/systemd/opt-tunnels.service etc/systemd/opt-tunnel@.service
COMPLETED = opt-channel opt-throttle opt-tunnel opt-status opt-queue

# The files under etc/ name installed paths as @bindir@ and the like.
SUBST = sed -e 's|@bindir@|$(bindir)|g' \
	-e 's|@sysconfdir@|$(sysconfdir)|g' \
	-e 's|@runstatedir@|$(runstatedir)|g' \
	-e 's|@localstatedir@|$(localstatedir)|g'
# install_subst SRC DEST: SRC with the paths filled in, mode 0644.
install_subst = $(SUBST) $(1) >$(DESTDIR)$(2) && chmod 0644 $(DESTDIR)$(2)

# An existing defaults.conf is the administrator's: install never
# overwrites it (nor uninstall removes it), so that `make install` on a
# running host keeps its settings; the shipped defaults stay readable in
# etc/defaults.conf and opt.conf(5).  In the Debian package it is a
# conffile, which dpkg handles.
install: all
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(sbindir) \
		$(DESTDIR)$(systemdunitdir) $(DESTDIR)$(tmpfilesdir) \
		$(DESTDIR)$(logrotatedir) $(DESTDIR)$(bashcompdir)
	install -d -m 0750 $(DESTDIR)$(sysconfdir)/mast
	install -m 0755 $(TOOLS) $(DESTDIR)$(bindir)
	$(if $(SCRIPTS),install -m 0755 $(SCRIPTS) $(DESTDIR)$(sbindir))
	$(if $(MAST_UTILS),install -m 0755 $(MAST_UTILS) \
		$(DESTDIR)$(sbindir)/mast-utils)
	@if [ -e $(DESTDIR)$(sysconfdir)/mast/defaults.conf ]; then \
		echo "install: keeping $(DESTDIR)$(sysconfdir)/mast/defaults.conf"; \
	else \
		echo "install -m 0640 etc/defaults.conf" \
			"$(DESTDIR)$(sysconfdir)/mast/defaults.conf"; \
		install -m 0640 etc/defaults.conf \
			$(DESTDIR)$(sysconfdir)/mast/defaults.conf; \
	fi
	for m in $(MAN_PAGES); do \
		s=$${m##*.}; \
		install -d $(DESTDIR)$(mandir)/man$$s && \
		install -m 0644 $$m $(DESTDIR)$(mandir)/man$$s || exit 1; \
	done
	for u in $(UNITS); do \
		$(call install_subst,$$u,$(systemdunitdir)/$${u##*/}) || exit 1; \
	done
	$(call install_subst,etc/tmpfiles.d/open-printing-tunnel.conf,$(tmpfilesdir)/open-printing-tunnel.conf)
	$(call install_subst,etc/logrotate.d/open-printing-tunnel,$(logrotatedir)/open-printing-tunnel)
	install -m 0644 etc/bash-completion/opt $(DESTDIR)$(bashcompdir)/opt-site
	for t in $(COMPLETED); do \
		ln -sf opt-site $(DESTDIR)$(bashcompdir)/$$t || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(bindir)/,$(notdir $(TOOLS))) \
		$(addprefix $(DESTDIR)$(sbindir)/,$(notdir $(SCRIPTS))) \
		$(if $(MAST_UTILS),$(DESTDIR)$(sbindir)/mast-utils) \
		$(foreach m,$(MAN_PAGES),$(DESTDIR)$(mandir)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
		$(addprefix $(DESTDIR)$(systemdunitdir)/,$(notdir $(UNITS))) \
		$(DESTDIR)$(tmpfilesdir)/open-printing-tunnel.conf \
		$(DESTDIR)$(logrotatedir)/open-printing-tunnel \
		$(addprefix $(DESTDIR)$(bashcompdir)/,opt-site $(COMPLETED))

# The Debian package, into dist/.  dpkg-buildpackage cleans the tree and
# builds with Debian's flags and paths, so it works on a copy, leaving
# this tree's build (and whoever is using it) alone.
DEB_TREE = dist/build/open-printing-tunnel
deb:
	rm -rf dist/build
	mkdir -p $(DEB_TREE)
	tar -c --exclude=./.git --exclude=./dist -f - . | tar -x -C $(DEB_TREE)
	cd $(DEB_TREE) && dpkg-buildpackage -us -uc -b
	mv -f dist/build/open-printing-tunnel_*.deb dist/
	rm -rf dist/build
	@ls dist/open-printing-tunnel_*.deb

clean:
	rm -f $(OBJ) $(OBJ:.o=.d) lib/libopt.a $(TOOLS) $(UNIT_TESTS) $(TEST_PROGS) \
		$(FUZZ_REPLAY) $(FLAGS_FILE)

distclean: clean
	rm -rf config.mk config.log config.status configure aclocal.m4 \
		autom4te.cache dist

help:
	@echo "targets: all check check-valgrind check-debian13 fuzz demo bench install uninstall deb clean distclean"
	@echo "variables: SANITIZE=1 DESTDIR= prefix= sysconfdir= PROVE_FLAGS=-v FUZZ_SECONDS= BENCH_FLAGS="

-include $(OBJ:.o=.d)
