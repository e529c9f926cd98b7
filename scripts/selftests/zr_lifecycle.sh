#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Livepatch lifecycle under load: zr.lifecycle_cycles= (default 3, 1..1000) rounds of
# load -> enable -> burst -> disable -> unload. The burst: guest workers unbind/bind and reset
# every function, the host hot-unplugs and re-plugs them (s390x, QMP; stopped before the
# disable, see cycle), and zr_nest takes the lock 3 deep; the disable is written while the guest
# workers still run, so a disable may find a task inside the lock (the transition must wait for
# it, as Documentation/rescan-lock.rst says). Each round must leave the functions back and the
# log clean; after the last the stock functions are back.
. "$(dirname "$0")/functions.sh"

cycles=$(zr_cmdline zr.lifecycle_cycles)
zr_num_in "${cycles:=3}" 1 1000 || zr_die "zr.lifecycle_cycles=$cycles: not a number in 1..1000"
ko=$ZR_MODDIR/$ZR_MOD.ko
nest=$ZR_MODDIR/klp/zr_nest.ko
if [ ! -f "$ko" ] || [ ! -f "$nest" ]; then
	zr_skip_all "modules not in the image"
fi
zr_mod_loaded "$ZR_MOD" && zr_skip_all "$ZR_MOD is loaded already (this test loads and unloads it)"
fns=$(zr_functions | tr '\n' ' ')
storm=''
[ "$ZR_ARCH" = s390x ] && zr_have_host && storm=$fns
trap 'zr_mod_loaded zr_nest && rmmod zr_nest; zr_lp_unload $ZR_MOD; for _f in $fns; do zr_restore_fn $_f; done' EXIT

# burst_op I: one round of the guest workers' load.
burst_op() {
	local _f
	for _f in $fns; do
		zr_op_unbind "$_f"
		zr_op_reset "$_f"
	done
	return 0
}

# cycle I: one round; the first failing step is named as a diagnostic. The host's hot-unplugs
# run only while the patch is fully enabled: during a transition a patched and a stock task can
# take zpci_add_remove_lock and the rescan/remove lock in opposite orders (the stock kernel's own
# S1 order against the fixed one), so the storm stops and every function is back before the
# disable; the guest workers go on through it.
cycle() {
	local _f
	zr_lp_load "$ko" || { echo "# round $1: enable failed"; return 1; }
	if [ -n "$storm" ]; then
		# shellcheck disable=SC2086 # the function list is words
		zr_host_storm_start "$1" 500 $storm || { echo "# round $1: host worker did not start"; return 1; }
	fi
	ZR_WORKERS=''
	zr_worker "burst$1" 3 burst_op
	zr_insmod "$nest" depth=3 || { echo "# round $1: nesting failed"; return 1; }
	zr_rmmod zr_nest || { echo "# round $1: rmmod zr_nest failed"; return 1; }
	if [ -n "$storm" ]; then
		zr_host_storm_stop || { echo "# round $1: host worker: $ZR_HOST_ERR"; return 1; }
		echo "# round $1: host: $ZR_HOST_OUT"
		for _f in $fns; do
			zr_wait_present "$_f" || { echo "# round $1: $_f not back after the storm"; return 1; }
		done
	fi
	zr_log "lifecycle round $1: % echo 0 > /sys/kernel/livepatch/$ZR_MOD/enabled (burst running)"
	echo 0 >"/sys/kernel/livepatch/$ZR_MOD/enabled" || { echo "# round $1: disable refused"; return 1; }
	zr_workers_wait 60 || { echo "# round $1: burst workers stuck"; return 1; }
	zr_loop_until "[ ! -d /sys/kernel/livepatch/$ZR_MOD ]" ||
		{ echo "# round $1: unpatching transition did not finish"; return 1; }
	# What pre_unpatch said about the lock when this round's transition started (counted here,
	# per round: over 100 rounds the first lines leave the kernel's ring buffer).
	case "$(dmesg | awk -v m="lifecycle round $1: " 'index($0, m) { f = 1 } f && /unpatching: rescan\/remove lock/ { print; exit }')" in
	*"lock held"*) held=$((held + 1)) ;;
	*"lock free"*) free=$((free + 1)) ;;
	*) echo "# round $1: pre_unpatch did not log the lock's state" ;;
	esac
	zr_rmmod "$ZR_MOD" || { echo "# round $1: unload failed"; return 1; }
	for _f in $fns; do
		zr_restore_fn "$_f" || { echo "# round $1: $_f not back"; return 1; }
	done
	[ -e /sys/kernel/debug/zpci_rrlock ] && { echo "# round $1: debugfs view left behind"; return 1; }
	return 0
}

ktap_print_header
ktap_set_plan 4
zr_canary
ok=0 held=0 free=0
i=1
while [ "$i" -le "$cycles" ]; do
	cycle "$i" || break
	ok=$i
	i=$((i + 1))
done
zr_check "$cycles rounds of load, enable, burst ($([ -n "$storm" ] && echo 'host hot-unplug, ')unbind/bind, reset, nest 3 deep), disable during the burst, unload ($ok done)" [ "$ok" = "$cycles" ]
zr_record lifecycle cycles="$ok" disable_with_lock_held="$held" disable_with_lock_free="$free"
zr_check "every disable logged the lock's state and completed ($held held, $free free, $ok rounds)" \
	[ $((held + free)) = "$ok" ]
stock() { [ ! -d "/sys/kernel/livepatch/$ZR_MOD" ] && [ ! -e "/sys/kernel/debug/$ZR_MOD" ]; }
zr_check "stock functions back: no livepatch, no debugfs view" stock
zr_check "no kernel report during the cycles" zr_no_reports
ktap_finished
