#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The machine's functions (sourced by functions.sh). The host lists them on the kernel command
# line: zr.functions=ID:FID:DRIVER;ID:FID:DRIVER;... Forks are slow under TCG: the helpers below
# use shell builtins where they can, and those that return a result without printing it set a
# ZR_* variable (ZR_F, ZR_SD, ZR_DEV).
ZR_FUNCTIONS=$(zr_cmdline zr.functions)

zr_functions() {
	local ifs=$IFS f
	IFS=';'
	for f in $ZR_FUNCTIONS; do echo "${f%%:*}"; done
	IFS=$ifs
}

# zr_fn_get ID N: ZR_F becomes field N (1 id, 2 fid, 3 driver) of function ID; fails (ZR_F
# empty) if ID is not listed.
zr_fn_get() {
	local ifs=$IFS entry
	ZR_F=''
	IFS=';'
	for entry in $ZR_FUNCTIONS; do
		IFS=:
		# shellcheck disable=SC2086 # split on ':' on purpose
		set -- $entry "$1" "$2"
		IFS=';'
		if [ "$1" = "$4" ]; then
			case "$5" in 1) ZR_F=$1 ;; 2) ZR_F=$2 ;; 3) ZR_F=$3 ;; esac
			IFS=$ifs
			return 0
		fi
		set -- "$4" "$5"
	done
	IFS=$ifs
	return 1
}

# zr_fn_field ID N: field N of function ID, printed.
zr_fn_field() { zr_fn_get "$1" "$2" && echo "$ZR_F"; }

zr_fn_fid() { zr_fn_field "$1" 2; }
zr_fn_driver() { zr_fn_field "$1" 3; }

# zr_fn_get_fid ID: ZR_F becomes the fid of function ID, a decimal number; fails otherwise.
zr_fn_get_fid() {
	zr_fn_get "$1" 2 || return 1
	case "$ZR_F" in '' | *[!0-9]*) return 1 ;; esac
}

# zr_fid_slot FID (s390x): the hot-plug slot directory of zPCI function FID.
zr_fid_slot() { printf '/sys/bus/pci/slots/%08x\n' "$1"; }

# zr_fn_find_slot ID: ZR_SD becomes the hot-plug slot directory of function ID (s390x: named
# after the zPCI function id; elsewhere the slot number of its port).
zr_fn_find_slot() {
	ZR_SD=''
	zr_fn_get_fid "$1" || return 1
	if [ "$ZR_ARCH" = s390x ]; then
		ZR_SD=$(zr_fid_slot "$ZR_F")
	else
		ZR_SD=/sys/bus/pci/slots/$ZR_F
	fi
}

# zr_fn_slot ID: the same, printed.
zr_fn_slot() { zr_fn_find_slot "$1" && echo "$ZR_SD"; }

# zr_fn_find ID: ZR_DEV becomes the sysfs directory of function ID's pci_dev, found on s390x
# by its zPCI function_id, elsewhere as function 0 in its hot-plug slot; fails (ZR_DEV empty)
# if it is not there. No process at all: the polling helpers below call it many times.
zr_fn_find() {
	local addr
	ZR_DEV=''
	if [ "$ZR_ARCH" != s390x ]; then
		zr_fn_find_slot "$1" || return 1
		read -r addr 2>/dev/null <"$ZR_SD/address" || return 1
		[ -d "/sys/bus/pci/devices/$addr.0" ] || return 1
		ZR_DEV=/sys/bus/pci/devices/$addr.0
		return 0
	fi
	zr_fn_get_fid "$1" && zr_fid_find "$ZR_F"
}

# zr_fid_find FID (s390x): ZR_DEV becomes the sysfs directory of the pci_dev of zPCI function
# FID (a number, e.g. a VF's from zr_vf_fid); fails (ZR_DEV empty) if it has none.
zr_fid_find() {
	local dev fid
	ZR_DEV=''
	for dev in /sys/bus/pci/devices/*; do
		[ -r "$dev/function_id" ] || continue
		read -r fid <"$dev/function_id" || continue
		case "$fid" in 0x*) ;; *) continue ;; esac
		[ "$((fid))" = "$(($1))" ] && { ZR_DEV=$dev; return 0; }
	done
	return 1
}

# zr_fn_dev ID: the same, printed.
zr_fn_dev() { zr_fn_find "$1" && echo "$ZR_DEV"; }

# zr_fn_bound_driver ID: name of the driver bound to function ID (empty if none).
zr_fn_bound_driver() {
	local link
	zr_fn_find "$1" && [ -e "$ZR_DEV/driver" ] || return 1
	link=$(readlink "$ZR_DEV/driver") || return 1
	echo "${link##*/}"
}

zr_fn_present() { zr_fn_find "$1"; }
zr_fn_absent() { ! zr_fn_find "$1"; }
# zr_fn_bound ID: function ID is bound to its expected driver.
zr_fn_bound() {
	zr_fn_find "$1" && zr_fn_get "$1" 3 || return 1
	[ -e "/sys/bus/pci/drivers/$ZR_F/${ZR_DEV##*/}" ]
}

# zr_wait_present ID / zr_wait_absent ID / zr_wait_bound ID: bounded waits (about 30 s).
zr_wait_present() { zr_loop_until "zr_fn_present $1"; }
zr_wait_absent() { zr_loop_until "zr_fn_absent $1"; }
zr_wait_bound() { zr_loop_until "zr_fn_bound $1"; }

# zr_restore_fn ID: cleanup for tests that take a function away: bring it back by every means
# the test may have used (rescan, slot power, host re-plug), then wait for the driver. On s390x
# the host's re-plug comes before slot power (QMP device_add fails where the host still has
# the function): a function the host unplugged is released by the platform's event soon after,
# and a power write racing that release closes stock's slot power cycle in lockdep
# (Documentation/torture.rst, "Found") on either kernel.
zr_restore_fn() {
	local slot dev
	zr_fn_bound "$1" && return 0
	if ! zr_fn_present "$1"; then
		echo 1 >/sys/bus/pci/rescan 2>/dev/null
		zr_loop_until "zr_fn_present $1" 20 && { zr_wait_bound "$1"; return; }
		if [ "$ZR_ARCH" = s390x ] && zr_host_plug "$1" >/dev/null 2>&1; then
			zr_wait_present "$1" || return 1
		else
			slot=$(zr_fn_slot "$1")
			[ -e "$slot/power" ] && echo 1 >"$slot/power" 2>/dev/null
			zr_loop_until "zr_fn_present $1" 50 && { zr_wait_bound "$1"; return; }
			zr_host_plug "$1" >/dev/null
			zr_wait_present "$1" || return 1
		fi
	fi
	if ! zr_fn_bound "$1"; then
		dev=$(zr_fn_dev "$1")
		basename "$dev" >"/sys/bus/pci/drivers/$(zr_fn_driver "$1")/bind" 2>/dev/null
	fi
	zr_wait_bound "$1"
}

# zr_take_fn ID...: the test starts from these functions present and bound (else it cannot
# run: Bail out) and gives them back at the end (EXIT trap, zr_restore_fn).
zr_take_fn() {
	local fn
	for fn in "$@"; do
		zr_fn_bound "$fn" || zr_die "$fn is not present and bound at the start"
	done
	ZR_TAKEN="$*"
	trap zr_restore_taken EXIT
}

zr_restore_taken() {
	local fn
	for fn in $ZR_TAKEN; do zr_restore_fn "$fn"; done
}

# zr_need_slot ID: ZR_SLOT becomes the hot-plug slot of function ID; SKIP the test if it has
# none.
zr_need_slot() {
	ZR_SLOT=$(zr_fn_slot "$1")
	[ -e "$ZR_SLOT/power" ] || zr_skip_all "no hot-plug slot for $1 ($ZR_SLOT)"
}

# ---- SR-IOV --------------------------------------------------------------------------------

# zr_vf_count ID: number of VFs function ID has now (its virtfnN links).
zr_vf_count() {
	local dev vf n=0
	dev=$(zr_fn_dev "$1") || { echo 0; return; }
	for vf in "$dev"/virtfn*; do [ -e "$vf" ] && n=$((n + 1)); done
	echo "$n"
}

# zr_vf_fid ID N: the zPCI function id of VF N of PF ID on the s390x-sriov machine: our QEMU's
# default, PF fid * 0x100 + 1 + N (Documentation/qemu.rst).
zr_vf_fid() { zr_fn_get_fid "$1" && echo $((ZR_F * 256 + 1 + $2)); }

# zr_fid_standby FID (s390x): the guest has deconfigured zPCI function FID (SCLP: its slot's
# power reads 0). Its pci_dev goes first, so "gone" alone does not mean the platform has it yet.
zr_fid_standby() {
	local p
	read -r p 2>/dev/null <"$(zr_fid_slot "$1")/power" && [ "$p" = 0 ]
}

# zr_sriov ID N: write N to function ID's sriov_numvfs and wait until it has N VFs.
zr_sriov() {
	local dev
	dev=$(zr_fn_dev "$1") || return 1
	zr_log "% echo $2 > ${dev##*/}/sriov_numvfs"
	if ! echo "$2" >"$dev/sriov_numvfs"; then
		echo "# sriov_numvfs=$2 of $1 refused"
		return 1
	fi
	zr_loop_until "[ \"\$(zr_vf_count $1)\" = $2 ]"
}

# zr_vfs_bound ID DRIVER: every VF of function ID is bound to DRIVER.
zr_vfs_bound() {
	local dev vf
	dev=$(zr_fn_dev "$1") || return 1
	for vf in "$dev"/virtfn*; do
		[ -e "$vf/driver" ] || return 1
		[ "$(basename "$(readlink "$vf/driver")")" = "$2" ] || return 1
	done
}

# zr_bind_vfio DEV: bind the device at sysfs path DEV (a VF) to vfio-pci, through its
# driver_override, unbinding its driver first if it has one.
zr_bind_vfio() {
	local _b=${1##*/}
	echo vfio-pci >"$1/driver_override" || return 1
	[ -e "$1/driver" ] && echo "$_b" >"$1/driver/unbind"
	echo "$_b" >/sys/bus/pci/drivers/vfio-pci/bind || return 1
	[ "$(basename "$(readlink "$1/driver")")" = vfio-pci ]
}

# zr_need_vfio: load vfio-pci (vfio in no-IOMMU mode: the machines have no IOMMU), or skip the
# whole test where it cannot bind a device: no vfio-pci, or a kernel without VFIO_NOIOMMU (a
# distribution's) on a machine without an IOMMU.
zr_need_vfio() {
	modprobe vfio enable_unsafe_noiommu_mode=1 2>/dev/null
	modprobe vfio-pci 2>/dev/null || zr_skip_all "vfio-pci not available"
	[ -e /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ] || [ -d /sys/kernel/iommu_groups/0 ] ||
		zr_skip_all "no IOMMU here, and this kernel's vfio has no no-IOMMU mode (VFIO_NOIOMMU)"
}

# zr_need_vfs: skip the whole test where the machine has no VFs: the SR-IOV tests' PF, pigb,
# is missing or shows no SR-IOV capability (Debian's QEMU on s390x: 256 bytes of config space,
# no zPCI functions for VFs; the s390x-sriov machine runs our QEMU, which has both).
zr_need_vfs() {
	if ! zr_fn_find pigb || [ ! -e "$ZR_DEV/sriov_totalvfs" ]; then
		zr_skip_all "no SR-IOV PF here (QEMU's own s390x machine: 256-byte config space, no VF zPCI functions; see the s390x-sriov machine)"
	fi
}
