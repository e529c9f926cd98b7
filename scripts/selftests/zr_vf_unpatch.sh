#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The unpatch rule (Documentation/rescan-lock.rst): the livepatch is disabled while a PCIe
# hot-unplug of a PF with VFs is under way, where the hot-plug thread holds the rescan/remove
# lock and sriov_disable() takes it nested. A task switches to the stock functions only with no
# replaced function on its stack, so the nested holder finishes on the patched ones and releases
# the lock exactly once. ROUNDS (default 2) rounds; afterwards the lock still works (a bus rescan
# completes) and no report (unbalanced unlock, WARN) appeared but one: with the patch disabled,
# stock pciehp takes the rescan/remove lock under reset_lock again, and lockdep, which saw the
# livepatch take them the other way round, reports stock pciehp's cycle (lockdep-pciehp-reset,
# in the stock function).
. "$(dirname "$0")/functions.sh"

zr_need_vfs
zr_have_host || zr_skip_all "no host control channel"
rounds=${1:-2}
ko=$ZR_MODDIR/$ZR_MOD.ko
trap 'zr_restore_fn pigb' EXIT

# round N: enable the patch, enable VFs, unplug the PF without waiting and disable the patch
# at once; both must finish.
round() {
	zr_patched || zr_lp_load "$ko" || { echo "# round $1: enable failed"; return 1; }
	zr_sriov pigb 2 || { echo "# round $1: VFs not enabled"; return 1; }
	zr_host_unplug_nowait pigb || { echo "# round $1: unplug request failed"; return 1; }
	zr_lp_unload "$ZR_MOD" || { echo "# round $1: disable/unload failed"; return 1; }
	zr_host_wait_deleted pigb || { echo "# round $1: PF not deleted"; return 1; }
	zr_wait_absent pigb || { echo "# round $1: PF still present"; return 1; }
	zr_restore_fn pigb || { echo "# round $1: PF did not come back"; return 1; }
}

ktap_print_header
ktap_set_plan $((rounds + 2))
zr_canary
zr_rounds "$rounds" "patch disabled during hot-unplug of a PF with VFs" round
zr_check "the rescan/remove lock is free (a bus rescan completes)" timeout 30 sh -c 'echo 1 > /sys/bus/pci/rescan'
ZR_ALLOWED_REPORT='at: pciehp_unconfigure_device' zr_check "no kernel report (no unbalanced unlock) but stock pciehp's" zr_no_reports
ktap_finished
