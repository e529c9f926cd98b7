#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# S2 on s390x (the s390x-sriov machine): a VF's last reference dropped under the rescan/remove
# lock after the platform has reserved it. A driver keeps a VF's pci_dev (the test module
# zr_pin, as a PF driver that looked its VFs up would); the platform hard-deconfigures the VF
# (0x0304: Linux removes the pci_dev, the pin keeps it) and reserves it (0x0308: the zPCI
# function's own reference goes, the pci_dev's stays); the driver then drops the pin with the
# rescan/remove lock held (module unload, as a .remove under remove_store() or a hot-unplug).
# That put is the zPCI function's last: zpci_release_device() takes the rescan/remove lock
# again (zpci_cleanup_bus_resources()). Stock 7.3.4: a self-deadlock, rmmod never returns
# (lockdep "possible recursive locking", hung task; its own boot, ended at the deadline). With
# the livepatch the lock nests: the zPCI function is released and the VF comes back on
# configure.
. "$(dirname "$0")/functions.sh"

zr_need_vfs
zr_have_host || zr_skip_all "no host control channel"
pin=$ZR_MODDIR/klp/zr_pin.ko
[ -f "$pin" ] || zr_skip_all "test module not in the image: $pin"
trap 'zr_mod_loaded zr_pin && rmmod zr_pin; zr_sriov pigb 0; zr_restore_fn pigb' EXIT

fid=$(zr_vf_fid pigb 1) || zr_die "pigb has no fid"
slot=$(zr_fid_slot "$fid")

# pin_vf: load zr_pin on VF 1's PCI address (DDDD:BB:SS.F).
pin_vf() {
	local a dom bus sf
	zr_fid_find "$fid" || return 1
	a=${ZR_DEV##*/}
	dom=${a%%:*}
	bus=${a#*:}
	sf=${bus#*:}
	bus=${bus%%:*}
	zr_insmod "$pin" "domain=0x$dom" "bus=0x$bus" "devfn=$(((0x${sf%.*} << 3) | ${sf#*.}))" &&
		zr_dmesg_has "zr_pin: pinned $a"
}
vf_gone() { ! zr_fid_find "$fid"; }
hard() {
	zr_host_platform_event pigb 1 hard-deconfigure && zr_loop_until vf_gone &&
		zr_loop_until "zr_fid_standby $fid" && [ "$(zr_vf_count pigb)" = 1 ]
}
# reserved: the last entry of s390's zPCI debug log (s390dbf pci_msg) about the function is
# Linux's "rsv fid:" (zpci_device_reserved()).
reserved() {
	grep -E "fid:$(printf '%x' "$fid")([^0-9a-f]|\$)" /sys/kernel/debug/s390dbf/pci_msg/sprintf |
		tail -n 1 | grep -q "rsv fid:"
}
# reserve: the zPCI function is reserved but lingers (its hot-plug slot stays): the pinned
# pci_dev holds it.
reserve() {
	zr_host_platform_event pigb 1 reserve && zr_loop_until reserved && [ -d "$slot" ]
}
released() { [ ! -d "$slot" ]; }
unpin() {
	zr_log "% rmmod zr_pin (drops the last reference under the rescan/remove lock)"
	rmmod zr_pin && zr_dmesg_has "zr_pin: released" && zr_loop_until released
}
back() {
	zr_host_platform_event pigb 1 configure && zr_loop_until "zr_fid_find $fid" &&
		[ -e "$ZR_DEV/physfn" ] && [ "$(zr_vf_count pigb)" = 2 ]
}
mode=stock
zr_patched && mode=patched

ktap_print_header
ktap_set_plan 8
zr_canary
zr_check "2 VFs up" zr_sriov pigb 2
zr_check "zr_pin holds VF 1's pci_dev" pin_vf
zr_check "VF 1: hard deconfigure removes its pci_dev (pinned), the function goes to standby" hard
zr_check "VF 1: reserve; the zPCI function lingers (the pin holds it)" reserve
[ $mode = stock ] && echo "# stock kernel: the next step self-deadlocks (S2); the host ends the boot"
zr_check "$mode: the pin dropped under the rescan/remove lock releases the zPCI function" unpin
zr_check "VF 1: configure brings it back, linked to the PF" back
zr_check "2 VFs down" zr_sriov pigb 0
zr_check "no kernel report (no recursive locking, no hung task)" zr_no_reports
ktap_finished
