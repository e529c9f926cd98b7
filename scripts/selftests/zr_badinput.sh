#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Bad input: every interface of the module and of the PCI sysfs stores it replaces gets invalid
# values (wrong type, out of range, empty, huge, concurrent writers) and must answer with the
# stock kernel's error and leave the state as it was; nothing is writable by non-root.
#
#   remove          kstrtoul fails -> EINVAL (remove_store, stock and replaced alike)
#   sriov_numvfs    kstrtou16 fails -> EINVAL, more than TotalVFs -> ERANGE
#   recover (s390x) takes any value and recovers (stock behaviour, kept by the replacement)
#   zpci_rrlock.ko  has no parameters: an unknown one is ignored with the kernel's warning (as
#                   for every module); a second insmod -> EEXIST, the patch stays enabled
#   zr_nest.ko      depth outside 1..64, hold_ms above 60000, or not a number -> refused
#   livepatch enabled: not a kstrtobool word -> EINVAL, 1 while enabled -> EINVAL (note that
#                   kstrtobool reads only the first character: "0x" or "no" would disable it)
#   livepatch force: not a kstrtobool word -> EINVAL, 1 without a transition -> EINVAL
#   debugfs rescan_lock: read only
#
# On a stock boot the module is loaded for the module checks and unloaded at the end.
. "$(dirname "$0")/functions.sh"

ko=$ZR_MODDIR/$ZR_MOD.ko
nest=$ZR_MODDIR/klp/zr_nest.ko
[ -f "$ko" ] || zr_skip_all "module not in the image: $ko"
fns=$(zr_functions | tr '\n' ' ')
loaded_here=''
trap '[ -n "$loaded_here" ] && zr_lp_unload $ZR_MOD; for _f in $fns; do zr_restore_fn $_f; done' EXIT
HUGE=$(awk 'BEGIN { while (i++ < 5000) printf "9"; }')
# Not a number (for the kstrto* stores), and not a kstrtobool word either (livepatch knobs).
BAD="abc -1 0x 1.5 $HUGE"
BAD_BOOL="abc 2 -1 $HUGE"

# refused FILE VALUE ERROR: writing VALUE to FILE fails with ERROR (strerror text).
refused() {
	local _e
	_e=$({ echo "$2" >"$1"; } 2>&1) && { echo "# '$(echo "$2" | cut -c1-20)' > $1 accepted"; return 1; }
	case "$_e" in
	*"$3"*) return 0 ;;
	*) echo "# '$(echo "$2" | cut -c1-20)' > $1: '$_e', expected '$3'"; return 1 ;;
	esac
}
# refused_all FILE ERROR VALUE...: refused for each VALUE (and an empty line).
refused_all() {
	local _rf _re _rv
	_rf=$1 _re=$2
	shift 2
	for _rv in "$@" ""; do refused "$_rf" "$_rv" "$_re" || return 1; done
}

ktap_print_header
ktap_set_plan 11
zr_canary

# ---- the PCI sysfs stores (stock or replaced, as the boot has them) ---------------------------
remove_bad() {
	local _f _d
	for _f in $fns; do
		_d=$(zr_fn_dev "$_f") || { echo "# $_f absent"; return 1; }
		# shellcheck disable=SC2086 # lists of words
		refused_all "$_d/remove" "Invalid argument" $BAD || return 1
		zr_fn_bound "$_f" || { echo "# $_f gone after bad writes to remove"; return 1; }
	done
}
zr_check "remove: bad values -> EINVAL, every function still there" remove_bad

numvfs_bad() {
	local _tot _f _d
	for _f in $fns; do
		_d=$(zr_fn_dev "$_f") || return 1
		[ -e "$_d/sriov_numvfs" ] || continue
		read -r _tot <"$_d/sriov_totalvfs"
		# shellcheck disable=SC2086
		refused_all "$_d/sriov_numvfs" "Invalid argument" $BAD 65536 || return 1
		refused "$_d/sriov_numvfs" $((_tot + 1)) "Numerical result out of range" || return 1
		[ "$(cat "$_d/sriov_numvfs")" = 0 ] || { echo "# $_f: sriov_numvfs changed"; return 1; }
	done
}
if [ "$ZR_ARCH" = s390x ]; then
	ktap_test_skip "sriov_numvfs: QEMU's s390x machine has no SR-IOV capability"
else
	zr_check "sriov_numvfs: bad values -> EINVAL, > TotalVFs -> ERANGE, no VF created" numvfs_bad
fi

recover_any() {
	local _f _d
	_f=${fns%% *}
	_d=$(zr_fn_dev "$_f") || return 1
	printf 'garbage\n' >"$_d/recover" || { echo "# recover of $_f refused"; return 1; }
	zr_wait_bound "$_f" || { echo "# $_f not back after recover"; return 1; }
}
if [ "$ZR_ARCH" = s390x ]; then
	zr_check "recover: any value recovers (stock semantics), ${fns%% *} back" recover_any
else
	ktap_test_skip "recover: s390x only"
fi

# ---- the module -----------------------------------------------------------------------------
module_params() {
	local _e
	if zr_mod_loaded "$ZR_MOD"; then
		_e=$(insmod "$ko" 2>&1) && { echo "# second insmod accepted"; return 1; }
		echo "# second insmod: $_e"
		zr_lp_enabled "$ZR_MOD" || { echo "# livepatch no longer enabled"; return 1; }
	else
		# The kernel ignores a parameter a module does not have, for every module, and says so.
		zr_lp_load "$ko" bogus=1 || return 1
		loaded_here=1
		zr_dmesg_has "unknown parameter 'bogus' ignored" ||
			{ echo "# no 'unknown parameter' warning for bogus=1"; return 1; }
	fi
}
zr_check "zpci_rrlock.ko: unknown parameter named and ignored, second load refused" module_params

nest_bad() {
	local _v
	for _v in 0 65 abc -1 "" 99999999999; do
		insmod "$nest" depth="$_v" 2>/dev/null && { echo "# zr_nest depth='$_v' accepted"; rmmod zr_nest; return 1; }
		zr_mod_loaded zr_nest && { echo "# zr_nest left loaded"; return 1; }
	done
	for _v in 60001 abc -1; do
		insmod "$nest" depth=1 hold_ms="$_v" 2>/dev/null && { echo "# zr_nest hold_ms='$_v' accepted"; rmmod zr_nest; return 1; }
		zr_mod_loaded zr_nest && { echo "# zr_nest left loaded"; return 1; }
	done
	return 0
}
zr_check "zr_nest.ko: depth outside 1..64, hold_ms above 60000 or not a number refused" nest_bad

lp=/sys/kernel/livepatch/$ZR_MOD
lp_bad() {
	# shellcheck disable=SC2086
	refused_all "$lp/enabled" "Invalid argument" $BAD_BOOL || return 1
	refused "$lp/enabled" 1 "Invalid argument" || return 1
	# shellcheck disable=SC2086
	refused_all "$lp/force" "Invalid argument" $BAD_BOOL || return 1
	[ "$(cat "$lp/transition")" = 0 ] && { refused "$lp/force" 1 "Invalid argument" || return 1; }
	zr_lp_enabled "$ZR_MOD" || { echo "# the patch is no longer enabled"; return 1; }
}
zr_check "livepatch enabled/force: bad values -> EINVAL, the patch stays enabled" lp_bad

view=/sys/kernel/debug/$ZR_MOD/rescan_lock
debugfs_ro() {
	local _v
	for _v in "" 0 "owner: free"; do
		{ printf '%s\n' "$_v" >"$view"; } 2>/dev/null && { echo "# write to $view accepted"; return 1; }
	done
	grep -qx "owner: free" "$view" || { echo "# view changed: $(head -n1 "$view")"; return 1; }
}
zr_check "debugfs rescan_lock: writes refused, view unchanged" debugfs_ro

# ---- concurrent writers -----------------------------------------------------------------------
writer() {
	local _d _v
	_d=$(zr_fn_dev "$1") || return 0
	for _v in $BAD; do
		printf '%s\n' "$_v" >"$_d/remove"
		[ -e "$_d/sriov_numvfs" ] && printf '%s\n' "$_v" >"$_d/sriov_numvfs"
	done 2>/dev/null
	for _v in $BAD_BOOL; do
		printf '%s\n' "$_v" >"$lp/enabled"
	done 2>/dev/null
	return 0
}
concurrent() {
	local _i _f _d
	ZR_WORKERS=''
	_i=0
	for _f in $fns; do
		_i=$((_i + 1))
		zr_worker "bad$_i" 2 writer "$_f"
	done
	zr_workers_wait 60 || return 1
	for _f in $fns; do
		zr_fn_bound "$_f" || { echo "# $_f gone"; return 1; }
		_d=$(zr_fn_dev "$_f")
		[ ! -e "$_d/sriov_numvfs" ] || [ "$(cat "$_d/sriov_numvfs")" = 0 ] || { echo "# $_f has VFs"; return 1; }
	done
	zr_lp_enabled "$ZR_MOD" && grep -qx "owner: free" "$view"
}
zr_check "one writer per function, concurrent, bad values for 2 s: functions, VFs, patch and lock unchanged" concurrent

# ---- permissions ------------------------------------------------------------------------------
no_world_write() {
	local _w _m
	_w=$(find "$lp" "/sys/module/$ZR_MOD" "/sys/kernel/debug/$ZR_MOD" -perm /022 ! -type l 2>/dev/null)
	[ -z "$_w" ] || { echo "# writable by group/other: $_w"; return 1; }
	_m=$(stat -c %a "$view")
	[ "$_m" = 400 ] || { echo "# $view mode $_m, not 400"; return 1; }
}
zr_check "no file of the module writable by group/other; debugfs view mode 0400" no_world_write

# as_nobody CMD: CMD run by sh as uid 65534 (busybox su; its setpriv cannot change uids).
as_nobody() {
	grep -q '^nobody:' /etc/passwd 2>/dev/null ||
		echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
	grep -q '^nogroup:' /etc/group 2>/dev/null || echo 'nogroup:x:65534:' >>/etc/group
	su -s /bin/sh nobody -c "$1"
}
non_root() {
	local _u _p _d
	# The switch itself must work, or every refusal below would prove nothing.
	_u=$(as_nobody 'id -u' 2>&1)
	[ "$_u" = 65534 ] || { echo "# su to uid 65534 failed: $_u"; return 1; }
	_d=$(zr_fn_dev "${fns%% *}")
	for _p in "$lp/enabled:0" "$_d/remove:1" "$_d/sriov_numvfs:1" "$_d/recover:1"; do
		[ -e "${_p%:*}" ] || continue
		as_nobody "echo ${_p##*:} >${_p%:*}" 2>/dev/null &&
			{ echo "# uid 65534 could write ${_p%:*}"; return 1; }
	done
	as_nobody "cat $view" >/dev/null 2>&1 && { echo "# uid 65534 could read $view"; return 1; }
	zr_lp_enabled "$ZR_MOD" && zr_fn_bound "${fns%% *}"
}
zr_check "uid 65534 (su): writes to enabled, remove, sriov_numvfs, recover and reading the view refused" non_root

zr_check "no kernel report" zr_no_reports
ktap_finished
