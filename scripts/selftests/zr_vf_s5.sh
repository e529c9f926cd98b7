#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# S5 of the reference on PCIe, as a deterministic recipe: unbind of the PF driver with VFs
# enabled while pciehp removes the same PF. With VF removal under the rescan/remove lock the
# unbind holds device_lock(PF) and waits for that lock in sriov_del_vfs(); 7.3.4's pciehp removal
# holds the lock and waits for device_lock(PF) in device_release_driver(): an AB-BA deadlock
# that neither upstream series closes. The livepatch's pciehp_unconfigure_device() releases
# drivers before it takes the lock.
#
# The recipe lines the three up: a second PF with VFs (pigb2) is hot-unplugged first, and its
# removal (igb's .remove disabling SR-IOV: about 2 s) holds the lock in 7.3.4's order; pigb's
# button is pressed 0.3 s later, so its removal queues on the lock behind; the unbind of pigb
# starts while both wait (zr.s5_delay seconds after the second press, default 5.7: pciehp acts
# 5 s after a press). Without the pciehp fix this hangs (checked by hand, see
# Documentation/rescan-lock.rst); stock 7.3.4 removes VFs without the lock and does not hang,
# but its unbind trips lockdep_assert_held (S6, allowed on stock). The hot-unplugs make
# pciehp's own known report: this runs in the hot-plug boots. On s390x (the s390x-sriov
# machine) the same QMP device_del is the platform's deconfigure request, handled in order by
# the zPCI event thread (the unbind starts 0.7 s after the presses), and the stock removals
# draw S1 as well.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
zr_have_host || zr_skip_all "no host control channel"
zr_take_fn pigb pigb2
delay=$(zr_cmdline zr.s5_delay)
# On s390x the platform's deconfigure requests come at once and the event thread handles them
# in order: pigb's waits for pigb2's, which holds the lock while igb disables SR-IOV (~2 s).
if [ "$ZR_ARCH" = s390x ]; then
	delay=${delay:-0.7}
else
	delay=${delay:-5.7}
fi
mode=stock
zr_patched && mode=patched
done_file=/tmp/zr-s5-unbind.$$

unbind_bg() {
	local _d
	_d=$(zr_fn_dev pigb) || return 1
	zr_log "% unbind igb from ${_d##*/} (background)"
	(
		if echo "${_d##*/}" >/sys/bus/pci/drivers/igb/unbind 2>/dev/null; then
			echo ok >"$done_file"
		else
			echo failed >"$done_file"
		fi
	) </dev/null >/dev/null 2>&1 &
}
unbind_returned() { [ -e "$done_file" ]; }
both_deleted() { zr_host_wait_deleted pigb2 60 && zr_host_wait_deleted pigb 60; }
replug() {
	zr_host_plug pigb2 && zr_host_plug pigb && zr_wait_bound pigb2 && zr_wait_bound pigb
}
reports() {
	if [ $mode = stock ] && [ "$ZR_ARCH" = s390x ]; then
		# The VFs' release under the rescan/remove lock of the removals draws S1 as well.
		ZR_ALLOWED_REPORT='drivers/pci/remove.c|possible circular locking dependency' zr_no_reports
	elif [ $mode = stock ]; then
		ZR_ALLOWED_REPORT='drivers/pci/remove.c' zr_no_reports
	else
		zr_no_reports
	fi
}

ktap_print_header
ktap_set_plan 8
zr_canary
zr_check "igb: 2 VFs on pigb and on pigb2" eval "zr_sriov pigb 2 && zr_sriov pigb2 2"
zr_check "pigb2: button pressed (QMP device_del): its removal will hold the lock" zr_host_unplug_nowait pigb2
sleep 0.3
zr_check "pigb: button pressed 0.3 s later: its removal queues behind" zr_host_unplug_nowait pigb
sleep "$delay"
zr_check "pigb: unbind of igb started while both removals run" unbind_bg
zr_check "$mode: both hot-unplugs complete (no deadlock)" both_deleted
zr_check "$mode: the unbind returned" zr_loop_until unbind_returned 100
zr_check "pigb and pigb2 back after re-plug, igb bound" replug
zr_check "no kernel report but the known pciehp one$([ $mode = stock ] && echo ' (stock: the S6 warning allowed)')" reports
rm -f "$done_file"
ktap_finished
