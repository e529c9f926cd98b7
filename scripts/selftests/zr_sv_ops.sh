#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The zPCI operations of an s390 operator on a VF and on a PF with VFs (the s390x-sriov machine,
# our QEMU), each ending in a known state:
#   VF 0: hot-plug slot power off/on (SCLP deconfigure/configure of the VF's own zPCI function),
#     bound to vfio-pci and reset (FLR) there, vfio-pci unloaded and reloaded under it, recover
#     (removal, function reset, rescan: back and linked to its PF again);
#   the PF with 2 VFs: reset (the VFs stay), recover (the VFs go with it: igb disables SR-IOV in
#     .remove; the PF comes back without VFs), slot power off (refused while it has VFs),
#     rebound to vfio-pci and vfio-pci reloaded under it.
# Stock 7.3.4's recover removes a VF as a plain function and leaves the PF's virtfnN link: the
# rescan cannot link the new VF ("cannot create duplicate filename .../virtfn0"), which then is
# no VF of its PF (F8; fixed by the livepatch). The rest is clean with the livepatch; on stock,
# the VFs released under the rescan/remove lock (the PF's recover) draw S1 as zr_sv_vfs shows
# (lockdep, once per boot: the stock boot runs this test after that one).
. "$(dirname "$0")/functions.sh"

zr_need_vfs
trap 'vf_driver_restore; echo >"$(zr_fn_dev pigb)/driver_override"; zr_sriov pigb 0; zr_restore_fn pigb' EXIT
fid=$(zr_vf_fid pigb 0) || zr_die "pigb has no fid"
vf_slot=$(zr_fid_slot "$fid")

# vf_is DRIVER: VF 0 is present, linked to the PF, bound to DRIVER, and the PF has 2 VFs.
vf_is() {
	zr_fid_find "$fid" && [ -e "$ZR_DEV/physfn" ] && [ -e "$ZR_DEV/driver" ] || return 1
	[ "$(basename "$(readlink "$ZR_DEV/driver")")" = "$1" ] && [ "$(zr_vf_count pigb)" = 2 ]
}
vf_ok() { vf_is igbvf; }
vf_gone() { ! zr_fid_find "$fid"; }
# vf_write ATTR: echo 1 > ATTR of VF 0.
vf_write() {
	zr_fid_find "$fid" || return 1
	zr_log "% echo 1 > ${ZR_DEV##*/}/$1 (VF 0)"
	echo 1 >"$ZR_DEV/$1"
}
up() { zr_sriov pigb 2 && zr_loop_until vf_ok; }

# vf_recover: patched, VF 0 comes back linked to its PF; stock, it comes back bound but unlinked
# (F8): the rescan's link of the new VF collided with the old one's. Either way SR-IOV off and
# on again gives the PF its 2 VFs.
vf_recover() {
	vf_write recover && zr_loop_until "zr_fid_find $fid && [ -e \$ZR_DEV/driver ]" || return 1
	if zr_patched; then
		vf_ok || return 1
	elif [ -e "$ZR_DEV/physfn" ]; then
		echo "# stock: the recovered VF is linked to its PF (F8 no longer reproduces)"
		return 1
	else
		zr_dmesg_has "cannot create duplicate filename '.*/virtfn0'" ||
			{ echo "# stock: the recovered VF is not linked, but no duplicate link was reported"; return 1; }
		echo "# stock: F8: the recovered VF is no VF of its PF (duplicate virtfn0 link)"
	fi
	zr_sriov pigb 0 && up
}
vf_power() {
	zr_log "% echo 0 > $vf_slot/power (VF 0)"
	echo 0 >"$vf_slot/power" && zr_loop_until vf_gone && [ "$(zr_vf_count pigb)" = 1 ] || return 1
	zr_log "% echo 1 > $vf_slot/power (VF 0)"
	echo 1 >"$vf_slot/power" && zr_loop_until vf_ok
}

# vf_bind DRIVER: rebind VF 0 to DRIVER (driver_override: the bus picks nothing else for it).
vf_bind() {
	local b
	zr_fid_find "$fid" || return 1
	b=${ZR_DEV##*/}
	echo "$1" >"$ZR_DEV/driver_override" || return 1
	[ -e "$ZR_DEV/driver" ] && echo "$b" >"$ZR_DEV/driver/unbind"
	echo "$b" >"/sys/bus/pci/drivers/$1/bind" && vf_is "$1"
}
vf_driver_restore() {
	zr_fid_find "$fid" || return 0
	echo >"$ZR_DEV/driver_override" 2>/dev/null
	vf_ok || vf_bind igbvf >/dev/null
	echo >"$ZR_DEV/driver_override" 2>/dev/null
}
# vf_vfio: VF 0 on vfio-pci, reset there (FLR; with igbvf bound a reset of a VF whose
# interface never went up hangs in igbvf's reset_prepare, an igbvf bug: see zr_vf_reset.sh);
# rmmod vfio-pci unbinds it; modprobe binds it again (its driver_override); back to igbvf.
vf_vfio() {
	vf_bind vfio-pci && vf_write reset && vf_is vfio-pci && zr_rmmod vfio_pci &&
		zr_loop_until "zr_fid_find $fid && [ ! -e \$ZR_DEV/driver ]" &&
		modprobe vfio-pci && zr_loop_until "vf_is vfio-pci" && vf_bind igbvf && vf_driver_restore
}

pf_back() { zr_wait_bound pigb && [ "$(zr_vf_count pigb)" = 0 ]; }
pf_on() { [ "$(zr_fn_bound_driver pigb)" = "$1" ]; }
# pf_vfio: the PF with 2 VFs rebound to vfio-pci (igb's unbind takes the VFs), vfio-pci
# unloaded and reloaded under it, back to igb.
pf_vfio() {
	local d b
	d=$(zr_fn_dev pigb) || return 1
	b=${d##*/}
	zr_log "% rebind ${b} (PF with 2 VFs) to vfio-pci"
	echo vfio-pci >"$d/driver_override" && echo "$b" >/sys/bus/pci/drivers/igb/unbind &&
		echo "$b" >/sys/bus/pci/drivers/vfio-pci/bind && pf_on vfio-pci && zr_loop_until vf_gone &&
		zr_rmmod vfio_pci && [ ! -e "$d/driver" ] && modprobe vfio-pci && zr_loop_until "pf_on vfio-pci" || return 1
	echo >"$d/driver_override" && echo "$b" >/sys/bus/pci/drivers/vfio-pci/unbind &&
		echo "$b" >/sys/bus/pci/drivers/igb/bind && pf_back
}
pf_recover() {
	zr_log "% echo 1 > $(zr_fn_dev pigb)/recover (PF with 2 VFs)"
	echo 1 >"$(zr_fn_dev pigb)/recover" && zr_loop_until vf_gone && pf_back
}
# pf_power: s390's disable_slot() refuses a PF with VFs (-EBUSY); without them, off and on.
pf_power() {
	local s
	s=$(zr_fn_slot pigb) || return 1
	zr_log "% echo 0 > $s/power (PF with 2 VFs: refused)"
	if echo 0 >"$s/power" 2>/dev/null; then
		echo "# power off of a PF with VFs was accepted"
		return 1
	fi
	zr_fn_bound pigb && [ "$(zr_vf_count pigb)" = 2 ] && zr_sriov pigb 0 || return 1
	zr_log "% echo 0 > $s/power"
	echo 0 >"$s/power" && zr_wait_absent pigb || return 1
	zr_log "% echo 1 > $s/power"
	echo 1 >"$s/power" && pf_back
}
pf_reset() {
	zr_log "% echo 1 > $(zr_fn_dev pigb)/reset (PF with 2 VFs)"
	echo 1 >"$(zr_fn_dev pigb)/reset" && zr_fn_bound pigb && zr_loop_until vf_ok
}

modprobe vfio enable_unsafe_noiommu_mode=1 2>/dev/null
have_vfio=1
modprobe vfio-pci 2>/dev/null || have_vfio=

ktap_print_header
ktap_set_plan 11
zr_canary
zr_check "2 VFs up, VF 0 bound to igbvf" up
zr_check "VF 0: slot power off removes it, power on brings it back linked" vf_power
if [ -n "$have_vfio" ]; then
	zr_check "VF 0: on vfio-pci, reset there, vfio-pci unloaded and reloaded under it, back to igbvf" vf_vfio
else
	ktap_test_skip "VF 0: vfio-pci: module not available"
fi
zr_check "VF 0: recover: $(zr_patched && echo "back, linked to the PF" || echo "back, not linked (stock: F8)"), igbvf bound" vf_recover
zr_check "PF with 2 VFs: reset, the VFs stay" pf_reset
zr_check "PF with 2 VFs: recover: the VFs go, the PF comes back without VFs" pf_recover
zr_check "2 VFs up again" up
zr_check "PF with 2 VFs: slot power off refused (EBUSY); without VFs, off and on" pf_power
zr_check "2 VFs up again" up
if [ -n "$have_vfio" ]; then
	zr_check "PF with 2 VFs: on vfio-pci (the VFs go), vfio-pci reloaded under it, back to igb" pf_vfio
else
	ktap_test_skip "PF: vfio-pci: module not available"
fi
zr_check "no kernel report" zr_no_reports
ktap_finished
