#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [TEST...]: run the in-guest selftests (default: zr.tests= from the kernel command line,
# else every test in tests.list, in order) under their timeouts. Each test's KTAP is nested under
# "# zr-suite: NAME" and a result line, and goes to the host's KTAP port and to the console.
# The host sees "zr-test: begin NAME timeout=N" / "zr-test: end NAME rc=N" on the console and
# kills the guest when a test runs past its deadline.
. "$(dirname "$0")/functions.sh"

# The host's ports, found by name (no udev in the guest).
zr_port() {
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && { echo "/dev/$(basename "$p")"; return 0; }
	done
	return 1
}
ZR_CTL=$(zr_port zr.ctl) || ZR_CTL=
ktap=$(zr_port zr.ktap) || ktap=/dev/null
export ZR_CTL
[ -n "$ZR_CTL" ] && exec 9<>"$ZR_CTL"

tests="$*"
[ -z "$tests" ] && tests=$(zr_cmdline zr.tests | tr ',' ' ')
[ -z "$tests" ] && tests=$(awk '!/^#/ && NF { print $1 }' "$ZR_SELFTESTS/tests.list")

out() { echo "$*" >>"$ktap"; echo "$*"; }

n=0
for t in $tests; do n=$((n + 1)); done
out "KTAP version 1"
out "1..$n"
i=0
for t in $tests; do
	i=$((i + 1))
	to=$(awk -v t="$t" '$1 == t { print $2 }' "$ZR_SELFTESTS/tests.list")
	to=${to:-60}
	out "# zr-suite: $t"
	echo "zr-test: begin $t timeout=$to" >/dev/kmsg
	if [ -x "$ZR_SELFTESTS/$t.sh" ]; then
		{ timeout "$to" "$ZR_SELFTESTS/$t.sh" 2>&1; echo "$?" >/tmp/zr-rc; } |
			while IFS= read -r line; do out "  $line"; done
		rc=$(cat /tmp/zr-rc)
	else
		out "  # no such test: $t"
		rc=1
	fi
	echo "zr-test: end $t rc=$rc" >/dev/kmsg
	case "$rc" in
	0) out "ok $i $t" ;;
	4) out "ok $i $t # SKIP" ;;
	124 | 143) out "not ok $i $t # TIMEOUT ${to}s" ;;
	*) out "not ok $i $t # exit $rc" ;;
	esac
done
