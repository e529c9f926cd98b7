#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# prepare-machine.sh NAME ARCH KERNEL OURQEMU: everything one machine's boots need (the harness,
# qemu/zr/session.py, runs one per machine in parallel; the builds share the cores): our QEMU
# when OURQEMU is 1, the kernel of scripts/config/KERNEL.config, the module builds (normal, with
# a forged identity, with a forged function size, the livepatch test modules) and the
# initramfs. On success it writes the kernel tree's path to build/prepare/NAME.kdir (and our
# QEMU's to NAME.qemu), else the failed step to build/prepare/NAME.fail.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

name=${1:?usage: prepare-machine.sh NAME ARCH KERNEL OURQEMU}
arch=${2:?} kernel=${3:?} ourqemu=${4:?}
machine=$ZR_TOP/qemu/machines/$name.toml
out=$ZR_BUILD/prepare/$name
mod=$ZR_BUILD/module/$name
mkdir -p "$ZR_BUILD/prepare"

fail() { echo "$1" >"$out.fail"; exit 1; }

# The kernel first: two machines on our QEMU build it once (the second waits for the first's
# build), and a machine whose kernel is not cached builds it meanwhile.
kdir=$("$ZR_TOP/scripts/build-kernel.sh" "$arch" "$ZR_TOP/scripts/config/$kernel.config") ||
	fail "kernel build ($name)"
if [ "$ourqemu" = 1 ]; then
	"$ZR_TOP/scripts/build-qemu.sh" >"$out.qemu" || fail "QEMU build ($name)"
fi
zr_step "module-$name" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" --out "$mod" modules ||
	fail "module build ($name)"
zr_step "module-$name-forged" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" \
	--out "$mod-forged" --forge "#0 forged-by-zpci-rrlock-tests" modules ||
	fail "forged module build ($name)"
zr_step "module-$name-forged-size" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" \
	--out "$mod-forged-size" --forge-size pci_unlock_rescan_remove modules ||
	fail "forged-size module build ($name)"
# Test modules (their klp-convert flags are in scripts/selftests/modules/klp.flags).
zr_step "module-$name-klp" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" \
	--src "$ZR_TOP/scripts/selftests/modules" --out "$mod-klp" modules ||
	fail "livepatch test modules ($name)"
zr_step "initramfs-$name" "$ZR_TOP/scripts/mkinitramfs.sh" --machine "$machine" --kdir "$kdir" \
	--module "$mod" --forged "$mod-forged" --forged-size "$mod-forged-size" --klp "$mod-klp" \
	--out "$ZR_BUILD/guest/$name/initramfs.cpio" ||
	fail "initramfs ($name)"
echo "$kdir" >"$out.kdir"
