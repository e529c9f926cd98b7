#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh ARCH [FRAGMENT]: build a kernel from the cached linux-source tree,
# allnoconfig + FRAGMENT (default scripts/config/ARCH.config), out of tree into the cache.
# The build directory is keyed by source version, fragment contents and toolchain, so a
# second call with the same inputs rebuilds nothing. Prints the build directory on stdout.
# Two directives in a fragment: "# zr-include: NAME.config" takes scripts/config/NAME.config's
# lines at that point (one level), "# zr-toolchain: llvm" builds with clang and the LLVM tools
# (LLVM=$ZR_LLVM) instead of gcc and binutils.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

arch=${1:-}
frag=${2:-$ZR_TOP/scripts/config/$arch.config}
case "$arch" in
s390x) karch=s390; cross=s390x-linux-gnu-; image=arch/s390/boot/bzImage ;;
x86_64) karch=x86; cross=; image=arch/x86/boot/bzImage ;;
*) zr_die "build-kernel: unknown ARCH '$arch' (s390x or x86_64)" ;;
esac
[ -f "$frag" ] || zr_die "build-kernel: config fragment not found: $frag"
frag=$(realpath "$frag") # kconfig reads it from the kernel tree's directory
ksrc=$(zr_ksrc)
# expand FRAGMENT: its lines with each "# zr-include: NAME.config" replaced by that fragment's.
expand() {
	local line inc dir
	dir=$(dirname "$1")
	while IFS= read -r line; do
		case "$line" in
		"# zr-include: "*)
			inc=$dir/${line#\# zr-include: }
			[ -f "$inc" ] || { echo "build-kernel: $1 includes a missing $inc" >&2; return 1; }
			grep -v '^# zr-' "$inc"
			;;
		*) echo "$line" ;;
		esac
	done <"$1"
}
full=$(expand "$frag") || exit 1
llvm=()
if grep -qx '# zr-toolchain: llvm' "$frag"; then
	llvm=(LLVM="$ZR_LLVM")
	cc="clang$ZR_LLVM"
else
	cc="${cross}gcc"
fi
[ -f "$ksrc/Makefile" ] || zr_die "build-kernel: no kernel source; run scripts/bootstrap.sh"

key=$( {
	cat "$ksrc/../$ZR_KSRC_PKG.version" 2>/dev/null
	echo "$full"
	"$ZR_RUSTC" --version
	"$ZR_BINDGEN" --version
	"$cc" --version | head -n1
} | sha256sum | cut -c1-16)
name=$(basename "$frag" .config)
out=$ZR_CACHE/kernel/$name-$key

# Two machines may boot the same kernel and be prepared at once: one builds, the other waits.
mkdir -p "$ZR_CACHE/kernel"
exec 9>"$ZR_CACHE/kernel/$name.lock"
flock 9
if [ -f "$out/.zr-complete" ]; then
	zr_info "kernel $name: cached build $out"
	echo "$out"
	exit 0
fi

zr_info "kernel $name: building in $out (cold build, several minutes)"
rm -rf "$out"
mkdir -p "$out"
km() { zr_kmake "$out" ARCH="$karch" CROSS_COMPILE="$cross" "${llvm[@]}" "$@"; }
# The expanded fragment, for kconfig and the check.
echo "$full" >"$out/zr-fragment.config"
frag=$out/zr-fragment.config

# Check that every option of the fragment ended up in .config with the requested value.
check_config() {
	local bad=0 line opt want got
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) opt=${line%%=*}; want=${line#*=} ;;
		"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *}; want=n ;;
		*) continue ;;
		esac
		got=$(grep -E "^$opt=|^# $opt is not set" "$out/.config" | head -n1)
		case "$got" in
		"# $opt is not set" | "") got=n ;;
		*) got=${got#*=} ;;
		esac
		if [ "$got" != "$want" ]; then
			echo "config: $opt requested '$want' but .config has '$got'" >&2
			bad=1
		fi
	done <"$frag"
	return "$bad"
}

zr_step "kconfig-$name" km KCONFIG_ALLCONFIG="$frag" allnoconfig || exit 1
check_config || zr_die "kernel $name: requested options missing from .config (see above; a dependency is probably unmet): $out/.config"
jobs=$(( $(nproc) + 1 ))
zr_step "kbuild-$name" km -j"$jobs" || exit 1
zr_step "kbuild-modules-install-$name" km INSTALL_MOD_PATH="$out/modroot" INSTALL_MOD_STRIP=1 modules_install || exit 1
[ -f "$out/$image" ] || zr_die "kernel $name: no image at $out/$image (log: $ZR_LOGS/kbuild-$name.log)"
ln -sf "$image" "$out/zr-image"
touch "$out/.zr-complete"
zr_info "kernel $name: built $out/$image"
# Older builds of the same fragment (another source, fragment or toolchain) are only disk space.
for d in "$ZR_CACHE/kernel/$name"-*; do
	if ! [[ "${d##*/}" =~ ^$name-[0-9a-f]{16}$ ]] || [ "$d" = "$out" ]; then
		continue
	fi
	zr_info "kernel $name: removing the superseded build $d"
	rm -rf "$d"
done
echo "$out"
