#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Concurrent workers and the race scenarios built on them (sourced by functions.sh). Each worker
# runs in the background for a time bound and keeps "ROUNDS FAILED [done]" in its status file.
# At most one worker may talk to the host (the control channel is one stream).
ZR_WORKERS=''
ZR_WORKDIR=${ZR_WORKDIR:-/tmp/zr-workers.$$}

# zr_uptime: whole seconds since boot.
zr_uptime() {
	local up rest
	read -r up rest </proc/uptime
	echo "${up%.*}"
}

# zr_worker [--rounds N] NAME SECONDS CMD...: run CMD repeatedly for SECONDS (and at most N
# times, with --rounds N > 0) in the background, in a subshell of its own: what CMD keeps in
# global variables lasts from one round to the next. Its output goes nowhere: a worker stuck in
# the kernel must not hold the test's output pipe open.
zr_worker() {
	local rounds=0 name secs
	[ "$1" = --rounds ] && { rounds=$2; shift 2; }
	name=$1 secs=$2
	shift 2
	zr_num_in "$secs" 1 99999 ||
		zr_die "worker $name: '$secs' is not a number of seconds in 1..99999 (zr.race_seconds=?)"
	mkdir -p "$ZR_WORKDIR"
	echo "0 0" >"$ZR_WORKDIR/$name"
	(
		w_end=$(($(zr_uptime) + secs)) w_ok=0 w_failed=0
		while [ "$(zr_uptime)" -lt "$w_end" ]; do
			[ "$rounds" -gt 0 ] && [ $((w_ok + w_failed)) -ge "$rounds" ] && break
			if "$@"; then
				w_ok=$((w_ok + 1))
			else
				w_failed=$((w_failed + 1))
				zr_log "worker $name: round $((w_ok + w_failed)) failed"
			fi
			echo "$w_ok $w_failed" >"$ZR_WORKDIR/$name"
		done
		echo "$w_ok $w_failed done" >"$ZR_WORKDIR/$name"
	) </dev/null >/dev/null 2>&1 &
	ZR_WORKERS="$ZR_WORKERS $name"
}

# zr_worker_status NAME: "ROUNDS FAILED [done]".
zr_worker_status() {
	local status=''
	read -r status <"$ZR_WORKDIR/$1" 2>/dev/null
	echo "$status"
}

# zr_workers_done: every worker has finished.
zr_workers_done() {
	local w
	for w in $ZR_WORKERS; do
		case "$(zr_worker_status "$w")" in *done) ;; *) return 1 ;; esac
	done
}

# zr_workers_wait SECONDS: wait for every worker to finish, at most SECONDS; names the ones
# still running (stuck: a deadlock) as KTAP diagnostics.
zr_workers_wait() {
	local end w
	end=$(($(zr_uptime) + $1))
	while ! zr_workers_done; do
		[ "$(zr_uptime)" -ge "$end" ] && break
		sleep 1
	done
	zr_workers_done && return 0
	for w in $ZR_WORKERS; do
		case "$(zr_worker_status "$w")" in
		*done) ;;
		*) echo "# worker $w stuck after $(zr_worker_status "$w" | cut -d' ' -f1) rounds" ;;
		esac
	done
	return 1
}

# zr_workers_stuck: the number of workers still running (after zr_workers_wait: stuck).
zr_workers_stuck() {
	local w n=0
	for w in $ZR_WORKERS; do
		case "$(zr_worker_status "$w")" in *done) ;; *) n=$((n + 1)) ;; esac
	done
	echo "$n"
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
	local s
	s=$(zr_cmdline zr.race_seconds)
	echo "${s:-10}"
}

# zr_task_blocked PID: task PID sleeps uninterruptibly (state D; /proc/PID/stat, after the comm).
zr_task_blocked() {
	local s
	read -r s <"/proc/$1/stat" 2>/dev/null || return 1
	s=${s##*) }
	[ "${s%% *}" = D ]
}

# The gate of the deterministic recipes: the test module zr_nest, loaded at depth 1, holds the
# rescan/remove lock for a while, and the recipe queues its tasks on the lock meanwhile.
ZR_NEST=$ZR_MODDIR/klp/zr_nest.ko

# zr_need_gate: SKIP the test if the image has no zr_nest.
zr_need_gate() { [ -f "$ZR_NEST" ] || zr_skip_all "test module not in the image: $ZR_NEST"; }

# zr_gate MS: load zr_nest in the background to hold the lock for MS milliseconds (ZR_GATE: the
# insmod's PID); true once it holds it. zr_gate_wait: wait until it has let go.
zr_gate() {
	insmod "$ZR_NEST" depth=1 hold_ms="$1" &
	ZR_GATE=$!
	zr_loop_until "zr_dmesg_has 'zr_nest: holding the lock for $1 ms'" 50
}
zr_gate_wait() { wait "$ZR_GATE"; }

# zr_thread_blocked PATTERN: a task whose name (comm) matches the shell PATTERN sleeps
# uninterruptibly. No process per task: a pass over a hundred tasks with one `cat` each takes
# seconds on a KASAN kernel under TCG, longer than the window it watches.
zr_thread_blocked() {
	local p name
	for p in /proc/[0-9]*; do
		read -r name 2>/dev/null <"$p/comm" || continue
		# shellcheck disable=SC2254 # PATTERN is a pattern
		case "$name" in
		$1) zr_task_blocked "${p#/proc/}" && return 0 ;;
		esac
	done
	return 1
}

# zr_pciehp_blocked: a pciehp interrupt thread sleeps uninterruptibly.
zr_pciehp_blocked() { zr_thread_blocked 'irq/*-pciehp'; }

# zr_zpci_events_blocked: the s390 machine-check thread, which handles the platform's zPCI
# availability events (kmcheck), sleeps uninterruptibly.
zr_zpci_events_blocked() { zr_thread_blocked kmcheck; }

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
	local flag='' allow='' stock='' w
	case "$1" in
	--stock-expects) flag=$2; shift 2 ;;
	--stock-allows) zr_patched || allow=$2; shift 2 ;;
	esac
	# A stock bug the race may hit can also wedge the workers (F3 in zr_power_race): on the
	# stock kernel that is a stock outcome too.
	[ -n "$flag$allow" ] && ! zr_patched && stock=1
	if zr_workers_wait $(($(zr_race_seconds) + 30)); then
		ktap_test_pass "workers finished within their bound"
	elif [ -n "$stock" ]; then
		ktap_test_skip "workers deadlocked (an expected stock outcome)"
		trap - EXIT
	else
		ktap_test_fail "workers finished within their bound"
	fi
	for w in "$@"; do
		if [ -n "$stock" ] && ! zr_workers_done; then
			ktap_test_skip "worker $w: not checked, the stock kernel deadlocked"
		else
			zr_check "worker $w: rounds completed, none failed" zr_worker_ok "$w"
		fi
	done
	if [ -n "$flag" ] && [ -n "$stock" ]; then
		zr_check "stock: the expected report ($flag)" zr_loop_until "zr_dmesg_has '$flag'" 100
	elif [ -n "$allow" ]; then
		ZR_ALLOWED_REPORT=$allow zr_check "no kernel report during the race (stock: '$allow' allowed)" zr_no_reports
	else
		zr_check "no kernel report during the race" zr_no_reports
	fi
}

# zr_race_vs_hotplug [--stock-allows REGEX] FN NAME DESC CMD...: a whole race test: worker
# NAME runs CMD... while a second worker hot-unplugs and re-plugs FN through the host, for
# zr_race_seconds; then the results of zr_race_report (given the option) and FN present and
# bound at the end (5 in all).
zr_race_vs_hotplug() {
	local allow='' fn name desc
	[ "$1" = --stock-allows ] && { allow=$2; shift 2; }
	fn=$1 name=$2 desc=$3
	shift 3
	ktap_print_header
	ktap_set_plan 5
	zr_canary
	zr_log "race for $(zr_race_seconds) s: $desc vs device_del/device_add $fn"
	zr_worker "$name" "$(zr_race_seconds)" "$@"
	zr_worker hotplug "$(zr_race_seconds)" zr_unplug_replug "$fn"
	if [ -n "$allow" ]; then
		zr_race_report --stock-allows "$allow" "$name" hotplug
	else
		zr_race_report "$name" hotplug
	fi
	zr_check "$fn: present with driver $(zr_fn_driver "$fn") bound afterwards" zr_restore_fn "$fn"
	ktap_finished
}
