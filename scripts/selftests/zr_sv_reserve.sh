#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The platform's unnamed reservation (PEC 0x0306, "no function handle or id stored"; our QEMU's
# reserve-unnamed) of a VF and of the PF: Linux lists its functions (CLP) and reserves every
# standby one it no longer finds (zpci_remove_reserved_devices()), then scans for new ones.
# Stock 7.3.4 reserves them without their state_lock, which zpci_device_reserved() asserts:
# lockdep_assert_held's WARNING (while lockdep watches: a boot of its own). With the livepatch
# each is reserved under its state_lock: clean. Either way the function is released and comes
# back on configure. (Stock: the VFs' release under the rescan/remove lock draws S1 as well.)
. "$(dirname "$0")/functions.sh"

zr_need_vfs
zr_have_host || zr_skip_all "no host control channel"
trap 'zr_sriov pigb 0; zr_restore_fn pigb' EXIT
fid=$(zr_vf_fid pigb 0) || zr_die "pigb has no fid"
zr_fn_get_fid pigb || zr_die "pigb has no fid"
pf_fid=$ZR_F

# unnamed ID [VF]: deconfigure request, then the unnamed reservation of the function; its slot
# goes (the zPCI function released).
unnamed() {
	local f=$pf_fid
	[ $# = 2 ] && f=$fid
	zr_host_platform_event "$@" deconfigure-request && zr_loop_until "! zr_fid_find $f" &&
		zr_loop_until "zr_fid_standby $f" && zr_host_platform_event "$@" reserve-unnamed &&
		zr_loop_until "[ ! -d $(zr_fid_slot "$f") ]"
}
vf_back() {
	zr_host_platform_event pigb 0 configure && zr_loop_until "zr_fid_find $fid" &&
		[ -e "$ZR_DEV/physfn" ] && [ "$(zr_vf_count pigb)" = 2 ]
}
pf_back() { zr_host_platform_event pigb configure && zr_wait_bound pigb; }
lockdep_on() { grep -q 'debug_locks: *1' /proc/lockdep_stats 2>/dev/null; }
expected() {
	if zr_patched; then
		zr_no_reports
	elif zr_dmesg_has "WARNING: arch/s390/pci/pci.c:[0-9]+ at zpci_device_reserved"; then
		# The VFs' release under the rescan/remove lock that follows draws S1 (zr_sv_vfs).
		ZR_ALLOWED_REPORT='at zpci_device_reserved|possible circular locking dependency' zr_no_reports
	elif [ -z "$lockdep_before" ]; then
		echo "# stock kernel, lockdep off before the test: the assertion cannot fire"
		ZR_ALLOWED_REPORT='possible circular locking dependency' zr_no_reports
	else
		echo "# stock kernel: no lockdep_assert_held warning (scenario no longer reproduces)"
		return 1
	fi
}
mode=stock
zr_patched && mode=patched

ktap_print_header
ktap_set_plan 6
zr_canary
lockdep_before=
lockdep_on && lockdep_before=1
zr_check "2 VFs up" zr_sriov pigb 2
zr_check "VF 0: deconfigure request, then reserved unnamed (0x0306): released" unnamed pigb 0
zr_check "VF 0: configure brings it back, linked to the PF" vf_back
zr_check "PF: VFs down, deconfigure request, then reserved unnamed (0x0306): released" \
	eval 'zr_sriov pigb 0 && unnamed pigb'
zr_check "PF: configure brings it back, igb bound" pf_back
zr_check "$mode: expected result ($( [ $mode = stock ] && echo 'lockdep_assert_held warning' || echo clean))" expected
ktap_finished
