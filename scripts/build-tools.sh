#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-tools.sh: build the host tools (tools/*) and print the directory holding their binaries.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

target=$ZR_BUILD/tools-target
log=$ZR_LOGS/build-tools.log
mkdir -p "$ZR_LOGS"
command -v cargo >/dev/null || zr_die "build-tools: cargo not found"
cargo build --quiet --manifest-path "$ZR_TOP/tools/klp-convert/Cargo.toml" --target-dir "$target" >"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; zr_die "build-tools: cargo build of tools/klp-convert failed (log: $log)"; }
echo "$target/debug"
