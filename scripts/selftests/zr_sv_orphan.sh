#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# F4 through the platform (the s390x-sriov machine): the deconfigure request (0x0303: the
# Service Element's Configure Off, QMP device_del) of an nvme PF whose driver leaves SR-IOV
# enabled in .remove. On s390 a VF is a zPCI function of its own, so the PF's deconfigure
# removes the PF alone. Stock 7.3.4: the PF goes to standby with its VFs still registered,
# holding it (the test stops there, as zr_vf_orphan does). With the livepatch the VFs go with
# their PF, which comes back on configure without VFs and enables them again cleanly. (The
# patched kernel before the s390 removers did so hit BUG_ON(num_VFs) in sriov_release() in the
# torture's host storm: a PF released with its VFs enabled.)
. "$(dirname "$0")/functions.sh"

zr_need_vfs
zr_have_host || zr_skip_all "no host control channel"
if ! zr_fn_find pnvme || [ ! -e "$ZR_DEV/sriov_totalvfs" ]; then
	zr_skip_all "no nvme PF with SR-IOV here"
fi
zr_fn_get_fid pnvme || zr_die "pnvme has no fid"
fid=$ZR_F
mode=stock
zr_patched && mode=patched
if [ $mode = patched ]; then
	trap 'zr_restore_fn pnvme; zr_sriov pnvme 0; echo 1 >"$(zr_fn_dev pnvme)/sriov_drivers_autoprobe"' EXIT
fi

enable() {
	echo 0 >"$(zr_fn_dev pnvme)/sriov_drivers_autoprobe" && zr_sriov pnvme 2
}
vfs_gone() { ! zr_fid_find "$(zr_vf_fid pnvme 0)" && ! zr_fid_find "$(zr_vf_fid pnvme 1)"; }
deconfigure() { zr_host_platform_event pnvme deconfigure-request && zr_wait_absent pnvme; }
vfs_left() { zr_fid_find "$(zr_vf_fid pnvme 0)" && zr_fid_find "$(zr_vf_fid pnvme 1)"; }
outcome() {
	if [ $mode = patched ]; then
		zr_loop_until "zr_fid_standby $fid" && zr_loop_until vfs_gone &&
			zr_dmesg_has "removing the VFs the driver left enabled"
	else
		if ! zr_loop_until "zr_fid_standby $fid" || ! vfs_left; then
			echo "# stock: the VFs went with their PF (scenario no longer reproduces)"
			return 1
		fi
		echo "# stock: F4: the PF is in standby, its 2 VFs still registered"
	fi
}
back() {
	zr_host_platform_event pnvme configure && zr_wait_bound pnvme && [ "$(zr_vf_count pnvme)" = 0 ] &&
		zr_sriov pnvme 2 && zr_sriov pnvme 0
}

ktap_print_header
ktap_set_plan 5
zr_canary
zr_check "nvme: 2 VFs enabled (VF driver autoprobe off)" enable
zr_check "nvme PF: the platform's deconfigure request removes it" deconfigure
if [ $mode = patched ]; then
	zr_check "patched: the VFs went with their PF, which is in standby" outcome
	zr_check "configure: PF back without VFs, enables and disables 2 VFs again" back
	zr_check "no kernel report" zr_no_reports
else
	zr_check "stock: the VFs outlive their deconfigured PF (F4)" outcome
	ktap_test_skip "configure: stock would register the PF's VFs twice (F4)"
	zr_check "no kernel report" zr_no_reports
fi
ktap_finished
