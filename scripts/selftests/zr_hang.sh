#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Harness self-test: the guest wedges as a deadlocked kernel would (the host stops its vCPUs
# through QMP), so the host must kill it at this test's deadline and report a TIMEOUT. Only run
# in the "harness" boot, which expects exactly that.
. "$(dirname "$0")/functions.sh"

zr_have_host || zr_skip_all "no host control channel"
ktap_print_header
ktap_set_plan 1
echo "# asking the host to freeze this guest"
zr_host_freeze
# Not reached while the guest is frozen; if it is, the freeze did not happen.
ktap_test_fail "the guest was frozen"
ktap_finished
