#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: a bounded, loopback-only driver that makes the
# FIN_WAIT1 -> timewait race happen on demand together with tcplat's race
# widener, so the bug (and later the fix) can be shown on any machine with
# two CPUs.  It only creates connections to 127.0.0.1 or ::1 and only reads
# the tcplat sysctls; set them up first (Documentation/tcplat-module.rst):
#
#   sysctl -w net.ipv4.tcplat.race_widen_port=47124 \
#             net.ipv4.tcplat.observe_port=47124 \
#             net.ipv4.tcplat.race_widen_us=100000 \
#             net.ipv4.tcplat.race_widen_mode=1      # or 2
#   python3 tcplat-repro.py --mode 1 --port 47124 --trials 10
#
# Mode 1 (delay the lock holder): the server closes first (orphaned
# FIN_WAIT1).  The client's delayed ACK of that FIN is sent from a timer on
# the server's CPU, whose softirq then runs tcp_time_wait(FIN_WAIT2) and is
# held there by the widener.  The client, on the other CPU, waits until the
# server's end of the connection shows FIN_WAIT2 in /proc/net/tcp{,6} (the
# full socket is set to FIN_WAIT2 just before tcp_time_wait(), and stays in
# the ehash for the whole hold), then --gap seconds more (default 0), and
# closes: its FIN finds the full socket, waits for the lock and then meets
# TCP_CLOSE.  Waiting for the state rather than for a fixed time keeps the
# race forced when the delayed ACK is late (a loaded host, TCG).
#
# Mode 2 (delay the waiter): the server half-closes and waits for FIN_WAIT2,
# then the client closes; its FIN finds the full server socket and is held
# by the widener before bh_lock_sock_nested().  --gap seconds later the
# server calls close(), and tcp_close() swaps the socket for a FIN_WAIT2
# timewait socket; the held FIN then meets TCP_CLOSE.
#
# The client closes with SO_LINGER, so its close() returns only once its FIN
# is acknowledged: a lost FIN shows up as a close() that lasts a
# retransmission timeout.  With --rst the client aborts (RST) instead.
# Per trial it prints the close() time and the closed_sk_segments delta;
# exit status 0 when every trial lost its segment, 1 otherwise.

import argparse
import os
import socket
import struct
import sys
import time

from tcpstate import TCP_FIN_WAIT2, sock_state
SYSCTL_DIR = "/proc/sys/net/ipv4/tcplat/"


def counter(name):
    try:
        with open(SYSCTL_DIR + name) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def pin(cpu):
    try:
        os.sched_setaffinity(0, {cpu})
    except (OSError, ValueError):
        pass


def tcp_state(sk):
    return sk.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


def spin(seconds):
    # Keep this CPU busy so the client's delayed-ACK timer fires here.
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def client(args, fam, host, r_go, w_res):
    pin(args.client_cpu)
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect((host, args.port))
    linger = (1, 0) if args.rst else (1, 5)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", *linger))
    if c.recv(1) != b"":
        os._exit(2)
    if args.mode == 1:
        cport = c.getsockname()[1]
        end = time.monotonic() + 2
        while time.monotonic() < end:
            st = sock_state(fam, args.port, cport)
            if st and st[0] == TCP_FIN_WAIT2:
                break
            time.sleep(0.001)
        time.sleep(args.gap)
    else:
        os.read(r_go, 1)
    t = time.monotonic()
    c.close()
    os.write(w_res, struct.pack("d", time.monotonic() - t))
    os._exit(0)


def trial(args, fam, host):
    lsk = socket.socket(fam, socket.SOCK_STREAM)
    lsk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsk.bind((host, args.port))
    lsk.listen(1)
    r_go, w_go = os.pipe()
    r_res, w_res = os.pipe()
    pid = os.fork()
    if pid == 0:
        lsk.close()
        client(args, fam, host, r_go, w_res)
    pin(args.server_cpu)
    lsk.settimeout(5)
    s, _ = lsk.accept()
    lsk.close()
    if args.mode == 1:
        s.close()
        # The delayed ACK (up to 200 ms), the hold, the client's close.
        spin(args.gap + 0.5)
    else:
        s.shutdown(socket.SHUT_WR)
        end = time.monotonic() + 2
        while tcp_state(s) != TCP_FIN_WAIT2 and time.monotonic() < end:
            time.sleep(0.001)
        os.write(w_go, b"g")
        time.sleep(args.gap)
        s.close()
    _, status = os.waitpid(pid, 0)
    data = os.read(r_res, 8) if status == 0 else b""
    for fd in (r_go, w_go, r_res, w_res):
        os.close(fd)
    return struct.unpack("d", data)[0] if len(data) == 8 else None


def main():
    p = argparse.ArgumentParser(description="loopback driver for the tcplat race widener")
    p.add_argument("--mode", type=int, choices=(1, 2), default=1,
                   help="widener mode the sysctls are set to (default 1)")
    p.add_argument("--port", type=int, default=47124)
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--gap", type=float, default=None,
                   help="mode 1: seconds from the server's FIN_WAIT2 to the "
                   "client's close (default 0); mode 2: from the held FIN to "
                   "the server's close (default 0.01)")
    p.add_argument("--ipv6", action="store_true", help="use ::1 instead of 127.0.0.1")
    p.add_argument("--rst", action="store_true", help="client aborts with RST")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    args = p.parse_args()
    if args.gap is None:
        args.gap = 0.0 if args.mode == 1 else 0.01
    args.trials = max(1, min(args.trials, 1000))

    fam, host = (socket.AF_INET6, "::1") if args.ipv6 else (socket.AF_INET, "127.0.0.1")
    lost = 0
    for i in range(args.trials):
        before = counter("closed_sk_segments")
        took = trial(args, fam, host)
        time.sleep(0.3)
        after = counter("closed_sk_segments")
        delta = None if before is None or after is None else after - before
        if delta:
            lost += 1
        took_ms = "?" if took is None else "%.1f" % (took * 1000)
        print("trial %d: client close() %s ms, closed_sk_segments +%s"
              % (i + 1, took_ms, "?" if delta is None else delta))
    print("%d of %d trials lost the client's %s" % (lost, args.trials,
                                                    "RST" if args.rst else "FIN"))
    return 0 if lost == args.trials else 1


if __name__ == "__main__":
    sys.exit(main())
