#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The seed race on s390x (the s390x-sriov machine, our QEMU): the PF driver unloads (rmmod igb,
# or unbind from the PF) and removes its VFs in sriov_del_vfs() while the platform takes one of
# them away: the host injects a hard deconfigure (PEC 0x0304) of a VF, and the guest's event
# thread removes it in zpci_iov_remove_virtfn() under the rescan/remove lock. On the stock
# kernel sriov_del_vfs() runs without that lock: pci_stop_and_remove_bus_device() fails its
# lockdep_assert_held() (S6, a WARNING), and when the two removals meet on the same VF it is
# removed twice, which leaves a freed pci_dev on the bus list. With the livepatch
# sriov_del_vfs() holds the lock; the event waits and finds the VF gone.
#
# Rounds alternate rmmod and unbind and stagger the event (VF index and delay) through the
# removal; each says where the event landed. After each round a bus rescan, in a child process,
# walks the bus list: a pci_dev removed twice shows there (kobject/refcount warnings, an Oops in
# pci_get_slot). On the stock kernel that is the expected outcome and ends the rounds (the
# kernel is corrupt); with the livepatch every round must be clean.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
trap 'zr_mod_loaded igb || modprobe igb; zr_restore_fn pigb; zr_sriov pigb 0' EXIT
ZR_SV_VFS=4
ZR_SV_ROUNDS=4
# What a pci_dev removed twice leaves behind, seen by the next walk of the bus list.
ZR_SV_DOUBLE='is not initialized, yet kobject_get|refcount_t: .*use-after-free|list_del corruption|Unable to handle kernel|Oops'
ZR_SV_CORRUPT=''

# round N: VFs up, then the PF driver away (rmmod on odd rounds, unbind on even ones) with the
# platform event for VF (N mod VFs) injected N*100 ms after the unload began.
round() {
	local n=$1 vf pf how pid ms
	vf=$((n % ZR_SV_VFS)) ms=$((n * 100))
	if [ -n "$ZR_SV_CORRUPT" ]; then
		echo "# not run: the stock kernel is corrupt since round $ZR_SV_CORRUPT"
		return 0
	fi
	zr_canary
	zr_sriov pigb "$ZR_SV_VFS" && zr_loop_until "zr_vfs_bound pigb igbvf" || return 1
	pf=$(zr_fn_dev pigb) || return 1
	if [ $((n % 2)) = 1 ]; then
		how="rmmod igb"
		zr_log "round $n: rmmod igb, hard deconfigure of VF $vf after $ms ms"
		rmmod igb &
	else
		how="unbind igb"
		zr_log "round $n: unbind igb, hard deconfigure of VF $vf after $ms ms"
		echo "${pf##*/}" >/sys/bus/pci/drivers/igb/unbind &
	fi
	pid=$!
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	if zr_host_platform_event pigb "$vf" hard-deconfigure; then
		echo "# $how: VF $vf deconfigured by the platform during the unload"
	else
		echo "# $how: VF $vf was gone before the platform event (the unload won)"
	fi
	wait "$pid" || { echo "# $how failed"; return 1; }
	zr_loop_until "[ \"\$(zr_vf_count pigb)\" = 0 ]" || { echo "# VFs left after $how"; return 1; }
	# The walk of the bus list, in a child: an Oops there ends the child, not the test.
	(echo 1 >/sys/bus/pci/rescan) 2>/dev/null
	if zr_dmesg_has "$ZR_SV_DOUBLE"; then
		if zr_patched; then
			zr_no_reports
			return 1
		fi
		echo "# stock: VF $vf removed twice: $(zr_dmesg_since | grep -E -m1 "$ZR_SV_DOUBLE")"
		ZR_SV_CORRUPT=$n
		trap - EXIT
		return 0
	fi
	zr_mod_loaded igb || modprobe igb || return 1
	zr_restore_fn pigb
}

# The stock kernel must show S6's assertion (the boot runs this test first: lockdep watching);
# the patched one nothing at all.
expected() {
	if zr_patched; then
		ZR_CANARY=$ZR_SV_START zr_no_reports
	else
		ZR_CANARY=$ZR_SV_START zr_dmesg_has "WARNING: .*drivers/pci/remove.c" ||
			{ echo "# stock kernel: no lockdep_assert_held warning (scenario no longer reproduces)"; return 1; }
	fi
}
pf_clean() { zr_fn_bound pigb && [ "$(zr_vf_count pigb)" = 0 ]; }
mode=stock
zr_patched && mode=patched

ktap_print_header
ktap_set_plan $((ZR_SV_ROUNDS + 2))
zr_canary
ZR_SV_START=$ZR_CANARY
zr_rounds "$ZR_SV_ROUNDS" "PF driver unload vs the platform's removal of a VF" round
zr_check "$mode: expected result ($( [ $mode = stock ] && echo 'lockdep_assert_held warning' || echo clean))" expected
if [ -n "$ZR_SV_CORRUPT" ]; then
	ktap_test_skip "PF bound to igb with no VF afterwards: not checked, the stock kernel is corrupt"
else
	zr_check "PF bound to igb with no VF afterwards" pf_clean
fi
ktap_finished
