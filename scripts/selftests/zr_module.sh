#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The module loads, reports the kernel build it was compiled against, and unloads cleanly.
. "$(dirname "$0")/functions.sh"

ko=$ZR_MODDIR/$ZR_MOD.ko
[ -f "$ko" ] || zr_skip_all "module not in the image: $ko"
zr_mod_loaded "$ZR_MOD" && zr_die "$ZR_MOD is already loaded"
trap 'zr_mod_loaded $ZR_MOD && rmmod $ZR_MOD' EXIT

ktap_print_header
ktap_set_plan 6
zr_canary
zr_check "insmod $ZR_MOD.ko succeeds" zr_insmod "$ko"
zr_check "/sys/module/$ZR_MOD exists" zr_mod_loaded "$ZR_MOD"
zr_check "dmesg names the kernel release and build it was built against" \
	zr_dmesg_has "$ZR_MOD: built against $(uname -r) \(#.*\), vmlinux build-id [0-9a-f]{40}"
zr_check "rmmod $ZR_MOD succeeds" zr_rmmod "$ZR_MOD"
zr_check "dmesg reports the unload" zr_dmesg_has "$ZR_MOD: unloaded"
zr_check "no kernel report during load/unload" zr_no_reports
ktap_finished
