#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# VF add/del through sriov_numvfs on igb (VFs bound to igbvf) and nvme (VFs not probed: their
# secondary controllers are offline in QEMU), twice each. On the stock kernel VF add/del runs
# unlocked under device_lock(PF) plus the store's rescan/remove lock pair; with the livepatch the
# store takes no lock and sriov_add_vfs/sriov_del_vfs take it themselves. Both must be clean.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
trap 'zr_sriov pigb 0; zr_sriov pnvme 0' EXIT

igb_round() { zr_sriov pigb 2 && zr_loop_until "zr_vfs_bound pigb igbvf" && zr_sriov pigb 0; }
nvme_round() {
	echo 0 >"$(zr_fn_dev pnvme)/sriov_drivers_autoprobe" && zr_sriov pnvme 2 && zr_sriov pnvme 0
}

ktap_print_header
ktap_set_plan 6
zr_canary
zr_check "igb: 2 VFs bound to igbvf, then none (round 1)" igb_round
zr_check "igb: 2 VFs bound to igbvf, then none (round 2)" igb_round
zr_check "nvme: 2 VFs, then none (round 1)" nvme_round
zr_check "nvme: 2 VFs, then none (round 2)" nvme_round
busy() { zr_sriov pigb 2 && ! echo 3 >"$(zr_fn_dev pigb)/sriov_numvfs" 2>/dev/null && zr_sriov pigb 0; }
zr_check "igb: changing 2 VFs to 3 without disabling first is refused (EBUSY)" busy
zr_check "no kernel report" zr_no_reports
ktap_finished
