#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# A VF bound to vfio-pci while the PF disables SR-IOV: the VF's removal goes through
# vfio-pci's .remove under the lock the VF removal runs under (none on stock, the rescan/remove
# lock with the livepatch). vfio runs in no-IOMMU mode (the machine has no IOMMU). Both kernels
# must be clean, the VF gone, the PF still bound.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
trap 'zr_sriov pigb 0' EXIT
zr_need_vfio

# to_vfio: rebind the first VF of pigb from igbvf to vfio-pci.
to_vfio() {
	local _v
	_v=$(readlink -f "$(zr_fn_dev pigb)/virtfn0") || return 1
	_b=${_v##*/}
	zr_bind_vfio "$_v"
}
gone() { [ "$(zr_vf_count pigb)" = 0 ] && [ ! -e "/sys/bus/pci/devices/$_b" ] && zr_fn_bound pigb; }

ktap_print_header
ktap_set_plan 5
zr_canary
zr_check "igb: 2 VFs enabled" zr_sriov pigb 2
zr_check "VF 0 bound to vfio-pci" to_vfio
zr_check "PF disables SR-IOV (sriov_numvfs=0)" zr_sriov pigb 0
zr_check "the vfio-pci VF is gone, the PF still bound" gone
zr_check "no kernel report" zr_no_reports
ktap_finished
