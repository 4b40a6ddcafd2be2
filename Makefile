# kiln: build, test, install.  GNU make.
#
#   make                    build ./build/kiln and the man pages
#   make check              unit and integration tests (through prove)
#   make check-faults       kill -9 at 20 points of a build, then reruns
#   make demo               the whole pipeline on a local repository
#   make deps               install the Debian packages kiln needs (as root)
#   make deb                build/deb/kiln_VERSION_ARCH.deb (dpkg-buildpackage)
#   make SANITIZE=address,undefined check
#   make fuzz               each libFuzzer target of tests/fuzz/ for FUZZ_SECONDS
#   make check-fuzz         each fuzz target once over its corpus and regressions

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
COMPLETIONSDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= /etc
DESTDIR   ?=
VERSION   := 0.1.0

CC        ?= cc
PKG_CONFIG ?= pkg-config
PKGS      := libguestfs libvirt libosinfo-1.0 libcurl libarchive libcrypto \
             liblzma libcrypt yaml-0.1 libxml-2.0 glib-2.0 gio-2.0 json-glib-1.0 blkid gpgme

ifneq ($(SANITIZE),)
O         ?= build-sanitize
SANFLAGS  := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
O         ?= build
SANFLAGS  :=
endif

# Leaks inside libraries (not kiln's) are listed in tests/lsan.supp.
ifneq ($(SANITIZE),)
export LSAN_OPTIONS = suppressions=$(abspath tests/lsan.supp):print_suppressions=0
export ASAN_OPTIONS = fast_unwind_on_malloc=0
export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
endif

CFLAGS    ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter -Werror
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm
ALL_CFLAGS = -std=gnu11 $(WARNFLAGS) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS) -Ilib -Icli $(PKG_CFLAGS) \
             -D_GNU_SOURCE -DKILN_VERSION='"$(VERSION)"' \
             -DKILN_SYSCONFDIR='"$(SYSCONFDIR)"' -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# Every .c of these directories is part of kiln; adding a file needs no
# edit here (a sysprep operation is one file and one table row).  The
# layers (cli/ and kiln.c -> verbs -> lib/) are kept apart by
# tests/check-layout.sh, which make check runs (tests/integration/04-layout.sh);
# see HACKING.md.
LIB_SRCS  := $(sort $(wildcard lib/*.c cli/*.c builder/*.c sysprep/*.c clone/*.c recipes/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(O)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(O)/%)
MAN_SRCS  := $(sort $(wildcard docs/*.scd))
MANS      := $(MAN_SRCS:docs/%.scd=$(O)/docs/%)

.SECONDARY:
.PHONY: all check check-unit check-integration check-layout check-faults check-fuzz check-images fuzz fuzz-build \
        install clean demo deps bench bench-smoke deb
all: $(O)/kiln $(MANS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/libkiln.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/kiln: $(O)/kiln.o $(O)/libkiln.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/libkiln.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(O)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -c -o $@ $<

$(O)/docs/%: docs/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@.tmp && mv $@.tmp $@

# deps first, as its own make run, so that a fresh machine gets pkg-config
# and the libraries before this Makefile asks pkg-config for flags.
check: deps
	@$(MAKE) --no-print-directory check-unit check-integration check-fuzz

check-unit: all $(UNIT_BINS)
	prove -f --exec '' $(UNIT_BINS)

# The layout rule alone, on the objects of this build (also part of
# check-integration, as tests/integration/04-layout.sh).
check-layout: all
	bash tests/check-layout.sh $(O)

# TESTS=tests/integration/10-fetch.sh runs one file.  Two streams of files
# run at once (TEST_JOBS=1 for one): the tests that boot guests, one after
# another, beside all the others (tests/run-integration.sh says why).
# 31-inspection-cache boots none; it runs in that stream, which is the
# shorter one, to even their lengths.
TESTS ?= $(sort $(wildcard tests/integration/*.sh))
TEST_JOBS ?= 2
BOOT_TESTS := 31-inspection-cache 44-clone-identity 45-remote 55-recipe-test 60-pipeline 62-boot-matrix
check-integration: all
	KILN=$(abspath $(O)/kiln) KILN_MANDIR=$(abspath $(O)/docs) \
	  TEST_JOBS=$(TEST_JOBS) BOOT_TESTS="$(BOOT_TESTS)" bash tests/run-integration.sh $(strip $(TESTS))

# The boot matrix on every bootable fixture (make check boots the UEFI-only
# and SELinux ones): MBR/extlinux, GPT hybrid BIOS+UEFI booted with the BIOS,
# GPT UEFI-only booted with OVMF, SELinux enforcing, LVM+XFS with /boot apart,
# btrfs subvolumes; 13 minutes under TCG on two cores, of which 5 built the
# LVM and btrfs fixtures (about 8 once they are cached).
check-images: all
	KILN=$(abspath $(O)/kiln) KILN_MANDIR=$(abspath $(O)/docs) \
	  KILN_BOOT_MATRIX="mbr hybrid uefi-only selinux lvm-xfs btrfs" prove -f --ext .sh tests/integration/62-boot-matrix.sh

# kill -9 at 20 points of a kiln build, each followed by a rerun (make
# check runs 5 of them, in tests/integration/52-build-faults.sh).
KILL_POINTS ?= 20
check-faults: all
	KILN=$(abspath $(O)/kiln) KILL_POINTS=$(KILL_POINTS) prove -f tests/faults/kill-build.sh

demo: deps
	@$(MAKE) --no-print-directory all
	KILN=$(abspath $(O)/kiln) bash tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	KILN=$(abspath $(O)/kiln) bash bench/run.sh

# The scale rows small, once (seconds, no appliance): memory at 16 MiB,
# 2 recipes.  make bench runs them at full size (bench/run.sh says how).
bench-smoke: all
	BENCH_ONLY="memory recipes" MEM_SIZES=16M RECIPES_N=2 QUICK=1 \
	    KILN=$(abspath $(O)/kiln) bash bench/run.sh

deps:
	@bash tests/deps.sh

# Fuzzing (tests/fuzz/README.md): one libFuzzer target per parser, built
# with clang into its own directory (gcc's -Werror build is the one that
# keeps the code warning-free; clang's own warnings are not errors here):
# lib/ with -fsanitize=fuzzer-no-link
# plus ASan and UBSan, each target linked with -fsanitize=fuzzer.
# make fuzz runs each for FUZZ_SECONDS on a copy of its corpus (and
# regression inputs); make check-fuzz runs each once over them.
FUZZ_O       ?= build-fuzz
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 600
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=gnu11 $(filter-out -Werror,$(WARNFLAGS)) -Wno-format-nonliteral -O1 -g $(FUZZ_SAN) -Ilib -Icli -Itests/fuzz $(PKG_CFLAGS) \
                -D_GNU_SOURCE -DKILN_VERSION='"$(VERSION)"' -DKILN_SYSCONFDIR='"$(SYSCONFDIR)"' -MMD -MP
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_O)/%.o,$(sort $(wildcard lib/*.c sysprep/*.c)))
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS    := $(FUZZ_SRCS:%.c=$(FUZZ_O)/%)

$(FUZZ_O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_O)/libkiln.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_O)/tests/fuzz/fuzz-%: $(FUZZ_O)/tests/fuzz/fuzz-%.o $(FUZZ_O)/tests/fuzz/fuzz.o $(FUZZ_O)/libkiln.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh fuzz $(FUZZ_O) $(FUZZ_BINS)

check-fuzz: $(FUZZ_BINS)
	bash tests/fuzz/run.sh check $(FUZZ_O) $(FUZZ_BINS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(O)/kiln $(DESTDIR)$(BINDIR)/kiln
	install -d $(DESTDIR)$(SYSCONFDIR)/kiln/repos.d
	install -m 644 repos/*.conf $(DESTDIR)$(SYSCONFDIR)/kiln/repos.d/
	for m in $(MANS); do \
	  case $$m in *.1) d=man1;; *.5) d=man5;; esac; \
	  install -m 644 $$m $(DESTDIR)$(MANDIR)/$$d/; \
	done
	install -d $(DESTDIR)$(COMPLETIONSDIR)
	install -m 644 completions/kiln.bash $(DESTDIR)$(COMPLETIONSDIR)/kiln

# The Debian package, built by dpkg-buildpackage in a copy of the tree
# under build/deb/ (it writes its .deb, .changes and .buildinfo into the
# parent of the tree it builds, and cleans that tree first): nothing
# outside build/deb/ is touched, ./build/kiln included.  Prints the .deb's
# path.  debian/changelog's version must be $(VERSION).
DEBDIR    := $(O)/deb
deb:
	@v=$$(dpkg-parsechangelog -S Version) && [ "$$v" = "$(VERSION)" ] || \
	  { echo "kiln: debian/changelog says $$v, the Makefile $(VERSION): make them agree" >&2; exit 1; }
	rm -rf $(DEBDIR)
	mkdir -p $(DEBDIR)/kiln-$(VERSION)
	tar -c --exclude=./build --exclude=./build-sanitize --exclude=./build-fuzz --exclude=./.git . | tar -x -C $(DEBDIR)/kiln-$(VERSION)
	cd $(DEBDIR)/kiln-$(VERSION) && dpkg-buildpackage -b -us -uc
	rm -rf $(DEBDIR)/kiln-$(VERSION)
	@echo $(abspath $(DEBDIR))/kiln_$(VERSION)_$$(dpkg-architecture -qDEB_HOST_ARCH).deb

clean:
	rm -rf build build-sanitize build-fuzz

-include $(LIB_OBJS:.o=.d) $(O)/kiln.d $(UNIT_SRCS:%.c=$(O)/%.d)
-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_SRCS:%.c=$(FUZZ_O)/%.d) $(FUZZ_O)/tests/fuzz/fuzz.d
