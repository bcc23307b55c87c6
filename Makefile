# SPDX-License-Identifier: GPL-2.0
#
# Entry points of the project.  Everything kernel-level runs inside QEMU
# (scripts/vm-run); nothing here touches the host's own kernel.
#
#   make deps                          install Debian packages (idempotent)
#   make kernel BASE=7.3 VARIANT=patched
#   make module BASE=7.3 [VARIANT=patched]
#   make selftests
#   make check                         the CI suite (7.3 in full, 6.12 static), < 1 h cold
#   make check-full                    everything on both bases, debug and KCSAN kernels too
#   make demo [BASE=6.12]              the before/after story (build/demo/<base>/report.md)
#   make bench [BASE=6.12] [BENCH_ARGS=--quick]  A/B ratios (build/bench/<base>/results.rst)

BASE ?= 7.3
VARIANT ?= patched
BASES := 6.12 7.3

KOBJ = build/$(BASE)/$(if $(filter stock,$(VARIANT)),stock,patched)/$(if $(filter debug kcsan,$(VARIANT)),o-$(VARIANT),o)

.PHONY: all deps kernel kernels module selftests check check-full check-static demo bench clean help

all: help

help:
	@sed -n '3,13p' Makefile | sed 's/^# \{0,1\}//'

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

# What CI runs (.ci/run), sized to pass in CI's 90 minutes on the 2-core
# machine with a warm ccache: 7.3 with our patched kernel and Debian's own
# image as the stock kernel, per-patch builds of the touched files, fewer
# module load/unload cycles; 6.12 static checks, per-patch builds, the
# series' own checks on its patched kernel, and on Debian's own 6.12 image
# the module test (the widener's bounds) and the reproducers.
CHECK_PROFILE := --light 6.12 --patched-vm 6.12 --debian-vm 6.12 --debian-stock 7.3 --bisect touched

check: deps
	@CHECK_CYCLES=$${CHECK_CYCLES:-300} CHECK_STOCK_CYCLES=$${CHECK_STOCK_CYCLES:-100} \
		CHECK_FUZZ_TRIALS=$${CHECK_FUZZ_TRIALS:-100} \
		scripts/check $(CHECK_PROFILE) $(CHECK_ARGS)

# Everything on both bases: our own stock kernels too, per-patch builds of
# net/ipv4/ and net/ipv6/, 1000 load/unload cycles on the patched kernels,
# the 10-minute stress run and the option fuzz, and the patched-kernel checks again on debug
# kernels (KASAN, lockdep, kmemleak; two more builds of about 50 min each,
# and hours under TCG) and on the 7.3 KCSAN kernel (one more build, 32 min).
check-full: deps
	@scripts/check --debug 6.12 --debug 7.3 --kcsan 7.3 --long $(CHECK_ARGS)

check-static: deps
	@scripts/check --static-only

demo: deps
	@scripts/demo --base $(BASE)

# The cost and the gain of the fixes, each an A/B in one boot of the
# patched kernel, repeated, as ratios with their spread (about 2 h;
# BENCH_ARGS=--quick for a short trial).
bench: deps
	@scripts/bench --base $(BASE) $(BENCH_ARGS)

clean:
	$(MAKE) -C module clean KDIR=$(CURDIR)/$(KOBJ) >/dev/null 2>&1 || true
	$(MAKE) -C selftests clean >/dev/null 2>&1 || true
	rm -rf build/vm build/results
