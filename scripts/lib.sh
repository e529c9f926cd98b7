# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Host-side helpers shared by every zpci-rrlock script: paths, progress, step logging.
# Sourced, never executed.

# Root of the repository and of the build-output directory (everything a run leaves behind).
ZR_TOP=${ZR_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ZR_BUILD=${ZR_BUILD:-$ZR_TOP/build}
# Cache outside the repo: toolchain bits, kernel sources and kernel builds.
ZR_CACHE=${ZR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zpci-rrlock}
ZR_LOGS=$ZR_BUILD/logs

# Pinned inputs.
ZR_KSRC_PKG=linux-source-7.3
ZR_RUSTC=${RUSTC:-/usr/bin/rustc}
ZR_LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
# Clippy and rustfmt of the same Rust release as $ZR_RUSTC (Debian rust-web-clippy, rustfmt-web).
ZR_CLIPPY_DRIVER=${CLIPPY_DRIVER:-/usr/bin/clippy-driver}
ZR_RUSTFMT=${RUSTFMT:-/usr/bin/rustfmt}
ZR_BINDGEN=${BINDGEN:-$ZR_CACHE/cargo/bin/bindgen}
# The LLVM tools of the kernels built with clang (make's LLVM=: the suffix of clang-19, ld.lld-19).
ZR_LLVM=-19
ZR_MIN_RUSTC=1.96.0
ZR_MIN_BINDGEN=0.71.1
# Our qemu-system-s390x (scripts/build-qemu.sh): upstream QEMU as Debian's source package ships
# it (bookworm-backports), the orig tarball pinned by its hash; qemu/patches/ applies to it.
ZR_QEMU_VERSION=10.0.2
ZR_QEMU_ORIG=qemu_$ZR_QEMU_VERSION+ds.orig.tar.xz
ZR_QEMU_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1

export LC_ALL=C

zr_ts() { date +%H:%M:%S; }

# zr_info MSG...: one progress line on stderr.
zr_info() { printf '[%s] %s\n' "$(zr_ts)" "$*" >&2; }

# zr_die MSG...: fatal error, exit 1.
zr_die() { printf '[%s] ERROR: %s\n' "$(zr_ts)" "$*" >&2; exit 1; }

# zr_step NAME CMD...: run CMD with its output in $ZR_LOGS/NAME.log, a heartbeat every 30 s,
# and on failure an error that names the step, the log and its last lines.
zr_step() {
	local name=$1; shift
	local log=$ZR_LOGS/$name.log start rc pid
	mkdir -p "$ZR_LOGS"
	start=$(date +%s)
	zr_info "step $name: started (log: $log)"
	"$@" >"$log" 2>&1 &
	pid=$!
	while ! wait_or_tick "$pid"; do
		zr_info "step $name: running for $(( $(date +%s) - start ))s, last: $(tail -n 1 "$log" | cut -c1-100)"
	done
	wait "$pid"; rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '[%s] ERROR: step %s failed (exit %d); log: %s\n' "$(zr_ts)" "$name" "$rc" "$log" >&2
		tail -n 25 "$log" | sed 's/^/    /' >&2
		return "$rc"
	fi
	zr_info "step $name: done in $(( $(date +%s) - start ))s"
}

# wait_or_tick PID: true when PID has exited, false after 30 s if it still runs.
wait_or_tick() {
	local n=300
	while [ "$n" -gt 0 ]; do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# zr_version_ge A B: true if dotted version A >= B.
zr_version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# zr_cross ARCH: the cross tool prefix for ARCH's binaries on this host (s390x-linux-gnu- for
# s390x on another host, else empty).
zr_cross() { if [ "$1" = s390x ] && [ "$(uname -m)" != s390x ]; then echo s390x-linux-gnu-; fi; }

# zr_ksrc: path of the unpacked kernel source tree (set by bootstrap).
zr_ksrc() { cat "$ZR_CACHE/ksrc.path" 2>/dev/null; }

# zr_kmake KOUT ARGS...: the kernel's make with the project's toolchain, for an s390x or x86_64 tree.
zr_kmake() {
	local out=$1; shift
	make -C "$(zr_ksrc)" O="$out" \
		RUSTC="$ZR_RUSTC" BINDGEN="$ZR_BINDGEN" LIBCLANG_PATH="$ZR_LIBCLANG_PATH" "$@"
}
