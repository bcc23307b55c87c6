# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: the loopback connections of test-sysctl.sh
# (one_conn) wait for the server's end of one connection to reach a state
# before they close the client.  This reads that state from /proc/net/tcp
# or tcp6, in one place.

import socket

TCP_FIN_WAIT2 = 5
TIMER_TW = 3  # timer type of a timewait socket in /proc/net/tcp


def sock_state(family, lport, rport):
    """(state, timer type) of the socket with local port lport and remote
    port rport, or None.  A timewait socket shows its substate and timer
    type 3.  Loopback only, so the two ports name the connection."""
    path = "/proc/net/tcp6" if family == socket.AF_INET6 else "/proc/net/tcp"
    with open(path) as f:
        for line in f.readlines()[1:]:
            fld = line.split()
            if (int(fld[1].split(":")[1], 16) == lport and
                    int(fld[2].split(":")[1], 16) == rport):
                return int(fld[3], 16), int(fld[5].split(":")[0], 16)
    return None
