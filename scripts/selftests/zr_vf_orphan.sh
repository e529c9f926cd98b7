#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Sysfs `remove` of a PF whose driver leaves SR-IOV enabled in .remove (nvme in 7.3.4: "driver
# left SR-IOV enabled after remove"). Stock 7.3.4 removes the PF but not its VFs: they are its
# siblings on the bus, not children, so they stay registered, holding the removed PF. The
# rescanned PF clears VF Enable and reads sriov_numvfs 0 while the old VFs are still there
# (without a `remove` attribute: VFs have none), and enabling its VFs again registers the same
# names twice (duplicate sysfs name, a pci_device_add() WARNING, an Oops in kill_device() on the
# error path: F4 of Documentation/torture.rst, found by the x86_64 torture). Stock: the orphaned
# VFs are shown and the test stops there (the boot cannot get rid of them; run it last among
# the nvme tests). On s390x (our QEMU) the rescanned PF's clearing of VF Enable makes the
# platform take the old VFs away (0x0304): Linux removes them through their dead PF (kernfs
# warnings for its virtfn links), and the old PF's last reference, dropped there, finds its
# num_VFs still set: BUG_ON in sriov_release(), in the zPCI event thread (a boot of its own).
# Patched: the VFs go with their PF and the new PF gets VFs again cleanly.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
pf=$(zr_fn_dev pnvme) || zr_die "pnvme not present"
trap 'zr_restore_fn pnvme; zr_sriov pnvme 0; echo 1 >"$(zr_fn_dev pnvme)/sriov_drivers_autoprobe"' EXIT

vfs=
enable() {
	local _v
	echo 0 >"$pf/sriov_drivers_autoprobe" && zr_sriov pnvme 2 || return 1
	for _v in "$pf"/virtfn*; do vfs="$vfs $(basename "$(readlink "$_v")")"; done
	echo "# VFs:$vfs"
	[ -n "$vfs" ]
}
remove_rescan() {
	zr_log "% echo 1 > ${pf##*/}/remove"
	echo 1 >"$pf/remove" && zr_wait_absent pnvme || return 1
	echo 1 >/sys/bus/pci/rescan && zr_wait_bound pnvme && [ "$(zr_vf_count pnvme)" = 0 ]
}
# The VFs of the removed PF that are still registered.
orphans() {
	local _v
	for _v in $vfs; do [ -e "/sys/bus/pci/devices/$_v" ] && echo "$_v"; done
}
outcome() {
	local _o
	_o=$(orphans | tr '\n' ' ')
	if zr_patched; then
		[ -z "$_o" ] && zr_dmesg_since | grep -q "removing the VFs the driver left enabled"
	elif [ -n "$_o" ]; then
		echo "# stock: still registered after the PF's removal: $_o"
	elif zr_dmesg_has "kernfs: can not remove 'virtfn"; then
		echo "# stock: the platform took the orphaned VFs away, Linux removed them through their dead PF"
	else
		echo "# stock: the VFs went with their PF (scenario no longer reproduces)"
		return 1
	fi
}
# Stock on s390x: the kernfs warnings and the BUG of the orphans' removal (see above).
reports() {
	if zr_patched; then
		zr_no_reports
	else
		ZR_ALLOWED_REPORT='at kernfs_remove_by_name_ns|kernel BUG at drivers/pci/iov.c|pci_iov_release' zr_no_reports
	fi
}
again() { zr_sriov pnvme 2 && zr_sriov pnvme 0; }

ktap_print_header
ktap_set_plan 5
zr_canary
zr_check "nvme: 2 VFs enabled (VF driver autoprobe off)" enable
zr_check "sysfs remove of the PF, rescan: PF back, bound, without VFs" remove_rescan
if zr_patched; then
	zr_check "patched: the VFs went with their PF" outcome
	zr_check "the new PF enables and disables 2 VFs" again
else
	zr_check "stock: the VFs of the removed PF outlived it (F4)" outcome
	ktap_test_skip "the new PF enables and disables 2 VFs: stock would register its VFs twice and Oops (F4)"
fi
zr_check "no kernel report$(zr_patched || echo " (stock: the orphans' removal through the dead PF allowed)")" reports
ktap_finished
