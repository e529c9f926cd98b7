#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# With the zpci_rrlock livepatch enabled, the rescan/remove lock is reentrant: zr_nest takes it
# 5 deep, lockdep sees it held at every level (a kernel with lockdep), no report follows, and
# the debugfs view counts the nesting. (The stock kernel deadlocks on the same module: zr_nest_stock.sh, in its own boot.)
. "$(dirname "$0")/functions.sh"

nest=$ZR_MODDIR/klp/zr_nest.ko
[ -f "$nest" ] || zr_skip_all "test module not in the image: $nest"
view=/sys/kernel/debug/zpci_rrlock/rescan_lock
loaded_here=
trap 'zr_mod_loaded zr_nest && rmmod zr_nest; [ -n "$loaded_here" ] && zr_lp_unload $ZR_MOD' EXIT
if ! zr_lp_enabled "$ZR_MOD"; then
	zr_lp_load "$ZR_MODDIR/$ZR_MOD.ko" || zr_die "cannot enable the $ZR_MOD livepatch"
	loaded_here=1
fi
field() { sed -n "s/^$1: //p" "$view"; }
if zr_have_lockdep; then
	seen="lockdep saw the lock held at every level"
else
	seen="without lockdep to ask who holds it"
fi

ktap_print_header
ktap_set_plan 6
zr_canary
before=$(field nested_total)
zr_check "zr_nest depth=5 loads (nested acquisitions succeed)" zr_insmod "$nest" depth=5
zr_check "dmesg: nested 5 deep, $seen" zr_dmesg_has "zr_nest: nested 5 deep, $seen"
after=$(field nested_total)
echo "# nested_total $before -> $after, max_depth $(field max_depth)"
zr_check "debugfs counts 4 nested acquisitions" [ $((after - before)) -eq 4 ]
zr_check "debugfs max_depth is at least 4" [ "$(field max_depth)" -ge 4 ]
zr_check "the lock is free again" grep -qx "owner: free" "$view"
zr_check "no kernel report (no recursive locking, no hung task)" zr_no_reports
ktap_finished
