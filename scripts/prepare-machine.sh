#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# prepare-machine.sh NAME ARCH KERNEL OURQEMU: everything one machine's boots need (the harness,
# qemu/zr/session.py, runs one per machine in parallel; the builds share the cores): our QEMU
# when OURQEMU is 1, the kernel of scripts/config/KERNEL.config (KERNEL debian-amd64: Debian's
# own, scripts/build-distro.sh), the module builds (normal, with a forged identity, with a
# forged function size, the livepatch test modules; once per kernel, under build/module/KERNEL,
# as they depend on the kernel tree only) and the initramfs. On success it writes
# the kernel tree's path to build/prepare/NAME.kdir (and our QEMU's to NAME.qemu), else the
# failed step to build/prepare/NAME.fail.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

name=${1:?usage: prepare-machine.sh NAME ARCH KERNEL OURQEMU}
arch=${2:?} kernel=${3:?} ourqemu=${4:?}
machine=$ZR_TOP/qemu/machines/$name.toml
out=$ZR_BUILD/prepare/$name
mod=$ZR_BUILD/module/$kernel
mkdir -p "$ZR_BUILD/prepare"

fail() { echo "$1" >"$out.fail"; exit 1; }

# The kernel first: two machines on our QEMU build it once (the second waits for the first's
# build), and a machine whose kernel is not cached builds it meanwhile. module LOG ARGS...: a
# scripts/build-module.sh build against that kernel's tree (in Debian's build root for its own).
if [ "$kernel" = debian-amd64 ]; then
	kdir=$("$ZR_TOP/scripts/build-distro.sh" tree) || fail "Debian's kernel tree ($name)"
	module() { zr_step "$1" "$ZR_TOP/scripts/build-distro.sh" module "${@:2}"; }
else
	kdir=$("$ZR_TOP/scripts/build-kernel.sh" "$arch" "$ZR_TOP/scripts/config/$kernel.config") ||
		fail "kernel build ($name)"
	module() { zr_step "$1" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" "${@:2}" modules; }
fi
if [ "$ourqemu" = 1 ]; then
	"$ZR_TOP/scripts/build-qemu.sh" >"$out.qemu" || fail "QEMU build ($name)"
fi
# Machines booting one kernel share its module builds: the first builds them, the next waits
# and reruns kbuild on the same tree, which finds nothing to do (about two seconds). The lock
# is held to the end, so no build rewrites a module while an initramfs copies it.
mkdir -p "$ZR_BUILD/module"
exec 9>"$mod.lock"
flock 9
module "module-$name" --out "$mod" || fail "module build ($name)"
module "module-$name-forged" --out "$mod-forged" --forge "#0 forged-by-zpci-rrlock-tests" ||
	fail "forged module build ($name)"
module "module-$name-forged-size" --out "$mod-forged-size" --forge-size pci_unlock_rescan_remove ||
	fail "forged-size module build ($name)"
# Test modules (their klp-convert flags are in scripts/selftests/modules/klp.flags).
module "module-$name-klp" --out "$mod-klp" --src "$ZR_TOP/scripts/selftests/modules" ||
	fail "livepatch test modules ($name)"
zr_step "initramfs-$name" "$ZR_TOP/scripts/mkinitramfs.sh" --machine "$machine" --kdir "$kdir" \
	--module "$mod" --forged "$mod-forged" --forged-size "$mod-forged-size" --klp "$mod-klp" \
	--out "$ZR_BUILD/guest/$name/initramfs.cpio" ||
	fail "initramfs ($name)"
echo "$kdir" >"$out.kdir"
