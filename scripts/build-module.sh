#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module.sh [--kdir DIR] [--arch ARCH] [--src DIR] [--out DIR] [--forge ID]
#                 [--forge-size FUNC] [--srctree DIR] [--klp-flags FLAGS] TARGET [MAKE-ARGS...]
#
# Run an out-of-tree module TARGET (modules, clean, modules_install, rust-analyzer) against a
# kernel tree. Without --kdir the toolchain is bootstrapped and the cached test kernel for ARCH
# (default s390x) is built first; with --kdir that tree is used as it is. --src is the external
# module directory (default: the repository, i.e. zpci_rrlock.ko); the build goes to a separate
# output directory (MO=), by default build/module/ARCH. After `modules`, every .ko built is
# converted by tools/klp-convert (livepatch relocations for non-exported symbols; FLAGS are
# passed to it, e.g. "--unchecked-sym NAME,POS"; default: the module directory's klp.flags).
# --forge ID stamps another kernel identity into zpci_rrlock, --forge-size FUNC a wrong
# build-time size of a replaced function, --srctree DIR the kernel source whose replaced
# functions the build checks (rust/zr_sources.list; default the tree's own) (all three for the
# refusal tests). Prints the output directory on stdout.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kdir='' arch=s390x out='' forge='' forgesize='' srctree='' src=$ZR_TOP klpflags=''
while [ $# -gt 0 ]; do
	case "$1" in
	--kdir) kdir=${2:?--kdir needs a directory}; shift 2 ;;
	--arch) arch=${2:?--arch needs s390x or x86_64}; shift 2 ;;
	--src) src=$(cd "${2:?--src needs a directory}" && pwd) || exit 1; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--forge) forge=${2:?--forge needs an identity string}; shift 2 ;;
	--forge-size) forgesize=${2:?--forge-size needs a function name}; shift 2 ;;
	--srctree) srctree=$(cd "${2:?--srctree needs a directory}" && pwd) || exit 1; shift 2 ;;
	--klp-flags) klpflags=${2?}; shift 2 ;;
	--*) zr_die "build-module: unknown option $1" ;;
	*) break ;;
	esac
done
target=${1:-modules}
[ $# -gt 0 ] && shift
case "$target" in
modules | clean | modules_install | rust-analyzer) ;;
*) zr_die "build-module: unknown target '$target' (modules, clean, modules_install, rust-analyzer)" ;;
esac

if [ -z "$kdir" ]; then
	"$ZR_TOP/scripts/bootstrap.sh" || exit 1
	kdir=$("$ZR_TOP/scripts/build-kernel.sh" "$arch") || exit 1
fi
[ -f "$kdir/.config" ] || zr_die "build-module: $kdir is not a configured kernel build (no .config)"
grep -q '^CONFIG_RUST=y' "$kdir/.config" || zr_die "build-module: $kdir has no CONFIG_RUST=y"
[ -f "$kdir/rust/libkernel.rmeta" ] || zr_die "build-module: $kdir has no Rust build artefacts (rust/libkernel.rmeta): build the kernel first"
[ -f "$kdir/vmlinux" ] || zr_die "build-module: $kdir has no vmlinux (needed for livepatch relocations)"

# Architecture of the tree, from its .config.
if grep -q '^CONFIG_S390=y' "$kdir/.config"; then
	karch=s390 tarch=s390x
elif grep -q '^CONFIG_X86_64=y' "$kdir/.config"; then
	karch=x86 tarch=x86_64
else
	zr_die "build-module: $kdir is neither s390x nor x86_64"
fi
cross=$(zr_cross "$tarch")
out=${out:-$ZR_BUILD/module/$tarch}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# A module directory may keep its own klp-convert flags in klp.flags (one line).
if [ -z "$klpflags" ] && [ -f "$src/klp.flags" ]; then
	klpflags=$(grep -v '^#' "$src/klp.flags")
fi
klp=$("$ZR_TOP/scripts/build-tools.sh")/klp-convert || exit 1
args=(-C "$kdir" M="$src" MO="$out" ARCH="$karch" CROSS_COMPILE="${CROSS_COMPILE:-$cross}"
	RUSTC="$ZR_RUSTC" BINDGEN="$ZR_BINDGEN" LIBCLANG_PATH="$ZR_LIBCLANG_PATH" CLIPPY_DRIVER="$ZR_CLIPPY_DRIVER"
	ZR_TOP="$ZR_TOP" ZR_KLP_CONVERT="$klp" ZR_KLP_FLAGS="$klpflags")
# A tree built by clang (scripts/config/*-kasan.config: KASAN with Rust needs it) takes its
# modules from the same LLVM tools: gcc would get clang's flags from the tree's .config.
grep -q '^CONFIG_CC_IS_CLANG=y' "$kdir/.config" && args+=(LLVM="$ZR_LLVM")
[ -n "$forge" ] && args+=(ZR_FORGE_IDENTITY="$forge")
[ -n "$forgesize" ] && args+=(ZR_FORGE_SIZE="$forgesize")
[ -n "$srctree" ] && args+=(ZR_SRCTREE="$srctree")

case "$target" in
modules)
	# The Kbuild file of the module directory writes ZR_KLP_SYMVERS; modpost reads it.
	make "${args[@]}" ZR_KLP_SYMVERS="$out/klp.symvers" KBUILD_EXTRA_SYMBOLS="$out/klp.symvers" "$@" modules >&2 ||
		zr_die "build-module: module build failed against $kdir"
	[ -s "$out/modules.order" ] || zr_die "build-module: no modules built in $out"
	while read -r o; do
		ko=$out/${o%.o}.ko
		[ -f "$ko" ] || zr_die "build-module: $ko missing"
		# Livepatch relocations for non-exported symbols (idempotent: a converted .ko is kept).
		# shellcheck disable=SC2086 # FLAGS is a word list
		"$klp" convert --vmlinux "$kdir/vmlinux" $klpflags "$ko" >&2 ||
			zr_die "build-module: klp-convert failed on $ko"
	done <"$out/modules.order"
	;;
rust-analyzer)
	make "${args[@]}" "$@" rust-analyzer >&2 || zr_die "build-module: rust-analyzer failed"
	cp "$out/rust-project.json" "$src/rust-project.json"
	zr_info "wrote $src/rust-project.json"
	;;
*)
	make "${args[@]}" "$@" "$target" >&2 || zr_die "build-module: '$target' failed against $kdir"
	;;
esac
echo "$out"
