#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# A PCIe switch, as the x86_64-switch machine has one (sourced by functions.sh): its upstream port, found as the parent of a function's downstream port, the
# hot-plug slot it sits in, and the drivers' .remove callbacks traced in the order they run.

ZR_TRACING=/sys/kernel/tracing
# The .remove callbacks of the drivers in and below the switch.
ZR_REMOVE_FNS="pcie_portdrv_remove nvme_remove igb_remove igbvf_remove"

# zr_need_switch ID: ZR_SW becomes the sysfs directory of the upstream port of the switch that
# function ID sits behind, ZR_SW_SLOT the hot-plug slot the switch sits in; SKIP the test if
# the machine has no such switch.
zr_need_switch() {
	local dev addr slot a
	dev=$(zr_fn_dev "$1") || zr_skip_all "no function $1 behind a switch (the x86_64-switch machine has it)"
	dev=$(readlink -f "$dev")
	ZR_SW=${dev%/*}
	ZR_SW=${ZR_SW%/*}
	if [ ! -e "$ZR_SW/subordinate_bus_number" ] || [ ! -e "${ZR_SW%/*}/subordinate_bus_number" ]; then
		zr_skip_all "$1 is not behind a switch"
	fi
	addr=${ZR_SW##*/}
	ZR_SW_SLOT=
	for slot in /sys/bus/pci/slots/*; do
		read -r a 2>/dev/null <"$slot/address" || continue
		[ "$a.0" = "$addr" ] && ZR_SW_SLOT=$slot
	done
	[ -n "$ZR_SW_SLOT" ] || zr_skip_all "the switch of $1 sits in no hot-plug slot"
}

# zr_switch_back ID...: the switch and the functions ID behind it are back, bound, after a
# sysfs removal (rescan). (A slot power-off has QEMU eject the switch for good.)
zr_switch_back() {
	local fn
	[ -e "$ZR_SW" ] || echo 1 >/sys/bus/pci/rescan
	for fn in "$@"; do zr_wait_bound "$fn" || return 1; done
}

# zr_trace_removes: start tracing the drivers' .remove callbacks (function tracer); SKIP the
# test if the kernel cannot.
zr_trace_removes() {
	local f
	[ -e "$ZR_TRACING/current_tracer" ] || mount -t tracefs nodev "$ZR_TRACING" 2>/dev/null
	[ -w "$ZR_TRACING/set_ftrace_filter" ] || zr_skip_all "no function tracer"
	for f in $ZR_REMOVE_FNS; do
		grep -qxE "$f( \[.*\])?" "$ZR_TRACING/available_filter_functions" ||
			zr_skip_all "$f cannot be traced"
	done
	echo "$ZR_REMOVE_FNS" | tr ' ' '\n' >"$ZR_TRACING/set_ftrace_filter" &&
		echo function >"$ZR_TRACING/current_tracer" && echo >"$ZR_TRACING/trace"
}

# zr_traced_removes: the traced callbacks since zr_trace_removes, in order, on one line; the
# tracer stopped.
zr_traced_removes() {
	awk -v fns="$ZR_REMOVE_FNS" '
		BEGIN { n = split(fns, f, " "); for (i = 1; i <= n; i++) want[f[i]] = 1 }
		!/^#/ { for (i = 1; i <= NF; i++) if ($i in want) { printf "%s%s", s, $i; s = " "; break } }
		END { print "" }' "$ZR_TRACING/trace"
	echo nop >"$ZR_TRACING/current_tracer"
	echo >"$ZR_TRACING/set_ftrace_filter"
}
