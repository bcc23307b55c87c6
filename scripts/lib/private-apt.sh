# SPDX-License-Identifier: GPL-2.0
#
# Why this file exists: scripts/kernel-src (linux-source-7.3) and
# scripts/debian-kernel (Debian's 7.3 image and headers) both fetch from
# trixie-backports, which this Debian 12 machine's apt sources do not list.
# They share one private apt configuration under build/apt/ (own sources
# list, lists and cache); the machine's apt sources are never edited.
# Sourced, not run.

# private_apt BUILD SUITE: write BUILD/apt/apt.conf for SUITE and export
# APT_CONFIG.  Refreshing the lists (apt-get update) is the caller's call.
private_apt() {
	local b=$1 suite=$2

	mkdir -p "$b/apt/lists/partial" "$b/apt/cache/archives/partial" "$b/apt/etc"
	echo "deb http://deb.debian.org/debian $suite main" > "$b/apt/etc/sources.list"
	cat > "$b/apt/apt.conf" <<EOC
Dir::Etc::sourcelist "$b/apt/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::State::lists "$b/apt/lists";
Dir::Cache "$b/apt/cache";
EOC
	export APT_CONFIG=$b/apt/apt.conf
}
