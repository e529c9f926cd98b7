# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # PAPT is for the scripts that source this
# The private apt configuration of bootstrap.sh and build-distro.sh: downloads from suites the
# system does not list (trixie-backports, s390x packages), through the URIs of the system's own
# Debian entry, without touching its sources. Sourced after lib.sh, never executed.

# The URIs of the system's main Debian entry (the one serving "bookworm"), deb822 or one-line.
debian_uris() {
	local f uris
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uris=$(awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm( |$|\n)/ && !/security/ {
			if (match($0, /URIs:[^\n]*/)) print substr($0, RSTART+6, RLENGTH-6)}' "$f" | head -n1)
		[ -n "$uris" ] && { echo "$uris"; return 0; }
	done
	awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null | grep .
}

# A private apt configuration (under the cache) that can see trixie-backports and s390x
# packages without touching the system's sources: used for downloads only.
PAPT=$ZR_CACHE/apt
papt() {
	apt-get -o Dir::Etc::SourceList="$PAPT/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State="$PAPT/state" -o Dir::State::status=/var/lib/dpkg/status \
		-o Dir::Cache="$PAPT/cache" -o APT::Architectures::=amd64 -o APT::Architectures::=s390x \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}
papt_setup() {
	local uris u want
	[ -n "${PAPT_READY:-}" ] && return 0
	uris=$(debian_uris) || zr_die "apt: no Debian 'bookworm' entry to copy URIs from"
	mkdir -p "$PAPT/state/lists/partial" "$PAPT/cache/archives/partial"
	want=$(for u in $uris; do
		# linux-source is arch:all, so the amd64 index of trixie-backports is enough.
		printf 'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie-backports main\n' "$u"
		printf 'deb [arch=amd64,s390x signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm main\n' "$u"
		printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm-backports main\n' "$u"
	done)
	if [ "$want" != "$(cat "$PAPT/sources.list" 2>/dev/null)" ] || [ ! -f "$PAPT/updated" ]; then
		rm -f "$PAPT/updated"
		echo "$want" >"$PAPT/sources.list"
		zr_step papt-update papt update || exit 1
		# apt-get update only warns about an index it could not fetch: check for the files.
		ls "$PAPT"/state/lists/*trixie-backports*amd64_Packages* >/dev/null 2>&1 ||
			zr_die "apt: trixie-backports index not fetched (log: $ZR_LOGS/papt-update.log)"
		touch "$PAPT/updated"
	fi
	PAPT_READY=1
}
