#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Last test of a boot: no lockdep, hung-task, BUG or WARNING report anywhere in this boot's
# kernel log (the host scans the console for the same, as a second witness).
. "$(dirname "$0")/functions.sh"

# none REGEX: no line of this boot's kernel log matches; the first hits become diagnostics.
none() {
	local _hits
	_hits=$(dmesg | grep -E "$1" | head -n 5)
	[ -z "$_hits" ] && return 0
	echo "$_hits" | sed 's/^/# /'
	return 1
}

ktap_print_header
ktap_set_plan 3
zr_check "no lockdep report in this boot" none "$ZR_REPORT_LOCKDEP_RE"
zr_check "no hung-task report in this boot" none "$ZR_REPORT_HUNG_RE"
zr_check "no BUG/WARNING/Oops in this boot" none "$ZR_REPORT_FAULT_RE"
ktap_finished
