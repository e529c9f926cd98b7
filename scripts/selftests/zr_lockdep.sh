#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Lockdep's own dependency data of this boot (/proc/lockdep: every lock class and the classes
# taken while it was held), printed as "# lockdep: " KTAP diagnostics for the host: make test
# renders the lock order of the stock and the patched boot from it (scripts/lockdep-graph.py,
# build/lockdep-<boot>.svg; Documentation/zpci-release.rst). Run last in a boot, after the
# scenarios whose order it should show.
. "$(dirname "$0")/functions.sh"

[ -r /proc/lockdep ] || zr_skip_all "no /proc/lockdep (kernel without PROVE_LOCKING)"

# The classes of the lock-order graph (scripts/lockdep-graph.py's default focus).
FOCUS='pci_rescan_remove_lock|zpci_add_remove_lock|zpci_list_lock|zbus_list_lock|state_lock|pci_slot_mutex|pci_bus_sem|reset_lock|kn->active'

# dump: /proc/lockdep, cut to the focus classes and the classes on a path of at most three steps
# from one focus class to another (the graph draws paths through at most two others), each
# class with its dependencies among those: the console, which carries every KTAP line, is slow. Copied first: reading the seq_file line by line from the shell
# costs a system call a byte, far too slow under TCG.
dump() {
	cat /proc/lockdep >/tmp/zr-lockdep || return 1
	awk -v focus="$FOCUS" '
		/^[0-9a-f]+ / {
			cur = $0
			sub(/^.*[-+.?][-+.?][-+.?][-+.?]: /, "", cur)
			head[cur] = $0
			order[++nc] = cur
			next
		}
		/^ -> \[/ && cur != "" {
			d = $0
			sub(/^ -> \[[0-9a-f]+\] /, "", d)
			dep[cur, ++nd[cur]] = d
			line[cur, nd[cur]] = $0
		}
		END {
			# Forward distance from a focus class, backward distance to one; keep the
			# classes on a focus-to-focus path of at most three steps.
			for (i = 1; i <= nc; i++)
				if (order[i] ~ focus) { fw[order[i]] = 0; q[++nq] = order[i] }
			for (k = 1; k <= nq; k++) {
				c = q[k]
				if (fw[c] >= 3) continue
				for (j = 1; j <= nd[c]; j++) {
					t = dep[c, j]
					if (!(t in fw)) { fw[t] = fw[c] + 1; q[++nq] = t }
					rev[t, ++nr[t]] = c
				}
			}
			nq = 0
			for (i = 1; i <= nc; i++)
				if (order[i] ~ focus) { bw[order[i]] = 0; r[++nq] = order[i] }
			for (k = 1; k <= nq; k++) {
				c = r[k]
				if (bw[c] >= 3) continue
				for (j = 1; j <= nr[c]; j++) {
					t = rev[c, j]
					if (!(t in bw)) { bw[t] = bw[c] + 1; r[++nq] = t }
				}
			}
			for (c in fw)
				if ((c in bw) && fw[c] + bw[c] <= 3) keep[c] = 1
			print "all lock classes:"
			for (i = 1; i <= nc; i++) {
				c = order[i]
				if (!(c in keep)) continue
				print head[c]
				for (j = 1; j <= nd[c]; j++) if (dep[c, j] in keep) print line[c, j]
				print ""
				n++
			}
			print "classes kept: " n " of " nc >"/dev/stderr"
		}' /tmp/zr-lockdep 2>/tmp/zr-lockdep.n | sed 's/^/# lockdep: /'
	echo "# $(cat /tmp/zr-lockdep.n)"
	grep -q '^[0-9a-f]' /tmp/zr-lockdep
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
