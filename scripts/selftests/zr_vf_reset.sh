#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Function resets (sysfs `reset`: FLR) of the PF and of its VFs while SR-IOV is enabled and
# disabled in a loop: the resets take the device locks, VF add/del the PF's device lock and (with
# the livepatch) the rescan/remove lock. ROUNDS (default 4) enable/disable rounds against
# continuous resets; both kernels must finish clean with the PF bound.
#
# The VFs are left without a driver (sriov_drivers_autoprobe=0): igbvf's reset_prepare calls
# igbvf_down() on an interface that never went up, and napi_disable() then waits forever for a
# NAPI instance never enabled, holding the VF's device lock (an igbvf bug of 7.3.4, unrelated to
# the rescan/remove lock; see Documentation/rescan-lock.rst).
. "$(dirname "$0")/functions.sh"

zr_need_vfs
rounds=${1:-4}
pf=$(zr_fn_dev pigb) || zr_die "pigb not present"
[ -e "$pf/reset" ] || zr_skip_all "the igb PF offers no reset method"
stop=/tmp/zr-reset-stop
rm -f "$stop"
trap 'touch $stop; wait; zr_sriov pigb 0; echo 1 >"$pf/sriov_drivers_autoprobe"; zr_restore_fn pigb' EXIT

# Resets of the PF and of whatever VFs exist, until told to stop; counts them.
resetter() {
	local _n _v
	_n=0
	while [ ! -e "$stop" ]; do
		echo 1 >"$pf/reset" 2>/dev/null && _n=$((_n + 1))
		for _v in "$pf"/virtfn*; do
			[ -e "$_v/reset" ] && echo 1 >"$_v/reset" 2>/dev/null && _n=$((_n + 1))
		done
	done
	echo "$_n" >/tmp/zr-resets
}
cycles() {
	local _i
	_i=1
	while [ "$_i" -le "$rounds" ]; do
		if ! zr_sriov pigb 2 || ! zr_sriov pigb 0; then
			echo "# round $_i failed"
			return 1
		fi
		_i=$((_i + 1))
	done
}

ktap_print_header
ktap_set_plan 4
zr_canary
echo 0 >"$pf/sriov_drivers_autoprobe" || zr_die "cannot turn VF driver autoprobe off"
resetter &
zr_check "$rounds enable/disable rounds during PF and VF resets" cycles
touch "$stop"
wait
echo "# $(cat /tmp/zr-resets 2>/dev/null) resets done"
zr_check "resets happened" [ "$(cat /tmp/zr-resets 2>/dev/null || echo 0)" -gt 0 ]
zr_check "the PF is still bound" zr_wait_bound pigb
zr_check "no kernel report" zr_no_reports
ktap_finished
