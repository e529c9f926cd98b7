#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The module loads, reports the kernel build it was compiled against, enables its livepatch,
# and disables and unloads cleanly.
. "$(dirname "$0")/functions.sh"

ko=$ZR_MODDIR/$ZR_MOD.ko
[ -f "$ko" ] || zr_skip_all "module not in the image: $ko"
zr_mod_loaded "$ZR_MOD" && zr_die "$ZR_MOD is already loaded"
trap 'zr_lp_unload $ZR_MOD' EXIT

ktap_print_header
ktap_set_plan 8
zr_canary
zr_check "insmod $ZR_MOD.ko succeeds and its livepatch completes" zr_lp_load "$ko"
zr_check "/sys/module/$ZR_MOD exists" zr_mod_loaded "$ZR_MOD"
zr_check "dmesg names the kernel release and build it was built against" \
	zr_dmesg_has "$ZR_MOD: built against $(zr_re_quote "$(uname -r)") \(#.*\), vmlinux build-id [0-9a-f]{40}"
zr_check "debugfs shows the rescan/remove lock free" \
	grep -qx "owner: free" /sys/kernel/debug/zpci_rrlock/rescan_lock
root_only() { [ "$(stat -c %a /sys/kernel/debug/zpci_rrlock/rescan_lock)" = 400 ]; }
zr_check "the debugfs view is root-only" root_only
zr_check "disable and rmmod $ZR_MOD succeed" zr_lp_unload "$ZR_MOD"
zr_check "dmesg reports the unload" zr_dmesg_has "$ZR_MOD: unloaded"
zr_check "no kernel report during load/unload" zr_no_reports
ktap_finished
