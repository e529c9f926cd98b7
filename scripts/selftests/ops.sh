#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Single operations on function ID (sourced by functions.sh; zr_torture, zr_lifecycle): each
# returns 0 done, 1 failed (typically against a concurrent removal), 2 not applicable (the
# function is absent, has no VF, ...). unbind/bind, reset, recover, remove/rescan, slot power
# off/on, sriov_numvfs 0 <-> 2, and unbind/bind of a VF bound to igbvf.

zr_op_unbind() {
	local dev drv
	dev=$(zr_fn_dev "$1") || return 2
	drv=$(zr_fn_driver "$1")
	echo "${dev##*/}" >"/sys/bus/pci/drivers/$drv/unbind" 2>/dev/null || return 1
	echo "${dev##*/}" >"/sys/bus/pci/drivers/$drv/bind" 2>/dev/null || return 1
}

zr_op_reset() {
	local dev
	dev=$(zr_fn_dev "$1") || return 2
	echo 1 >"$dev/reset" 2>/dev/null
}

zr_op_recover() {
	local dev
	dev=$(zr_fn_dev "$1") || return 2
	echo 1 >"$dev/recover" 2>/dev/null || return 1
	zr_loop_until "zr_fn_present $1" 100
}

zr_op_remove() {
	local dev
	dev=$(zr_fn_dev "$1") || return 2
	echo 1 >"$dev/remove" 2>/dev/null || return 1
	echo 1 >/sys/bus/pci/rescan 2>/dev/null || return 1
	zr_loop_until "zr_fn_present $1" 100
}

zr_op_power() {
	local slot
	slot=$(zr_fn_slot "$1")
	zr_fn_present "$1" && [ -e "$slot/power" ] || return 2
	echo 0 >"$slot/power" 2>/dev/null || return 1
	echo 1 >"$slot/power" 2>/dev/null || return 1
	zr_loop_until "zr_fn_present $1" 100
}

zr_op_numvfs() {
	local dev n
	dev=$(zr_fn_dev "$1") || return 2
	[ -e "$dev/sriov_numvfs" ] || return 2
	read -r n <"$dev/sriov_numvfs" 2>/dev/null || return 1
	if [ "$n" = 0 ]; then n=2; else n=0; fi
	echo "$n" >"$dev/sriov_numvfs" 2>/dev/null
}

zr_op_vfunbind() {
	local dev vf
	dev=$(zr_fn_dev "$1") || return 2
	for vf in "$dev"/virtfn*; do
		[ -e "$vf/driver" ] || continue
		vf=$(readlink "$vf") && vf=${vf##*/}
		echo "$vf" >"/sys/bus/pci/drivers/igbvf/unbind" 2>/dev/null || return 1
		echo "$vf" >"/sys/bus/pci/drivers/igbvf/bind" 2>/dev/null
		return
	done
	return 2
}
