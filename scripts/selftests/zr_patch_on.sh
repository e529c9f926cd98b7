#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Enables the zpci_rrlock livepatch for the rest of the boot (the "patched" boots), after
# checking that it loads cleanly.
. "$(dirname "$0")/functions.sh"

ko=$ZR_MODDIR/$ZR_MOD.ko
[ -f "$ko" ] || zr_skip_all "module not in the image: $ko"

ktap_print_header
ktap_set_plan 3
zr_canary
zr_check "zpci_rrlock livepatch loads and completes its transition" zr_lp_load "$ko"
patched() {
	local _o _fs _f
	_o=/sys/kernel/livepatch/$ZR_MOD/vmlinux
	[ "$(cat "$_o/patched" 2>/dev/null)" = 1 ] || return 1
	_fs="pci_lock_rescan_remove pci_unlock_rescan_remove remove_store sriov_enable sriov_disable sriov_numvfs_store"
	# pciehp (built in where configured) has parameters, so /sys/module/pciehp; reading
	# /proc/kallsyms instead would take 10-15 s under TCG.
	[ -d /sys/module/pciehp ] && _fs="$_fs pciehp_configure_device pciehp_unconfigure_device"
	[ "$ZR_ARCH" = s390x ] &&
		_fs="$_fs zpci_zdev_put zpci_add_device zpci_bus_scan_device zpci_bus_remove_device zpci_deconfigure_device zpci_remove_reserved_devices recover_store"
	for _f in $_fs; do
		[ -d "$_o/$_f,1" ] || { echo "# $_f is not among the patched functions"; return 1; }
	done
}
zr_check "vmlinux patched: pci_(un)lock_rescan_remove, remove_store, sriov_*$([ "$ZR_ARCH" = s390x ] && echo ', zpci_*, recover_store')" patched
zr_check "no kernel report while enabling" zr_no_reports
ktap_finished
