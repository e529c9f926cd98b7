#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh: the project's static checks; fails on any finding.
#   rustfmt --check (kernel .rustfmt.toml) on rust/ and cargo fmt --check on tools/,
#   a CLIPPY=1 module build with no warning, cargo clippy on tools/ with -D warnings,
#   ShellCheck on every shell script, checkpatch.pl on the C glue, QEMU's checkpatch.pl on
#   qemu/patches/, ruff and mypy on the Python.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

bad=0
fail() { printf 'lint: %s\n' "$*" >&2; bad=1; }
ksrc=$(zr_ksrc)
[ -f "$ksrc/.rustfmt.toml" ] || zr_die "lint: no kernel source (run scripts/bootstrap.sh)"

zr_info "lint: rustfmt"
"$ZR_RUSTFMT" --check --edition 2021 --config-path "$ksrc/.rustfmt.toml" "$ZR_TOP"/rust/*.rs "$ZR_TOP"/rust/*/*.rs "$ZR_TOP"/scripts/selftests/modules/*.rs || fail "rustfmt: rust/ is not formatted"
for manifest in "$ZR_TOP"/tools/*/Cargo.toml; do
	[ -f "$manifest" ] || continue
	cargo fmt --manifest-path "$manifest" --check || fail "cargo fmt: $(dirname "$manifest")"
	cargo clippy --quiet --manifest-path "$manifest" --all-targets --target-dir "$ZR_BUILD/tools-target" -- -D warnings ||
		fail "cargo clippy: $(dirname "$manifest")"
done

# CLIPPY=1 builds of the module and the test modules for every architecture; objtool's
# warnings (x86_64) count too.
for arch in s390x x86_64; do
	zr_info "lint: CLIPPY=1 module build ($arch)"
	kdir=$("$ZR_TOP/scripts/build-kernel.sh" "$arch") || zr_die "lint: no $arch kernel build"
	out=$ZR_BUILD/module/$arch-clippy
	rm -rf "$out" "$out-tests"
	log=$ZR_LOGS/lint-clippy-$arch.log
	"$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" --out "$out" modules CLIPPY=1 >/dev/null 2>"$log" ||
		fail "CLIPPY=1 build failed (log: $log)"
	"$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" --out "$out-tests" --src "$ZR_TOP/scripts/selftests/modules" \
		modules CLIPPY=1 >/dev/null 2>>"$log" ||
		fail "CLIPPY=1 build of the test modules failed (log: $log)"
	# The kernel's own s390 Rust flags (-Ctarget-feature=+backchain) draw one rustc warning on
	# every crate, the kernel's included; it is not ours to fix, every other warning is.
	if grep -E '^(warning|error)|warning: objtool' "$log" |
		grep -vE 'unstable feature specified for .-Ctarget-feature.: .backchain.|^warning: [0-9]+ warnings? emitted'; then
		fail "CLIPPY=1 build has warnings (log: $log)"
	fi
done

zr_info "lint: shellcheck"
mapfile -t shells < <(cd "$ZR_TOP" && { ls scripts/*.sh scripts/selftests/*.sh .ci/run; echo scripts/selftests/init; echo scripts/zr; } | sort -u)
(cd "$ZR_TOP" && shellcheck -x "${shells[@]}") || fail "shellcheck"

# Python: ruff (.ruff.toml) on every file, mypy on the harness package (--strict), its unit tests
# and the scripts (two import roots: qemu/ and scripts/), from the venv's pinned versions
# (scripts/bootstrap.sh).
zr_info "lint: ruff, mypy"
venv=$ZR_CACHE/venv
"$venv/bin/ruff" check --no-cache --quiet "$ZR_TOP/qemu" "$ZR_TOP/scripts" || fail "ruff"
mypy() { "$venv/bin/mypy" --cache-dir "$ZR_BUILD/mypy-cache" --no-error-summary "$@"; }
(cd "$ZR_TOP/qemu" && mypy --strict zr && mypy ./*.py) || fail "mypy: qemu/"
(cd "$ZR_TOP/scripts" && MYPYPATH=$ZR_TOP/qemu mypy ./*.py) || fail "mypy: scripts/"

zr_info "lint: checkpatch"
for c in "$ZR_TOP"/rust/*.[ch] "$ZR_TOP"/scripts/selftests/modules/*.[ch]; do
	[ -f "$c" ] || continue
	"$ksrc/scripts/checkpatch.pl" --no-tree --quiet --strict -f "$c" || fail "checkpatch: $c"
done

# Our QEMU patches against QEMU's own checkpatch.pl, taken from the pinned source tarball.
zr_info "lint: QEMU checkpatch (qemu/patches)"
qcp=$ZR_BUILD/qemu-checkpatch.pl
if tar -xOf "$ZR_CACHE/src/$ZR_QEMU_ORIG" "qemu-$ZR_QEMU_VERSION/scripts/checkpatch.pl" >"$qcp" 2>/dev/null; then
	for p in "$ZR_TOP"/qemu/patches/*.patch; do
		perl "$qcp" --no-tree -q "$p" || fail "QEMU checkpatch: $p"
	done
else
	fail "QEMU checkpatch: no $ZR_CACHE/src/$ZR_QEMU_ORIG (run scripts/bootstrap.sh)"
fi

[ "$bad" -eq 0 ] && zr_info "lint: clean"
exit "$bad"
