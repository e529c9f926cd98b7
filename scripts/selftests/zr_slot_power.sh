#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Hot-plug slot power off removes the function, power on brings it back with its driver.
. "$(dirname "$0")/functions.sh"

fn=${1:-zigb}
zr_need_slot "$fn"
slot=$ZR_SLOT
zr_take_fn "$fn"

ktap_print_header
ktap_set_plan 6
zr_canary
zr_check "$fn: slot power reads 1" [ "$(cat "$slot/power")" = 1 ]
zr_check "$fn: echo 0 > power succeeds" eval "echo 0 > $slot/power"
zr_check "$fn: gone after power off" zr_wait_absent "$fn"
zr_check "$fn: echo 1 > power succeeds" eval "echo 1 > $slot/power"
zr_check "$fn: back with driver $(zr_fn_driver "$fn") bound" zr_wait_bound "$fn"
zr_check "no kernel report during power off/on" zr_no_reports
ktap_finished
