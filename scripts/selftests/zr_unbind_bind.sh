#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Unbinding the driver leaves the function without one; binding it again restores it.
. "$(dirname "$0")/functions.sh"

fn=${1:-znvme}
zr_fn_bound "$fn" || zr_die "$fn is not present and bound at the start"
trap 'zr_restore_fn $fn' EXIT
drv=/sys/bus/pci/drivers/$(zr_fn_driver "$fn")
bdf=$(basename "$(zr_fn_dev "$fn")")

ktap_print_header
ktap_set_plan 5
zr_canary
zr_check "$fn: unbind from $(basename "$drv") succeeds" eval "echo $bdf > $drv/unbind"
zr_check "$fn: no driver bound after unbind" zr_loop_until "! zr_fn_bound_driver $fn >/dev/null"
zr_check "$fn: bind succeeds" eval "echo $bdf > $drv/bind"
zr_check "$fn: driver bound again" zr_wait_bound "$fn"
zr_check "no kernel report during unbind/bind" zr_no_reports
ktap_finished
