#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Every zPCI function the machine defines (zr.functions= on the command line) is enumerated
# with its driver bound, and there are no others (zr.expect_count= overrides the count).
. "$(dirname "$0")/functions.sh"

fns=$(zr_functions)
[ -n "$fns" ] || zr_skip_all "no zr.functions= on the kernel command line"
n=0
for f in $fns; do n=$((n + 1)); done
want=$(zr_cmdline zr.expect_count)
want=${want:-$n}

ktap_print_header
ktap_set_plan $((n + 1))
for f in $fns; do
	zr_wait_bound "$f"
	got=$(zr_fn_bound_driver "$f")
	echo "# $f: fid $(zr_fn_fid "$f") at $(zr_fn_dev "$f" || echo '(absent)'), driver '${got}'"
	zr_check "$f: present with driver $(zr_fn_driver "$f") bound" zr_fn_bound "$f"
done
# The host channel (zr.control_fid, a virtio-serial function of the machine) is not counted.
ctl=$(zr_cmdline zr.control_fid)
[ -n "$ctl" ] && ctl=$(printf '0x%08x' "$ctl")
count=0
for _d in /sys/bus/pci/devices/*; do
	[ -r "$_d/function_id" ] || continue
	read -r _v <"$_d/function_id"
	[ "$_v" = "$ctl" ] || count=$((count + 1))
done
echo "# zPCI functions in sysfs: $count${ctl:+ (besides the host channel, fid $ctl)}, expected: $want"
zr_check "number of zPCI functions is $want" [ "$count" -eq "$want" ]
ktap_finished
