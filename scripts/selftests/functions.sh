#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Shared helpers of the zpci-rrlock in-guest selftests (busybox sh), in the manner of
# tools/testing/selftests/livepatch/functions.sh: KTAP output (the kernel's ktap_helpers.sh),
# kernel-log markers and canaries, bounded waits, requests to the host, zPCI function lookup.
# Sourced by every test; never executed.

export LC_ALL=C
ZR_SELFTESTS=${ZR_SELFTESTS:-/selftests}
# shellcheck source=/dev/null
. "$ZR_SELFTESTS/ktap_helpers.sh"

ZR_MODDIR=${ZR_MODDIR:-/lib/zpci-rrlock}
# shellcheck disable=SC2034 # used by the tests
ZR_MOD=zpci_rrlock
MAX_RETRIES=${MAX_RETRIES:-300}
RETRY_INTERVAL=${RETRY_INTERVAL:-0.1}
# Kernel reports that fail a test when they appear in its part of the log: ZR_REPORT_RE (every
# kind), ZR_REPORT_{LOCKDEP,HUNG,FAULT}_RE (by group), ZR_REFINED (known reports, recognised by
# the lines after the header), generated from the host's table qemu/zr/reports.py.
# shellcheck source=/dev/null
. "$ZR_SELFTESTS/reports.sh"

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
	_cmd=$1 _n=${2:-$MAX_RETRIES}
	while [ "$_n" -gt 0 ]; do
		eval "$_cmd" && return 0
		_n=$((_n - 1))
		sleep "$RETRY_INTERVAL"
	done
	return 1
}

# zr_check NAME CMD...: one KTAP result, pass when CMD succeeds.
zr_check() {
	_desc=$1
	shift
	if "$@"; then ktap_test_pass "$_desc"; else ktap_test_fail "$_desc"; fi
}

# zr_rounds N DESC CMD...: N KTAP results "round I: DESC", each passing when "CMD... I" succeeds.
zr_rounds() {
	_zr_rn=$1 _zr_rd=$2 _zr_ri=1
	shift 2
	while [ "$_zr_ri" -le "$_zr_rn" ]; do
		zr_check "round $_zr_ri: $_zr_rd" "$@" "$_zr_ri"
		_zr_ri=$((_zr_ri + 1))
	done
}

# ---- kernel log ---------------------------------------------------------------------------

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

# Known reports that are not the project's (ZR_REFINED: qemu/zr/reports.py's REFINED), accepted
# only in boots that name them in zr.known_reports=, e.g. pciehp-reset: pciehp's reset_lock <->
# rescan/remove lock cycle on the first PCIe hot-unplug (stock 7.3.4 pciehp).
ZR_KNOWN_REPORTS=$(tr ' ' '\n' </proc/cmdline 2>/dev/null | sed -n 's/^zr.known_reports=//p')

# zr_no_reports: true if no kernel report (lockdep, hung task, BUG, WARNING) followed the
# canary, known reports the boot accepts aside, and reports matching ZR_ALLOWED_REPORT (a regex
# on the report's first 9 lines, set by a test for a stock bug it may hit); prints the first
# report's lines as KTAP diagnostics otherwise.
zr_no_reports() {
	_r=$(zr_dmesg_since | awk -v re="$ZR_REPORT_RE" -v known=",$ZR_KNOWN_REPORTS," \
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
	[ -z "$_r" ] && return 0
	echo "$_r" | sed 's/^/# /'
	return 1
}

# zr_dmesg_has REGEX: a line after the canary matches.
zr_dmesg_has() { zr_dmesg_since | grep -qE "$1"; }

# zr_task_blocked PID: task PID sleeps uninterruptibly (state D; /proc/PID/stat, after the comm).
zr_task_blocked() {
	local s
	read -r s <"/proc/$1/stat" 2>/dev/null || return 1
	s=${s##*) }
	[ "${s%% *}" = D ]
}

# zr_pciehp_blocked: a pciehp interrupt thread sleeps uninterruptibly.
zr_pciehp_blocked() {
	local c
	for c in /proc/[0-9]*/comm; do
		case "$(cat "$c" 2>/dev/null)" in
		irq/*-pciehp) c=${c%/comm} && zr_task_blocked "${c#/proc/}" && return 0 ;;
		esac
	done
	return 1
}

# zr_blocked: one line for a timed-out test: the tasks in uninterruptible sleep, each with the
# first frames of its stack that are neither the scheduler's nor a sleeping lock's (sysrq w),
# and the locks every task holds (sysrq d, lockdep). The whole dumps are in the console log.
zr_blocked() {
	echo "zr-test: sysrq dump" >/dev/kmsg
	{ echo w >/proc/sysrq-trigger && echo d >/proc/sysrq-trigger; } 2>/dev/null ||
		{ echo "no sysrq"; return 0; }
	dmesg | zr_blocked_summary
}

# zr_blocked_summary: zr_blocked's line from a kernel log on stdin (the dumps after the last
# "zr-test: sysrq dump").
zr_blocked_summary() {
	awk '
		function flush() { if (t != "") { b = b bs t; bs = "; " } t = "" }
		# A Rust v0 symbol as CRATE::..::NAME (its first and last identifiers).
		function rsym(f, c, n, L) {
			if (f !~ /^_R/) return f
			c = ""
			if (match(f, /C(s[0-9A-Za-z]*_)?[0-9]+/)) {
				n = substr(f, RSTART, RLENGTH)
				sub(/^C(s[0-9A-Za-z]*_)?/, "", n)
				c = substr(f, RSTART + RLENGTH, n + 0)
			}
			for (L = 1; L < length(f); L++)
				if (substr(f, 1, length(f) - L) ~ ("[^0-9]" L "$"))
					return c "::..::" substr(f, length(f) - L + 1)
			return f
		}
		/zr-test: sysrq dump/ { t = b = bs = h = hs = w = off = ""; next }
		/INFO: lockdep is turned off/ { off = 1; next }
		/ task:/ { flush(); sub(/.* task:/, ""); t = $1; k = 0; next }
		/ locks? held by / { flush(); sub(/.* held by /, ""); sub(/:$/, ""); w = $1; next }
		/ #[0-9]+: / {
			if (w != "" && match($0, /\([^)]*\)/) && (l = substr($0, RSTART + 1, RLENGTH - 2)) != "rcu_read_lock") {
				h = h hs w ":" l; hs = ", "
			}
			next
		}
		t != "" && k < 3 && match($0, /[A-Za-z_][A-Za-z0-9_.]*\+0x/) {
			f = substr($0, RSTART, RLENGTH - 3)
			if (f ~ /schedule|switch_to|^__mutex_lock|^mutex_lock|wait_for_common|wait_for_completion|^rwsem_down|^__down|^down_|^__wait|nanosleep/)
				next
			t = t (k ? "<" : " in ") rsym(f); k++
		}
		END {
			flush()
			s = "blocked: " (b == "" ? "none" : b) "; held: " (h != "" ? h : off ? "unknown (lockdep is off after its first report)" : "none")
			print (length(s) > 600 ? substr(s, 1, 597) "..." : s)
		}'
}

# ---- races --------------------------------------------------------------------------------
# Concurrent workers for the race scenarios. Each runs in the background for a time bound and
# keeps "ROUNDS FAILED [done]" in its status file. At most one worker may talk to the host (the
# control channel is one stream).
ZR_WORKERS=''
ZR_WORKDIR=${ZR_WORKDIR:-/tmp/zr-workers.$$}

zr_uptime() { read -r _zr_u _ </proc/uptime; echo "${_zr_u%.*}"; }

# zr_num_in VALUE MIN MAX: true when VALUE is a decimal number in MIN..MAX, written without a
# leading zero (shell arithmetic reads "010" as octal and "08" as an error). Every numeric
# option of the guest tests goes through it.
zr_num_in() {
	case "$1" in
	'' | *[!0-9]* | 0?* | ???????????*) return 1 ;;
	esac
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# zr_worker NAME SECONDS CMD...: run CMD repeatedly for SECONDS in the background. Its output
# goes nowhere: a worker stuck in the kernel must not hold the test's output pipe open.
zr_worker() {
	_zr_wn=$1 _zr_ws=$2
	shift 2
	zr_num_in "$_zr_ws" 1 99999 ||
		zr_die "worker $_zr_wn: '$_zr_ws' is not a number of seconds in 1..99999 (zr.race_seconds=?)"
	mkdir -p "$ZR_WORKDIR"
	echo "0 0" >"$ZR_WORKDIR/$_zr_wn"
	(
		_end=$(($(zr_uptime) + _zr_ws)) _r=0 _f=0
		while [ "$(zr_uptime)" -lt "$_end" ]; do
			if "$@"; then
				_r=$((_r + 1))
			else
				_f=$((_f + 1))
				zr_log "worker $_zr_wn: round $((_r + _f)) failed"
			fi
			echo "$_r $_f" >"$ZR_WORKDIR/$_zr_wn"
		done
		echo "$_r $_f done" >"$ZR_WORKDIR/$_zr_wn"
	) </dev/null >/dev/null 2>&1 &
	ZR_WORKERS="$ZR_WORKERS $_zr_wn"
}

# zr_worker_status NAME: "ROUNDS FAILED [done]".
zr_worker_status() {
	_zr_st=''
	read -r _zr_st <"$ZR_WORKDIR/$1" 2>/dev/null
	echo "$_zr_st"
}

# zr_workers_done: every worker has finished.
zr_workers_done() {
	for _w in $ZR_WORKERS; do
		case "$(zr_worker_status "$_w")" in *done) ;; *) return 1 ;; esac
	done
}

# zr_workers_wait SECONDS: wait for every worker to finish, at most SECONDS; names the ones
# still running (stuck: a deadlock) as KTAP diagnostics.
zr_workers_wait() {
	_zr_end=$(($(zr_uptime) + $1))
	while ! zr_workers_done; do
		[ "$(zr_uptime)" -ge "$_zr_end" ] && break
		sleep 1
	done
	zr_workers_done && return 0
	for _w in $ZR_WORKERS; do
		case "$(zr_worker_status "$_w")" in
		*done) ;;
		*) echo "# worker $_w stuck after $(zr_worker_status "$_w" | cut -d' ' -f1) rounds" ;;
		esac
	done
	return 1
}

# zr_worker_ok NAME: the worker finished at least one round and none failed.
zr_worker_ok() {
	# shellcheck disable=SC2046 # the status is a word list
	set -- $(zr_worker_status "$1")
	echo "# ${1:-0} rounds, ${2:-?} failed${3:+, $3}"
	[ "${3:-}" = "done" ] && [ "$1" -gt 0 ] && [ "$2" = 0 ]
}
# zr_race_seconds: how long race workers run (zr.race_seconds= on the kernel command line,
# default 10; zr_worker refuses a value that is not a number of seconds).
zr_race_seconds() {
	_s=$(zr_cmdline zr.race_seconds)
	echo "${_s:-10}"
}

# zr_race_report [--stock-expects REGEX | --stock-allows REGEX] WORKER...: the KTAP results
# (2 + one per worker) of a race scenario once its workers were started: they finish within
# their bound plus 30 s (a stuck worker is a deadlock), each completed rounds without a
# failed one, and the kernel log has no report. With --stock-expects, on the stock kernel the
# log must show REGEX instead (the scenario's expected report), and a deadlock is an expected
# stock outcome: the stuck workers are SKIPs, and the EXIT trap is dropped (nothing can be
# restored) so the test ends. With --stock-allows, the stock kernel may show reports matching
# REGEX (a stock bug the race hits only at times) and may wedge the workers (handled as a
# deadlock above); any other report still fails.
zr_race_report() {
	_flag='' _allow=''
	case "$1" in
	--stock-expects) _flag=$2; shift 2 ;;
	--stock-allows) zr_patched || _allow=$2; shift 2 ;;
	esac
	_stock=''
	# A stock bug the race may hit can also wedge the workers (F3 in zr_power_race): on the
	# stock kernel that is a stock outcome too.
	[ -n "$_flag$_allow" ] && ! zr_patched && _stock=1
	if zr_workers_wait $(($(zr_race_seconds) + 30)); then
		ktap_test_pass "workers finished within their bound"
	elif [ -n "$_stock" ]; then
		ktap_test_skip "workers deadlocked (an expected stock outcome)"
		trap - EXIT
	else
		ktap_test_fail "workers finished within their bound"
	fi
	for _rw in "$@"; do
		if [ -n "$_stock" ] && ! zr_workers_done; then
			ktap_test_skip "worker $_rw: not checked, the stock kernel deadlocked"
		else
			zr_check "worker $_rw: rounds completed, none failed" zr_worker_ok "$_rw"
		fi
	done
	if [ -n "$_flag" ] && [ -n "$_stock" ]; then
		zr_check "stock: the expected report ($_flag)" zr_loop_until "zr_dmesg_has '$_flag'" 100
	elif [ -n "$_allow" ]; then
		ZR_ALLOWED_REPORT=$_allow zr_check "no kernel report during the race (stock: '$_allow' allowed)" zr_no_reports
	else
		zr_check "no kernel report during the race" zr_no_reports
	fi
}

# zr_unplug_when_idle FN: QMP device_del of FN, retried for up to 20 s while QEMU refuses it
# because the guest's hot-plug controller is still busy (PCIe: the power indicator blinks for
# 5 s after a re-plug's button press).
zr_unplug_when_idle() {
	_zr_try=20
	while ! zr_host unplug "$1"; do
		case "$ZR_HOST_ERR" in *busy*) ;; *) return 1 ;; esac
		_zr_try=$((_zr_try - 1))
		[ "$_zr_try" -gt 0 ] || return 1
		sleep 1
	done
}

# zr_unplug_replug FN [bound]: one platform hot-unplug and re-plug of FN over QMP; waits until
# FN is present again (bound to its driver with "bound").
zr_unplug_replug() {
	zr_unplug_when_idle "$1" && zr_wait_absent "$1" && zr_host plug "$1" || return 1
	if [ "${2:-}" = bound ]; then zr_wait_bound "$1"; else zr_wait_present "$1"; fi
}

# zr_race_vs_hotplug [--stock-allows REGEX] FN NAME DESC CMD...: a whole race test: worker
# NAME runs CMD... while a second worker hot-unplugs and re-plugs FN through the host, for
# zr_race_seconds; then the results of zr_race_report (given the option) and FN present and
# bound at the end (5 in all).
zr_race_vs_hotplug() {
	_zr_opt=''
	[ "$1" = --stock-allows ] && { _zr_opt=$2; shift 2; }
	_zr_fn=$1 _zr_name=$2 _zr_desc=$3
	shift 3
	ktap_print_header
	ktap_set_plan 5
	zr_canary
	zr_log "race for $(zr_race_seconds) s: $_zr_desc vs device_del/device_add $_zr_fn"
	zr_worker "$_zr_name" "$(zr_race_seconds)" "$@"
	zr_worker hotplug "$(zr_race_seconds)" zr_unplug_replug "$_zr_fn"
	if [ -n "$_zr_opt" ]; then
		zr_race_report --stock-allows "$_zr_opt" "$_zr_name" hotplug
	else
		zr_race_report "$_zr_name" hotplug
	fi
	zr_check "$_zr_fn: present with driver $(zr_fn_driver "$_zr_fn") bound afterwards" zr_restore_fn "$_zr_fn"
	ktap_finished
}

# ---- host requests ------------------------------------------------------------------------
# The runner opens the host control port on fd 9. Requests are "REQ <id> <op> <args>" lines;
# the host answers "ACK <id> ok" or "ACK <id> err <message>".
ZR_HOST_TIMEOUT=${ZR_HOST_TIMEOUT:-90}
ZR_REQ=0

zr_have_host() { [ -n "${ZR_CTL:-}" ] && [ -e "$ZR_CTL" ]; }

# zr_host OP ARGS...: ask the host to act and wait for its answer; the text of an answer is
# kept in ZR_HOST_OUT; the error text of a refused request is printed as a KTAP diagnostic and
# kept in ZR_HOST_ERR.
zr_host() {
	zr_have_host || { echo "# no host control channel"; return 1; }
	ZR_REQ=$((ZR_REQ + 1))
	_id="$$.$ZR_REQ"
	zr_log "host request $_id: $*"
	echo "REQ $_id $*" >&9
	# shellcheck disable=SC3045 # busybox sh has read -t
	while IFS= read -r -t "$ZR_HOST_TIMEOUT" _line <&9; do
		case "$_line" in
		"ACK $_id ok"*)
			ZR_HOST_OUT=${_line#ACK "$_id" ok}
			ZR_HOST_OUT=${ZR_HOST_OUT# }
			return 0
			;;
		"ACK $_id err"*)
			ZR_HOST_ERR=${_line#ACK "$_id" err }
			echo "# host: $ZR_HOST_ERR"
			return 1
			;;
		esac
	done
	echo "# host: no answer to '$*' within ${ZR_HOST_TIMEOUT}s"
	return 1
}

# ---- zPCI functions -----------------------------------------------------------------------
# The host lists the machine's functions on the kernel command line:
# zr.functions=ID:FID:DRIVER;ID:FID:DRIVER;...
# Forks are slow under TCG: the helpers below use shell builtins where they can.

# The kernel command line, read once by the read builtin.
ZR_CMDLINE=''
read -r ZR_CMDLINE 2>/dev/null </proc/cmdline

# zr_cmdline NAME: the value of the last NAME= word of the kernel command line (nothing if
# there is none). No process but the caller's $(...).
zr_cmdline() {
	_zr_cv='' _zr_ifs=$IFS IFS=' '
	set -f
	for _zr_w in $ZR_CMDLINE; do
		case "$_zr_w" in "$1="*) _zr_cv=${_zr_w#"$1="} ;; esac
	done
	set +f
	IFS=$_zr_ifs
	[ -n "$_zr_cv" ] && echo "$_zr_cv"
	return 0
}

ZR_FUNCTIONS=$(zr_cmdline zr.functions)
ZR_ARCH=${ZR_ARCH:-$(uname -m)}
export ZR_ARCH

zr_functions() {
	_IFS=$IFS IFS=';'
	for _f in $ZR_FUNCTIONS; do echo "${_f%%:*}"; done
	IFS=$_IFS
}

# zr_fn_get ID N: ZR_F becomes field N (1 id, 2 fid, 3 driver) of function ID; fails (ZR_F
# empty) if ID is not listed. The helpers that run in the caller's shell (no $(...)) keep
# their own variables under _zr_ names: a caller's _f or _d must survive them.
zr_fn_get() {
	ZR_F=''
	_zr_gifs=$IFS IFS=';'
	for _zr_ge in $ZR_FUNCTIONS; do
		IFS=:
		# shellcheck disable=SC2086 # split on ':' on purpose
		set -- $_zr_ge "$1" "$2"
		IFS=';'
		if [ "$1" = "$4" ]; then
			case "$5" in 1) ZR_F=$1 ;; 2) ZR_F=$2 ;; 3) ZR_F=$3 ;; esac
			IFS=$_zr_gifs
			return 0
		fi
		set -- "$4" "$5"
	done
	IFS=$_zr_gifs
	return 1
}

# zr_fn_field ID N: field N of function ID, printed.
zr_fn_field() { zr_fn_get "$1" "$2" && echo "$ZR_F"; }

zr_fn_fid() { zr_fn_field "$1" 2; }
zr_fn_driver() { zr_fn_field "$1" 3; }

# zr_fn_get_fid ID: ZR_F becomes the fid of function ID, a decimal number; fails otherwise.
zr_fn_get_fid() {
	zr_fn_get "$1" 2 || return 1
	case "$ZR_F" in '' | *[!0-9]*) return 1 ;; esac
}

# zr_fn_find_slot ID: ZR_SD becomes the hot-plug slot directory of function ID (s390x: named
# after the zPCI function id; elsewhere the slot number of its port).
zr_fn_find_slot() {
	ZR_SD=''
	zr_fn_get_fid "$1" || return 1
	if [ "$ZR_ARCH" = s390x ]; then
		ZR_SD=$(zr_fid_slot "$ZR_F")
	else
		ZR_SD=/sys/bus/pci/slots/$ZR_F
	fi
}

# zr_fn_slot ID: the same, printed.
zr_fn_slot() { zr_fn_find_slot "$1" && echo "$ZR_SD"; }

# zr_fn_find ID: ZR_DEV becomes the sysfs directory of function ID's pci_dev, found on s390x
# by its zPCI function_id, elsewhere as function 0 in its hot-plug slot; fails (ZR_DEV empty)
# if it is not there. No process at all: the polling helpers below call it many times.
zr_fn_find() {
	ZR_DEV=''
	if [ "$ZR_ARCH" != s390x ]; then
		zr_fn_find_slot "$1" || return 1
		read -r _zr_fa 2>/dev/null <"$ZR_SD/address" || return 1
		[ -d "/sys/bus/pci/devices/$_zr_fa.0" ] || return 1
		ZR_DEV=/sys/bus/pci/devices/$_zr_fa.0
		return 0
	fi
	zr_fn_get_fid "$1" && zr_fid_find "$ZR_F"
}

# zr_fid_find FID (s390x): ZR_DEV becomes the sysfs directory of the pci_dev of zPCI function
# FID (a number, e.g. a VF's from zr_vf_fid); fails (ZR_DEV empty) if it has none.
zr_fid_find() {
	ZR_DEV=''
	for _zr_fd in /sys/bus/pci/devices/*; do
		[ -r "$_zr_fd/function_id" ] || continue
		read -r _zr_fv <"$_zr_fd/function_id" || continue
		case "$_zr_fv" in 0x*) ;; *) continue ;; esac
		[ "$((_zr_fv))" = "$(($1))" ] && { ZR_DEV=$_zr_fd; return 0; }
	done
	return 1
}

# zr_fn_dev ID: the same, printed.
zr_fn_dev() { zr_fn_find "$1" && echo "$ZR_DEV"; }

# zr_fn_bound_driver ID: name of the driver bound to function ID (empty if none).
zr_fn_bound_driver() {
	zr_fn_find "$1" && [ -e "$ZR_DEV/driver" ] || return 1
	_zr_bl=$(readlink "$ZR_DEV/driver") || return 1
	echo "${_zr_bl##*/}"
}

zr_fn_present() { zr_fn_find "$1"; }
zr_fn_absent() { ! zr_fn_find "$1"; }
# zr_fn_bound ID: function ID is bound to its expected driver.
zr_fn_bound() {
	zr_fn_find "$1" && zr_fn_get "$1" 3 || return 1
	[ -e "/sys/bus/pci/drivers/$ZR_F/${ZR_DEV##*/}" ]
}

# zr_wait_present ID / zr_wait_absent ID / zr_wait_bound ID: bounded waits (about 30 s).
zr_wait_present() { zr_loop_until "zr_fn_present $1"; }
zr_wait_absent() { zr_loop_until "zr_fn_absent $1"; }
zr_wait_bound() { zr_loop_until "zr_fn_bound $1"; }

# zr_restore_fn ID: cleanup for tests that take a function away: bring it back by every means
# the test may have used (rescan, slot power, host re-plug), then wait for the driver.
zr_restore_fn() {
	zr_fn_bound "$1" && return 0
	if ! zr_fn_present "$1"; then
		echo 1 >/sys/bus/pci/rescan 2>/dev/null
		zr_loop_until "zr_fn_present $1" 20 && { zr_wait_bound "$1"; return; }
		_s=$(zr_fn_slot "$1")
		[ -e "$_s/power" ] && echo 1 >"$_s/power" 2>/dev/null
		zr_loop_until "zr_fn_present $1" 50 && { zr_wait_bound "$1"; return; }
		zr_host plug "$1" >/dev/null
		zr_wait_present "$1" || return 1
	fi
	if ! zr_fn_bound "$1"; then
		_d=$(zr_fn_dev "$1")
		basename "$_d" >"/sys/bus/pci/drivers/$(zr_fn_driver "$1")/bind" 2>/dev/null
	fi
	zr_wait_bound "$1"
}

# zr_take_fn ID...: the test starts from these functions present and bound (else it cannot
# run: Bail out) and gives them back at the end (EXIT trap, zr_restore_fn).
zr_take_fn() {
	for _f in "$@"; do
		zr_fn_bound "$_f" || zr_die "$_f is not present and bound at the start"
	done
	ZR_TAKEN="$*"
	trap 'for _f in $ZR_TAKEN; do zr_restore_fn "$_f"; done' EXIT
}

# zr_need_slot ID: ZR_SLOT becomes the hot-plug slot of function ID; SKIP the test if it has
# none.
zr_need_slot() {
	ZR_SLOT=$(zr_fn_slot "$1")
	[ -e "$ZR_SLOT/power" ] || zr_skip_all "no hot-plug slot for $1 ($ZR_SLOT)"
}

# ---- SR-IOV (x86_64 machine) --------------------------------------------------------------

# zr_vf_count ID: number of VFs function ID has now (its virtfnN links).
zr_vf_count() {
	_d=$(zr_fn_dev "$1") || { echo 0; return; }
	_n=0
	for _v in "$_d"/virtfn*; do [ -e "$_v" ] && _n=$((_n + 1)); done
	echo "$_n"
}

# zr_vf_fid ID N: the zPCI function id of VF N of PF ID on the s390x-sriov machine: our QEMU's
# default, PF fid * 0x100 + 1 + N (Documentation/qemu.rst).
zr_vf_fid() { zr_fn_get_fid "$1" && echo $((ZR_F * 256 + 1 + $2)); }

# zr_fid_slot FID (s390x): the hot-plug slot directory of zPCI function FID.
zr_fid_slot() { printf '/sys/bus/pci/slots/%08x\n' "$1"; }

# zr_fid_standby FID (s390x): the guest has deconfigured zPCI function FID (SCLP: its slot's
# power reads 0). Its pci_dev goes first, so "gone" alone does not mean the platform has it yet.
zr_fid_standby() {
	local p
	read -r p 2>/dev/null <"$(zr_fid_slot "$1")/power" && [ "$p" = 0 ]
}

# zr_sriov ID N: write N to function ID's sriov_numvfs and wait until it has N VFs.
zr_sriov() {
	_d=$(zr_fn_dev "$1") || return 1
	zr_log "% echo $2 > ${_d##*/}/sriov_numvfs"
	if ! echo "$2" >"$_d/sriov_numvfs"; then
		echo "# sriov_numvfs=$2 of $1 refused"
		return 1
	fi
	zr_loop_until "[ \"\$(zr_vf_count $1)\" = $2 ]"
}

# zr_vfs_bound ID DRIVER: every VF of function ID is bound to DRIVER.
zr_vfs_bound() {
	_d=$(zr_fn_dev "$1") || return 1
	for _v in "$_d"/virtfn*; do
		[ -e "$_v/driver" ] || return 1
		[ "$(basename "$(readlink "$_v/driver")")" = "$2" ] || return 1
	done
}

# zr_need_vfs: skip the whole test where the machine has no VFs: the SR-IOV tests' PF, pigb,
# is missing or shows no SR-IOV capability (Debian's QEMU on s390x: 256 bytes of config space,
# no zPCI functions for VFs; the s390x-sriov machine runs our QEMU, which has both).
zr_need_vfs() {
	if ! zr_fn_find pigb || [ ! -e "$ZR_DEV/sriov_totalvfs" ]; then
		zr_skip_all "no SR-IOV PF here (QEMU's own s390x machine: 256-byte config space, no VF zPCI functions; see the s390x-sriov machine)"
	fi
}

# zr_patched: the zpci_rrlock livepatch is enabled (the scenario tests expect the fixed
# behaviour then, and the stock kernel's report otherwise).
zr_patched() { zr_lp_enabled "$ZR_MOD"; }

# ---- modules ------------------------------------------------------------------------------

zr_mod_loaded() { [ -d "/sys/module/$1" ]; }

# zr_insmod PATH [PARAMS...]: load a module; its error message is printed as a diagnostic.
zr_insmod() {
	zr_log "% insmod $*"
	_out=$(insmod "$@" 2>&1) && return 0
	echo "# insmod $*: $_out"
	return 1
}

# zr_mod_unused NAME: the module's reference count is 0 (or it has none).
zr_mod_unused() {
	_zr_rc=0
	[ -r "/sys/module/$1/refcnt" ] && read -r _zr_rc <"/sys/module/$1/refcnt" 2>/dev/null
	[ "$_zr_rc" = 0 ]
}

# zr_rmmod NAME: unload a module and wait until it is gone. Its references are waited for
# first, as the kernel's livepatch selftests do: a disabled livepatch drops its own only after
# its sysfs directory is gone (klp_free_patch_finish(), in a work item), so an rmmod in between
# fails with "in use"; rmmod itself then names what still holds it.
zr_rmmod() {
	zr_loop_until "zr_mod_unused $1"
	zr_log "% rmmod $1"
	rmmod "$1" 2>&1 | sed 's/^/# /'
	zr_loop_until "! zr_mod_loaded $1"
}

# ---- livepatches --------------------------------------------------------------------------

# zr_lp_enabled NAME: the livepatch is enabled and its transition complete.
zr_lp_enabled() {
	[ "$(cat "/sys/kernel/livepatch/$1/enabled" 2>/dev/null)" = 1 ] &&
		[ "$(cat "/sys/kernel/livepatch/$1/transition" 2>/dev/null)" = 0 ]
}

# zr_lp_load PATH [PARAMS...]: load a livepatch module and wait until every task runs the
# patched code.
zr_lp_load() {
	_name=$(basename "$1" .ko)
	zr_insmod "$@" || return 1
	zr_loop_until "zr_lp_enabled $_name"
}

# zr_lp_unload NAME: disable a livepatch, wait for its transition to finish, unload the module.
zr_lp_unload() {
	if [ -d "/sys/kernel/livepatch/$1" ]; then
		zr_log "% echo 0 > /sys/kernel/livepatch/$1/enabled"
		echo 0 >"/sys/kernel/livepatch/$1/enabled" || return 1
		zr_loop_until "[ ! -d /sys/kernel/livepatch/$1 ]" || return 1
	fi
	zr_mod_loaded "$1" || return 0
	zr_rmmod "$1"
}

# ---- torture operations --------------------------------------------------------------------
# One operation on function ID each (zr_torture, zr_lifecycle): 0 done, 1 failed (typically
# against a concurrent removal), 2 not applicable (the function is absent, has no VF, ...).
# unbind/bind, reset, recover, remove/rescan, slot power off/on, sriov_numvfs 0 <-> 2, and
# unbind/bind of a VF bound to igbvf.
zr_op_unbind() {
	_d=$(zr_fn_dev "$1") || return 2
	_drv=$(zr_fn_driver "$1")
	echo "${_d##*/}" >"/sys/bus/pci/drivers/$_drv/unbind" 2>/dev/null || return 1
	echo "${_d##*/}" >"/sys/bus/pci/drivers/$_drv/bind" 2>/dev/null || return 1
}
zr_op_reset() {
	_d=$(zr_fn_dev "$1") || return 2
	echo 1 >"$_d/reset" 2>/dev/null
}
zr_op_recover() {
	_d=$(zr_fn_dev "$1") || return 2
	echo 1 >"$_d/recover" 2>/dev/null || return 1
	zr_loop_until "zr_fn_present $1" 100
}
zr_op_remove() {
	_d=$(zr_fn_dev "$1") || return 2
	echo 1 >"$_d/remove" 2>/dev/null || return 1
	echo 1 >/sys/bus/pci/rescan 2>/dev/null || return 1
	zr_loop_until "zr_fn_present $1" 100
}
zr_op_power() {
	_s=$(zr_fn_slot "$1")
	zr_fn_present "$1" && [ -e "$_s/power" ] || return 2
	echo 0 >"$_s/power" 2>/dev/null || return 1
	echo 1 >"$_s/power" 2>/dev/null || return 1
	zr_loop_until "zr_fn_present $1" 100
}
zr_op_numvfs() {
	_d=$(zr_fn_dev "$1") || return 2
	[ -e "$_d/sriov_numvfs" ] || return 2
	read -r _n <"$_d/sriov_numvfs" 2>/dev/null || return 1
	if [ "$_n" = 0 ]; then _n=2; else _n=0; fi
	echo "$_n" >"$_d/sriov_numvfs" 2>/dev/null
}
zr_op_vfunbind() {
	_d=$(zr_fn_dev "$1") || return 2
	for _v in "$_d"/virtfn*; do
		[ -e "$_v/driver" ] || continue
		_v=$(readlink "$_v") && _v=${_v##*/}
		echo "$_v" >"/sys/bus/pci/drivers/igbvf/unbind" 2>/dev/null || return 1
		echo "$_v" >"/sys/bus/pci/drivers/igbvf/bind" 2>/dev/null
		return
	done
	return 2
}
