#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-tools.sh: build the host tools (tools/*) and print the directory holding their binaries.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# ZR_TOOLS_DIR: tools built already (build-distro.sh builds them on the host, where cargo is,
# for module builds in its build root).
if [ -n "${ZR_TOOLS_DIR:-}" ]; then
	[ -x "$ZR_TOOLS_DIR/klp-convert" ] || zr_die "build-tools: no klp-convert in ZR_TOOLS_DIR=$ZR_TOOLS_DIR"
	echo "$ZR_TOOLS_DIR"
	exit 0
fi
target=$ZR_BUILD/tools-target
log=$ZR_LOGS/build-tools.log
mkdir -p "$ZR_LOGS"
command -v cargo >/dev/null || zr_die "build-tools: cargo not found"
cargo build --quiet --manifest-path "$ZR_TOP/tools/klp-convert/Cargo.toml" --target-dir "$target" >"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; zr_die "build-tools: cargo build of tools/klp-convert failed (log: $log)"; }
echo "$target/debug"
