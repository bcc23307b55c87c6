# SPDX-License-Identifier: GPL-2.0
#
# Where the kselftest headers and the kernel's uapi headers come from, for
# selftests/Makefile and tools/Makefile alike (variables only: include it
# before anything else).
#
# lib.mk and kselftest.h come from KSFT_DIR: the parent folder inside a
# kernel tree, else the kernel source that scripts/kernel-src unpacked
# (build/7.3/stock, else build/6.12/stock; a source tree is enough, no
# kernel needs to have been built).  The programs need that kernel's uapi
# headers (struct tcp_info up to tcpi_rcv_wnd, BPF_TCP_* states), which
# the host's libc headers are too old for: inside a kernel tree those of
# "make headers" (KHDR_INCLUDES, as for every kselftest), else they are
# exported once into build/khdr/ with O=, leaving the source tree clean
# (lib/build.mk has the rule).

TCPTEST_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
KSFT_DIR ?= $(firstword $(patsubst %/lib.mk,%,$(wildcard \
	$(TCPTEST_DIR)/../lib.mk \
	$(TCPTEST_DIR)/../build/7.3/stock/tools/testing/selftests/lib.mk \
	$(TCPTEST_DIR)/../build/6.12/stock/tools/testing/selftests/lib.mk)))

ifeq ($(KSFT_DIR),)
$(error lib.mk and kselftest.h not found: run "scripts/kernel-src 7.3" (unpacks Debian's linux-source into build/7.3/stock, about a minute, no build) or pass KSFT_DIR=<kernel tree>/tools/testing/selftests)
endif
KSFT_DIR := $(abspath $(KSFT_DIR))
KSRC := $(abspath $(KSFT_DIR)/../../..)

ifeq ($(KSFT_DIR),$(abspath $(TCPTEST_DIR)/..))
KHDR_STAMP :=
else ifneq ($(KHDR_INCLUDES),)
KHDR_STAMP :=
else
KHDR_OUT := $(abspath $(TCPTEST_DIR)/../build/khdr/$(notdir $(patsubst %/,%,$(dir $(KSRC))))-$(notdir $(KSRC)))
KHDR_INCLUDES := -isystem $(KHDR_OUT)/usr/include
KHDR_STAMP := $(KHDR_OUT)/usr/include/linux/tcp.h
endif

LIB_HDRS := $(wildcard $(TCPTEST_DIR)/lib/*.h)
