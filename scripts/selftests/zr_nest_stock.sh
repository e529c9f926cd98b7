#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Stock kernel: taking pci_rescan_remove_lock while holding it self-deadlocks. zr_nest depth=2
# blocks forever in its second pci_lock_rescan_remove(); lockdep reports "possible recursive
# locking" and the hung-task detector reports the blocked insmod. The lock stays wedged for the
# rest of the boot, so this test runs last in a boot of its own, which the host ends at the
# deadline and counts as the expected stock result (qemu/suite/boots.toml, stock-nest:
# timeout = "zr_nest_stock").
. "$(dirname "$0")/functions.sh"

nest=$ZR_MODDIR/klp/zr_nest.ko
[ -f "$nest" ] || zr_skip_all "test module not in the image: $nest"
zr_lp_enabled "$ZR_MOD" && zr_skip_all "the $ZR_MOD livepatch is enabled: this is the stock test"

ktap_print_header
ktap_set_plan 1
zr_canary
echo "# insmod zr_nest depth=2: expected to deadlock"
zr_insmod "$nest" depth=2
# Reached only if the nested acquisition did not deadlock.
ktap_test_fail "stock kernel deadlocks on a nested pci_lock_rescan_remove()"
ktap_finished
