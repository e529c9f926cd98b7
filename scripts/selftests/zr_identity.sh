#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The module refuses, with -EINVAL and a clear message, and leaves nothing behind:
#   - a build against another kernel build (same release, forged UTS_VERSION);
#   - a build that recorded another size for a function it replaces (the replacement was
#     written for a different original), before any function is patched.
. "$(dirname "$0")/functions.sh"

forged=$ZR_MODDIR/forged/$ZR_MOD.ko
sized=$ZR_MODDIR/forged-size/$ZR_MOD.ko
if [ ! -f "$forged" ] || [ ! -f "$sized" ]; then
	zr_skip_all "forged modules not in the image"
fi
zr_mod_loaded "$ZR_MOD" && zr_die "$ZR_MOD is already loaded"
trap 'zr_lp_unload $ZR_MOD' EXIT

# refused KO: insmod fails with EINVAL.
refused() {
	local _out
	_out=$(insmod "$1" 2>&1) && return 1
	echo "# insmod: $_out"
	echo "$_out" | grep -q "Invalid argument"
}
gone() { ! zr_mod_loaded "$ZR_MOD" && [ ! -d "/sys/kernel/livepatch/$ZR_MOD" ]; }

ktap_print_header
ktap_set_plan 6
zr_canary
zr_check "a module built for another kernel build fails with EINVAL" refused "$forged"
zr_check "dmesg says which build it refused" \
	zr_dmesg_has "$ZR_MOD: refusing to load: running kernel $(zr_re_quote "$(uname -r)") \(.*\) is not the build this module was compiled against"
zr_check "nothing left behind" gone
zr_check "a module written for another pci_unlock_rescan_remove fails with EINVAL" refused "$sized"
zr_check "dmesg names the function and both sizes" \
	zr_dmesg_has "$ZR_MOD: refusing to patch: pci_unlock_rescan_remove is [0-9]+ bytes in the running kernel, [0-9]+ in the vmlinux"
zr_check "no module, no livepatch left behind" gone
ktap_finished
