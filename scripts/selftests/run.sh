#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# run.sh [TEST...]: run the in-guest selftests (default: zr.tests= from the kernel command line,
# else every test in tests.list, in order) under their timeouts. Each test's KTAP is nested under
# its suite_begin marker and a result line, and goes to the host's KTAP port and to the console.
# The host sees the test_begin (with the deadline) and test_end markers on the console and kills
# the guest when a test runs past its deadline; at the deadline the guest first dumps the
# blocked tasks and held locks to the console (zr_sysrq_dump), which the host sums up in the
# test's failure.
#
# The host's virtio-serial ports may appear only after the first tests started (their driver
# binds in the background): KTAP is kept in a buffer until the KTAP port is there, and tests
# marked "host" in tests.list wait for the ports before they start.
. "$(dirname "$0")/functions.sh"

# The host's ports, found by name (no udev in the guest).
zr_port() {
	local p name
	for p in /sys/class/virtio-ports/*; do
		[ -r "$p/name" ] || continue
		read -r name <"$p/name"
		[ "$name" = "$1" ] && { echo "/dev/${p##*/}"; return 0; }
	done
	return 1
}

buf=/tmp/zr-ktap.buf
: >"$buf"
ktap=
ZR_CTL=
ZR_DATA=

# connect [WAIT]: once the ports exist (KTAP, control, data), open the control port on fd 9 and
# send the buffered KTAP; with WAIT, wait for them up to 60 s. True when connected.
connect() {
	local n=0
	[ -n "$ktap" ] && return 0
	while ! zr_port "$ZR_PORT_KTAP" >/dev/null || ! zr_port "$ZR_PORT_CTL" >/dev/null ||
		! zr_port "$ZR_PORT_DATA" >/dev/null; do
		[ -n "${1:-}" ] && [ "$n" -lt 600 ] || return 1
		sleep 0.1
		n=$((n + 1))
	done
	ktap=$(zr_port "$ZR_PORT_KTAP")
	ZR_CTL=$(zr_port "$ZR_PORT_CTL")
	ZR_DATA=$(zr_port "$ZR_PORT_DATA")
	export ZR_CTL ZR_DATA
	exec 9<>"$ZR_CTL"
	cat "$buf" >>"$ktap"
}

out() {
	echo "$*" >>"$buf"
	[ -n "$ktap" ] && echo "$*" >>"$ktap"
	echo "$*"
}

tests="$*"
[ -z "$tests" ] && tests=$(zr_cmdline zr.tests | tr ',' ' ')
[ -z "$tests" ] && tests=$(awk '!/^#/ && NF { print $1 }' "$ZR_SELFTESTS/tests.list")

n=0
for t in $tests; do n=$((n + 1)); done
out "KTAP version 1"
out "1..$n"
i=0
for t in $tests; do
	i=$((i + 1))
	to=$(awk -v t="$t" '$1 == t { print $2 }' "$ZR_SELFTESTS/tests.list")
	to=${to:-60}
	# zr.timeout_NAME=SECONDS on the kernel command line overrides it (long torture runs).
	_o=$(zr_cmdline "zr.timeout_$t")
	if zr_num_in "$_o" 1 99999; then
		to=$_o
	elif [ -n "$_o" ]; then
		echo "run.sh: zr.timeout_$t=$_o is not a number of seconds (1..99999); using $to" >/dev/kmsg
		out "# zr.timeout_$t=$_o is not a number of seconds (1..99999); using $to"
	fi
	if awk -v t="$t" '$1 == t && $3 == "host" { f = 1 } END { exit !f }' "$ZR_SELFTESTS/tests.list"; then
		connect wait || echo "run.sh: host ports missing" >/dev/kmsg
	else
		connect
	fi
	out "$(zr_mark_suite_begin "$t")"
	export ZR_TEST=$t
	zr_mark_test_begin "$t" "$to" >/dev/kmsg
	if [ -x "$ZR_SELFTESTS/$t.sh" ]; then
		# The watchdog: at the deadline, the blocked tasks and the held locks dumped to the
		# console before the test is killed, or before the host kills a guest whose test
		# cannot die (a task in uninterruptible sleep).
		(
			sleep "$to"
			out "  $(zr_sysrq_dump)"
		) &
		wd=$!
		{ timeout "$to" "$ZR_SELFTESTS/$t.sh" 2>&1; echo "$?" >/tmp/zr-rc; } |
			while IFS= read -r line; do out "  $line"; done
		rc=$(cat /tmp/zr-rc)
		case "$rc" in
		124 | 143) wait "$wd" ;;
		*) kill "$wd" 2>/dev/null ;;
		esac
	else
		out "  # no such test: $t"
		rc=1
	fi
	zr_mark_test_end "$t" "$rc" >/dev/kmsg
	case "$rc" in
	0) out "ok $i $t" ;;
	4) out "ok $i $t # SKIP" ;;
	124 | 143) out "not ok $i $t # TIMEOUT ${to}s" ;;
	*) out "not ok $i $t # exit $rc" ;;
	esac
done
# Everything buffered so far reaches the host.
connect wait || echo "run.sh: host ports missing; KTAP only on the console" >/dev/kmsg
