# SPDX-License-Identifier: GPL-2.0
#
# Entry points of the project.  Everything kernel-level runs inside QEMU
# (scripts/vm-run); nothing here touches the host's own kernel.
#
#   make deps                          install Debian packages (idempotent)
#   make kernel BASE=7.3 VARIANT=patched
#   make module BASE=7.3 [VARIANT=patched]
#   make selftests                     the tests (selftests/) and the measurement tools (tools/)
#   make check-static                  no kernel, no VM: the first thing to run
#   make check                         the CI gate, both bases (34 min cold, 12 min warm, 2026-12-06)
#   make check-full [STAGE=name]       everything, in stages recorded in a ledger
#   make demo [BASE=6.12]              the before/after story (build/demo/<base>/report.md)
#   make bench [BASE=6.12] [BENCH_ARGS=--full]  A/B ratios (build/bench/<base>/results.rst)
#   make install-tools [PREFIX=/usr/local] [DESTDIR=]  the tracing tools and their manuals

BASE ?= 7.3
VARIANT ?= patched
BASES := 6.12 7.3

KOBJ = build/$(BASE)/$(if $(filter stock,$(VARIANT)),stock,patched)/$(if $(filter debug kcsan,$(VARIANT)),o-$(VARIANT),o)

.PHONY: all deps kernel kernels module selftests check check-full check-static demo bench clean help \
	install-tools uninstall-tools

all: help

help:
	@sed -n '3,15p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@scripts/deps

kernel: deps
	@case "$(BASE)" in 6.12|7.3) ;; *) echo "BASE must be 6.12 or 7.3, not '$(BASE)'" >&2; exit 2;; esac
	@case "$(VARIANT)" in stock|patched|debug|kcsan) ;; *) echo "VARIANT must be stock, patched, debug or kcsan, not '$(VARIANT)'" >&2; exit 2;; esac
	scripts/kernel-build $(BASE) $(VARIANT)

kernels: deps
	@for b in $(BASES); do for v in stock patched; do \
		scripts/kernel-build $$b $$v || exit 1; done; done

module: deps
	@test -f $(KOBJ)/Module.symvers || $(MAKE) --no-print-directory kernel
	$(MAKE) -C module KDIR=$(CURDIR)/$(KOBJ) W=1

selftests: deps
	$(MAKE) -C selftests
	$(MAKE) -C tools

# What CI runs (.ci/run): the checks that gate correctness (scripts/check
# --gate says which), on minimal kernels (scripts/kconfig/vm.config).
check: deps
	@scripts/check --gate $(CHECK_ARGS)

# Everything on both bases: our own stock kernels and Debian's images,
# per-patch builds of net/ipv4/ and net/ipv6/, 1000 load/unload cycles on
# the patched kernels, the toggle A/Bs, the bpftrace tools, the DKMS
# cycles, the 10-minute stress run and the option fuzz, and the
# patched-kernel checks again on debug kernels (KASAN, lockdep, kmemleak)
# and on the KCSAN kernels, and the kernel's own TCP selftests and
# packetdrill suite, stock against patched (upstream-<base>).  Hours
# under TCG.
# Each stage runs alone with STAGE=<name> (scripts/check --help lists
# them) and appends its verdict to Documentation/results/ledger.tsv, from
# which scripts/ledger-report writes Documentation/stages.rst.
FULL_STAGES := full-7.3 full-6.12 upstream-7.3 upstream-6.12 debug-7.3 debug-6.12 kcsan-7.3 kcsan-6.12 \
	long-7.3 long-6.12

check-full: deps
ifdef STAGE
	@scripts/check --stage $(STAGE) $(CHECK_ARGS)
else
	@rc=0; for s in $(FULL_STAGES); do scripts/check --stage $$s $(CHECK_ARGS) || rc=1; done; exit $$rc
endif

check-static: deps
	@scripts/check --static-only

demo: deps
	@scripts/demo --base $(BASE)

# The cost and the gain of the fixes, each an A/B in one boot of the
# patched kernel, repeated, as ratios with their spread (1 to 1.5 h per
# base; BENCH_ARGS=--full for the long profile, about 4.5 h by estimate).
bench: deps
	@scripts/bench --base $(BASE) $(BENCH_ARGS)

# The bpftrace tools on PATH, with their man pages (scripts/bpftrace/Makefile);
# no build, no dependency: what an operator runs on a host of their own.
PREFIX ?= /usr/local
install-tools:
	$(MAKE) -C scripts/bpftrace install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

uninstall-tools:
	$(MAKE) -C scripts/bpftrace uninstall PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

clean:
	$(MAKE) -C module clean KDIR=$(CURDIR)/$(KOBJ) >/dev/null 2>&1 || true
	$(MAKE) -C selftests clean >/dev/null 2>&1 || true
	$(MAKE) -C tools clean >/dev/null 2>&1 || true
	rm -rf build/vm build/results
