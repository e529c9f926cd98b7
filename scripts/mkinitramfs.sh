#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh --machine TOML --kdir KBUILD --module DIR [--forged DIR] [--forged-size DIR]
#                [--klp DIR] --out FILE
#
# Build the test guest's initramfs: static busybox, /init, the in-guest selftests with the
# kernel's ktap_helpers.sh, the kernel's modules (from KBUILD/modroot; for a distribution's
# kernel, scripts/build-distro.sh, the machine's modules and test_modules from
# KBUILD/zr-modules), the zpci_rrlock module (and, with --forged, a copy stamped with another
# kernel identity; with --forged-size, a copy that recorded a wrong size for a replaced
# function; with --klp, the test modules).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

machine='' kdir='' module='' forged='' forgedsize='' klp='' out=''
while [ $# -gt 0 ]; do
	case "$1" in
	--machine) machine=${2:?}; shift 2 ;;
	--kdir) kdir=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--forged) forged=${2:?}; shift 2 ;;
	--forged-size) forgedsize=${2:?}; shift 2 ;;
	--klp) klp=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	*) zr_die "mkinitramfs: unknown argument '$1'" ;;
	esac
done
if [ -z "$machine" ] || [ -z "$kdir" ] || [ -z "$module" ] || [ -z "$out" ]; then
	zr_die "mkinitramfs: --machine, --kdir, --module and --out are required"
fi
q() { python3 "$ZR_TOP/qemu/machine.py" "$machine" "$1"; }
arch=$(q arch) || exit 1
busybox=$ZR_CACHE/busybox-$arch/bin/busybox
[ -x "$busybox" ] || zr_die "mkinitramfs: no $arch busybox at $busybox (run scripts/bootstrap.sh)"
release=$(cat "$kdir/include/config/kernel.release") || zr_die "mkinitramfs: $kdir has no kernel.release"

# distro_modules SRC DEST NAME...: modules NAME of a distribution's SRC (its
# /usr/lib/modules/RELEASE, indexed by depmod) and those they depend on (modules.dep lists
# them all), decompressed into DEST.
distro_modules() {
	local src=$1 dest=$2 m re line path ko
	shift 2
	mkdir -p "$dest"
	for m in "$@"; do
		re="${m//[-_]/[-_]}\\.ko(\\.(xz|zst|gz))?"
		line=$(grep -E "^([^:]*/)?$re:" "$src/modules.dep") ||
			{ echo "mkinitramfs: $src has no module $m" >&2; return 1; }
		for path in ${line%%:*} ${line#*:}; do
			ko=$dest/${path%.ko*}.ko
			[ -f "$ko" ] && continue
			mkdir -p "${ko%/*}"
			case "$path" in
			*.ko) cp "$src/$path" "$ko" ;;
			*.ko.xz) xz -dc "$src/$path" >"$ko" ;;
			*.ko.zst) zstd -qdc "$src/$path" >"$ko" ;;
			*.ko.gz) gzip -dc "$src/$path" >"$ko" ;;
			*) echo "mkinitramfs: $path is not a module" >&2; false ;;
			esac || return 1
		done
	done
}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# mktemp makes the directory 0700; it becomes the guest's "/", which non-root tests must reach.
chmod 0755 "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,lib/modules,lib/zpci-rrlock,selftests}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 755 "$ZR_TOP/scripts/selftests/init" "$root/init"
cp "$ZR_TOP"/scripts/selftests/*.sh "$ZR_TOP/scripts/selftests/tests.list" "$root/selftests/"
cp "$(zr_ksrc)/tools/testing/selftests/kselftest/ktap_helpers.sh" "$root/selftests/"
# The kernel-report patterns, from the host's table (qemu/zr/reports.py): written in one place.
python3 "$ZR_TOP/qemu/zr/reports.py" --guest-shell >"$root/selftests/reports.sh" ||
	zr_die "mkinitramfs: cannot write the report patterns (qemu/zr/reports.py)"
# The ports, markers and control verbs, from the host's contract (qemu/zr/contract.py).
python3 "$ZR_TOP/qemu/zr/contract.py" --guest-shell >"$root/selftests/contract.sh" ||
	zr_die "mkinitramfs: cannot write the guest's contract (qemu/zr/contract.py)"
if [ -d "$kdir/modroot/lib/modules/$release" ]; then
	cp -a "$kdir/modroot/lib/modules/$release" "$root/lib/modules/"
	rm -f "$root/lib/modules/$release/build" "$root/lib/modules/$release/source"
fi
q modules | tr ' ' '\n' >"$root/etc/zr-modules"
if [ -e "$kdir/zr-modules" ]; then
	# shellcheck disable=SC2046 # the machine's module names, one word each
	distro_modules "$kdir/zr-modules/" "$root/lib/modules/$release" $(q modules) \
		$(q test_modules 2>/dev/null) ||
		zr_die "mkinitramfs: the machine's modules of $kdir/zr-modules"
	depmod -b "$root" "$release" || zr_die "mkinitramfs: depmod failed"
fi
cp "$module/rust/zpci_rrlock.ko" "$root/lib/zpci-rrlock/" || zr_die "mkinitramfs: no module in $module"
if [ -n "$forged" ]; then
	mkdir -p "$root/lib/zpci-rrlock/forged"
	cp "$forged/rust/zpci_rrlock.ko" "$root/lib/zpci-rrlock/forged/" || zr_die "mkinitramfs: no module in $forged"
fi
if [ -n "$forgedsize" ]; then
	mkdir -p "$root/lib/zpci-rrlock/forged-size"
	cp "$forgedsize/rust/zpci_rrlock.ko" "$root/lib/zpci-rrlock/forged-size/" || zr_die "mkinitramfs: no module in $forgedsize"
fi
if [ -n "$klp" ]; then
	mkdir -p "$root/lib/zpci-rrlock/klp"
	cp "$klp"/*.ko "$root/lib/zpci-rrlock/klp/" || zr_die "mkinitramfs: no modules in $klp"
fi
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp" || zr_die "mkinitramfs: cpio failed"
mv "$out.tmp" "$out"
zr_info "initramfs: $out ($(du -h "$out" | cut -f1))"
