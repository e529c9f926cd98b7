#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-distro.sh tree
# build-distro.sh module [--out DIR] [--forge ID | --forge-size FUNC | --src DIR]
#
# zpci_rrlock.ko for Debian's own amd64 kernel, the one of the linux-source package the other
# kernels are built from (Documentation/distro.rst). From Debian's packages alone, downloaded
# and unpacked into the cache, never installed:
#
#   1. the kernel's packages (image, modules, headers; of the debug package only vmlinux and
#      System.map, for the livepatch relocations and the size checks);
#   2. a trixie root (debootstrap, into the cache) with the compiler, rustc and bindgen that
#      built that kernel: every *_VERSION_TEXT and tool version of its .config must match;
#   3. a kernel tree from the same source and .config (olddefconfig must leave it unchanged),
#      modules_prepare run in the root (the Rust metadata the headers package lacks), then
#      Debian's Module.symvers, UTS version, vmlinux and System.map; the Rust symbols the tree
#      exports must be exactly those Debian's Module.symvers lists for vmlinux;
#   4. `module`: the module, built in the root against that tree (scripts/build-module.sh,
#      which takes the other options: a forged identity or size, the test modules of --src).
#
# `tree` stops after 3 and prints the tree, which also links what a guest boots: zr-image
# (Debian's vmlinuz) and zr-modules (its /usr/lib/modules/RELEASE). `module` prints the
# module's output directory (DIR, default build/module/debian-amd64). Each step is cached,
# keyed by its inputs. Needs root (chroot, in a private mount namespace).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=apt.sh
. "$(dirname "$0")/apt.sh"

usage="usage: build-distro.sh tree | module [--out DIR] [--forge ID | --forge-size FUNC | --src DIR]"
cmd=${1:-}
[ $# -gt 0 ] && shift
out=$ZR_BUILD/module/debian-amd64 modargs=()
case "$cmd" in
tree) [ $# -eq 0 ] || zr_die "build-distro: tree takes no arguments ($usage)" ;;
module)
	while [ $# -gt 0 ]; do
		case "$1" in
		--out) out=${2:?--out needs a directory}; shift 2 ;;
		--forge | --forge-size | --src)
			{ [ $# -ge 2 ] && [ -n "$2" ]; } || zr_die "build-distro: $1 needs a value"
			modargs+=("$1" "$2"); shift 2 ;;
		*) zr_die "build-distro: unknown argument '$1' ($usage)" ;;
		esac
	done
	;;
*) zr_die "build-distro: '$cmd' is not a command ($usage)" ;;
esac
[ ${#modargs[@]} -le 2 ] || zr_die "build-distro: one of --forge, --forge-size, --src ($usage)"
[ "$(id -u)" -eq 0 ] || zr_die "build-distro: needs root (debootstrap, and chroot into the build root)"
for t in unshare chroot dpkg-deb; do
	command -v "$t" >/dev/null || zr_die "build-distro: $t not found"
done
ksrc=$(zr_ksrc)
[ -f "$ksrc/Makefile" ] || zr_die "build-distro: no kernel source; run scripts/bootstrap.sh"
# The kernel packages of the source package's version (Debian's ABI name: 7.3.4+deb13).
ver=$(cat "$ksrc/../$ZR_KSRC_PKG.version") || zr_die "build-distro: no version of $ZR_KSRC_PKG"
case "$ver" in
*~bpo13+*) abi=${ver%%-*}+deb13 ;;
*) zr_die "build-distro: $ZR_KSRC_PKG $ver is not a trixie-backports build (want 7.3.x-N~bpo13+M)" ;;
esac
kr=$abi-amd64
top=$ZR_CACHE/distro/$kr-$ver
mkdir -p "$top"
exec 9>"$top/.lock"
flock 9

# in_root ROOT CMD...: CMD in the root, in a private mount namespace (nothing stays mounted)
# with /proc, /sys, /dev, the cache and the repository at their own paths.
in_root() {
	# shellcheck disable=SC2016 # the script expands its own arguments
	unshare -m -- bash -c '
		cache=$1 top=$2 build=$3 root=$4; shift 4
		for d in /proc /sys /dev "$cache" "$top" "$build"; do
			mkdir -p "$root$d" && mount --rbind "$d" "$root$d" || exit 1
		done
		exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
			ZR_CACHE="$cache" ZR_BUILD="$build" "$@"
	' in_root "$ZR_CACHE" "$ZR_TOP" "$ZR_BUILD" "$@"
}

# 1. The kernel's packages.
pkg=$top/pkg
fetch() {
	local d=$top/dl p deb
	[ -f "$pkg/.zr-complete" ] && return 0
	papt_setup
	rm -rf "$pkg" "$d"
	mkdir -p "$pkg/dbg" "$d"
	for p in "linux-binary-$kr" "linux-modules-$kr" "linux-headers-$kr" "linux-headers-$abi-common" \
		"linux-image-$kr-dbg"; do
		(cd "$d" && zr_step "distro-download-$p" papt download "$p=$ver") || return 1
	done
	for deb in "$d"/*.deb; do
		case "$deb" in
		*-dbg_*)
			# 1.2 GB of debug information: only what the build reads.
			zr_step distro-unpack-dbg sh -c "dpkg-deb --fsys-tarfile '$deb' | tar -C '$pkg/dbg' -x \
				--wildcards './usr/lib/debug/lib/modules/$kr/vmlinux' './usr/lib/debug/lib/modules/$kr/System.map'" ||
				return 1
			;;
		*) zr_step "distro-unpack-${deb##*/}" dpkg-deb -x "$deb" "$pkg" || return 1 ;;
		esac
	done
	rm -rf "$d"
	touch "$pkg/.zr-complete"
}
zr_info "distro: Debian's $kr ($ver) packages"
fetch || zr_die "build-distro: fetching Debian's $kr packages failed"
hdr=$pkg/usr/src/linux-headers-$kr
dbg=$pkg/dbg/usr/lib/debug/lib/modules/$kr
config=$hdr/.config
{ [ -f "$config" ] && [ -f "$dbg/vmlinux" ]; } || zr_die "build-distro: no .config or debug vmlinux in $pkg"
cfg() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$config"; }

# 2. The build root: trixie with the tools named in the kernel's .config.
tools=(make gcc-14 bc flex bison libelf-dev libssl-dev openssl python3 pahole kmod xz-utils cpio
	rustc rust-src bindgen libclang-19-dev)
rkey=$( {
	echo "${tools[*]}"
	cfg CONFIG_CC_VERSION_TEXT; cfg CONFIG_RUSTC_VERSION_TEXT; cfg CONFIG_BINDGEN_VERSION_TEXT
} | sha256sum | cut -c1-16)
root=$ZR_CACHE/distro/root-trixie-$rkey
make_root() {
	local d=$ZR_CACHE/distro/debootstrap deb mirror
	[ -f "$root/.zr-complete" ] && return 0
	papt_setup
	rm -rf "$root" "$d"
	mkdir -p "$d"
	(cd "$d" && zr_step distro-download-debootstrap papt download debootstrap) || return 1
	deb=$(find "$d" -maxdepth 1 -name 'debootstrap_*.deb' | head -n1)
	dpkg-deb -x "$deb" "$d/x" || return 1
	mirror=$(debian_uris | head -n1)
	zr_info "distro: debootstrap trixie into $root (several minutes)"
	zr_step distro-debootstrap env DEBOOTSTRAP_DIR="$d/x/usr/share/debootstrap" \
		"$d/x/usr/sbin/debootstrap" --variant=minbase --include="$(IFS=,; echo "${tools[*]}")" \
		trixie "$root" "$mirror" || return 1
	rm -rf "$d"
	touch "$root/.zr-complete"
}
make_root || zr_die "build-distro: the trixie build root failed (logs: $ZR_LOGS/distro-*.log)"
# check_tool WHAT WANT GOT: one tool of the root against the kernel's .config.
bad=0
check_tool() {
	[ "$2" = "$3" ] && return 0
	echo "build-distro: $1: the kernel was built with '$2', the root has '$3'" >&2
	bad=1
}
check_tool compiler "$(cfg CONFIG_CC_VERSION_TEXT)" "$(in_root "$root" x86_64-linux-gnu-gcc-14 --version | head -n1)"
check_tool rustc "$(cfg CONFIG_RUSTC_VERSION_TEXT)" "$(in_root "$root" rustc --version)"
check_tool bindgen "$(cfg CONFIG_BINDGEN_VERSION_TEXT)" "$(in_root "$root" bindgen --version)"
check_tool pahole "$(cfg CONFIG_PAHOLE_VERSION)" "$(in_root "$root" pahole --numeric_version)"
[ "$bad" = 0 ] || zr_die "build-distro: the root's tools are not the kernel's (trixie updated them?)"

# 3. The tree.
kmake=(make -C "$ksrc" ARCH=x86 CC=x86_64-linux-gnu-gcc-14 HOSTCC=x86_64-linux-gnu-gcc-14
	KERNELRELEASE="$kr")
tree=$top/tree-$rkey
make_tree() {
	[ -f "$tree/.zr-complete" ] && return 0
	rm -rf "$tree"
	mkdir -p "$tree"
	cp "$config" "$tree/.config"
	zr_step distro-olddefconfig in_root "$root" "${kmake[@]}" O="$tree" olddefconfig || return 1
	if ! cmp -s "$config" "$tree/.config"; then
		diff "$config" "$tree/.config" >&2
		echo "build-distro: olddefconfig changed Debian's .config (above): not the same build" >&2
		return 1
	fi
	zr_step distro-modules-prepare in_root "$root" "${kmake[@]}" O="$tree" -j"$(nproc)" \
		modules_prepare || return 1
	# What modules_prepare cannot know: Debian's exports, its vmlinux's UTS version, the vmlinux.
	cp "$hdr/Module.symvers" "$tree/Module.symvers"
	cp "$hdr/include/generated/utsversion.h" "$hdr/include/generated/compile.h" \
		"$tree/include/generated/"
	ln -sf "$dbg/vmlinux" "$tree/vmlinux"
	cp "$dbg/System.map" "$tree/System.map"
	touch "$tree/.zr-complete"
}
make_tree || { rm -rf "$tree"; zr_die "build-distro: preparing the tree failed (logs: $ZR_LOGS/distro-*.log)"; }
# What a guest boots: Debian's image and modules, as they are, with the index of the modules'
# dependencies that Debian's postinst makes at install time (depmod).
mods=$pkg/usr/lib/modules/$kr
if [ ! -s "$mods/modules.dep" ]; then
	zr_step distro-depmod depmod -b "$pkg/usr" "$kr" || zr_die "build-distro: depmod of $mods failed"
fi
ln -sfn "$mods/vmlinuz" "$tree/zr-image"
ln -sfn "$mods" "$tree/zr-modules"
# The Rust symbols (v0-mangled, _R...) the tree's crates export, their crate hashes those of
# the compiler and source, against those Debian's vmlinux exports.
ours=$(sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(_R.*\));$/\1/p' "$tree"/rust/exports_*_generated.h | sort -u)
theirs=$(awk '$3 == "vmlinux" && $2 ~ /^_R/ {print $2}' "$tree/Module.symvers" | sort -u)
if [ -z "$ours" ] || [ "$ours" != "$theirs" ]; then
	diff <(echo "$theirs") <(echo "$ours") | head -n 20 >&2
	zr_die "build-distro: the tree's Rust exports differ from Debian's Module.symvers (above: < Debian, > ours)"
fi
zr_info "distro: tree $tree ($(echo "$ours" | wc -l) Rust exports, as Debian's vmlinux)"
if [ "$cmd" = tree ]; then
	echo "$tree"
	exit 0
fi

# 4. The module: klp-convert is built on the host, the rest in the root.
tdir=$("$ZR_TOP/scripts/build-tools.sh") || exit 1
mkdir -p "$out"
out=$(cd "$out" && pwd)
zr_step "distro-module-${out##*/}" in_root "$root" env ZR_TOOLS_DIR="$tdir" RUSTC=/usr/bin/rustc \
	BINDGEN=/usr/bin/bindgen LIBCLANG_PATH=/usr/lib/llvm-19/lib \
	"$ZR_TOP/scripts/build-module.sh" --kdir "$tree" --out "$out" "${modargs[@]}" modules \
	CC=x86_64-linux-gnu-gcc-14 HOSTCC=x86_64-linux-gnu-gcc-14 KERNELRELEASE="$kr" ||
	zr_die "build-distro: the module build failed (log: $ZR_LOGS/distro-module-${out##*/}.log)"
# The modules' version magic must be that of Debian's own modules.
want=$(modinfo -F vermagic "$pkg/usr/lib/modules/$kr/kernel/drivers/net/ethernet/intel/igb/igb.ko.xz")
for ko in $(find "$out" -name '*.ko' | sort); do
	got=$(modinfo -F vermagic "$ko")
	{ [ -n "$want" ] && [ "$got" = "$want" ]; } ||
		zr_die "build-distro: ${ko#"$out"/} has vermagic '$got', Debian's modules '$want'"
done
zr_info "distro: $out for $kr (tree: $tree)"
echo "$out"
