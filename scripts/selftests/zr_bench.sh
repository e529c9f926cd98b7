#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Rescan/remove lock benchmark (`make bench` only; scripts/zr bench boots it on a kernel without
# lock debugging). In one boot: zr_bench_redirect livepatches two no-op functions; zr_bench
# times outermost lock/unlock pairs through the stock functions and the redirect; then the
# zpci_rrlock livepatch is enabled and zr_bench times the patched pairs, the redirect again and
# nested pairs. Each measurement is a bench record for the host (zr_record; scripts/bench-report.py).
. "$(dirname "$0")/functions.sh"

n=$(zr_cmdline zr.bench_n)
n=${n:-100000}
rounds=$(zr_cmdline zr.bench_rounds)
rounds=${rounds:-7}
bench=$ZR_MODDIR/klp/zr_bench.ko
redirect=$ZR_MODDIR/klp/zr_bench_redirect.ko
if [ ! -f "$bench" ] || [ ! -f "$redirect" ]; then
	zr_skip_all "benchmark modules not in the image"
fi
zr_mod_loaded "$ZR_MOD" && zr_skip_all "$ZR_MOD is loaded already (the stock phase needs it off)"
trap 'zr_mod_loaded zr_bench && rmmod zr_bench; zr_lp_unload $ZR_MOD; zr_lp_unload zr_bench_redirect' EXIT

# measure PHASE [nested=1]: run zr_bench once, send each of its results as a bench record.
measure() {
	local phase=$1 mark lines pair ps pairs
	shift
	mark="zr-bench: phase $phase"
	echo "$mark" >/dev/kmsg
	zr_insmod "$bench" n="$n" rounds="$rounds" "$@" || return 1
	zr_rmmod zr_bench || return 1
	lines=$(dmesg | awk -v m="$mark" 'f; index($0, m) { f = 1 }' | sed -n 's/.*zr_bench: result kind=\([a-z_]*\) n=\([0-9]*\) rounds=[0-9]* ps_per_pair=\([0-9]*\).*/\1 \3 \2/p')
	[ -n "$lines" ] || return 1
	echo "$lines" | while read -r pair ps pairs; do
		zr_record bench phase="$phase" pair="$pair" ps_per_pair="$ps" n="$pairs" || return 1
	done
}

ktap_print_header
ktap_set_plan 5
zr_canary
zr_check "zr_bench_redirect livepatch enabled" zr_lp_load "$redirect"
zr_check "stock: outermost pairs and redirect timed" measure stock
zr_check "zpci_rrlock livepatch enabled" zr_lp_load "$ZR_MODDIR/$ZR_MOD.ko"
zr_check "patched: outermost, redirect and nested pairs timed" measure patched nested=1
zr_check "no kernel report" zr_no_reports
ktap_finished
