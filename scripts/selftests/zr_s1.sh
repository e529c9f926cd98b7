#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# S1 of the reference, deterministic: the AB-BA cycle between zpci_add_remove_lock and the PCI
# rescan/remove lock, shown by lockdep without any race. A sysfs `remove` of one zPCI function
# drops its pci_dev's last reference under the rescan/remove lock, so its release
# (pcibios_release_device -> zpci_zdev_put) takes zpci_add_remove_lock inside it; a platform
# hot-unplug (QMP device_del) of another function ends with its zdev released in the CRW kthread
# (zpci_zdev_put -> zpci_release_device), which takes the rescan/remove lock inside
# zpci_add_remove_lock. On the stock kernel lockdep reports the circular dependency (the
# expected result); with the livepatch zpci_zdev_put takes the rescan/remove lock first, the
# release's own acquisition nests, and the boot stays clean.
. "$(dirname "$0")/functions.sh"

x=${1:-znvme} y=${2:-znet}
zr_have_host || zr_skip_all "no host control channel"
zr_take_fn "$x" "$y"
slot=$(zr_fn_slot "$y")
[ -e "$slot" ] || zr_skip_all "no hot-plug slot for $y ($slot): its release cannot be observed"

mode=stock
zr_patched && mode=patched
# The zdev of $y is released (zpci_release_device -> zpci_exit_slot) when its slot is gone.
released() { [ ! -e "$slot" ]; }
expected() {
	if [ $mode = patched ]; then
		zr_no_reports
	else
		if zr_loop_until "zr_dmesg_has 'possible circular locking dependency'" 100 &&
			zr_dmesg_has 'zpci_add_remove_lock' && zr_dmesg_has 'pci_rescan_remove_lock'; then
			return 0
		fi
		echo "# stock kernel: no zpci_add_remove_lock/pci_rescan_remove_lock cycle (scenario no longer reproduces)"
		return 1
	fi
}

ktap_print_header
ktap_set_plan 8
zr_canary
dev=$(zr_fn_dev "$x")
zr_check "$x: echo 1 > remove succeeds" eval "echo 1 > $dev/remove"
zr_check "$x: gone after remove" zr_wait_absent "$x"
zr_check "$y: host device_del answered by DEVICE_DELETED" zr_host_unplug "$y"
zr_check "$y: gone from the guest" zr_wait_absent "$y"
zr_check "$y: zPCI function released (slot $(basename "$slot") gone)" zr_loop_until released
zr_check "$mode: expected result ($( [ $mode = stock ] && echo 'lockdep circular dependency' || echo clean))" expected
zr_check "$y: back after host device_add" eval "zr_host_plug $y && zr_wait_bound $y"
zr_check "$x: back after bus rescan" eval "echo 1 > /sys/bus/pci/rescan && zr_wait_bound $x"
ktap_finished
