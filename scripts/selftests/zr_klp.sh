#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# klp-convert in the guest: livepatch modules whose relocations against non-exported vmlinux
# symbols were converted into .klp.rela/.klp.sym form.
#   zr_klp_var   reads static variables (zpci_list, zpci_list_lock): /proc/version must show
#                the number of zPCI functions sysfs shows;
#   zr_klp_call  calls a static function (pci_read): /proc/version must list each function's
#                vendor and device ID as sysfs shows them;
#   zr_klp_bad   names a symbol vmlinux lacks: insmod fails with EINVAL, dmesg names the
#                symbol, no module, no livepatch, /proc/version unchanged.
. "$(dirname "$0")/functions.sh"

dir=$ZR_MODDIR/klp
[ -d /sys/kernel/livepatch ] || zr_skip_all "kernel without CONFIG_LIVEPATCH"
# zr_klp_var and zr_klp_call read s390 symbols; elsewhere only the refusal runs (the zpci_rrlock
# module itself is the converted livepatch there: pci_rescan_remove_lock, pci_iov_*).
mods="zr_klp_var zr_klp_call zr_klp_bad"
[ "$ZR_ARCH" = s390x ] || mods=zr_klp_bad
for m in $mods; do
	[ -f "$dir/$m.ko" ] || zr_skip_all "test module not in the image: $dir/$m.ko"
done
orig=$(cat /proc/version)

trap 'for m in zr_klp_var zr_klp_call zr_klp_bad; do zr_lp_unload $m; done' EXIT

same_version() { [ "$(cat /proc/version)" = "$orig" ]; }

# The expected zr_klp_call lines, from sysfs.
expected_ids() {
	for d in /sys/bus/pci/devices/*; do
		printf 'zr_klp_call: %s rc=0 %s:%s\n' "$(basename "$d")" "$(cat "$d/vendor")" "$(cat "$d/device")"
	done | sort
}
ids_match() {
	local _got _want
	_got=$(sort /proc/version)
	_want=$(expected_ids)
	[ "$_got" = "$_want" ] && return 0
	echo "$_got" | sed 's/^/# got:  /'
	echo "$_want" | sed 's/^/# want: /'
	return 1
}
count_matches() {
	local _n _line
	_n=$(grep -l . /sys/bus/pci/devices/*/function_id | wc -l)
	_line=$(cat /proc/version)
	echo "# /proc/version: $_line; sysfs: $_n functions"
	[ "$_line" = "zr_klp_var: zpci_list holds $_n functions" ]
}
bad_refused() {
	local _out
	_out=$(insmod "$dir/zr_klp_bad.ko" 2>&1) && return 1
	echo "# insmod: $_out"
	echo "$_out" | grep -q "Invalid argument"
}
bad_gone() { [ ! -d /sys/kernel/livepatch/zr_klp_bad ] && ! zr_mod_loaded zr_klp_bad; }

ktap_print_header
ktap_set_plan 10
zr_canary
if [ "$ZR_ARCH" = s390x ]; then
	zr_check "zr_klp_var: loads and its livepatch completes" zr_lp_load "$dir/zr_klp_var.ko"
	zr_check "zr_klp_var: read zpci_list through a converted relocation" count_matches
	zr_check "zr_klp_var: disables and unloads, /proc/version restored" eval "zr_lp_unload zr_klp_var && same_version"
	zr_check "zr_klp_call: loads and its livepatch completes" zr_lp_load "$dir/zr_klp_call.ko"
	zr_check "zr_klp_call: static pci_read() returns the IDs sysfs shows" ids_match
	zr_check "zr_klp_call: disables and unloads, /proc/version restored" eval "zr_lp_unload zr_klp_call && same_version"
else
	for t in "zr_klp_var: load" "zr_klp_var: zpci_list" "zr_klp_var: unload" "zr_klp_call: load" \
		"zr_klp_call: pci_read()" "zr_klp_call: unload"; do
		ktap_test_skip "$t: s390 symbols (zpci_list, pci_read), not on $ZR_ARCH"
	done
fi
zr_check "zr_klp_bad: insmod fails with EINVAL" bad_refused
zr_check "zr_klp_bad: dmesg names the unresolved symbol" \
	zr_dmesg_has "livepatch: symbol 'zr_klp_no_such_symbol' not found in symbol table"
zr_check "zr_klp_bad: no module, no livepatch, /proc/version unchanged" eval "bad_gone && same_version"
zr_check "no kernel report during the livepatch tests" zr_no_reports
ktap_finished
