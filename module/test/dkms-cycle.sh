#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: users install tcplat with DKMS, on the kernel their
# distribution ships.  This runs that whole cycle -- stage the DKMS source,
# dkms add, build, install, modprobe tcplat, check that it is loaded and
# that its sysctls exist, modprobe -r, dkms remove -- against Debian's own
# kernel of one base, inside a test VM booted on that very kernel
# (scripts/vm-run --debian <base>), so that a packaging mistake (a file
# missing from the DKMS source, test code or Python shipped into /usr/src,
# a wrong DEST_MODULE_LOCATION, a module that does not load) fails a check.
#
#   scripts/vm-run --debian <6.12|7.3> -- module/test/dkms-cycle.sh <6.12|7.3>
#
# The guest's root is the host's, read-only; dkms needs /usr/src,
# /var/lib/dkms and /lib/modules/<release> writable.  Everything happens in a
# private mount namespace: tmpfs on /usr/src and /var/lib/dkms, and
# /lib/modules/<release> an overlay (tmpfs on top) of Debian's modules as
# scripts/debian-kernel unpacked them, with "build" pointing at Debian's
# headers.  Nothing under build/ is written.
# Where Debian's headers need another release's userland (7.3: trixie; its
# kbuild tools are linked against trixie's glibc) dkms runs inside that
# release's chroot (build/debian-root/<codename>, made by
# scripts/debian-kernel), itself an overlay with tmpfs on top, with the
# host's dkms and kmod copied in (that chroot has neither; both are a shell
# script and a program that run on the newer glibc), /proc, /sys and /dev
# mounted and the project bound at its own path.
#
# TAP output, ending with "# N passed, N failed, N skipped"; exits 1 on any
# failure, 4 (with "1..0 # SKIP") when not root or not on Debian's kernel
# of that base.

# The helpers are called through check "$@", which shellcheck cannot see.
# shellcheck disable=SC2317
set -u

me=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
base=${1:-}
case "$base" in
6.12 | 7.3) ;;
*)
	echo "usage: $me <6.12|7.3>" >&2
	exit 2
	;;
esac
deb=$top/build/$base/debian

# shellcheck source=module/test/tap.sh
. "$here/tap.sh"

need_root
[ -f "$deb/.done" ] || skip_all "build/$base/debian not prepared (scripts/debian-kernel $base)"
rel=$(cat "$deb/RELEASE")
[ "$(uname -r)" = "$rel" ] ||
	skip_all "running $(uname -r), not Debian's $rel (scripts/vm-run --debian $base)"
command -v dkms >/dev/null || skip_all "dkms not installed on the host (scripts/deps)"

# Mounts of our own, gone when the script ends.
if [ -z "${DKMS_CYCLE_NS:-}" ]; then
	DKMS_CYCLE_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/module/dkms.conf")
headers=$(realpath "$deb/headers")
mods=$deb/root/lib/modules/$rel
work=$(mktemp -d)
mount -t tmpfs tmpfs "$work"
br=$(cat "$deb/BUILDROOT")

echo "TAP version 13"
echo "# Debian kernel $rel, tcplat $ver, build root: $br"

# overlay LOWER DIR: DIR shows LOWER with a tmpfs on top.
overlay() {
	local up

	up=$(mktemp -d -p "$work")
	mkdir -p "$up/u" "$up/w" "$2"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$up/u,workdir=$up/w" "$2"
}

# The root dkms runs in: the guest's own for headers of the host's Debian
# release, else an overlay of that release's chroot.
if [ "$br" = host ]; then
	root=
else
	root=$work/root
	check "overlay of the $(basename "$br") chroot" overlay "$br" "$root"
	mkdir -p "$root$top"
	# Read-only: nothing in the chroot writes to the project.
	mount --bind "$top" "$root$top"
	mount -o remount,bind,ro "$root$top"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --bind /dev "$root/dev"
	# The host's dkms, kmod (depmod, modinfo, modprobe) and xz (dkms
	# compresses modules as the kernel's own are).
	for f in $(dpkg -L dkms | grep -E '^/(etc/dkms|usr/lib/dkms|usr/sbin/dkms)'); do
		[ -f "$f" ] && install -D -m "$(stat -c %a "$f")" "$f" "$root$f"
	done
	install -D -m 755 "$(realpath /sbin/modprobe)" "$root/usr/bin/kmod"
	install -D -m 755 "$(command -v xz)" "$root/usr/bin/xz"
	for t in depmod modinfo modprobe insmod rmmod lsmod; do
		ln -sf ../bin/kmod "$root/usr/sbin/$t"
	done
	tools_run() {
		local v

		v=$(chroot "$root" dkms --version) && echo "# $v" &&
			chroot "$root" modinfo --version >/dev/null &&
			chroot "$root" xz --version >/dev/null
	}
	check "dkms, kmod and xz run in the chroot" tools_run
fi

# tmpfs_at DIR: an empty tmpfs at DIR; where DIR does not exist on a
# read-only root (a host without /lib/modules), its parent first becomes an
# overlay of itself so that DIR can be made.
tmpfs_at() {
	local parent

	if ! mkdir -p "$1" 2>/dev/null; then
		parent=$(realpath -m "$1/..")
		overlay "$parent" "$parent" && mkdir -p "$1" || return 1
	fi
	mount -t tmpfs tmpfs "$1"
}
writable_dirs() {
	tmpfs_at "$root/usr/src" && tmpfs_at "$root/var/lib/dkms" &&
		tmpfs_at "$root/lib/modules"
}
check "tmpfs on /usr/src, /var/lib/dkms and /lib/modules" writable_dirs
check "Debian's modules of $rel as /lib/modules/$rel (overlay)" overlay "$mods" "$root/lib/modules/$rel"
ln -sfn "$headers" "$root/lib/modules/$rel/build"

# in_root CMD...: CMD where dkms runs, with a clean environment.
in_root() {
	if [ -z "$root" ]; then
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
	else
		chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 "$@"
	fi
}

# dkms_do ARGS...: dkms ARGS, its output as TAP comments.
dkms_do() {
	in_root dkms "$@" 2>&1 | sed 's/^/# dkms| /'
	return "${PIPESTATUS[0]}"
}

# --- the DKMS source ----------------------------------------------------

src=/usr/src/tcplat-$ver
check "make dkms-src stages $src" make -s -C "$top/module" dkms-src DEST="$root$src"
find "$root$src" -mindepth 1 -printf '# source| %P\n' | sort
check "$src: dkms.conf, Kbuild, Makefile and tcplat.h are there" \
	test -f "$root$src/dkms.conf" -a -f "$root$src/Kbuild" -a \
	-f "$root$src/Makefile" -a -f "$root$src/tcplat.h"
all_c_there() {
	local f

	for f in "$top"/module/tcplat_*.c; do
		[ -f "$root$src/${f##*/}" ] || return 1
	done
}
check "$src: every tcplat_*.c of module/ is there" all_c_there
# Test code is under test/ or named test*; the DKMS source has no
# scripts at all (dkms.conf is sourced, not run).
no_test_code() {
	! find "$root$src" -mindepth 1 \( -name 'test*' -o -name '*.py' \) | grep -q . &&
		! grep -rlq '^#!' "$root$src"
}
check "$src: no test code, no scripts" no_test_code

# --- dkms add, build, install -------------------------------------------

check "dkms add tcplat/$ver" dkms_do add "tcplat/$ver"
# status_is WORD: "dkms status tcplat" says WORD for this kernel (or, for
# "added", for the package).
status_is() {
	local st

	st=$(in_root dkms status tcplat 2>/dev/null)
	echo "# dkms status: ${st:-(nothing)}"
	case "$1" in
	added) grep -Fqx "tcplat/$ver: added" <<<"$st" ;;
	*) grep -q "^tcplat/$ver, $rel, [^:]*: $1" <<<"$st" ;;  # BRE: + is literal
	esac
}

check "dkms status: added" status_is added
check "dkms build tcplat/$ver -k $rel" dkms_do build "tcplat/$ver" -k "$rel"
check "dkms status: built" status_is built
built=$(find "$root/var/lib/dkms/tcplat/$ver/$rel" -name 'tcplat.ko*' 2>/dev/null | head -n 1)
check "the build left tcplat.ko in /var/lib/dkms (${built#"$root"})" test -n "$built"
check "dkms install tcplat/$ver -k $rel" dkms_do install "tcplat/$ver" -k "$rel"
check "dkms status: installed" status_is installed
path=$(in_root modinfo -k "$rel" -n tcplat 2>/dev/null)
check "modinfo finds tcplat in /lib/modules/$rel/updates/dkms (${path:-none})" \
	bash -c "[[ '$path' == /lib/modules/$rel/updates/dkms/tcplat.ko* ]] && [ -f '$root$path' ]"
magic=$(in_root modinfo -k "$rel" -F vermagic tcplat 2>/dev/null)
check "its vermagic is for $rel (${magic:-none})" bash -c "[[ '$magic' == '$rel '* ]]"

# --- modprobe ---------------------------------------------------------------

dir=/proc/sys/net/ipv4/tcplat
check "tcplat not loaded before modprobe" bash -c "! grep -q '^tcplat ' /proc/modules"
check "modprobe tcplat" in_root modprobe tcplat
check "tcplat is loaded" grep -q '^tcplat ' /proc/modules
for s in tw_relookup syn_relookup syn_closed_ack syn_stale_resend race_widen_us \
	 race_widen_port race_widen_mode observe_port widen_hits widen_skip_busy \
	 widen_skip_budget closed_sk_segments fw2_timewait status; do
	check "sysctl $s exists" test -e "$dir/$s"
done
sed 's/^/# status| /' "$dir/status" 2>/dev/null
check "status names the running kernel" grep -Fqx "kernel: $rel" "$dir/status"
check "modprobe -r tcplat" in_root modprobe -r tcplat
check "tcplat is unloaded" bash -c "! grep -q '^tcplat ' /proc/modules"

# --- dkms remove ------------------------------------------------------------

check "dkms remove tcplat/$ver --all" dkms_do remove "tcplat/$ver" --all
nothing_left() {
	local st

	st=$(in_root dkms status tcplat 2>/dev/null)
	echo "# dkms status: ${st:-(nothing)}"
	[ -z "$st" ] && [ ! -e "$root/var/lib/dkms/tcplat" ]
}
check "dkms status: nothing left" nothing_left
check "no tcplat.ko left in /lib/modules/$rel" bash -c \
	"! find '$root/lib/modules/$rel/' -name 'tcplat.ko*' | grep -q ."
not_found() {
	! in_root modinfo -k "$rel" tcplat >/dev/null 2>&1
}
check "modinfo no longer finds tcplat" not_found

# No clean-up by hand: $work holds mount points, one of them the project
# itself (never rm -r it); the mount namespace and its tmpfs go with us.
finish
