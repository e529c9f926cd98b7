#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# x86_64 machine: the SR-IOV PFs are present, bound, and offer VFs (igb 7, nvme 2), so the VF
# scenarios can run; on a machine without them every VF test is a SKIP.
. "$(dirname "$0")/functions.sh"

zr_need_vfs

# offers ID MIN: function ID is bound and offers at least MIN VFs.
offers() {
	local _d _t
	zr_wait_bound "$1" || { echo "# $1 not present and bound"; return 1; }
	_d=$(zr_fn_dev "$1")
	read -r _t <"$_d/sriov_totalvfs" || return 1
	echo "# $1 (${_d##*/}): sriov_totalvfs=$_t"
	[ "$_t" -ge "$2" ]
}

ktap_print_header
ktap_set_plan 3
zr_canary
zr_check "igb PF bound, offers at least 2 VFs" offers pigb 2
zr_check "nvme PF bound, offers at least 2 VFs" offers pnvme 2
zr_check "no kernel report" zr_no_reports
ktap_finished
