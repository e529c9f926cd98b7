#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The seed's vfio items on s390x: a zPCI function unbound from its driver and bound to vfio-pci
# (driver_override), platform hot-unplug (QMP device_del) and re-plug of the function while
# vfio-pci holds it, the vfio modules removed and loaded again, and the function given back to
# its driver. vfio-pci's .remove runs in the hot-unplug's removal (zpci_bus_remove_device).
# On x86_64 the VF variant is zr_vf_vfio.
. "$(dirname "$0")/functions.sh"

fn=${1:-znvme}
[ "$ZR_ARCH" = s390x ] || zr_skip_all "s390x zPCI test (x86_64: zr_vf_vfio)"
zr_have_host || zr_skip_all "no host control channel"
zr_fn_bound "$fn" || zr_die "$fn is not present and bound at the start"
modprobe vfio-pci 2>/dev/null || zr_skip_all "vfio-pci not available in this kernel"
drv=$(zr_fn_driver "$fn")
cleanup() {
	local _d
	if _d=$(zr_fn_dev "$fn"); then
		echo >"$_d/driver_override"
		zr_fn_bound "$fn" || { [ -e "$_d/driver" ] && echo "${_d##*/}" >"$_d/driver/unbind"; }
	fi
	zr_restore_fn "$fn"
}
trap cleanup EXIT

# to_vfio: unbind FN from its driver and bind it to vfio-pci.
to_vfio() {
	local _b _d
	_d=$(zr_fn_dev "$fn") || return 1
	_b=${_d##*/}
	[ -e "$_d/driver" ] && { echo "$_b" >"$_d/driver/unbind" || return 1; }
	echo vfio-pci >"$_d/driver_override" || return 1
	echo "$_b" >/sys/bus/pci/drivers/vfio-pci/bind || return 1
	[ "$(basename "$(readlink "$_d/driver")")" = vfio-pci ]
}
# to_driver: give FN back to its own driver.
to_driver() {
	local _d
	_d=$(zr_fn_dev "$fn") || return 1
	[ -e "$_d/driver" ] && { echo "${_d##*/}" >"$_d/driver/unbind" || return 1; }
	echo >"$_d/driver_override" || return 1
	echo "${_d##*/}" >"/sys/bus/pci/drivers/$drv/bind" || return 1
	zr_wait_bound "$fn"
}
reload_vfio() {
	zr_rmmod vfio_pci && zr_rmmod vfio_pci_core && modprobe vfio-pci &&
		[ -d /sys/bus/pci/drivers/vfio-pci ]
}

ktap_print_header
ktap_set_plan 8
zr_canary
zr_check "$fn: bound to vfio-pci" to_vfio
zr_check "$fn: host device_del while vfio-pci holds it" eval "zr_host_unplug $fn && zr_wait_absent $fn"
zr_check "$fn: back after host device_add" eval "zr_host_plug $fn && zr_wait_present $fn"
zr_check "$fn: bound to vfio-pci again" to_vfio
zr_check "$fn: back to $drv" to_driver
zr_check "vfio modules removed and loaded again" reload_vfio
zr_check "$fn: still bound to $drv" zr_fn_bound "$fn"
zr_check "no kernel report during the vfio steps" zr_no_reports
ktap_finished
