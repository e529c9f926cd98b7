#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The s390 "recover" attribute resets the function and re-probes it: it ends present and bound.
. "$(dirname "$0")/functions.sh"

fn=${1:-zigb}
zr_fn_bound "$fn" || zr_die "$fn is not present and bound at the start"
dev=$(zr_fn_dev "$fn")
[ -e "$dev/recover" ] || zr_skip_all "no recover attribute at $dev"
trap 'zr_restore_fn $fn' EXIT

ktap_print_header
ktap_set_plan 4
zr_canary
zr_check "$fn: echo 1 > recover succeeds" eval "echo 1 > $dev/recover"
zr_check "$fn: re-probed (driver probe seen in the log)" \
	zr_loop_until "zr_dmesg_has '$(basename "$dev")'"
zr_check "$fn: present with driver $(zr_fn_driver "$fn") bound afterwards" zr_wait_bound "$fn"
zr_check "no kernel report during recover" zr_no_reports
ktap_finished
