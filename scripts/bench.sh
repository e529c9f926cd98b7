#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: `make bench`. Boots the s390x and x86_64 bench machines (scripts/selftests/bench.list:
# the kernels without lock debugging, scripts/config/*-bench.config, one vCPU, QEMU's
# -icount shift=0,sleep=off: one guest nanosecond per guest instruction), each twice, and runs
# scripts/selftests/zr_bench.sh there: outermost rescan/remove lock pairs through the stock
# functions, the same pairs through the zpci_rrlock replacements, the replacements called
# directly (outermost and nested), the livepatch redirect alone (a livepatched no-op) and the C
# floor (the same algorithm in C), all in one boot. scripts/bench-report.py writes
# build/bench-lock.txt (a [ARCH] section of key=value lines per architecture: instructions per
# pair, the target ratios, the determinism check across the two boots) and prints it. Not part
# of `make test`: the figures are a report, not a pass/fail criterion.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

out=$ZR_BUILD/bench-lock.txt
log=$ZR_LOGS/bench.log
list=$ZR_TOP/scripts/selftests/bench.list
runs=()
while read -r name _; do
	runs+=("$ZR_BUILD/runs/$name")
done < <(grep -v '^#' "$list")
rm -f "$out"
for r in "${runs[@]}"; do rm -f "$r/guest.ktap"; done
zr_step bench env ZR_BOOTS_LIST="$list" "$ZR_TOP/scripts/test.sh" ||
	zr_die "bench: set-up or a benchmark boot failed (log: $log, consoles: $ZR_BUILD/runs/bench-*)"
python3 "$ZR_TOP/scripts/bench-report.py" "$out" "${runs[@]}" ||
	zr_die "bench: incomplete results (log: $log)"
zr_info "bench: wrote $out"
