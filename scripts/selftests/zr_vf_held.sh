#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# F4 with a VF in use: sysfs `remove` of an nvme PF (its driver leaves SR-IOV enabled) while a
# user holds one of its VFs open through vfio-pci (the VFIO device cdev, opened by a shell
# redirect). vfio-pci's .remove of that VF waits until the user closes the device ("blocked
# until released by user"). Patched: the PF's VFs go with it (F4), and their drivers are released
# with no lock held, so only the `remove` writer waits for the user; a rescan meanwhile
# completes. Removed under device_lock(PF) and the rescan/remove lock (the first F4 fix), the
# wait held both: every rescan, removal and hot-plug of the system blocked until the user let go.
# Stock: the VFs outlive their PF (F4: the writer returns at once, the held VF stays registered);
# the boot cannot get rid of them, so the test stops there (a boot of its own).
. "$(dirname "$0")/functions.sh"

zr_need_vfs
pf=$(zr_fn_dev pnvme) || zr_die "pnvme not present"
zr_need_vfio
holder=''
writer=''
done_file=/tmp/zr_vf_held.removed
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	[ -n "$writer" ] && wait "$writer"
	zr_restore_fn pnvme
	zr_sriov pnvme 0
	echo 1 >"$(zr_fn_dev pnvme)/sriov_drivers_autoprobe"
}
trap cleanup EXIT

vf=
enable() {
	echo 0 >"$pf/sriov_drivers_autoprobe" && zr_sriov pnvme 2 || return 1
	vf=$(readlink -f "$pf/virtfn0") && [ -d "$vf" ]
}
# hold: VF 0 bound to vfio-pci and its device cdev held open by a background task.
hold() {
	local _c _node
	zr_bind_vfio "$vf" || return 1
	for _c in "$vf"/vfio-dev/*; do [ -e "$_c/dev" ] && break; done
	[ -e "$_c/dev" ] || { echo "# no VFIO device cdev for ${vf##*/}"; return 1; }
	_node=/dev/vfio/devices/${_c##*/}
	[ -c "$_node" ] || { echo "# $_node missing"; return 1; }
	# shellcheck disable=SC2217 # the redirect is the point: it holds the device open
	sleep 600 <"$_node" &
	holder=$!
	sleep 1
	kill -0 "$holder" 2>/dev/null && echo "# $_node held open by pid $holder"
}
# remove_pf: write the PF's `remove` in the background; done_file appears when it returns.
remove_pf() {
	rm -f "$done_file"
	zr_log "% echo 1 > ${pf##*/}/remove (VF ${vf##*/} held)"
	{
		local _r=failed
		echo 1 >"$pf/remove" && _r=ok
		echo "$_r" >"$done_file"
	} &
	writer=$!
	sleep 3
}
waiting() { [ ! -e "$done_file" ] && zr_dmesg_has "blocked until released by user"; }
# rescan_completes: a bus rescan, in the background, returns within 20 s. A rescan blocked on
# the rescan/remove lock cannot be killed; it completes once the user lets go.
rescan_completes() {
	local _f=/tmp/zr_vf_held.rescanned
	rm -f "$_f"
	{ echo 1 >/sys/bus/pci/rescan; : >"$_f"; } &
	zr_loop_until "[ -e $_f ]" 200 || { echo "# the rescan is still blocked after 20 s"; return 1; }
}
release() {
	kill "$holder" && wait "$holder" 2>/dev/null
	holder=
	zr_loop_until "[ -e $done_file ]" && wait "$writer"
	writer=
	[ "$(cat "$done_file")" = ok ]
}
gone_back() {
	[ ! -e "$vf" ] && zr_fn_absent pnvme || return 1
	echo 1 >/sys/bus/pci/rescan && zr_wait_bound pnvme && [ "$(zr_vf_count pnvme)" = 0 ]
}
orphaned() { [ -e "$done_file" ] && [ -e "$vf" ] && echo "# stock: ${vf##*/} outlived its PF"; }

ktap_print_header
ktap_set_plan 7
zr_canary
zr_check "nvme: 2 VFs enabled (VF driver autoprobe off)" enable
zr_check "VF 0 bound to vfio-pci and held open through its VFIO device cdev" hold
remove_pf
if zr_patched; then
	zr_check "patched: the PF's remove waits for the VF's user (blocked until released)" waiting
	zr_check "patched: a rescan completes meanwhile (no lock held across the wait)" rescan_completes
	zr_check "the user lets go: the remove completes" release
	zr_check "PF and VFs gone; a rescan brings the PF back, bound, without VFs" gone_back
else
	zr_check "stock: the PF's remove returned, its held VF still registered (F4)" orphaned
	zr_check "a rescan completes" rescan_completes
	zr_check "the user lets go; the remove had completed" release
	ktap_test_skip "PF and VFs gone: stock leaves the VFs registered (F4)"
fi
zr_check "no kernel report" zr_no_reports
ktap_finished
