#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# SR-IOV on s390x (the s390x-sriov machine, our QEMU): the igb PF shows its 4 KiB config space
# and SR-IOV capability; sriov_numvfs=2 makes the platform announce two VFs (availability
# events 0x0301), which Linux scans as zPCI functions of their own (fid 0x101, 0x102), links to
# the PF (physfn/virtfnN, zpci_iov_setup_virtfn()) and binds to igbvf; sriov_numvfs=0 removes
# them (sriov_del_vfs(), then the platform's 0x0304 reserves their zPCI functions). Twice, then
# the same with all the VFs the driver offers. With the livepatch: clean. On the stock kernel
# the first disable draws lockdep's S1 report (see expected() below).
. "$(dirname "$0")/functions.sh"

zr_need_vfs
trap 'zr_sriov pigb 0' EXIT

# vf_linked ID N: VF N of function ID is zPCI function fid*0x100+1+N with vfn N+1, linked to its
# PF both ways.
vf_linked() {
	local pf vf fid want
	pf=$(zr_fn_dev "$1") || return 1
	vf=$(readlink -f "$pf/virtfn$2") || return 1
	[ "$(readlink -f "$vf/physfn")" = "$(readlink -f "$pf")" ] || { echo "# ${vf##*/}: physfn is not the PF"; return 1; }
	want=$(zr_vf_fid "$1" "$2") || return 1
	read -r fid <"$vf/function_id" || return 1
	[ "$((fid))" = "$want" ] || { echo "# ${vf##*/}: function_id $fid, expected $want"; return 1; }
	[ "$(($(cat "$vf/vfn")))" = $(($2 + 1)) ] || { echo "# ${vf##*/}: vfn $(cat "$vf/vfn")"; return 1; }
	[ -d "/sys/bus/pci/slots/$(printf '%08x' "$want")" ] || { echo "# no hot-plug slot for fid $want"; return 1; }
}

config_4k() {
	local d
	d=$(zr_fn_dev pigb) || return 1
	[ "$(wc -c <"$d/config")" = 4096 ] || { echo "# config space of ${d##*/}: $(wc -c <"$d/config") bytes"; return 1; }
	[ "$(cat "$d/sriov_totalvfs")" -ge 2 ]
}

# round N: N VFs up, linked and bound to igbvf, then down again with their slots gone.
round() {
	local i=0 fid
	zr_sriov pigb "$1" || return 1
	while [ "$i" -lt "$1" ]; do
		vf_linked pigb "$i" || return 1
		i=$((i + 1))
	done
	zr_loop_until "zr_vfs_bound pigb igbvf" || { echo "# VFs not bound to igbvf"; return 1; }
	zr_sriov pigb 0 || return 1
	fid=$(zr_vf_fid pigb 0)
	zr_loop_until "[ ! -d /sys/bus/pci/slots/$(printf '%08x' "$fid") ]" ||
		{ echo "# the slot of fid $fid stayed after the VFs were disabled"; return 1; }
}
too_many() { ! echo 99 >"$(zr_fn_dev pigb)/sriov_numvfs" 2>/dev/null; }
all() { round "$(cat "$(zr_fn_dev pigb)/sriov_totalvfs")"; }

# Stock: a VF's last reference goes in sriov_disable() under the rescan/remove lock that
# sriov_numvfs_store() holds, and its release takes zpci_add_remove_lock; the platform's 0x0304
# then reserves the VF's zPCI function, whose release holds zpci_add_remove_lock and takes the
# rescan/remove lock: S1, from SR-IOV alone (lockdep, the first time VFs are disabled).
expected() {
	if zr_patched; then
		zr_no_reports
	else
		if ! zr_dmesg_has "possible circular locking dependency" ||
			! zr_dmesg_since | grep -q "zpci_add_remove_lock"; then
			echo "# stock kernel: no S1 report on VF disable (scenario no longer reproduces)"
			return 1
		fi
	fi
}
mode=stock
zr_patched && mode=patched

ktap_print_header
ktap_set_plan 6
zr_canary
zr_check "igb PF: 4096 bytes of config space, SR-IOV capability" config_4k
zr_check "2 VFs as zPCI functions linked to the PF, bound to igbvf, then none (round 1)" round 2
zr_check "2 VFs as zPCI functions linked to the PF, bound to igbvf, then none (round 2)" round 2
zr_check "all the VFs igb offers, then none" all
zr_check "sriov_numvfs above sriov_totalvfs is refused" too_many
zr_check "$mode: expected result ($( [ $mode = stock ] && echo 'S1 lockdep report' || echo clean))" expected
ktap_finished
