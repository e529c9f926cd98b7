#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Unbinding the PF driver with VFs enabled (the reference's S6, the Intel xe symptom): igb's
# .remove disables SR-IOV under device_lock(PF) only, so on the stock kernel the VFs are removed
# without the rescan/remove lock and pci_stop_and_remove_bus_device() fails its
# lockdep_assert_held() (a WARNING at drivers/pci/remove.c) — the expected stock result, and
# the window in which a concurrent hot-unplug removes the VFs twice. With the livepatch
# sriov_del_vfs() takes the lock: clean. Also rmmod of the PF driver, the same path.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
trap 'zr_mod_loaded igb || modprobe igb; zr_restore_fn pigb' EXIT

unbind() {
	local _d
	_d=$(zr_fn_dev pigb) || return 1
	zr_log "% unbind igb from ${_d##*/}"
	echo "${_d##*/}" >/sys/bus/pci/drivers/igb/unbind && [ "$(zr_vf_count pigb)" = 0 ]
}
rebind() { zr_restore_fn pigb; }
rmmod_pf() { zr_rmmod igb && [ "$(zr_vf_count pigb)" = 0 ]; }
reload() { modprobe igb && zr_wait_bound pigb; }
# The stock kernel must show the assertion; the patched one nothing.
expected() {
	if zr_patched; then
		zr_no_reports
	else
		zr_dmesg_has "WARNING: .*drivers/pci/remove.c" ||
			{ echo "# stock kernel: no lockdep_assert_held warning (scenario no longer reproduces)"; return 1; }
	fi
}
mode=stock
zr_patched && mode=patched

ktap_print_header
ktap_set_plan 8
zr_canary
zr_check "igb: 2 VFs enabled" zr_sriov pigb 2
zr_check "unbind igb from the PF: its VFs are removed" unbind
zr_check "$mode: expected result ($( [ $mode = stock ] && echo 'lockdep_assert_held warning' || echo clean))" expected
zr_check "rebind the PF" rebind
zr_canary
zr_check "igb: 2 VFs enabled again" zr_sriov pigb 2
zr_check "rmmod igb: the VFs are removed" rmmod_pf
zr_check "$mode: expected result after rmmod" expected
zr_check "modprobe igb binds the PF again" reload
ktap_finished
