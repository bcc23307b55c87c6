# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# checks, a workload of realworld_syn.sh (sourced by it): HAProxy health
# checks of SERVERS servers at HAProxy's default interval (2 s), the
# first half layer-4 connect checks, the second "option httpchk GET", one
# source port each from 22001, all against nginx, for SECS seconds from
# HAProxy's start.  HAProxy does not time its checks one by one: conns is
# the client's TcpActiveOpens (one per check), stalls_1s its syn_rto.
# Adds the failed checks over the run (stats field chkfail).

checks_setup() {
	local i half=$((servers / 2))
	{
		cat "$here/checks.cfg"
		echo "backend l4"
		for i in $(seq 1 "$half"); do
			echo "	server l4-$i $saddr:80 check source $caddr:$((22000 + i))"
		done
		echo "backend http"
		echo "	option httpchk GET $uri"
		for i in $(seq $((half + 1)) "$servers"); do
			echo "	server h-$i $saddr:80 check source $caddr:$((22000 + i))"
		done
	} > "$work/checks.cfg"
	haproxy_start "$work/checks.cfg"
	echo "# checks: HAProxy health checks (inter 2 s) of $servers servers ($half layer-4 connect, $((servers - half)) httpchk GET $uri) -> nginx $saddr:80, one source port each"
}
checks_run() { sleep "$secs"; }
checks_fields() { echo "conns=$(d c TcpActiveOpens) stalls_1s=$(d c TcpExtTCPTimeouts)"; }
checks_extra() {
	awk -F, -v n="$servers" 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "chkfail") c = i; f++; next }
		 $2 != "BACKEND" && $2 != "FRONTEND" { s[f] += $c }
		 END { printf "servers=%d failed_checks=%d", n, s[2] - s[1] }' "$work/h0" "$work/h1"
}
# the capture's parts: "name pcap-filter" lines
checks_capture_parts() {
	local half=$((servers / 2))
	echo "layer4 src portrange 22001-$((22000 + half))"
	echo "httpchk src portrange $((22001 + half))-$((22000 + servers))"
}
