#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# F5 as a use-after-free, deterministic: a `remove` writer waits for the rescan/remove lock
# behind a hot-unplug of the same device, which frees it.
#
#   G  insmod zr_nest hold_ms=...   holds the rescan/remove lock (the gate)
#   R  the hot-unplug, queued on the lock first: on x86_64 a slot power-off (pciehp's thread
#      removes the device), on s390x a QMP device_del, the platform's deconfigure request
#      (0x0303; the zPCI event thread removes the device)
#   W  s390x: echo 1 > /sys/bus/pci/rescan, queued second
#   X  echo 1 > PF/remove           stock: removes its own attribute (device_remove_file_self(),
#                                   which leaves it no reference on the device), then queues
#
# When G unlocks, R removes and frees the pci_dev (X's attribute is gone, so the removal does
# not wait for X), then stock X removes the freed pci_dev: KASAN reports a use-after-free.
# pciehp drops its reference inside the lock; s390's removal drops it right after, a race X
# would win when R's unlock hands it the lock, so there the rescan W takes the lock from R and
# keeps X waiting past that put. Without KASAN nothing need show, so the test runs on a KASAN
# kernel (SKIP elsewhere). With the livepatch X holds a reference on the device until it is
# done and finds it removed: no report.
. "$(dirname "$0")/functions.sh"

zcat /proc/config.gz 2>/dev/null | grep -q '^CONFIG_KASAN=y' ||
	zr_skip_all "the kernel has no KASAN (the x86_64-kasan and s390x-kasan machines have)"
zr_need_gate
fn=pigb2
dev=$(zr_fn_dev $fn) || zr_die "$fn not present"
if [ "$ZR_ARCH" = s390x ]; then
	zr_have_host || zr_skip_all "no host control channel (QMP device_del)"
	what="the platform's deconfigure request"
else
	slot=$(zr_fn_slot $fn)
	[ -e "$slot/power" ] || zr_skip_all "$fn has no slot power control"
	what="slot power off"
fi
mode=stock
zr_patched && mode=patched
trap 'zr_restore_fn $fn >/dev/null' EXIT
# The gate's hold: long enough to queue R and X (a second or two under TCG), short of the
# hung-task detector's 10 s.
hold=6000

# unplug: start R; R_PID becomes the task to wait for ("" for the platform's event, which
# the zPCI event thread handles after the host's request returns).
unplug() {
	if [ "$ZR_ARCH" = s390x ]; then
		R_PID=''
		zr_host_unplug_nowait $fn
	else
		echo 0 >"$slot/power" 2>/dev/null &
		R_PID=$!
	fi
}
# queued: R waits for the lock (the writer of a slot power-off waits for pciehp's thread from
# the start).
queued() {
	if [ "$ZR_ARCH" = s390x ]; then
		zr_zpci_events_blocked
	else
		zr_pciehp_blocked
	fi
}
# finished: R, W and X are done.
finished() {
	! kill -0 "$x" 2>/dev/null || return 1
	[ -z "$w" ] || ! kill -0 "$w" 2>/dev/null || return 1
	if [ -n "$R_PID" ]; then
		! kill -0 "$R_PID" 2>/dev/null
	else
		! zr_zpci_events_blocked
	fi
}

ktap_print_header
ktap_set_plan 5
zr_canary
zr_log "remove-uaf: G holds the lock, R $what, X remove ${dev##*/}"
zr_check "G holds the rescan/remove lock" zr_gate "$hold"
unplug || echo "# R: the host did not deliver the event"
zr_loop_until queued 50 || echo "# R did not block"
w=''
if [ "$ZR_ARCH" = s390x ]; then
	echo 1 >/sys/bus/pci/rescan &
	w=$!
	zr_loop_until "zr_task_blocked $w" 50 || echo "# W did not block"
fi
echo 1 >"$dev/remove" &
x=$!
zr_loop_until "zr_task_blocked $x" 50 || echo "# X did not block"
echo "# $mode kernel: waiting for the gate, then for the others"
zr_gate_wait
zr_check "the removers finished" zr_loop_until finished 30
zr_check "$fn is removed" zr_wait_absent $fn
if [ "$mode" = patched ]; then
	zr_check "no kernel report (no use-after-free)" zr_no_reports
else
	zr_check "stock: KASAN reports the use-after-free" \
		zr_loop_until "zr_dmesg_has 'BUG: KASAN: [a-z-]*use-after-free'" 10
fi
zr_check "$fn comes back" zr_restore_fn $fn
ktap_finished
