#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# S1 of the reference as a real race: a sysfs remove/rescan loop on one zPCI function against a
# QMP device_del/device_add loop on another, for a bounded time (zr.race_seconds). On the stock
# kernel the first rounds close the zpci_add_remove_lock / rescan-lock cycle (lockdep reports it,
# the expected result; a real deadlock, if the windows meet, hangs both loops and the guest is
# ended at the deadline). With the livepatch both loops finish and the log stays clean.
. "$(dirname "$0")/functions.sh"

x=${1:-znvme} y=${2:-znet}
zr_have_host || zr_skip_all "no host control channel"
zr_take_fn "$x" "$y"

remove_rescan() {
	local _d
	_d=$(zr_fn_dev "$x") || return 1
	echo 1 >"$_d/remove" && zr_wait_absent "$x" &&
		echo 1 >/sys/bus/pci/rescan && zr_wait_bound "$x"
}

ktap_print_header
ktap_set_plan 4
zr_canary
zr_log "race for $(zr_race_seconds) s: remove/rescan $x vs device_del/device_add $y"
zr_worker remove "$(zr_race_seconds)" remove_rescan
zr_worker hotplug "$(zr_race_seconds)" zr_unplug_replug "$y" bound
zr_race_report --stock-expects 'possible circular locking dependency' remove hotplug
ktap_finished
