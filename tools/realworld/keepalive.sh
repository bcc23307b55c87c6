# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# keepalive, a workload of realworld_syn.sh (sourced by it): httperf
# --close-with-reset, an HTTP keep-alive client that closes with
# SO_LINGER {1, 0} and reconnects at once, 2 requests per connection, one
# connection at a time, against nginx; the client's ip_local_port_range
# narrowed to PORTS ports from 40000 (1: every connection on one port).

keepalive_setup() {
	local hi=$((40000 + ports - 1))
	cx sysctl -qw net.ipv4.ip_local_port_range="40000 $hi" ||
		fail "cannot narrow ip_local_port_range to 40000-$hi"
	echo "# keepalive: httperf --close-with-reset --num-calls 2 -> nginx $saddr:80$uri, client ports 40000-$hi"
}
keepalive_run() { httperf_run "$saddr" 80 --num-calls 2 --close-with-reset; }
keepalive_fields() { httperf_summary; }
keepalive_extra() { :; }
keepalive_capture_parts() { :; }
