#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A module built against another kernel build (same release, forged UTS_VERSION) is refused
# with -EINVAL and a clear message, and leaves nothing behind.
. "$(dirname "$0")/functions.sh"

ko=$ZR_MODDIR/forged/$ZR_MOD.ko
[ -f "$ko" ] || zr_skip_all "forged module not in the image: $ko"
zr_mod_loaded "$ZR_MOD" && zr_die "$ZR_MOD is already loaded"
trap 'zr_mod_loaded $ZR_MOD && rmmod $ZR_MOD' EXIT

ktap_print_header
ktap_set_plan 4
zr_canary
out=$(insmod "$ko" 2>&1)
rc=$?
echo "# insmod: rc=$rc: $out"
zr_check "insmod of the forged module fails" [ "$rc" -ne 0 ]
einval() { echo "$out" | grep -q "Invalid argument"; }
gone() { ! zr_mod_loaded "$ZR_MOD"; }
zr_check "the error is EINVAL (Invalid argument)" einval
zr_check "dmesg says why it refused" \
	zr_dmesg_has "$ZR_MOD: refusing to load: running kernel $(uname -r) \(.*\) is not the build this module was compiled against"
zr_check "no $ZR_MOD module left behind" gone
ktap_finished
