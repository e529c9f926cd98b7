#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# extra-bindgen.sh OBJTREE HEADER ITEMS OUT
#
# Generate Rust bindings for kernel items that the kernel crate's `bindings` does not cover
# (private headers such as drivers/pci/pci.h, types it keeps opaque), with the very bindgen
# command line the kernel build used for rust/bindings (read from its .cmd file), so target,
# flags and config match. Only the items listed in ITEMS are emitted (no recursion): every type
# they mention resolves to `kernel::bindings`, so the two sets of types are the same types.
#
# ITEMS: one item a line, "type NAME", "function NAME" or "var NAME"; '#' starts a comment.
set -eu
objtree=$1 header=$2 items=$3 out=$4
cmdfile=$objtree/rust/bindings/.bindings_generated.rs.cmd
[ -f "$cmdfile" ] || { echo "extra-bindgen: $cmdfile missing: is $objtree a built Rust kernel tree?" >&2; exit 1; }

cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile")
cmd=${cmd%%;*}                          # drop the post-processing the kernel appends
cmd=${cmd//\$(pound)/#}                 # make's escape for '#'
bindgen=${cmd%% *}
rest=${cmd#* }
rest=${rest#* }                         # drop bindings_helper.h, the kernel's input header
opts=${rest%% -- *}
cflags=${rest#* -- }
opts=${opts/-o rust\/bindings\/bindings_generated.rs/}
cflags=$(printf '%s' "$cflags" | sed 's/-Wp,-MMD,[^ ]*//')

allow=(--no-recursive-allowlist)
while read -r kind name _; do
	case "$kind" in
	'' | \#*) continue ;;
	type | function | var) allow+=("--allowlist-$kind" "$name") ;;
	*) echo "extra-bindgen: $items: unknown item kind '$kind'" >&2; exit 1 ;;
	esac
done <"$items"

tmp=$out.tmp
# shellcheck disable=SC2086 # the saved option strings are word lists by design
(cd "$objtree" && eval "$bindgen" '"$header"' $opts '"${allow[@]}"' -o '"$tmp"' -- $cflags)
grep -q . "$tmp" || { echo "extra-bindgen: no bindings generated from $header" >&2; exit 1; }
mv "$tmp" "$out"
