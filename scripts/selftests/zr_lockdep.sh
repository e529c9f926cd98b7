#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Lockdep's own dependency data of this boot (/proc/lockdep: every lock class and the classes
# taken while it was held), sent to the host as a data record: make test renders the lock order
# of the stock and the patched boot from it (scripts/lockdep-graph.py, build/lockdep-<boot>.svg;
# Documentation/zpci-release.rst). Run last in a boot, after the scenarios whose order it
# should show.
. "$(dirname "$0")/functions.sh"

[ -r /proc/lockdep ] || zr_skip_all "no /proc/lockdep (kernel without PROVE_LOCKING)"

# dump: /proc/lockdep, whole, as a lockdep record (the host cuts it to the classes it draws).
# Copied first: reading the seq_file line by line from the shell costs a system call a byte,
# far too slow under TCG.
dump() {
	local classes
	cat /proc/lockdep >/tmp/zr-lockdep || return 1
	classes=$(grep -c '^[0-9a-f]' /tmp/zr-lockdep)
	echo "# /proc/lockdep: $classes lock classes"
	[ "$classes" -gt 0 ] && zr_record lockdep proc_lockdep=@/tmp/zr-lockdep
}
has_class() { grep -q " $1\$" /proc/lockdep; }

ktap_print_header
ktap_set_plan 3
zr_check "/proc/lockdep dumped" dump
zr_check "pci_rescan_remove_lock is a lock class" has_class pci_rescan_remove_lock
if [ "$ZR_ARCH" = s390x ]; then
	zr_check "zpci_add_remove_lock is a lock class" has_class zpci_add_remove_lock
else
	ktap_test_skip "zpci_add_remove_lock: s390 only"
fi
ktap_finished
