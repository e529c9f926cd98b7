#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# s390 `recover` racing platform hot-unplug of the same function (QMP device_del/device_add),
# for a bounded time (zr.race_seconds). recover holds zdev->state_lock and the rescan/remove
# lock across the function's removal and re-probe; the deconfigure request (0x303) waits for
# state_lock, and a recover that finds the function gone must give back the attribute's active
# protection (the reference's F1, a bug of the proposed upstream port). Both loops must finish,
# the function must come back, the log must stay clean, stock and patched.
. "$(dirname "$0")/functions.sh"

fn=${1:-zigb}
zr_have_host || zr_skip_all "no host control channel"
zr_take_fn "$fn"
[ -e "$(zr_fn_dev "$fn")/recover" ] || zr_skip_all "no recover attribute for $fn"

# A write to recover may fail or find no device while the function is being unplugged: only a
# hang (the worker never finishes) or a kernel report counts against it.
recover() {
	local _d
	_d=$(zr_fn_dev "$fn") && echo 1 >"$_d/recover" 2>/dev/null
	sleep 0.2
	return 0
}

zr_race_vs_hotplug "$fn" recover "recover $fn" recover
