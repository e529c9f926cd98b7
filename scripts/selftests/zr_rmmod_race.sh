#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# rmmod/modprobe of a PF driver racing platform hot-unplug of its function (QMP device_del/
# device_add), for a bounded time (zr.race_seconds): module removal unbinds every device of the
# driver under their device locks while the hot-unplug removes the function. (With VFs this is
# the reference's S5; QEMU's s390x machine shows no SR-IOV capability, so here it is the PF-only
# half, and the VF half runs on x86_64.) Both loops must finish, the function come back bound.
. "$(dirname "$0")/functions.sh"

fn=${1:-znvme}
mod=$(zr_fn_driver "$fn")
zr_have_host || zr_skip_all "no host control channel"
zr_mod_loaded "$mod" || zr_skip_all "$mod is built in: it cannot be removed"
zr_take_fn "$fn"

# rmmod fails while the module is in use, modprobe while it is being removed: only a hang or a
# kernel report counts.
# Each round ends with the module loaded, so the function can be bound again at the end.
rmmod_modprobe() {
	rmmod "$mod" 2>/dev/null
	zr_loop_until "modprobe $mod 2>/dev/null" 50
	return 0
}

zr_race_vs_hotplug "$fn" rmmod "rmmod/modprobe $mod" rmmod_modprobe
