#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Modules and livepatches (sourced by functions.sh), as the kernel's livepatch selftests load
# and unload them.

# zr_patched: the zpci_rrlock livepatch is enabled (the scenario tests expect the fixed
# behaviour then, and the stock kernel's report otherwise).
zr_patched() { zr_lp_enabled "$ZR_MOD"; }

zr_mod_loaded() { [ -d "/sys/module/$1" ]; }

# zr_insmod PATH [PARAMS...]: load a module; its error message is printed as a diagnostic.
zr_insmod() {
	local out
	zr_log "% insmod $*"
	out=$(insmod "$@" 2>&1) && return 0
	echo "# insmod $*: $out"
	return 1
}

# zr_mod_unused NAME: the module's reference count is 0 (or it has none).
zr_mod_unused() {
	local refs=0
	[ -r "/sys/module/$1/refcnt" ] && read -r refs <"/sys/module/$1/refcnt" 2>/dev/null
	[ "$refs" = 0 ]
}

# zr_rmmod NAME: unload a module and wait until it is gone. Its references are waited for
# first, as the kernel's livepatch selftests do: a disabled livepatch drops its own only after
# its sysfs directory is gone (klp_free_patch_finish(), in a work item), so an rmmod in between
# fails with "in use"; rmmod itself then names what still holds it.
zr_rmmod() {
	zr_loop_until "zr_mod_unused $1"
	zr_log "% rmmod $1"
	rmmod "$1" 2>&1 | sed 's/^/# /'
	zr_loop_until "! zr_mod_loaded $1"
}

# zr_lp_enabled NAME: the livepatch is enabled and its transition complete.
zr_lp_enabled() {
	[ "$(cat "/sys/kernel/livepatch/$1/enabled" 2>/dev/null)" = 1 ] &&
		[ "$(cat "/sys/kernel/livepatch/$1/transition" 2>/dev/null)" = 0 ]
}

# zr_lp_load PATH [PARAMS...]: load a livepatch module and wait until every task runs the
# patched code.
zr_lp_load() {
	local name
	name=$(basename "$1" .ko)
	zr_insmod "$@" || return 1
	zr_loop_until "zr_lp_enabled $name"
}

# zr_lp_unload NAME: disable a livepatch, wait for its transition to finish, unload the module.
zr_lp_unload() {
	if [ -d "/sys/kernel/livepatch/$1" ]; then
		zr_log "% echo 0 > /sys/kernel/livepatch/$1/enabled"
		echo 0 >"/sys/kernel/livepatch/$1/enabled" || return 1
		zr_loop_until "[ ! -d /sys/kernel/livepatch/$1 ]" || return 1
	fi
	zr_mod_loaded "$1" || return 0
	zr_rmmod "$1"
}
