#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Requests to the host (sourced by functions.sh). The runner opens the host control port on
# fd 9. The wire format and the verbs are the host's (qemu/zr/contract.py): contract.sh, which
# mkinitramfs.sh generates from it, holds zr_rpc_request, zr_rpc_reply and one zr_host_VERB
# function per verb, the way tests send a request.
ZR_HOST_TIMEOUT=${ZR_HOST_TIMEOUT:-90}
ZR_REQ=0

zr_have_host() { [ -n "${ZR_CTL:-}" ] && [ -e "$ZR_CTL" ]; }

# zr_host VERB ARGS...: ask the host to act and wait for its answer; the payload of an answer is
# kept in ZR_HOST_OUT; the error text of a refused request is printed as a KTAP diagnostic and
# kept in ZR_HOST_ERR.
zr_host() {
	local id line
	zr_have_host || { echo "# no host control channel"; return 1; }
	ZR_REQ=$((ZR_REQ + 1))
	id="$$.$ZR_REQ"
	zr_log "host request $id: $*"
	zr_rpc_request "$id" "$@" >&9
	# shellcheck disable=SC3045 # busybox sh has read -t
	while IFS= read -r -t "$ZR_HOST_TIMEOUT" line <&9; do
		zr_rpc_reply "$id" "$line"
		case $? in
		0) return 0 ;;
		1)
			echo "# host: $ZR_HOST_ERR"
			return 1
			;;
		esac
	done
	echo "# host: no answer to '$*' within ${ZR_HOST_TIMEOUT}s"
	return 1
}

# zr_unplug_when_idle FN: QMP device_del of FN, retried for up to 20 s while QEMU refuses it
# because the guest's hot-plug controller is still busy (PCIe: the power indicator blinks for
# 5 s after a re-plug's button press).
zr_unplug_when_idle() {
	local try=20
	while ! zr_host_unplug "$1"; do
		case "$ZR_HOST_ERR" in *busy*) ;; *) return 1 ;; esac
		try=$((try - 1))
		[ "$try" -gt 0 ] || return 1
		sleep 1
	done
}

# zr_unplug_replug FN [bound]: one platform hot-unplug and re-plug of FN over QMP; waits until
# FN is present again (bound to its driver with "bound").
zr_unplug_replug() {
	zr_unplug_when_idle "$1" && zr_wait_absent "$1" && zr_host_plug "$1" || return 1
	if [ "${2:-}" = bound ]; then zr_wait_bound "$1"; else zr_wait_present "$1"; fi
}
