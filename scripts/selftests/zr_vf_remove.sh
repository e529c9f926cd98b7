#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Sysfs `remove` of a PF with VFs enabled (the reference's S3 path without hot-plug hardware).
# The remover holds the rescan/remove lock and the PF's .remove disables SR-IOV; with the
# livepatch `remove` releases the driver before taking the lock, so sriov_del_vfs() takes it
# once, not nested. A non-reentrant lock in sriov_del_vfs() would self-deadlock on the stock
# order. Both kernels must be clean on x86_64. (PCIe hot-unplug of the PF: zr_vf_hotplug.)
# On s390x (s390x-sriov machine) the stock kernel deadlocks here instead (S1): the remover,
# holding the rescan/remove lock, waits in the PF's release for zpci_add_remove_lock, which the
# event thread holds while it releases a VF the platform reserved and waits for the
# rescan/remove lock; that boot expects the hang. With the livepatch: clean.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
trap 'zr_restore_fn pigb' EXIT

sysfs_remove() {
	local _d
	_d=$(zr_fn_dev pigb) || return 1
	zr_log "% echo 1 > ${_d##*/}/remove"
	echo 1 >"$_d/remove" && zr_wait_absent pigb
}
back() { zr_restore_fn pigb && [ "$(zr_vf_count pigb)" = 0 ]; }

ktap_print_header
ktap_set_plan 4
zr_canary
zr_check "igb: 2 VFs enabled" zr_sriov pigb 2
zr_check "sysfs remove of the PF with its VFs" sysfs_remove
zr_check "rescan brings the PF back, bound, without VFs" back
zr_check "no kernel report (no self-deadlock, no lockdep report)" zr_no_reports
ktap_finished
