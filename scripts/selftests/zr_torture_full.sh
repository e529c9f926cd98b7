#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Torture with the full mix of operations (patched kernel only): see zr_torture.sh.
. "$(dirname "$0")/zr_torture.sh"
