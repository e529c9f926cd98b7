#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# S5 behind a bridge, deterministic: unbind of a PF driver with VFs while the PF's parent switch
# is removed (sysfs remove of its upstream port). With VF removal under the rescan/remove lock
# (the livepatch, and Ionut Nechita's series) the unbind holds device_lock(PF) and waits for the
# lock in sriov_del_vfs(); a removal of the switch that holds the lock and releases the PF's
# driver under it waits for device_lock(PF): an AB-BA deadlock, upstream's too. The livepatch
# releases every driver below the switch before it takes the lock. Stock 7.3.4 removes VFs
# without the lock and does not hang, but the unbind's VF removal trips lockdep_assert_held
# (S6: the stock side's WARNING).
#
#   G  insmod zr_nest depth=1 hold_ms=...   holds the rescan/remove lock (the gate)
#   X  echo 1 > SWITCH/remove               queues on the lock
#   U  echo PF > igb/unbind                 holds device_lock(PF) and disables SR-IOV: with
#                                           the livepatch it queues on the lock behind X
#
# When G unlocks, X goes first: with the livepatch it only lists the devices below the switch
# under the lock and releases their drivers after dropping it, waiting for U's device lock; U
# takes the lock, removes the VFs and returns; X removes the released switch.
. "$(dirname "$0")/functions.sh"

zr_need_gate
zr_need_switch sigb
zr_take_fn snvme sigb
mode=stock
zr_patched && mode=patched
trap 'zr_switch_back snvme sigb; zr_restore_taken' EXIT
# The gate's hold: long enough to queue X and U (a second or two under TCG), short of the
# hung-task detector's 10 s.
hold=6000
pf=$(zr_fn_dev sigb) || zr_die "sigb not present"
pf=${pf##*/}

finished() { ! kill -0 "$1" 2>/dev/null && ! kill -0 "$2" 2>/dev/null; }
switch_gone() { [ ! -e "$ZR_SW" ]; }
reports() {
	if [ $mode = stock ]; then
		ZR_ALLOWED_REPORT='drivers/pci/remove.c' zr_no_reports
	else
		zr_no_reports
	fi
}

ktap_print_header
ktap_set_plan 7
zr_canary
zr_check "sigb: 2 VFs behind the switch" zr_sriov sigb 2
zr_log "bridge-s5: G holds the lock, X remove ${ZR_SW##*/}, U unbind igb from $pf"
zr_check "G holds the rescan/remove lock" zr_gate "$hold"
echo 1 >"$ZR_SW/remove" &
x=$!
zr_check "X (remove of the switch) waits for the lock" zr_loop_until "zr_task_blocked $x" 50
echo "$pf" >/sys/bus/pci/drivers/igb/unbind &
u=$!
# Stock: U removes the VFs without the lock and may be done already.
zr_loop_until "zr_task_blocked $u || ! kill -0 $u 2>/dev/null" 50 || echo "# U neither blocked nor done"
echo "# $mode kernel: waiting for the gate, then for X and U"
zr_gate_wait
zr_check "$mode: X and U finish (no deadlock)" zr_loop_until "finished $x $u" 300
zr_check "the switch is gone" switch_gone
zr_check "switch, snvme and sigb back after rescan, igb bound" zr_switch_back snvme sigb
zr_check "no kernel report$([ $mode = stock ] && echo ' (stock: the S6 warning allowed)')" reports
ktap_finished
