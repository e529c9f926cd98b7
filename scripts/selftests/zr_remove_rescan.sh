#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# sysfs remove takes the function away, a bus rescan finds it again and binds its driver.
. "$(dirname "$0")/functions.sh"

fn=${1:-znvme}
zr_fn_bound "$fn" || zr_die "$fn is not present and bound at the start"
trap 'zr_restore_fn $fn' EXIT

ktap_print_header
ktap_set_plan 5
zr_canary
dev=$(zr_fn_dev "$fn")
zr_check "$fn: echo 1 > remove succeeds" eval "echo 1 > $dev/remove"
zr_check "$fn: gone after remove" zr_wait_absent "$fn"
zr_check "$fn: echo 1 > /sys/bus/pci/rescan succeeds" eval "echo 1 > /sys/bus/pci/rescan"
zr_check "$fn: back with driver $(zr_fn_driver "$fn") bound" zr_wait_bound "$fn"
zr_check "no kernel report during remove/rescan" zr_no_reports
ktap_finished
