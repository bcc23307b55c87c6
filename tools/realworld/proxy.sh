# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# proxy, a workload of realworld_syn.sh (sourced by it): httperf (plain
# close, one request per connection) -> HAProxy 127.0.0.1:8080 -> nginx.
# The backend (proxy.cfg) has "option nolinger", "option
# http-server-close" and a source port range of PORTS ports from 21000.
# Adds HAProxy's backend connection errors and retries (stats fields econ
# and wretr) over the run.

proxy_setup() {
	local hi=$((21000 + ports - 1))
	render proxy.cfg SADDR="$saddr" CADDR="$caddr" HI="$hi" > "$work/proxy.cfg"
	haproxy_start "$work/proxy.cfg"
	echo "# proxy: httperf -> HAProxy 127.0.0.1:8080 (option nolinger, http-server-close, source $caddr:21000-$hi) -> nginx $saddr:80$uri"
}
proxy_run() { httperf_run 127.0.0.1 8080 --num-calls 1; }
proxy_fields() { httperf_summary; }
proxy_extra() {
	awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; f++; next }
		 $1 == "be" && $2 == "BACKEND" { e[f] = $c["econ"]; r[f] = $c["wretr"] }
		 END { printf "haproxy_conn_errors=%d haproxy_retries=%d", e[2] - e[1], r[2] - r[1] }' \
		"$work/h0" "$work/h1"
}
proxy_capture_parts() { :; }
