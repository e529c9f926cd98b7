#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# F5 as a use-after-free, deterministic: a `remove` writer waits for the rescan/remove lock
# behind a hot-unplug of the same device, which frees it.
#
#   G  insmod zr_nest hold_ms=...   holds the rescan/remove lock (the gate)
#   R  echo 0 > slot/power          the hot-unplug (pciehp's thread; on s390x the writer itself)
#                                   queues on the lock first
#   X  echo 1 > PF/remove           stock: removes its own attribute (device_remove_file_self(),
#                                   which leaves it no reference on the device), then queues
#
# When G unlocks, R removes and frees the pci_dev (X's attribute is gone, so the removal does
# not wait for X), then stock X removes the freed pci_dev: KASAN reports a use-after-free.
# Without KASAN nothing need show, so the test runs on a KASAN kernel (SKIP elsewhere). With the
# livepatch X holds a reference on the device until it is done and finds it removed: no report.
. "$(dirname "$0")/functions.sh"

zcat /proc/config.gz 2>/dev/null | grep -q '^CONFIG_KASAN=y' ||
	zr_skip_all "the kernel has no KASAN (the x86_64-kasan machine has)"
zr_need_gate
fn=pigb2
dev=$(zr_fn_dev $fn) || zr_die "$fn not present"
slot=$(zr_fn_slot $fn)
[ -e "$slot/power" ] || zr_skip_all "$fn has no slot power control"
mode=stock
zr_patched && mode=patched
trap 'zr_restore_fn $fn >/dev/null' EXIT
# The gate's hold: long enough to queue R and X (a second or two under TCG), short of the
# hung-task detector's 10 s.
hold=6000

# queued PID: the hot-unplug started by PID waits for the lock: on s390x PID itself, elsewhere
# pciehp's thread (the writer waits for that thread from the start).
queued() {
	if [ "$ZR_ARCH" = s390x ]; then
		zr_task_blocked "$1"
	else
		zr_pciehp_blocked
	fi
}

ktap_print_header
ktap_set_plan 5
zr_canary
zr_log "remove-uaf: G holds the lock, R slot power off, X remove ${dev##*/}"
zr_check "G holds the rescan/remove lock" zr_gate "$hold"
echo 0 >"$slot/power" 2>/dev/null &
r=$!
zr_loop_until "queued $r" 50 || echo "# R did not block"
echo 1 >"$dev/remove" &
x=$!
zr_loop_until "zr_task_blocked $x" 50 || echo "# X did not block"
echo "# $mode kernel: waiting for the gate, then for R and X"
zr_gate_wait
zr_check "R and X finished" zr_loop_until "! kill -0 $r 2>/dev/null && ! kill -0 $x 2>/dev/null" 30
zr_check "$fn is removed" zr_wait_absent $fn
if [ "$mode" = patched ]; then
	zr_check "no kernel report (no use-after-free)" zr_no_reports
else
	zr_check "stock: KASAN reports the use-after-free" \
		zr_loop_until "zr_dmesg_has 'BUG: KASAN: [a-z-]*use-after-free'" 10
fi
zr_check "$fn comes back on slot power-on" zr_restore_fn $fn
ktap_finished
