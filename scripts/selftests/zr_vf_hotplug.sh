#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# PCIe hot-unplug (QMP device_del) of a PF with VFs enabled: pciehp holds the
# rescan/remove lock while the PF's .remove disables SR-IOV, so with the livepatch
# sriov_del_vfs() takes it nested (the reference's S3 chain through hot-plug); a non-reentrant
# lock there would self-deadlock. Re-plugging brings the PF back without VFs.
#
# On the stock kernel the first hot-unplug of a bound device draws pciehp's lockdep report
# (reset_lock held while the rescan/remove lock is waited for, and taken again under it; the
# livepatch takes them in one order): the stock boot accepts exactly that report
# (zr.known_reports=pciehp-reset; the host classifies it the same way), and lockdep is off for
# the rest of that boot.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
zr_have_host || zr_skip_all "no host control channel"
trap 'zr_restore_fn pigb' EXIT

back() { zr_restore_fn pigb && [ "$(zr_vf_count pigb)" = 0 ]; }

ktap_print_header
ktap_set_plan 5
zr_canary
zr_check "igb: 2 VFs enabled" zr_sriov pigb 2
zr_check "QMP device_del of the PF with its VFs" zr_host_unplug pigb
zr_check "PF and VFs gone from the guest" zr_wait_absent pigb
zr_check "re-plug brings the PF back, bound, without VFs" back
zr_check "no kernel report but the known pciehp one (no self-deadlock, no hung task)" zr_no_reports
ktap_finished
