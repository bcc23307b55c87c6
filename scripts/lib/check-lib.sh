#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers and check functions for scripts/check.  Sourced, not run; it uses
# the caller's $top (project root), $out (log folder) and $bpftrace_args
# (options for test-bpftrace.sh, possibly none).
# Convention: a check function returns 0 for pass, 4 for skip (the last line
# of its output says why), anything else for failure.

: "${top:?}" "${out:?}"
passed=0 failed=0 skipped=0
failed_names=()
check_start=$(date +%s)
stage_names=()
stage_starts=()
stage_pending=

# stage NAME: the checks that follow belong to NAME (for the time table
# that summary prints).  Its header is printed, and its time starts, at
# its first check that runs: a stage that --only leaves empty is not shown.
stage() { stage_pending=$1; }

stage_open() {
	[ -n "$stage_pending" ] || return 0
	stage_names+=("$stage_pending")
	stage_starts+=("$(date +%s)")
	echo "== $stage_pending (at $(fmt_secs $(($(date +%s) - check_start))))"
	stage_pending=
}

fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# run NAME CMD...: one check.  With CHECK_ONLY set (scripts/check --only
# REGEX) a check whose name does not match is left out, not counted.  With
# CHECK_SKIP set (--skip REGEX) a check whose name matches is not run and
# is counted and printed as skipped, so that every summary shows it.
run() {
	local name=$1 log=$out/$1.log rc start secs
	shift
	if [ -n "${CHECK_ONLY:-}" ] && ! [[ "$name" =~ $CHECK_ONLY ]]; then
		return 0
	fi
	stage_open
	if [ -n "${CHECK_SKIP:-}" ] && [[ "$name" =~ $CHECK_SKIP ]]; then
		skipped=$((skipped + 1))
		printf 'SKIP  %-36s %4ss  %s\n' "$name" 0 "left out by --skip '$CHECK_SKIP'"
		return 0
	fi
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0)
		passed=$((passed + 1))
		printf 'ok    %-36s %4ss\n' "$name" "$secs"
		;;
	4)
		skipped=$((skipped + 1))
		printf 'SKIP  %-36s %4ss  %s\n' "$name" "$secs" "$(tail -n1 "$log")"
		;;
	*)
		failed=$((failed + 1))
		failed_names+=("$name")
		printf 'FAIL  %-36s %4ss  (exit %d, log %s)\n' "$name" "$secs" "$rc" "${log#"$top"/}"
		fail_excerpt "$log" | sed 's/^/      | /'
		;;
	esac
}

# fail_excerpt LOG: what a failed check prints of its log, which is all a
# CI log keeps of it.  The last 15 lines, and before them the first five
# failed TAP lines and the start of a kernel splat that scripts/vm-run
# reported (the five console lines before its first matching line, that
# line and 15 more: title, CPU, RIP), when those are not already among the
# last 15.
fail_excerpt() {
	local log=$1 total from
	total=$(wc -l <"$log")
	from=$((total > 15 ? total - 14 : 1))
	awk -v from="$from" '
		NR >= from { next }
		/^not ok / && nok < 5 { print; nok++ }
		/^vm-run: kernel splat on the console:/ { splat = 22 }
		splat > 0 { print; splat-- }
	' "$log"
	tail -n 15 "$log"
}

summary() {
	local i end now
	now=$(date +%s)
	echo
	for i in "${!stage_names[@]}"; do
		end=${stage_starts[$((i + 1))]:-$now}
		printf 'time  %-10s %s\n' "${stage_names[$i]}" \
			"$(fmt_secs $((end - stage_starts[i])))"
	done
	printf 'time  %-10s %s\n' total "$(fmt_secs $((now - check_start)))"
	[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

# ledger_append STAGE RC: one line for a make check-full stage in
# Documentation/results/ledger.tsv (a header line first, when new): stage,
# commit (with -dirty for uncommitted changes), UTC date, seconds, passed,
# failed, skipped, verdict, the kernel source packages of the run's bases,
# the VM and the host.  scripts/ledger-report makes Documentation/stages.rst of
# it.  Uses the caller's $bases.
ledger_append() {
	local stage=$1 rc=$2 f=$top/Documentation/results/ledger.tsv commit pkgs=() b
	commit=$(git -C "$top" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
	# The ledger and the page made from it change with every stage.
	[ -z "$(git -C "$top" status --porcelain -- . ':!Documentation/results' \
		':!Documentation/stages.rst' 2>/dev/null)" ] ||
		commit+=-dirty
	# shellcheck disable=SC2154 # bases: set by scripts/check
	for b in "${bases[@]}"; do
		[ -f "$top/build/$b/PKG_VERSION" ] &&
			pkgs+=("linux-source-$b $(cat "$top/build/$b/PKG_VERSION")")
		[ -f "$top/build/$b/debian/.done" ] &&
			pkgs+=("linux-image-$b $(cut -d' ' -f1 "$top/build/$b/debian/.done")")
	done
	mkdir -p "${f%/*}"
	[ -s "$f" ] || printf 'stage\tcommit\tdate\tseconds\tpassed\tfailed\tskipped\tverdict\tpackages\tvm\thost\n' > "$f"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stage" "$commit" \
		"$(date -u +%Y-%m-%dT%H:%MZ)" "$(($(date +%s) - check_start))" \
		"$passed" "$failed" "$skipped" "$([ "$rc" -eq 0 ] && echo pass || echo FAIL)" \
		"$(IFS=';'; echo "${pkgs[*]:-none}")" \
		"QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') ${VM_RUN_ACCEL:-tcg}" \
		"$(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME")" >> "$f"
	echo "ledger: $stage appended to ${f#"$top"/}"
	"$top/scripts/ledger-report"
}

series_of() { "$top/scripts/series-apply" --list "$1"; }

# checkpatch --strict from the extracted tree on every patch of the series,
# once as from a kernel tree and once with --no-tree, as a poster might run
# it.  Two checks are ignored, for reasons that do not apply to these
# patches: UNKNOWN_COMMIT_ID, because Debian's source has no git history to
# resolve the ids of Fixes: tags and commit references against (they were
# checked against upstream by hand), and FILE_PATH_CHANGES ("does
# MAINTAINERS need updating?"), because the only new files are under
# tools/testing/selftests/net/, which the NETWORKING [GENERAL] entry already
# covers (checked below).  One report is dropped where it is a known false
# positive: "blank line after function declarations" on an
# EXPORT_IPV6_MOD{,_GPL}() line, which checkpatch does not know as an export
# macro (it only knows EXPORT_SYMBOL*); the net tree puts that macro right
# after the closing brace, as the 6.12 backport does.  Every other ERROR,
# WARNING or CHECK fails.  Debian's python3 comes first in PATH:
# spdxcheck.py needs python3-ply.
check_checkpatch() {
	local base=$1 p bad=0 res left mode
	scripts/kernel-src "$base" >/dev/null || return 1
	grep -q '^F:	tools/testing/selftests/net/$' "build/$base/stock/MAINTAINERS" || {
		echo "MAINTAINERS no longer covers tools/testing/selftests/net/"
		return 1
	}
	while read -r p; do
		for mode in --tree --no-tree; do
			res=$(cd "build/$base/stock" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl \
				--strict "$mode" --ignore UNKNOWN_COMMIT_ID,FILE_PATH_CHANGES "$p" 2>&1)
			left=$(checkpatch_reports "$res")
			echo "$(basename "$p") $mode: $(echo "$res" | grep '^total:'); $left counted"
			# Here-strings, not "echo | grep -q": under pipefail, grep -q
			# exiting on its match can leave echo with SIGPIPE and the
			# pipeline failing (a false verdict either way).
			if [ "$left" != 0 ] || ! grep -q '^total: ' <<<"$res" ||
				grep -q 'Traceback' <<<"$res"; then
				echo "$res"
				bad=1
			fi
		done
	done < <(series_of "$base")
	return $bad
}

# Our own C (module/, selftests/ but for net/, which check_checkpatch
# reads in the patches, tools/) under checkpatch --strict, as files.  Two
# reports are of the kernel's own idioms and are ignored: CONST_STRUCT,
# for the module's ctl_table copies that it hands to proc_do*() (as
# net/ipv4/sysctl_net_ipv4.c does) and its kmalloc'd table, and
# MACRO_ARG_REUSE, for its table initializer and for_each macro, whose
# arguments are constants and an iterator.
check_checkpatch_own() {
	local cp=$top/build/7.3/stock/scripts/checkpatch.pl f res bad=0 n=0
	scripts/kernel-src 7.3 >/dev/null || return 1
	local ign
	while read -r f; do
		n=$((n + 1))
		ign=CONST_STRUCT,MACRO_ARG_REUSE
		# QEMU's plugin API is glib's: GHashTable, GPtrArray, PRIx64
		[ "$f" = tools/qemu-insn-count.c ] && ign+=,CAMELCASE
		res=$(PATH=/usr/bin:$PATH "$cp" --strict --no-tree -q --show-types \
			--ignore "$ign" -f "$f" 2>&1)
		[ -z "$res" ] && continue
		echo "$res"
		bad=1
	done < <(git ls-files 'module/*.[ch]' 'selftests/*.[ch]' 'tools/*.[ch]' | grep -v '^selftests/net/')
	echo "checkpatch --strict: $n files"
	[ "$n" -gt 0 ] && return $bad
}

# Number of ERROR/WARNING/CHECK reports in checkpatch output $1, minus the
# known false positive described above.
checkpatch_reports() {
	awk 'BEGIN { RS = ""; n = 0 }
	     /^(ERROR|WARNING|CHECK):/ {
		if ($0 ~ /Please use a blank line after function\/struct\/union\/enum declarations/ &&
		    $0 ~ /\n\+EXPORT_IPV6_MOD(_GPL)?\(/)
			next
		n++
	     }
	     END { print n }' <<<"$1"
}

# One source of truth for the selftests the upstream series adds:
# selftests/net/ holds exactly the files the series adds to
# tools/testing/selftests/net/ (its packetdrill scripts stay in the
# patches: they differ between the bases), byte for byte.  Edit
# selftests/net/, then regenerate the patches with scripts/series-resync.
check_selftest_sync() {
	local base=$1 commit f n=0 bad=0 st=$top/build/$1/stock
	local -A added=()
	commit=$(scripts/series-apply "$base") || return 1
	while read -r f; do
		added[${f#tools/testing/selftests/net/}]=1
		case "$f" in */packetdrill/*) continue ;; esac
		n=$((n + 1))
		if [ ! -f "$top/selftests/net/${f#tools/testing/selftests/net/}" ]; then
			echo "MISSING: $f is not in selftests/net/"
			bad=1
		elif git -C "$st" show "$commit:$f" |
		     cmp -s - "$top/selftests/net/${f#tools/testing/selftests/net/}"; then
			echo "same: $f"
		else
			echo "DIFFERS: $f (patch) vs selftests/net/${f#tools/testing/selftests/net/}"
			bad=1
		fi
	done < <(git -C "$st" diff --name-only --diff-filter=A pristine "$commit" -- tools/testing/selftests/net/)
	while read -r f; do
		[ -n "${added[$f]:-}" ] && continue
		echo "EXTRA: selftests/net/$f is not a file the $base series adds"
		bad=1
	done < <(git -C "$top" ls-files selftests/net/ | sed 's|^selftests/net/||')
	echo "$n files compared"
	[ "$n" -gt 0 ] || { echo "the series adds no selftest"; return 1; }
	return $bad
}

# Every Documentation/ page parses without a docutils warning.
check_docs() {
	local pages=(Documentation/*.rst) f
	# One level of subfolders too (reference/ ...); results/ holds result
	# files, not pages.
	for f in Documentation/*/*.rst; do
		[ -e "$f" ] || continue
		case $f in Documentation/results/*) continue ;; esac
		pages+=("$f")
	done
	scripts/lib/rst-check.py "${pages[@]}" || return 1
	# The stage ledger's page is generated, never edited by hand.
	if ! diff -u Documentation/stages.rst <(scripts/ledger-report --stdout); then
		echo "Documentation/stages.rst is not what scripts/ledger-report makes of the ledger"
		return 1
	fi
	# So is the results page, from the result files' headers; a header
	# without its fields names its file.
	scripts/results-report --check || return 1
	if ! diff -u Documentation/results.rst <(scripts/results-report --stdout); then
		echo "Documentation/results.rst is not what scripts/results-report makes of Documentation/results/*.txt"
		return 1
	fi
	# The results part of the bench page, from the icount bench's result
	# files (scripts/bench-report --doc).
	if ! diff -u Documentation/bench.rst <(scripts/bench-report --doc --stdout); then
		echo "Documentation/bench.rst is not what scripts/bench-report --doc makes of Documentation/results/*-bench-icount-*.txt"
		return 1
	fi
	# The overhead table of the bpftrace page, from the result file its
	# marker names (scripts/measure/bpftrace-overhead --table).
	local ovf
	ovf=$(sed -n 's/^\.\. overhead table: \(results\/[^ ]*\.txt\)$/\1/p' Documentation/tools/bpftrace.rst)
	if [ -z "$ovf" ] || [ ! -f "Documentation/$ovf" ]; then
		echo "Documentation/tools/bpftrace.rst: no '.. overhead table: results/<file>.txt' marker naming a result file"
		return 1
	fi
	if ! diff -u <(awk '/^\.\. overhead table: /{on = 1; next} on && /^=/{n++} on && n {print} n == 3 {exit}' \
			Documentation/tools/bpftrace.rst) \
		     <(scripts/measure/bpftrace-overhead --table "Documentation/$ovf"); then
		echo "Documentation/tools/bpftrace.rst: the overhead table is not what scripts/measure/bpftrace-overhead --table makes of Documentation/$ovf"
		return 1
	fi
	# No file names a machine's own folders: paths are relative to the
	# top of the tree, a clone elsewhere is <clone>.  (The pattern is
	# written so that it does not match this line.)
	if git grep -nE '/(work|home)/' -- Documentation README.md scripts selftests module; then
		echo "machine paths above: make them relative to the top of the tree"
		return 1
	fi
}

check_shellcheck() {
	local files=() f
	while IFS= read -r f; do
		head -n1 "$f" | grep -Eq '^#!.*(ba)?sh' && files+=("$f")
	done < <(find scripts .ci selftests module tools -type f ! -name '*.c' ! -name '*.h' 2>/dev/null)
	echo "shellcheck ${#files[@]} files"
	shellcheck -x "${files[@]}"
}

# check_build DIR: a clean build of DIR (selftests or tools) in a folder of
# its own (the binaries in DIR may be in use by a VM run at the same
# time), then the build in DIR that the VM checks, scripts/measure/ and
# bench run, brought up to date without a clean.
check_build() {
	local o=$out/$1-build
	rm -rf "$o"
	mkdir -p "$o"
	make -j"$(nproc)" -C "$1" OUTPUT="$o" all || return 1
	make -j"$(nproc)" -C "$1" all
}

# Every patch builds on its own: apply patches 1..k to a pristine worktree
# and compile, with the VM kernel configuration, either (mode dirs) all of
# net/ipv4/ and net/ipv6/, or (mode touched) the objects of the kernel .c
# files that patches 1..k changed.  Those see every header change of the
# same patches, so a patch that leans on a later one fails there; what mode
# touched cannot see is a header change breaking a file no patch touches.
# It is meant for a base whose full kernel is built from the whole series
# anyway, or for a light base within CI's time.  The object folder sits in
# the worktree, so ccache serves unchanged objects.
check_bisect() {
	local base=$1 mode=${2:-dirs} n k wt=$top/build/$1/bisect targets
	n=$(series_of "$base" | wc -l)
	for k in $(seq 1 "$n"); do
		scripts/series-apply "$base" "$k" "$wt" >/dev/null || return 1
		echo "== patches 1..$k: $(git -C "$wt" log -1 --format=%s)"
		scripts/kernel-config "$wt" "$wt/o" patched || return 1
		if [ "$mode" = dirs ]; then
			targets=(net/ipv4/ net/ipv6/)
		else
			mapfile -t targets < <(git -C "$wt" diff --name-only pristine HEAD -- \
				'*.c' ':!tools/' ':!Documentation/' | sed 's/\.c$/.o/')
			if [ ${#targets[@]} -eq 0 ]; then
				echo "   no kernel .c file touched yet: nothing to compile"
				continue
			fi
		fi
		echo "   make ${targets[*]}"
		CCACHE_NOHASHDIR=true make -s -C "$wt" O="$wt/o" -j"$(($(nproc) + 1))" \
			CC="ccache gcc" LOCALVERSION= "${targets[@]}" || return 1
	done
}

# The module builds warning-free against each kernel (scripts/module-build).
module_dir() { echo "$top/build/$1/mod-$2"; }

check_module_build() {
	local res rc
	res=$(scripts/module-build "$1" "$2" 2>&1)
	rc=$?
	echo "$res"
	[ $rc -eq 0 ] || return 1
	if grep -q 'warning:' <<<"$res"; then
		echo "module build has warnings"
		return 1
	fi
}

bzimage() { echo "$top/build/$1/bzImage-$2"; }

# vm-run on one of our kernels, or (variant debian) on Debian's own kernel
# with its initramfs, as unpacked by scripts/debian-kernel.
#
# On the debug kernel (variant debug: KASAN, lockdep, kmemleak) each bound
# is DEBUG_SLOWDOWN (3) times longer, and the command runs under
# scripts/kmemleak-guard, which fails it when kmemleak finds a leak it left.
# On the KCSAN kernel (variant kcsan) the bounds grow the same way, the
# command runs under scripts/kcsan-guard (KCSAN must have been watching),
# the console is kept in build/check/kcsan/<check>.console, and
# scripts/kcsan-report fails the run on a data race in the series' lines
# or in tcplat.ko; races elsewhere in the kernel are listed, not failed.
# KCSAN watches one access in KCSAN_SKIP_WATCH (400 here, ten times
# Kconfig's 4000): a run of minutes, not syzbot's days, needs the density.
vm_run_on() {
	local base=$1 variant=$2 args=() guard=scripts/kmemleak-guard con rc
	local -x VM_RUN_BOOT_TIMEOUT=${VM_RUN_BOOT_TIMEOUT:-60}
	shift 2
	case "$variant" in
	debug | kcsan)
		VM_RUN_BOOT_TIMEOUT=$((VM_RUN_BOOT_TIMEOUT * ${DEBUG_SLOWDOWN:-3}))
		[ "$variant" = kcsan ] && guard=scripts/kcsan-guard
		while [ $# -gt 0 ]; do
			case "$1" in
			--timeout) args+=(--timeout "$(($2 * ${DEBUG_SLOWDOWN:-3}))"); shift 2 ;;
			--) args+=(-- "$guard"); shift; break ;;
			*) args+=("$1"); shift ;;
			esac
		done
		set -- "${args[@]}" "$@"
		;;
	esac
	if [ "$variant" = debian ]; then
		scripts/vm-run --debian "$base" "$@"
	elif [ "$variant" = kcsan ]; then
		# Not $out: some callers have a local "out" of their own.
		mkdir -p "$top/build/check/kcsan"
		con=$top/build/check/kcsan/${name:-vm}.console
		scripts/vm-run -k "$(bzimage "$base" kcsan)" --kcsan --console "$con" \
			--append "kcsan.skip_watch=${KCSAN_SKIP_WATCH:-400}" "$@"
		rc=$?
		[ -s "$con" ] || return $((rc ? rc : 1))
		scripts/kcsan-report "$base" "$con" || return $((rc ? rc : 1))
		return $rc
	else
		scripts/vm-run -k "$(bzimage "$base" "$variant")" "$@"
	fi
}

check_vm_boot() {
	local base=$1 k rel want rc
	k=$(bzimage "$base" patched)
	[ -e "$k" ] || { echo "no $k"; return 1; }
	want=$(sed -n 's/^release=//p' "build/$base/patched/o/BUILD-INFO")
	# One boot: the release is the one built, the exit status comes back,
	# and warnings, soft lockups and hung tasks panic the guest (vm-run's
	# command line; scripts/kconfig/vm.config says why not Kconfig).
	# (One line: vm-run does not carry newlines inside an argument.)
	local kp=/proc/sys/kernel cmd out panics
	cmd="uname -r; cat $kp/panic_on_warn $kp/softlockup_panic $kp/hung_task_panic"
	cmd+=' | tr "\n" " "; exit 3'
	out=$(VM_RUN_TIMING=1 scripts/vm-run -k "$k" -- sh -c "$cmd")
	rc=$?
	rel=$(sed -n 1p <<<"$out")
	panics=$(sed -n 2p <<<"$out")
	echo "guest uname -r: $rel (want $want)"
	echo "guest 'exit 3' -> vm-run exit $rc"
	echo "guest panic_on_warn softlockup_panic hung_task_panic: $panics"
	[ "$rel" = "$want" ] && [ $rc -eq 3 ] && [ "$panics" = "1 1 1 " ]
}

check_vm_module() {
	local base=$1 variant=$2 ko
	ko=$(module_dir "$base" "$variant")/tcplat.ko
	[ -f "$ko" ] || { echo "no $ko (module build failed?)"; return 1; }
	# Single-threaded TCG: arming and disarming kprobes under traffic is
	# not coherent across vCPUs under multi-threaded TCG (see
	# module/test-sysctl.sh); two vCPUs on one host thread are.  The
	# patched kernels get the full 1000 load/unload cycles under the race
	# reproducer, the stock ones 200 (same code path minus the static key;
	# 1000 cycles take 5-10 minutes under TCG).
	# Debian's kernel (variant debian) is a stock kernel, with its own
	# build of the fake key.
	# CHECK_CYCLES overrides the 1000 of the patched kernels and
	# CHECK_STOCK_CYCLES the 200 of the stock ones (make check sets both
	# lower to stay within CI's hour; make check-full leaves them).
	# The debug kernel (KASAN, lockdep, kmemleak) is slow under TCG: 200
	# cycles, and vm_run_on gives it a longer bound.  Patched and debug kernels have the real
	# key; the stand-in is the stock build's (test-sysctl.sh skips it).
	local cycles=${CHECK_CYCLES:-1000} timeout=1800 keyvariant=$variant
	case "$variant" in
	stock | debian) cycles=${CHECK_STOCK_CYCLES:-200} ;;
	debug | kcsan) cycles=200 ;;
	esac
	case "$variant" in patched | debug | kcsan) keyvariant=stock ;; esac
	vm_run_on "$base" "$variant" --tcg-single --timeout "$timeout" -- \
		env TCPLAT_FAKEKEY_KO="$(module_dir "$base" "$keyvariant")/test/tcplat_fakekey.ko" \
		TCPLAT_CYCLES="$cycles" module/test-sysctl.sh "$ko"
}

# All programs of selftests/ as kselftests (make run_tests: TAP, one
# verdict per program), among them the regression tests of kernel
# behaviour every kernel has (tcp_listen_queues, tcp_port_range).  The
# output is kept in build/results/.
check_vm_reproducers() {
	local base=$1 variant=$2 log
	log=$top/build/results/$base-$variant-reproducers.log
	mkdir -p "$top/build/results"
	vm_run_on "$base" "$variant" --timeout 1800 -- \
		make -s -C selftests run_tests 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || return 1
	tap_verdict "$log" "$(make -s -C selftests emit_tests | grep -c :)"
}

# What keeps working on a kernel without the series (make check runs it on
# Debian's image): the regression tests of selftests/ that every kernel
# passes (their verdict is the harness' exit status), every tool once
# with short settings (tools/tests/smoke.sh), and every tool refusing bad
# command lines (tools/tests/usage.sh).  The output is kept in
# build/results/.
check_vm_smoke() {
	local base=$1 variant=$2 log
	log=$top/build/results/$base-$variant-smoke.log
	mkdir -p "$top/build/results"
	# One line: vm-run hands the command to the guest's dash, which
	# cannot read the \$'...' quoting of an argument with a newline.
	vm_run_on "$base" "$variant" --timeout 900 -- sh -c "$(printf '%s && ' \
		selftests/tcp_stale_ack selftests/tcp_listen_queues \
		selftests/tcp_port_range tools/tests/usage.sh) tools/tests/smoke.sh" \
		2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ]
}

# tap_verdict LOG N: lib.mk's run_tests exits 0 whatever its tests did;
# the verdict is in its TAP lines: N results, none of them "not ok".
tap_verdict() {
	local res ok
	res=$(grep -Ec '^(not )?ok [0-9]+ ' "$1")
	ok=$(grep -Ec '^ok [0-9]+ ' "$1")
	echo "tap: $ok of $res results ok, $2 tests expected"
	[ "$2" -gt 0 ] && [ "$res" -eq "$2" ] && [ "$ok" -eq "$2" ]
}

# What users do: dkms add, build, install, modprobe, remove on Debian's own
# kernel of the base (module/test/dkms-cycle.sh).
check_vm_dkms() {
	scripts/vm-run --debian "$1" --timeout 1800 -- module/test/dkms-cycle.sh "$1"
}

# tools/tcp_lo_stall with too few file descriptors for its clients:
# tools/tests/lo_stall_nofile.sh judges that every socket() that fails is
# counted as a failed transaction (failed_socket=).  On a debug or KCSAN
# kernel the guards' verdicts come on top.
check_vm_lo_stall_socket_fail() {
	local base=$1 variant=${2:-patched} res rc
	res=$(vm_run_on "$base" "$variant" -- tools/tests/lo_stall_nofile.sh 2>&1)
	rc=$?
	grep -E '^(ok|FAIL|SKIP)|^tcp_lo_stall: ' <<<"$res"
	# 125 is a splat on the console (scripts/vm-run).
	if [ "$rc" -ne 0 ]; then
		grep -E 'vm-run|BUG|WARNING' <<<"$res" | head -n 10
		echo "lo_stall_nofile.sh: exit $rc"
		return 1
	fi
	if [ "$variant" = debug ] && ! grep -q '^kmemleak-guard: ok' <<<"$res"; then
		grep '^kmemleak-guard' <<<"$res" | head -n 20
		echo "no 'kmemleak-guard: ok' line: leak check failed or did not run"
		return 1
	fi
	if [ "$variant" = kcsan ] && ! grep -q '^series (0):' <<<"$res"; then
		grep -A 5 '^kcsan-report\|^series' <<<"$res" | head -n 20
		echo "no 'series (0):' line: a data race in the series, or the race check did not run"
		return 1
	fi
	grep '^kmemleak-guard' <<<"$res"
	return 0
}

# The upstream series' selftests (tcp_tw_relookup, tcp_syn_closed,
# tcp_rcvbuf_bound), no module loaded: each passes on a kernel with the
# series, and on a stock one fails with every trial forced and lost
# (selftests/series_xfail.sh).
check_vm_series_selftest() {
	local test=$1 base=$2 variant=$3 log
	case "$variant" in
	stock | debian)
		log=$top/build/results/$base-$variant-$test.log
		mkdir -p "$top/build/results"
		vm_run_on "$base" "$variant" --timeout 600 -- \
			selftests/series_xfail.sh "$test" 2>&1 | tee "$log"
		return "${PIPESTATUS[0]}" ;;
	esac
	check_vm_harness "$base" "$variant" "net/$test"
}

# A SYN that reaches a listener while close() moves it to TCP_CLOSE gets
# no ACK from it (issue 31; selftests/tcp_listener_close holds the SYN at
# the entry of tcp_v{4,6}_do_rcv() with a kprobe BPF program).  Every
# kernel must pass: a stock one sends nothing either.
check_vm_listener_close() {
	check_vm_harness "$1" "$2" tcp_listener_close
}

# check_vm_harness BASE VARIANT TEST: the kselftest_harness program
# selftests/TEST passes on that kernel, no module loaded.  The harness
# counts a skip (no BTF, no CONFIG_BPF_EVENTS) as a pass: here it fails.
check_vm_harness() {
	local log=$top/build/results/$1-$2-${3##*/}.log
	mkdir -p "$top/build/results"
	vm_run_on "$1" "$2" --timeout 600 -- "selftests/$3" 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || return 1
	if grep -q '^ok .* # SKIP' "$log"; then
		echo "$3 skipped on the $1/$2 kernel: $(grep -m1 -o '# SKIP.*' "$log")"
		return 1
	fi
}

# The series' packetdrill scripts and the kernel's own tcp_rcv_* scripts on
# a kernel with the series, with net.ipv4.tcp_shrink_window 0 and 2
# (selftests/packetdrill_vm.sh).  packetdrill is not a Debian package:
# without $PACKETDRILL (default build/packetdrill/packetdrill) the check
# is skipped, and says why.
check_vm_packetdrill() {
	local base=$1 variant=$2 pd=${PACKETDRILL:-$top/build/packetdrill/packetdrill}
	if [ ! -x "$pd" ]; then
		echo "no packetdrill ($pd): not a Debian package, build it from its public source"
		return 4
	fi
	vm_run_on "$base" "$variant" --timeout 900 -- env PACKETDRILL="$pd" \
		selftests/packetdrill_vm.sh "$top/build/$base/patched"
}

# The kernel's own TCP-related net selftests and upstream's packetdrill
# suite (scripts/measure/upstream-net-selftests) on our stock or patched
# kernel of BASE, their RESULT lines kept in upstream_out for the diff
# below (stage upstream-<base>).  The check fails only when the run did
# not complete; the verdicts are the diff's.  packetdrill: $PACKETDRILL,
# or the one on PATH; without it the suite is one skip line.  Its timing
# tolerance is 100 ms (PD_TOLERANCE_US; empty: the runner's 14 ms), what
# our stock kernels needed under TCG on a loaded 2-core host (issue 36).
# Each net selftest gets 300 s: tcp_fastopen_backup_key.sh's 16 rounds of
# ip netns exec took more than 120 s there, on stock and patched alike.
# UPSTREAM_PATCHED=<bzImage> puts another kernel in the patched one's
# place (a deliberate regression, to see the stage fail), UPSTREAM_TESTS
# and UPSTREAM_PKT (globs of packetdrill scripts) narrow the run.
upstream_out() { echo "$top/build/upstream-selftests/$1/results-$2.txt"; }

check_vm_upstream() {
	local base=$1 variant=$2 k res pd rc
	res=$(upstream_out "$base" "$variant")
	k=$(bzimage "$base" "$variant")
	[ "$variant" = patched ] && k=${UPSTREAM_PATCHED:-$k}
	[ -e "$k" ] || { echo "no $k"; return 1; }
	pd=${PACKETDRILL:-$(command -v packetdrill)}
	[ -n "$pd" ] && pd=$(realpath "$pd")
	rm -f "$res"
	echo "kernel: $(realpath "$k")"
	# shellcheck disable=SC2086 # UPSTREAM_TESTS: a list of test names
	scripts/vm-run -k "$k" --timeout "${UPSTREAM_VM_TIMEOUT:-5400}" -- \
		env ${pd:+PACKETDRILL="$pd"} UPSTREAM_PKT="${UPSTREAM_PKT:-}" \
		PD_TOLERANCE_US="${PD_TOLERANCE_US-100000}" PD_JOBS="${PD_JOBS:-1}" \
		PD_RETRIES="${PD_RETRIES:-1}" PD_TMO="${PD_TMO:-120}" \
		TMO=300 MMAP_TMO=300 MMAP_MTU=61512 \
		scripts/measure/upstream-net-selftests "$base" ${UPSTREAM_TESTS:-} |
		tee "$res.part"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] || ! grep -qx DONE "$res.part"; then
		echo "the run on $k did not complete (exit $rc)"
		return 1
	fi
	mv "$res.part" "$res"
	echo "$(grep -c '^RESULT ' "$res") results in ${res#"$top"/}"
}

# check_upstream_diff BASE net|packetdrill: the stock and patched results
# of one part side by side (scripts/upstream-diff): fails when a test that
# passes on stock does not pass on patched; a skip when both skipped all
# of it (packetdrill not found), saying why.
check_upstream_diff() {
	local base=$1 part=$2 f sel=(--drop '^packetdrill')
	for f in "$(upstream_out "$base" stock)" "$(upstream_out "$base" patched)"; do
		[ -f "$f" ] || { echo "no ${f#"$top"/}: its VM run failed"; return 1; }
	done
	[ "$part" = packetdrill ] && sel=(--only '^packetdrill')
	scripts/upstream-diff "${sel[@]}" --label "upstream $part $base" \
		"$(upstream_out "$base" stock)" "$(upstream_out "$base" patched)"
}

# The verdicts of scripts/upstream-diff on made-up runs, one per rule of
# its header: a pass kept, a pass lost (fail, skip, missing), a stock
# failure and a flake not held against patched, and the suite skipped on
# both kernels (no packetdrill in the VM), which must come out as a skip
# with the reason as its last line, never as a pass (issue 36).
check_upstream_diff_rules() {
	local d rc got want reason name s p
	d=$(mktemp -d) || return 1
	reason='packetdrill not found: build it from its public source, see Documentation/tests.rst'
	# name|stock RESULT lines|patched RESULT lines|exit wanted
	while IFS='|' read -r name s p want; do
		printf '%b' "$s" >"$d/s"
		printf '%b' "$p" >"$d/p"
		got=$(scripts/upstream-diff --label "$name" "$d/s" "$d/p")
		rc=$?
		echo "$name: exit $rc (want $want): $(echo "$got" | tail -n1)"
		if [ "$rc" -ne "$want" ]; then
			echo "$got"
			rm -rf "$d"
			return 1
		fi
	done <<-CASES
		same|RESULT a pass 0\nRESULT b skip 4 x\n|RESULT a pass 0\nRESULT b skip 4 x\n|0
		lost-fail|RESULT a pass 0\n|RESULT a fail 1 boom\n|1
		lost-skip|RESULT a pass 0\n|RESULT a skip 4 x\n|1
		lost-missing|RESULT a pass 0\nRESULT b pass 0\n|RESULT a pass 0\n|1
		stock-fails|RESULT a fail 1 x\n|RESULT a fail 1 x\n|0
		flaky-patched|RESULT a pass 0\n|RESULT a flaky 0 x\n|0
		no-results|\n|\n|1
		no-packetdrill|RESULT packetdrill skip 4 $reason\n|RESULT packetdrill skip 4 $reason\n|4
	CASES
	got=$(scripts/upstream-diff "$d/s" "$d/p" | tail -n1)
	rm -rf "$d"
	[ "$got" = "$reason" ] || { echo "the skip's last line is '$got', not the reason"; return 1; }
}

# The TIME_WAIT re-lookup switched off and on in one boot through tcplat
# (module/test/toggles.sh): off, net/tcp_tw_relookup fails; on, it passes.
check_vm_toggle() {
	local base=$1 variant=${2:-patched} ko
	ko=$(module_dir "$base" "$variant")/tcplat.ko
	[ -f "$ko" ] || { echo "no $ko (module build failed?)"; return 1; }
	vm_run_on "$base" "$variant" --timeout 1200 -- module/test/toggles.sh "$ko" tw
}

# The stale-ACK resend of patch 0004 (selftests/tcp_stale_ack: 20
# reconnects per family through a stale FIN_WAIT2 timewait peer, and a
# peer that answers every SYN with a stale ACK).  A kernel with the series
# passes all 6 tests.  A stock kernel passes reconnect_meets_stale_peer
# and reports the two tests of the fixed behaviour (syn_resent_behind_rst,
# stale_forever_times_out) as XFAIL for both families: the check wants
# exactly those 4, so that a stock kernel must really lack the fast
# resend; a skip, an XPASS or a missing test fails it on every kernel.
check_vm_stale_fast() {
	local base=$1 variant=$2 out rc xfail totals
	out=$(vm_run_on "$base" "$variant" --timeout 600 -- selftests/tcp_stale_ack 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || return 1
	totals='pass:6 fail:0 xfail:0 xpass:0 skip:0 error:0' xfail=0
	case "$variant" in
	stock | debian) totals='pass:2 fail:0 xfail:4 xpass:0 skip:0 error:0' xfail=4 ;;
	esac
	if ! grep -qx "# Totals: $totals" <<<"$out"; then
		echo "expected '# Totals: $totals' on the $base/$variant kernel"
		return 1
	fi
	if [ "$(grep -Ec '^ok [0-9]+ stale_peer\.ipv[46]\.(syn_resent_behind_rst|stale_forever_times_out) # XFAIL ' <<<"$out")" != "$xfail" ]; then
		echo "expected $xfail XFAILs, of the fixed behaviour's tests only"
		return 1
	fi
	[ $xfail -eq 0 ] || echo "ok: stock kernel: the stale peer was met, no fast resend (expected failures)"
}

# The bundled bpftrace tools beside scenarios they must show
# (scripts/bpftrace/test-bpftrace.sh): the losses on a stock kernel, the
# rescues on the patched one.  A run took 14 minutes under TCG on the
# shared 2-core host (2026-11-30, tcp-lo-stall's checks included).
check_vm_bpftrace() {
	local base=$1 variant=$2 expect=patched info
	case "$variant" in stock | debian) expect=stock ;; esac
	info=$(dirname "$(readlink -f "$(bzimage "$base" "$variant")")")/../../../BUILD-INFO
	if [ "$variant" != debian ] && ! grep -qx 'btf=yes' "$info" 2>/dev/null; then
		echo "the $base/$variant kernel has no BTF (built with KERNEL_BTF=0?): rebuild it without"
		return 1
	fi
	# shellcheck disable=SC2154 # bpftrace_args: set by scripts/check
	vm_run_on "$base" "$variant" --timeout 1500 -- \
		scripts/bpftrace/test-bpftrace.sh --expect "$expect" "${bpftrace_args[@]}"
}

# The bpftrace tools installed with make install and run by name on
# Debian's own image of BASE (6.1: Debian 12's default kernel, fetched
# here when missing): each works, degrades by column or refuses in one
# line, and leaves no tracefs mount (scripts/bpftrace/test-kernels.sh).
# About 4 minutes a boot under TCG; scripts/measure/bpftrace-kernels
# makes the documented table of the same runs.
check_vm_bpftrace_kernels() {
	local base=$1
	if [ ! -f "$top/build/$base/debian/.done" ]; then
		scripts/debian-kernel "$base" || return 1
	fi
	scripts/vm-run --debian "$base" --timeout 1200 -- scripts/bpftrace/test-kernels.sh
}

# The clamp policy of patch 0008 switched in one boot through tcplat
# (scripts/measure/ab rcvbuf, 8-second runs of the slow and never-reading
# readers), judged by tools/tests/rcvbuf_clamp.sh: "shrink" must keep
# sk_rcvbuf within 2 x tcp_rmem[1] with every byte delivered, and "grow"
# must bring the growth back for the slow reader.  The driver's files stay
# in build/results/clamp-toggle-<base>-<variant>/.
check_vm_clamp_toggle() {
	local base=$1 variant=${2:-patched} ko o
	ko=$(module_dir "$base" "$variant")/tcplat.ko
	[ -f "$ko" ] || { echo "no $ko (module build failed?)"; return 1; }
	o=$top/build/results/clamp-toggle-$base-$variant
	rm -rf "$o"
	mkdir -p "$top/build/results"
	# One line: vm-run hands the command to the guest's sh, which cannot
	# read bash's $'...' quoting of a newline.
	# shellcheck disable=SC2016  # the guest's shell expands them
	vm_run_on "$base" "$variant" --timeout 900 -- bash -c \
		'RCVBUF_READERS="slow none" scripts/measure/ab rcvbuf -k "$1" -n 1 -o "$2" -- -t 8; r=$?; tools/tests/rcvbuf_clamp.sh "$2/raw.txt" || r=1; exit $r' \
		clamp-toggle "$ko" "$o"
}

# The SYN fixes switched off and on in one boot through tcplat
# (module/test/toggles.sh): every switch brings its bug back.
check_vm_syn_toggle() {
	local base=$1 variant=${2:-patched} ko
	ko=$(module_dir "$base" "$variant")/tcplat.ko
	[ -f "$ko" ] || { echo "no $ko (module build failed?)"; return 1; }
	vm_run_on "$base" "$variant" --timeout 900 -- module/test/toggles.sh "$ko" syn
}

# Malformed and random segments at sockets in every state
# (selftests/tcp_bad_segments and tcp_bad_random,
# scripts/measure/bad-segments-ab): the stock kernel of the base and the
# patched one must answer every one the same way ("# CASE", "# RND"),
# and the patched one must pass; the stock kernel's verdicts are reported
# (it fails the hole test, which patch 0006 fixes).
check_vm_bad_segments() {
	local base=$1 stock=$2 a
	a=$(bzimage "$base" "$stock")
	[ "$stock" = debian ] && a=debian:$base
	# 500 random segments per family and state (issue 36: about 1,000
	# per state), about 20 minutes per pair of kernels under TCG
	scripts/measure/bad-segments-ab --timeout 7200 --random 500 \
		--out "$top/build/results/bad-segments-$base" "$a" "$(bzimage "$base" patched)"
}

# The same harness test on one kernel only (it must pass, XFAILs allowed;
# the CASE lines must be there), for make check's gate.
check_vm_bad_segments_one() {
	scripts/measure/bad-segments-ab --out "$top/build/results/bad-segments-$1" \
		"$(bzimage "$1" "$2")"
}

# The stress run (scripts/measure/stress): STRESS_SECONDS (600) of the
# reproducers at once with tcplat loaded, unloaded and reconfigured, then
# no splat, leak, stuck socket or bad byte.  Its logs stay in
# build/results/stress-<base>-<variant>/.
check_vm_stress() {
	local base=$1 variant=$2 secs=${STRESS_SECONDS:-600} o slow=1
	o=$top/build/results/stress-$base-$variant
	rm -rf "$o"
	mkdir -p "$top/build/results"
	# The workers' own bounds grow on a debug kernel like the VM's.
	case "$variant" in debug | kcsan) slow=${DEBUG_SLOWDOWN:-3} ;; esac
	vm_run_on "$base" "$variant" --tcg-single --timeout $((secs + 900)) -- \
		scripts/measure/stress --duration "$secs" --slow "$slow" \
		--ko "$(module_dir "$base" "$variant")/tcplat.ko" --out "$o"
}

# The race widener's budget alone (module/test/widen-budget.sh): under a
# burst of in-window RSTs at the armed port, no one-second interval spins
# more than 500 ms, and the counters account for every RST.
check_vm_widen_budget() {
	local base=$1 variant=$2 ko
	ko=$(module_dir "$base" "$variant")/tcplat.ko
	[ -f "$ko" ] || { echo "no $ko (module build failed?)"; return 1; }
	vm_run_on "$base" "$variant" --tcg-single --timeout 300 -- \
		module/test/widen-budget.sh "$ko"
}

# Every tcplat sysctl fuzzed (module/test/fuzz-sysctl.sh): bad, random,
# split and concurrent writes must fail cleanly and change nothing.
# CHECK_FUZZ_TRIALS random buffers per entry (300; make check: 30).
check_vm_fuzz_sysctl() {
	local base=$1 variant=$2 ko
	ko=$(module_dir "$base" "$variant")/tcplat.ko
	[ -f "$ko" ] || { echo "no $ko (module build failed?)"; return 1; }
	vm_run_on "$base" "$variant" --tcg-single --timeout 1800 -- \
		env TCPLAT_FUZZ_TRIALS="${CHECK_FUZZ_TRIALS:-300}" \
		module/test/fuzz-sysctl.sh "$ko"
}

