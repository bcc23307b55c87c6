#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: tools/tcp_lo_stall with too few file descriptors
# for its clients.  Every socket() that fails must be counted as a failed
# transaction (failed_socket=, within failed=), never as a transaction of
# 0 us (which it was while FAIL_SOCKET was 0, the value of success), and
# the tool must still end by itself (exit 0 or 1, no crash).  The
# fin_ack_lat.sh pattern: the tool measures, this judges its output.
# Runs as root in a test VM; exit 0 pass, 1 fail, 4 skip.
set -uo pipefail

tool=$(cd "$(dirname "$0")/.." && pwd)/tcp_lo_stall
[ -x "$tool" ] || { echo "SKIP: $tool not built (make -C tools)"; exit 4; }
command -v prlimit > /dev/null || { echo "SKIP: prlimit not found"; exit 4; }

out=$(prlimit --nofile=14:14 "$tool" -4 -t 2 -c 16 2>&1)
rc=$?
line=$(grep '^tcp_lo_stall: family=ipv4 ' <<<"$out")
echo "$line"
key() { grep -o " $1=[0-9]*" <<<"$line" | cut -d= -f2; }
sock=$(key failed_socket) failed=$(key failed)

fail() { echo "FAIL: $*"; grep -E 'failed|error' <<<"$out" | head -n 5; exit 1; }
[ "$rc" -le 1 ] || fail "tcp_lo_stall exited $rc"
[ -n "$line" ] || fail "no summary line"
[ "${sock:-0}" -ge 1 ] || fail "socket() failures under RLIMIT_NOFILE 14 were not counted (failed_socket=${sock:-none})"
[ "${failed:-0}" -ge "$sock" ] || fail "failed=$failed < failed_socket=$sock"
echo "ok: $sock socket() failures counted as failed transactions ($failed failed)"
