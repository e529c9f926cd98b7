#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The reference's S4 (Guenter Roeck's report), deterministic: AB-BA between device_lock(PF) and
# the rescan/remove lock, sriov_numvfs against sysfs remove of the same PF.
#
#   T0  echo 0 > PF2/sriov_numvfs  stock: holds the rescan/remove lock for seconds (igb disables
#                                  SR-IOV: ssleep(1), msleep(500), ...)
#   T2  echo 1 > PF/remove         queues on the rescan/remove lock first
#   T1  echo 0 > PF/sriov_numvfs   takes device_lock(PF), queues behind T2
#
# When T0 unlocks, the mutex goes to T2, which waits for device_lock(PF) in
# device_release_driver() while T1 waits for the rescan/remove lock: on the stock kernel all
# three writers hang (lockdep is blind to it: device_lock is not validated; the hung-task detector
# reports it). The host ends this boot at the test's deadline and expects that. With the livepatch
# sriov_numvfs takes no rescan/remove lock around the driver callback and remove releases the
# driver before taking it: everything finishes and the PF is gone.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
pf=$(zr_fn_dev pigb) || zr_die "pigb not present"
pf2=$(zr_fn_dev pigb2) || zr_die "pigb2 not present"
mode=stock
zr_patched && mode=patched

ktap_print_header
ktap_set_plan 4
zr_canary
if ! zr_sriov pigb 2 || ! zr_sriov pigb2 2; then
	zr_die "cannot enable the VFs"
fi
zr_log "S4: T0 numvfs=0 on ${pf2##*/}, T2 remove ${pf##*/}, T1 numvfs=0 on ${pf##*/}"
echo 0 >"$pf2/sriov_numvfs" &
t0=$!
sleep 0.5
echo 1 >"$pf/remove" &
t2=$!
sleep 0.5
echo 0 >"$pf/sriov_numvfs" 2>/dev/null &
t1=$!
echo "# $mode kernel: waiting for the three writers"
# On the stock kernel this is where the test hangs until the host's deadline.
wait "$t0" "$t2" "$t1"
zr_check "T0, T2 and T1 all finished" true
zr_check "the PF is removed" zr_wait_absent pigb
zr_check "PF2 has no VFs left" [ "$(zr_vf_count pigb2)" = 0 ]
zr_check "no kernel report (no hung task)" zr_no_reports
zr_restore_fn pigb >/dev/null
ktap_finished
