#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-qemu.sh: our qemu-system-s390x, QEMU's upstream source as Debian ships it
# (the orig tarball that scripts/bootstrap.sh fetched and checked) with the patch series of
# qemu/patches/ applied, built for s390x-softmmu only. The build is keyed by the tarball's
# hash, the patches, the configure flags and the compiler, so a second call with the same
# inputs rebuilds nothing. Prints the path of the binary on stdout.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

patches=$ZR_TOP/qemu/patches
tarball=$ZR_CACHE/src/$ZR_QEMU_ORIG
[ -f "$tarball" ] || zr_die "build-qemu: no QEMU source $tarball; run scripts/bootstrap.sh"
[ -f "$patches/series" ] || zr_die "build-qemu: no patch series $patches/series"

# The firmware (s390-ccw.img) is stripped from the "+ds" tarball: the binary loads Debian's,
# of the same QEMU release (qemu-system-data), from /usr/share/qemu.
flags=(--target-list=s390x-softmmu --without-default-features --enable-tcg --enable-slirp
	--disable-download --disable-docs --disable-tools --disable-guest-agent --disable-fdt
	--disable-werror --disable-install-blobs --firmwarepath=/usr/share/qemu
	--python=/usr/bin/python3)

mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$patches/series")
for p in "${series[@]}"; do
	[ -f "$patches/$p" ] || zr_die "build-qemu: $patches/series names $p, which does not exist"
done

key=$( {
	echo "$ZR_QEMU_SHA256"
	for p in "${series[@]}"; do echo "$p"; cat "$patches/$p"; done
	echo "${flags[*]}"
	gcc --version | head -n1
	meson --version
} | sha256sum | cut -c1-16)
out=$ZR_CACHE/qemu/s390x-$key
bin=$out/qemu-system-s390x

# Two machines on our QEMU may be prepared at once: one builds, the other waits.
mkdir -p "$ZR_CACHE/qemu"
exec 9>"$ZR_CACHE/qemu/s390x.lock"
flock 9
if [ -x "$bin" ] && [ -f "$out/.zr-complete" ]; then
	zr_info "qemu: cached build $bin"
	echo "$bin"
	exit 0
fi

zr_info "qemu: building qemu-system-s390x with ${#series[@]} patches in $out (about 2-5 minutes)"
rm -rf "$out"
mkdir -p "$out"
zr_step qemu-unpack tar -C "$out" -xf "$tarball" || exit 1
src=$out/qemu-$ZR_QEMU_VERSION
[ -f "$src/VERSION" ] || zr_die "build-qemu: the tarball did not unpack to $src"
apply_series() {
	local p
	for p in "${series[@]}"; do
		echo "applying $p"
		patch -d "$src" -p1 --forward --batch -i "$patches/$p" ||
			{ echo "build-qemu: $p does not apply to QEMU $ZR_QEMU_VERSION"; return 1; }
	done
}
zr_step qemu-patch apply_series || exit 1
mkdir -p "$out/build"
(cd "$out/build" && zr_step qemu-configure "$src/configure" "${flags[@]}") || exit 1
zr_step qemu-build nice ninja -C "$out/build" -j"$(nproc)" qemu-system-s390x || exit 1
cp "$out/build/qemu-system-s390x" "$bin"
"$bin" -machine help >/dev/null || zr_die "build-qemu: $bin does not run"
"$bin" -device zpci,help 2>/dev/null | grep -q "x-platform-event" ||
	zr_die "build-qemu: $bin has no zpci x-platform-event property: the patches did not take"
# The sources and the build tree are only disk space once the binary is out.
rm -rf "$src" "$out/build"
touch "$out/.zr-complete"
for d in "$ZR_CACHE/qemu/s390x-"*; do
	if ! [[ "${d##*/}" =~ ^s390x-[0-9a-f]{16}$ ]] || [ "$d" = "$out" ]; then
		continue
	fi
	zr_info "qemu: removing the superseded build $d"
	rm -rf "$d"
done
zr_info "qemu: built $bin"
echo "$bin"
