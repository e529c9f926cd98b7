#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Driver unbind/bind racing platform hot-unplug of the same function (QMP device_del/
# device_add), for a bounded time (zr.race_seconds): the unbind holds the device lock and runs
# the driver's .remove; the hot-unplug's removal (zpci_bus_remove_device, state_lock) releases
# the same driver. With the livepatch the removal releases the driver before it takes the
# rescan/remove lock (the S5 order). Both loops must finish and the function come back bound.
. "$(dirname "$0")/functions.sh"

fn=${1:-znvme}
zr_have_host || zr_skip_all "no host control channel"
zr_take_fn "$fn"
drv=/sys/bus/pci/drivers/$(zr_fn_driver "$fn")

# Unbind and bind may fail while the function is being unplugged; only a hang or a kernel
# report counts.
unbind_bind() {
	local _d
	_d=$(zr_fn_dev "$fn") || { sleep 0.2; return 0; }
	echo "${_d##*/}" >"$drv/unbind" 2>/dev/null
	echo "${_d##*/}" >"$drv/bind" 2>/dev/null
	return 0
}

zr_race_vs_hotplug "$fn" unbind "unbind/bind $fn" unbind_bind
