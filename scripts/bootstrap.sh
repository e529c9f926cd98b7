#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything zpci-rrlock needs, idempotently: a no-op when all of it is present.
#   - Debian packages (cross compiler, rustc-web 1.96, clang/libclang 19, kernel build deps),
#   - QEMU 10.0 (s390x and x86_64) from the bookworm-backports suite,
#   - bindgen-cli from crates.io into the cache,
#   - the linux-source-7.3 .deb (trixie-backports) and the s390x and amd64 busybox-static .debs,
#     downloaded and unpacked into the cache (never installed),
#   - a Python venv with the qemu.qmp client and the Python linters (ruff, mypy), pinned,
#   - QEMU's source (the orig tarball of Debian's qemu source package, checked against the
#     Sources index and the pinned hash) and what building qemu-system-s390x needs.
# Extra suites reuse the URIs of the system's existing Debian entry; no host name is written here.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=apt.sh
. "$(dirname "$0")/apt.sh"

BINDGEN_VERSION=0.72.1
QMP_VERSION=0.0.6
RUFF_VERSION=0.17.6
MYPY_VERSION=2.4.1
APT_PKGS=(gcc-s390x-linux-gnu binutils-s390x-linux-gnu rustc-web rust-web-src clang-19
	libclang-19-dev llvm-19 lld-19 bc bison flex libelf-dev libssl-dev cpio kmod dwarves
	rust-web-clippy rustfmt-web python3-venv xz-utils zstd rsync shellcheck graphviz
	ninja-build pkgconf libglib2.0-dev libslirp-dev patch)
# QEMU 10.0 needs meson >= 1.5 (bookworm has 1.0) and, offline, the system's pycotap.
BPO_PKGS=(qemu-system-s390x qemu-system-x86 meson python3-pycotap)

need_root() { [ "$(id -u)" -eq 0 ] || zr_die "bootstrap: installing packages needs root (run as root or install: $*)"; }

apt_suite_file=/etc/apt/sources.list.d/zpci-rrlock-bookworm-backports.sources
add_backports() {
	local uris
	uris=$(debian_uris) || zr_die "bootstrap: no Debian 'bookworm' entry in /etc/apt/sources.list* to copy URIs from"
	cat >"$apt_suite_file" <<SRC
# Added by zpci-rrlock scripts/bootstrap.sh: QEMU 10.0 lives in bookworm-backports.
Types: deb
URIs: $uris
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
}

pkgs_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

install_debian() {
	local missing bpo_missing
	missing=$(pkgs_missing "${APT_PKGS[@]}")
	bpo_missing=$(pkgs_missing "${BPO_PKGS[@]}")
	if [ -z "$missing$bpo_missing" ]; then
		zr_info "debian packages: all present"
		return 0
	fi
	# shellcheck disable=SC2086
	need_root $missing $bpo_missing
	[ -f "$apt_suite_file" ] || add_backports
	zr_step apt-update apt-get update || exit 1
	if [ -n "$missing" ]; then
		# shellcheck disable=SC2086
		zr_step apt-install env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing || exit 1
	fi
	if [ -n "$bpo_missing" ]; then
		# shellcheck disable=SC2086
		zr_step apt-install-qemu env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t bookworm-backports $bpo_missing || exit 1
	fi
}

fetch_kernel_source() {
	local dir=$ZR_CACHE/src deb tarball tree
	if [ -n "$(zr_ksrc)" ] && [ -f "$(zr_ksrc)/Makefile" ]; then
		zr_info "kernel source: $(zr_ksrc)"
		return 0
	fi
	papt_setup
	mkdir -p "$dir"
	(cd "$dir" && zr_step download-linux-source papt download "$ZR_KSRC_PKG") || exit 1
	deb=$(find "$dir" -maxdepth 1 -name "${ZR_KSRC_PKG}_*.deb" | head -n1)
	zr_step unpack-linux-source-deb dpkg-deb -x "$deb" "$dir/deb" || exit 1
	tarball=$(find "$dir/deb/usr/src" -maxdepth 1 -name "$ZR_KSRC_PKG.tar.*" | head -n1)
	[ -f "$tarball" ] || zr_die "bootstrap: no source tarball in $deb"
	zr_step unpack-linux-source tar -C "$dir" -xf "$tarball" || exit 1
	rm -rf "$dir/deb"
	tree=$dir/$ZR_KSRC_PKG
	[ -f "$tree/Makefile" ] || zr_die "bootstrap: unpacked source has no Makefile ($tree)"
	# Record the exact Debian package version next to the tree: part of every cache key.
	dpkg-deb -f "$deb" Version >"$dir/$ZR_KSRC_PKG.version"
	rm -f "$deb"
	echo "$tree" >"$ZR_CACHE/ksrc.path"
	zr_info "kernel source: $tree ($(cat "$dir/$ZR_KSRC_PKG.version"))"
}

# fetch_busybox ARCH: the static busybox of the guest's architecture (s390x, x86_64), from
# Debian's busybox-static .deb, unpacked into the cache (never installed).
fetch_busybox() {
	local arch=$1 darch magic dir=$ZR_CACHE/busybox-$1 deb
	case "$arch" in
	s390x) darch=s390x magic='IBM S/390' ;;
	x86_64) darch=amd64 magic='x86-64' ;;
	*) zr_die "bootstrap: no busybox for $arch" ;;
	esac
	if [ -x "$dir/bin/busybox" ]; then
		zr_info "busybox ($arch): $dir/bin/busybox"
		return 0
	fi
	papt_setup
	rm -rf "$dir.dl"
	mkdir -p "$dir.dl"
	(cd "$dir.dl" && zr_step "download-busybox-$arch" papt download "busybox-static:$darch") || exit 1
	deb=$(find "$dir.dl" -maxdepth 1 -name "busybox-static_*_$darch.deb" | head -n1)
	rm -rf "$dir.x"
	dpkg-deb -x "$deb" "$dir.x" || zr_die "bootstrap: cannot unpack $deb"
	mkdir -p "$dir/bin"
	cp "$dir.x/bin/busybox" "$dir/bin/busybox"
	rm -rf "$dir.x" "$dir.dl"
	file "$dir/bin/busybox" 2>/dev/null | grep -q "$magic" || zr_info "busybox: $(file "$dir/bin/busybox" 2>/dev/null)"
}

# QEMU's source for our qemu-system-s390x: only the upstream orig tarball of Debian's qemu
# source package is served (its .dsc and Debian patches are not), so apt-get source fails after
# fetching it. The tarball must match the hash of the signed Sources index and our pin.
fetch_qemu_source() {
	local dir=$ZR_CACHE/src tarball=$ZR_CACHE/src/$ZR_QEMU_ORIG indexed got
	if [ -f "$tarball" ] && [ "$(sha256sum <"$tarball" | cut -d' ' -f1)" = "$ZR_QEMU_SHA256" ]; then
		zr_info "qemu source: $tarball"
		return 0
	fi
	papt_setup
	mkdir -p "$dir"
	indexed=$(papt source --download-only --print-uris qemu 2>/dev/null |
		awk -v f="$ZR_QEMU_ORIG" '$2 == f { sub(/^SHA256:/, "", $4); print $4 }')
	[ -n "$indexed" ] || zr_die "bootstrap: the Sources index of bookworm-backports lists no $ZR_QEMU_ORIG (qemu moved on? update ZR_QEMU_* in scripts/lib.sh and rebase qemu/patches)"
	[ "$indexed" = "$ZR_QEMU_SHA256" ] ||
		zr_die "bootstrap: the Sources index gives $ZR_QEMU_ORIG the sha256 $indexed, not the pinned $ZR_QEMU_SHA256"
	rm -f "$tarball"
	# apt-get source exits non-zero for the .dsc and Debian tarball it cannot get.
	zr_info "step download-qemu-source (log: $ZR_LOGS/download-qemu-source.log)"
	(cd "$dir" && papt source --download-only qemu) >"$ZR_LOGS/download-qemu-source.log" 2>&1
	[ -f "$tarball" ] || zr_die "bootstrap: $ZR_QEMU_ORIG was not downloaded (log: $ZR_LOGS/download-qemu-source.log)"
	got=$(sha256sum <"$tarball" | cut -d' ' -f1)
	if [ "$got" != "$ZR_QEMU_SHA256" ]; then
		rm -f "$tarball"
		zr_die "bootstrap: $ZR_QEMU_ORIG has the sha256 $got, not $ZR_QEMU_SHA256 (removed)"
	fi
	rm -f "$dir"/qemu_*.dsc "$dir"/qemu_*.debian.tar.*
	zr_info "qemu source: $tarball (sha256 checked against the Sources index)"
}

install_bindgen() {
	local v
	if [ -x "$ZR_BINDGEN" ]; then
		v=$("$ZR_BINDGEN" --version | awk '{print $2}')
		zr_version_ge "$v" "$ZR_MIN_BINDGEN" && { zr_info "bindgen: $ZR_BINDGEN $v"; return 0; }
	fi
	command -v cargo >/dev/null || zr_die "bootstrap: cargo not found (needed to install bindgen-cli from crates.io)"
	zr_step cargo-install-bindgen env LIBCLANG_PATH="$ZR_LIBCLANG_PATH" \
		cargo install --locked --root "$ZR_CACHE/cargo" bindgen-cli --version "$BINDGEN_VERSION" || exit 1
}

# The venv holds exactly the pinned packages; .zr-pins records what was installed.
install_venv() {
	local venv=$ZR_CACHE/venv
	local pins="qemu.qmp==$QMP_VERSION ruff==$RUFF_VERSION mypy==$MYPY_VERSION"
	if [ "$(cat "$venv/.zr-pins" 2>/dev/null)" = "$pins" ] && "$venv/bin/python3" -c 'import qemu.qmp' 2>/dev/null; then
		zr_info "python venv: $venv ($pins)"
		return 0
	fi
	[ -x "$venv/bin/python3" ] || zr_step python-venv python3 -m venv "$venv" || exit 1
	# shellcheck disable=SC2086 # the pins are a word list
	zr_step pip-install "$venv/bin/pip" install --disable-pip-version-check $pins || exit 1
	echo "$pins" >"$venv/.zr-pins"
}

check_versions() {
	local v
	[ -x "$ZR_RUSTC" ] || zr_die "rustc not found at $ZR_RUSTC: install Debian's rustc-web (>= $ZR_MIN_RUSTC) and rust-web-src"
	v=$("$ZR_RUSTC" --version | awk '{print $2}')
	zr_version_ge "$v" "$ZR_MIN_RUSTC" || zr_die "rustc $v at $ZR_RUSTC is too old: Linux 7.3 on s390 needs >= $ZR_MIN_RUSTC (Debian: rustc-web)"
	[ -d "$("$ZR_RUSTC" --print sysroot)/lib/rustlib/src/rust/library/core" ] ||
		zr_die "rust source for $ZR_RUSTC missing: install Debian's rust-web-src"
	v=$("$ZR_BINDGEN" --version | awk '{print $2}')
	zr_version_ge "$v" "$ZR_MIN_BINDGEN" || zr_die "bindgen $v is too old: need >= $ZR_MIN_BINDGEN (cargo install --locked bindgen-cli)"
	[ -e "$ZR_LIBCLANG_PATH/libclang.so" ] || [ -e "$ZR_LIBCLANG_PATH/libclang-19.so" ] ||
		ls "$ZR_LIBCLANG_PATH"/libclang.so.* >/dev/null 2>&1 ||
		zr_die "libclang not found in $ZR_LIBCLANG_PATH: install libclang-19-dev"
	command -v s390x-linux-gnu-gcc >/dev/null || zr_die "s390x-linux-gnu-gcc missing: install gcc-s390x-linux-gnu"
	v=$(qemu-system-s390x --version | awk 'NR==1{print $4}')
	zr_version_ge "$v" 10.0 || zr_die "qemu-system-s390x $v is too old: need >= 10.0 (bookworm-backports)"
	v=$(meson --version 2>/dev/null)
	zr_version_ge "${v:-0}" 1.5 || zr_die "meson ${v:-(missing)} is too old to build QEMU 10.0: need >= 1.5 (bookworm-backports)"
	v=$(qemu-system-x86_64 --version | awk 'NR==1{print $4}')
	zr_version_ge "$v" 10.0 || zr_die "qemu-system-x86_64 $v is too old: need >= 10.0 (bookworm-backports)"
	zr_info "toolchain: rustc $("$ZR_RUSTC" --version | awk '{print $2}'), bindgen $("$ZR_BINDGEN" --version | awk '{print $2}'), qemu $v, $(s390x-linux-gnu-gcc --version | head -n1)"
}

main() {
	mkdir -p "$ZR_CACHE" "$ZR_LOGS"
	install_debian
	install_bindgen
	install_venv
	fetch_kernel_source
	fetch_busybox s390x
	fetch_busybox x86_64
	fetch_qemu_source
	check_versions
}
main "$@"
