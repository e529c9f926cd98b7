#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The seed's reset item on s390x: a sysfs `reset` of each bound zPCI function (device_lock ->
# reset methods; the slot reset takes zdev->state_lock only with a trylock) leaves it bound,
# with a clean log. A function without a reset method has no `reset` attribute: SKIP.
. "$(dirname "$0")/functions.sh"

[ "$ZR_ARCH" = s390x ] || zr_skip_all "s390x zPCI test (x86_64: zr_vf_reset)"
ktap_print_header
ktap_set_plan 4
zr_canary
for fn in zigb znvme znet; do
	d=$(zr_fn_dev "$fn")
	if [ -z "$d" ] || [ ! -e "$d/reset" ]; then
		ktap_test_skip "$fn: no reset attribute (no reset method for this function)"
		continue
	fi
	zr_check "$fn: echo 1 > reset succeeds and the driver stays bound" \
		eval "echo 1 > $d/reset && zr_wait_bound $fn"
done
zr_check "no kernel report during the resets" zr_no_reports
ktap_finished
