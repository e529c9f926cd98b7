#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The platform's availability events on s390x, for a VF and for the PF (the s390x-sriov machine,
# our QEMU; the host plays the Service Element with platform-event):
#   hard-deconfigure (0x0304): the function goes to standby without asking: Linux removes its
#     pci_dev (a VF through zpci_iov_remove_virtfn() under the rescan/remove lock) and disables
#     it; configure (0x0301) brings it back, a VF linked to its PF again;
#   deconfigure-request (0x0303): Linux deconfigures it (zpci_deconfigure_device(), SCLP) to
#     standby; then reserve (0x0308) makes Linux drop the zPCI function (zpci_device_reserved());
#     configure from reserved brings it back.
# The PF with VFs enabled goes the same way: its removal takes the VFs (sriov_del_vfs()) first.
# Clean on the stock kernel and with the livepatch.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
trap 'zr_sriov pigb 0; zr_restore_fn pigb' EXIT

vf_fid() { zr_vf_fid pigb "$1"; }

# vf_dev N: the sysfs directory of VF N's pci_dev, found by its function_id (fails if absent).
vf_dev() { zr_fid_find "$(vf_fid "$1")" && echo "$ZR_DEV"; }
vf_gone() { ! vf_dev "$1" >/dev/null; }
vf_back() {
	local d
	d=$(vf_dev "$1") || return 1
	[ -e "$d/physfn" ] && [ -e "$d/driver" ]
}
slot_gone() { [ ! -d "$(zr_fid_slot "$(vf_fid "$1")")" ]; }

vf_hard() {
	zr_host_platform_event pigb 1 hard-deconfigure && zr_loop_until "vf_gone 1" &&
		[ "$(zr_vf_count pigb)" = 1 ] &&
		zr_host_platform_event pigb 1 configure && zr_loop_until "vf_back 1" &&
		[ "$(zr_vf_count pigb)" = 2 ]
}
vf_request() {
	zr_host_platform_event pigb 0 deconfigure-request && zr_loop_until "vf_gone 0" &&
		zr_loop_until "zr_fid_standby $(vf_fid 0)" && zr_host_platform_event pigb 0 reserve && zr_loop_until "slot_gone 0" &&
		zr_host_platform_event pigb 0 configure && zr_loop_until "vf_back 0" &&
		[ "$(zr_vf_count pigb)" = 2 ]
}
refused() { ! zr_host_platform_event pigb 5 configure && ! zr_host_platform_event pigb 0 bogus; }
pf_hard() {
	zr_host_platform_event pigb hard-deconfigure && zr_wait_absent pigb &&
		zr_loop_until "vf_gone 0 && vf_gone 1" &&
		zr_host_platform_event pigb configure && zr_wait_bound pigb &&
		[ "$(zr_vf_count pigb)" = 0 ]
}
again() { zr_sriov pigb 2 && zr_sriov pigb 0; }
pf_request() {
	zr_host_platform_event pigb deconfigure-request && zr_wait_absent pigb &&
		zr_fn_get_fid pigb && zr_loop_until "zr_fid_standby $ZR_F" &&
		zr_host_platform_event pigb configure && zr_wait_bound pigb
}

ktap_print_header
ktap_set_plan 8
zr_canary
zr_check "2 VFs up" zr_sriov pigb 2
zr_check "VF 1: hard deconfigure removes it, configure brings it back linked" vf_hard
zr_check "VF 0: deconfigure request, reserve, configure" vf_request
zr_check "events the platform cannot send are refused (VF beyond NumVFs, unknown event)" refused
zr_check "PF with 2 VFs: hard deconfigure removes both, configure brings the PF back" pf_hard
zr_check "PF: deconfigure request, configure" pf_request
zr_check "2 VFs up again, then none" again
zr_check "no kernel report" zr_no_reports
ktap_finished
