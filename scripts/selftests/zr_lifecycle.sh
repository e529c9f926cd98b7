#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Livepatch lifecycle: CYCLES (default 3) rounds of load -> enable -> nested locking (zr_nest)
# -> disable -> unload, each leaving the lock free and no kernel report; after the last round
# the stock functions are back (the module's debugfs view is gone).
. "$(dirname "$0")/functions.sh"

cycles=${1:-3}
ko=$ZR_MODDIR/$ZR_MOD.ko
nest=$ZR_MODDIR/klp/zr_nest.ko
if [ ! -f "$ko" ] || [ ! -f "$nest" ]; then
	zr_skip_all "modules not in the image"
fi
zr_mod_loaded "$ZR_MOD" && zr_skip_all "$ZR_MOD is loaded already (this test loads and unloads it)"
trap 'zr_mod_loaded zr_nest && rmmod zr_nest; zr_lp_unload $ZR_MOD' EXIT

# cycle: one round; the first failing step is named as a diagnostic.
cycle() {
	zr_lp_load "$ko" || { echo "# round $1: enable failed"; return 1; }
	zr_insmod "$nest" depth=3 || { echo "# round $1: nesting failed"; return 1; }
	zr_rmmod zr_nest || { echo "# round $1: rmmod zr_nest failed"; return 1; }
	grep -qx "owner: free" /sys/kernel/debug/zpci_rrlock/rescan_lock || { echo "# round $1: lock not free"; return 1; }
	zr_lp_unload "$ZR_MOD" || { echo "# round $1: disable/unload failed"; return 1; }
}

ktap_print_header
ktap_set_plan $((cycles + 2))
zr_canary
zr_rounds "$cycles" "load, enable, nest 3 deep, disable, unload" cycle
stock() { [ ! -d "/sys/kernel/livepatch/$ZR_MOD" ] && [ ! -e "/sys/kernel/debug/$ZR_MOD" ]; }
zr_check "stock functions back: no livepatch, no debugfs view" stock
zr_check "no kernel report during the cycles" zr_no_reports
ktap_finished
