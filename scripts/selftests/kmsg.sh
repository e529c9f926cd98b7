#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The kernel log (sourced by functions.sh): a canary marks where a test starts, so each test
# checks only its own part of the log for kernel reports.
#
# Kernel reports that fail a test when they appear in its part of the log: ZR_REPORT_RE (every
# kind), ZR_REPORT_{LOCKDEP,HUNG,FAULT}_RE (by group), ZR_REFINED (known reports, recognised by
# the lines after the header), generated from the host's table qemu/zr/reports.py.
# shellcheck source=/dev/null
. "$ZR_SELFTESTS/reports.sh"

# zr_canary: mark the start of a test in the kernel log; zr_dmesg_since prints what came after.
zr_canary() {
	ZR_CANARY="zr-selftest canary $$ $(cut -d' ' -f1 /proc/uptime)"
	echo "$ZR_CANARY" >/dev/kmsg
	zr_loop_until zr_canary_seen 50 || zr_die "canary did not reach the kernel log"
}

zr_canary_seen() { dmesg | grep -qF "$ZR_CANARY"; }

# zr_dmesg_since: kernel log lines after the last canary, without time stamps. If the canary
# has scrolled out of the ring buffer (a long test), the whole buffer, and a note on stderr:
# a check over "nothing" must not pass.
zr_dmesg_since() {
	dmesg | awk -v c="$ZR_CANARY" '
		{ sub(/^\[[ 0-9.]+\] /, ""); l[NR] = $0 }
		index($0, c) { s = NR }
		END {
			if (!s) print "# zr_dmesg_since: canary no longer in the kernel log, reading all of it" >"/dev/stderr"
			for (i = s + 1; i <= NR; i++) print l[i]
		}'
}

# zr_have_lockdep: true on a kernel with lockdep (PROVE_LOCKING); a distribution's has none.
zr_have_lockdep() { [ -e /proc/lockdep ]; }

# Known reports that are not the project's (ZR_REFINED: qemu/zr/reports.py's REFINED), accepted
# only in boots that name them in zr.known_reports=, e.g. pciehp-reset: pciehp's reset_lock <->
# rescan/remove lock cycle on the first PCIe hot-unplug (stock 7.3.4 pciehp).
ZR_KNOWN_REPORTS=$(zr_cmdline zr.known_reports)

# zr_no_reports: true if no kernel report (lockdep, hung task, BUG, WARNING) followed the
# canary, known reports the boot accepts aside, and reports matching ZR_ALLOWED_REPORT (a regex
# on the report's first 9 lines, set by a test for a stock bug it may hit); prints the first
# report's lines as KTAP diagnostics otherwise.
zr_no_reports() {
	local r
	r=$(zr_dmesg_since | awk -v re="$ZR_REPORT_RE" -v known=",$ZR_KNOWN_REPORTS," \
		-v refined="$ZR_REFINED" -v win="$ZR_REFINE_WINDOW" -v allowed="${ZR_ALLOWED_REPORT:-}" '
		BEGIN {
			nr = split(refined, rl, "\n")
			for (k = 1; k <= nr; k++) {
				t = index(rl[k], "\t")
				rname[k] = substr(rl[k], 1, t - 1)
				rre[k] = substr(rl[k], t + 1)
			}
		}
		{ l[NR] = $0 }
		END {
			for (i = 1; i <= NR; i++) {
				if (l[i] !~ re) continue
				w = ""
				for (j = i + 1; j <= i + win && j <= NR; j++) w = w "\n" l[j]
				for (k = 1; k <= nr; k++)
					if (index(known, "," rname[k] ",") && w ~ rre[k]) break
				if (k <= nr) {
					print "known report (" rname[k] "), accepted in this boot" >"/dev/stderr"
					continue
				}
				if (allowed != "" && (l[i] w) ~ allowed) {
					print "report allowed by the test: " l[i] >"/dev/stderr"
					continue
				}
				for (j = i; j <= i + 6 && j <= NR; j++) print l[j]
				exit
			}
		}' 2>/dev/null)
	[ -z "$r" ] && return 0
	echo "$r" | sed 's/^/# /'
	return 1
}

# zr_dmesg_has REGEX: a line after the canary matches.
zr_dmesg_has() { zr_dmesg_since | grep -qE "$1"; }

# zr_re_quote STRING: STRING as an extended regular expression that matches it literally (a
# release such as Debian's 7.3.4+deb13-amd64 has a '+').
zr_re_quote() { printf '%s\n' "$1" | sed 's/[][\.^$*+?(){}|/]/\\&/g'; }

# zr_sysrq_dump: for a test at its deadline (run.sh): the marker the host looks for
# (sysrq_dump of qemu/zr/contract.py), then sysrq w (the tasks in uninterruptible sleep, with their
# stacks) and d (the locks every task holds). The host sums the dumps up in the test's failure
# (qemu/zr/sysrq.py); printed here is the KTAP diagnostic that says where they are.
zr_sysrq_dump() {
	zr_mark_sysrq_dump >/dev/kmsg
	if { echo w >/proc/sysrq-trigger && echo d >/proc/sysrq-trigger; } 2>/dev/null; then
		echo "# sysrq w and d dumped to the console"
	else
		echo "# no sysrq"
	fi
}
