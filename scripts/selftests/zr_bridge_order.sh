#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# The order in which a removal releases the drivers in and below a PCIe switch. 7.3.4's
# pci_stop_bus_device() releases a bridge after everything below it, so pcie_portdrv_remove()
# clears a port's Bus Master only after the drivers below (an NVMe deleting its queues through
# it) have run .remove. The livepatch releases the drivers before it takes the rescan/remove
# lock and must keep that order (it once released the bridge first). The drivers' .remove
# callbacks are traced (function tracer) for sysfs remove of the switch's upstream port and for
# the power-off of the slot it sits in (pciehp). The machine: the switch's downstream ports
# hold snvme and sigb (with VFs), so in every 7.3.4 order an endpoint's callback comes first
# and the last two are ports (the last downstream port, then the upstream port).
#
# QEMU ejects the device of a slot the guest powers off (pcie_cap_slot_write_config() with the
# power indicator off), and the machine cannot re-plug a switch: the power-off comes last, and
# the switch stays gone for the rest of the boot (the boots run this test last of those that
# use the switch).
. "$(dirname "$0")/functions.sh"

zr_need_switch snvme
zr_take_fn snvme sigb
mode=stock
zr_patched && mode=patched
trap 'echo nop >"$ZR_TRACING/current_tracer" 2>/dev/null; zr_switch_back snvme sigb; zr_restore_taken' EXIT

# children_first WHAT: the traced order of WHAT is a bridge after everything below it.
children_first() {
	local seq
	seq=$(zr_traced_removes)
	echo "# $1: $seq"
	case "$seq" in
	pcie_portdrv_remove*) return 1 ;;
	*" pcie_portdrv_remove pcie_portdrv_remove") ;;
	*) return 1 ;;
	esac
	[ "$(echo "$seq" | tr ' ' '\n' | grep -c '^pcie_portdrv_remove$')" -eq 3 ]
}
switch_gone() { [ ! -e "$ZR_SW" ]; }
remove_switch() { echo 1 >"$ZR_SW/remove"; }

ktap_print_header
ktap_set_plan 8
zr_canary
zr_check "sigb: 2 VFs behind the switch" zr_sriov sigb 2
zr_trace_removes
zr_log "% echo 1 > ${ZR_SW##*/}/remove"
zr_check "sysfs remove of the switch's upstream port ${ZR_SW##*/}" remove_switch
zr_check "the switch is gone" zr_loop_until switch_gone 100
zr_check "$mode: remove released the drivers below each port before it" children_first remove
zr_check "switch, snvme and sigb back after rescan" zr_switch_back snvme sigb
zr_check "sigb: 2 VFs again" zr_sriov sigb 2
zr_trace_removes
# From here on the switch is not brought back: QEMU ejects it (see above).
trap 'echo nop >"$ZR_TRACING/current_tracer" 2>/dev/null' EXIT
zr_log "% echo 0 > $ZR_SW_SLOT/power"
echo 0 >"$ZR_SW_SLOT/power"
zr_check "$mode: slot power-off (pciehp) released the drivers below each port before it" \
	children_first "slot power-off"
zr_check "no kernel report but the known pciehp one" zr_no_reports
ktap_finished
