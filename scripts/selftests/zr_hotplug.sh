#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Platform hot-unplug of the virtio-net function (QMP device_del, waited for by its
# DEVICE_DELETED event) removes it from the guest, and re-plugging it (QMP device_add) brings it
# back with its driver bound.
. "$(dirname "$0")/functions.sh"

fn=${1:-znet}
zr_have_host || zr_skip_all "no host control channel"
zr_fn_bound "$fn" || zr_die "$fn is not present and bound at the start"
trap 'zr_restore_fn $fn' EXIT

ktap_print_header
ktap_set_plan 5
zr_canary
zr_check "$fn: host device_del answered by DEVICE_DELETED" zr_host_unplug "$fn"
zr_check "$fn: gone from the guest" zr_wait_absent "$fn"
zr_check "$fn: host device_add succeeds" zr_host_plug "$fn"
zr_check "$fn: back with driver $(zr_fn_driver "$fn") bound" zr_wait_bound "$fn"
zr_check "no kernel report during unplug/re-plug" zr_no_reports
ktap_finished
