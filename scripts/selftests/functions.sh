#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Shared helpers of the zpci-rrlock in-guest selftests (busybox sh), in the manner of
# tools/testing/selftests/livepatch/functions.sh. Sourced by every test; never executed. This
# file holds the basics (KTAP results through the kernel's ktap_helpers.sh, bounded waits, the
# kernel command line) and sources the rest, one file per concern:
#   kmsg.sh       the kernel log: canaries, the report check, the sysrq dump for the host
#   host.sh       requests to the host (QMP hot-plug, platform events) over the control port
#   data.sh       data records for the host (measurements, /proc/lockdep) on the data port
#   lookup.sh     the machine's functions (zr.functions=) in sysfs, SR-IOV
#   livepatch.sh  modules and livepatches: load, enable, disable, unload
#   workers.sh    concurrent workers and the race scenarios built on them
#   ops.sh        single operations on a function (zr_torture, zr_lifecycle)
# Every function keeps its variables local; results that outlive a call are named ZR_*.

export LC_ALL=C
ZR_SELFTESTS=${ZR_SELFTESTS:-/selftests}
# shellcheck source=/dev/null
. "$ZR_SELFTESTS/ktap_helpers.sh"

ZR_MODDIR=${ZR_MODDIR:-/lib/zpci-rrlock}
# shellcheck disable=SC2034 # used by the tests
ZR_MOD=zpci_rrlock
MAX_RETRIES=${MAX_RETRIES:-300}
RETRY_INTERVAL=${RETRY_INTERVAL:-0.1}

# zr_log MSG: a line in the kernel log, so the log shows where each test step happened.
zr_log() { echo "zr-selftest: $*" >/dev/kmsg; }

# zr_die MSG: the test cannot go on; a Bail out! line and a failing exit.
zr_die() {
	zr_log "ERROR: $*"
	ktap_exit_fail_msg "$*"
}

# zr_skip_all MSG: the whole test cannot run here.
zr_skip_all() {
	zr_log "SKIP: $*"
	ktap_print_header
	ktap_skip_all "$*"
	exit "$KSFT_SKIP"
}

# zr_loop_until 'CMD' [RETRIES]: run CMD until it succeeds, at most RETRIES times
# RETRY_INTERVAL apart (default about 30 s). Bounded: returns 1 when the retries run out.
zr_loop_until() {
	local cmd=$1 n=${2:-$MAX_RETRIES}
	while [ "$n" -gt 0 ]; do
		eval "$cmd" && return 0
		n=$((n - 1))
		sleep "$RETRY_INTERVAL"
	done
	return 1
}

# zr_check NAME CMD...: one KTAP result, pass when CMD succeeds.
zr_check() {
	local desc=$1
	shift
	if "$@"; then ktap_test_pass "$desc"; else ktap_test_fail "$desc"; fi
}

# zr_rounds N DESC CMD...: N KTAP results "round I: DESC", each passing when "CMD... I" succeeds.
zr_rounds() {
	local n=$1 desc=$2 i=1
	shift 2
	while [ "$i" -le "$n" ]; do
		zr_check "round $i: $desc" "$@" "$i"
		i=$((i + 1))
	done
}

# zr_num_in VALUE MIN MAX: true when VALUE is a decimal number in MIN..MAX, written without a
# leading zero (shell arithmetic reads "010" as octal and "08" as an error). Every numeric
# option of the guest tests goes through it.
zr_num_in() {
	case "$1" in
	'' | *[!0-9]* | 0?* | ???????????*) return 1 ;;
	esac
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# The kernel command line, read once by the read builtin (forks are slow under TCG).
ZR_CMDLINE=''
read -r ZR_CMDLINE 2>/dev/null </proc/cmdline

# zr_cmdline NAME: the value of the last NAME= word of the kernel command line (nothing if
# there is none). No process but the caller's $(...).
zr_cmdline() {
	local value='' ifs=$IFS word
	IFS=' '
	set -f
	for word in $ZR_CMDLINE; do
		case "$word" in "$1="*) value=${word#"$1="} ;; esac
	done
	set +f
	IFS=$ifs
	[ -n "$value" ] && echo "$value"
	return 0
}

ZR_ARCH=${ZR_ARCH:-$(uname -m)}
export ZR_ARCH

# shellcheck source=kmsg.sh
. "$ZR_SELFTESTS/kmsg.sh"
# shellcheck source=host.sh
. "$ZR_SELFTESTS/host.sh"
# shellcheck source=data.sh
. "$ZR_SELFTESTS/data.sh"
# shellcheck source=lookup.sh
. "$ZR_SELFTESTS/lookup.sh"
# shellcheck source=livepatch.sh
. "$ZR_SELFTESTS/livepatch.sh"
# shellcheck source=workers.sh
. "$ZR_SELFTESTS/workers.sh"
# shellcheck source=ops.sh
. "$ZR_SELFTESTS/ops.sh"
