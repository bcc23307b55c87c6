# SPDX-License-Identifier: GPL-2.0
#
# lib/: the programs' helpers, one concern per file (each says on top what
# it is for), compiled once into $(OUTPUT)/libtcptest.a and linked into
# the programs of LIB_USERS, as net/tcp_ao/ does with its lib/.  Used by
# selftests/Makefile (after lib.mk) and tools/Makefile; the series' files
# in net/ stay self-contained, as they are upstream.  Needs lib/paths.mk,
# OUTPUT, CFLAGS, and lib.mk's msg and Q.

LIBDIR := $(OUTPUT)/libtcptest
LIB := $(OUTPUT)/libtcptest.a
LIBOBJ := $(patsubst $(TCPTEST_DIR)/lib/%.c,$(LIBDIR)/%.o,$(wildcard $(TCPTEST_DIR)/lib/*.c))
EXTRA_CLEAN += $(LIBDIR) $(LIB)

$(LIBDIR)/%.o: $(TCPTEST_DIR)/lib/%.c $(LIB_HDRS) $(KHDR_STAMP)
	$(call msg,CC,,$@)
	$(Q)mkdir -p $(LIBDIR)
	$(Q)$(CC) $(CFLAGS) $(CPPFLAGS) -c $< -o $@

$(LIB): $(LIBOBJ)
	$(call msg,AR,,$@)
	$(Q)$(RM) $@
	$(Q)$(AR) rcs $@ $^

$(LIB_USERS:%=$(OUTPUT)/%): $(LIB)

ifneq ($(KHDR_STAMP),)
$(KHDR_STAMP):
	$(call msg,HDRS,,$(KHDR_OUT))
	$(Q)$(MAKE) -s -C $(KSRC) O=$(KHDR_OUT) headers >/dev/null
endif
