#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# pciehp's reset_lock against the rescan/remove lock, deterministic (x86_64). Stock pciehp waits
# for the rescan/remove lock holding ctrl->reset_lock for reading; a slot reset takes reset_lock
# for writing holding the reset device's lock, and a waiting writer holds back new readers:
#
#   G  insmod zr_nest hold_ms=...   holds the rescan/remove lock (the gate)
#   X  echo 1 > PF/remove           queues on the rescan/remove lock first
#   H  echo 0 > slot/power          pciehp's thread takes reset_lock (read), queues behind X
#   W  echo 1 > PF/reset            (reset_method bus) takes device_lock(PF), then waits for
#                                   reset_lock (write) behind H's read hold
#
# When G unlocks, the mutex goes to X, whose removal waits for device_lock(PF): on the stock
# kernel X, H and W hang (lockdep is blind to it: device locks are not validated, and H never
# gets the lock it would report). The host ends this boot at the test's deadline and expects
# that. With the livepatch X releases the driver before it queues and H drops reset_lock before
# it does: W's reset runs, then X and H remove the PF, all three finish.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
zr_need_gate
pf=$(zr_fn_dev pigb2) || zr_die "pigb2 not present"
slot=$(zr_fn_slot pigb2)
[ -e "$slot/power" ] || zr_skip_all "pigb2 has no slot power control"
mode=stock
zr_patched && mode=patched
trap 'zr_restore_fn pigb2 >/dev/null' EXIT
# The gate's hold: long enough to queue X, H and W (a second or two under TCG), short of the
# hung-task detector's 10 s, which the patched kernel's waiters must not reach.
hold=7000

ktap_print_header
ktap_set_plan 5
zr_canary
echo bus >"$pf/reset_method" 2>/dev/null || zr_skip_all "no bus reset for ${pf##*/} here"
zr_log "hpreset: G holds the lock, X remove ${pf##*/}, H slot power off, W reset (bus)"
zr_check "G holds the rescan/remove lock" zr_gate "$hold"
echo 1 >"$pf/remove" &
x=$!
zr_loop_until "zr_task_blocked $x" 50 || echo "# X did not block"
echo 0 >"$slot/power" 2>/dev/null &
h=$!
zr_loop_until zr_pciehp_blocked 50 || echo "# pciehp's thread did not block"
echo 1 >"$pf/reset" 2>/dev/null &
w=$!
zr_loop_until "zr_task_blocked $w" 50 || echo "# W did not block"
echo "# $mode kernel: waiting for the gate, then for X, H and W"
zr_gate_wait
# On the stock kernel this is where the test hangs until the host's deadline.
wait "$x" "$h" "$w"
zr_check "X, H and W all finished" true
zr_check "the PF is removed" zr_wait_absent pigb2
zr_check "no kernel report (no hung task)" zr_no_reports
zr_check "the PF comes back on slot power-on" zr_restore_fn pigb2
ktap_finished
