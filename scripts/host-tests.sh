#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host-tests.sh RESULTS [--our-qemu BIN]: run the host-side tests and append "NAME PASSED FAILED
# SKIPPED" lines to RESULTS (failure names to RESULTS.failures):
#   - the harness's unit tests (qemu/test_*.py but test_our_qemu.py, Python unittest),
#   - the unit tests of the build and report scripts (scripts/test_*.py),
#   - cargo test of every crate under tools/.
# With --our-qemu, only the guest-less checks of our qemu-system-s390x BIN (qemu/test_our_qemu.py),
# once the harness has it built (qemu/zr/session.py).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
results=${1:?usage: host-tests.sh RESULTS}
py=$ZR_CACHE/venv/bin/python3

mkdir -p "$ZR_LOGS"

# py_suite NAME WHAT DIR UNITTEST-ARGS...: one Python unittest run in DIR (verbose: -v in
# ARGS), counted as NAME.
py_suite() {
	local name=$1 what=$2 dir=$3 log=$ZR_LOGS/$1.log p f s
	shift 3
	zr_info "host tests: $what (log: $log)"
	(cd "$dir" && PYTHONDONTWRITEBYTECODE=1 "$py" -m unittest "$@") >"$log" 2>&1
	p=$(grep -cE ' \.\.\. ok$' "$log")
	f=$(grep -cE ' \.\.\. (FAIL|ERROR)$' "$log")
	s=$(grep -cE ' \.\.\. skipped' "$log")
	grep -q '^Ran [1-9]' "$log" || f=$((f + 1))
	echo "$name $p $f $s" >>"$results"
	grep -E ' \.\.\. (FAIL|ERROR)$' "$log" | sed "s/^/FAILED $name: /" >>"$results.failures"
}
if [ "${2:-}" = --our-qemu ]; then
	ZR_QEMU_OURS=${3:?usage: host-tests.sh RESULTS --our-qemu BIN} \
		py_suite host-our-qemu "checks of our QEMU" "$ZR_TOP/qemu" -v test_our_qemu
	exit 0
fi
py_suite host-qemu-runner "harness unit tests" "$ZR_TOP/qemu" -v test_boot test_machine test_control test_suite test_sysrq test_records test_verdict
py_suite host-scripts "script unit tests" "$ZR_TOP/scripts" discover -v -s . -p 'test_*.py'

for manifest in "$ZR_TOP"/tools/*/Cargo.toml; do
	[ -f "$manifest" ] || continue
	crate=$(basename "$(dirname "$manifest")")
	log=$ZR_LOGS/host-cargo-$crate.log
	zr_info "host tests: cargo test ($crate, log: $log)"
	cargo test --manifest-path "$manifest" --target-dir "$ZR_BUILD/tools-target" >"$log" 2>&1
	rc=$?
	read -r p f s < <(awk '/^test result:/ { p += $4; f += $6; s += $8 } END { print p + 0, f + 0, s + 0 }' "$log")
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	echo "host-cargo-$crate $p $f $s" >>"$results"
	grep -E '^test .* \.\.\. FAILED$' "$log" | sed "s/^/FAILED host-cargo-$crate: /" >>"$results.failures"
	[ "$rc" -ne 0 ] && echo "FAILED host-cargo-$crate: cargo test exited $rc (log: $log)" >>"$results.failures"
done
exit 0
