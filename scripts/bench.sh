#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: `make bench`. Boots the s390x guest on the kernel without lock debugging
# (scripts/config/s390x-bench.config, built and cached like the test kernel) and runs
# scripts/selftests/zr_bench.sh there: outermost rescan/remove lock pairs through the stock
# functions, the same pairs through the zpci_rrlock replacements, the livepatch redirect alone
# (a livepatched no-op) and nested pairs, all in one boot. Writes build/bench-lock.txt (one
# key=value per line) and prints it. Not part of `make test`: the figures are a report, not a
# pass/fail criterion (the targets are printed next to them).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

out=$ZR_BUILD/bench-lock.txt
log=$ZR_LOGS/bench.log
ktap=$ZR_BUILD/runs/bench/guest.ktap
rm -f "$out" "$ktap"
zr_step bench env ZR_BOOTS_LIST="$ZR_TOP/scripts/selftests/bench.list" "$ZR_TOP/scripts/test.sh" ||
	zr_die "bench: set-up or the benchmark boot failed (log: $log, console: $ZR_BUILD/runs/bench/console.log)"
python3 - "$ktap" "$out" <<'PY' || zr_die "bench: incomplete results in $ktap (log: $log)"
import sys

ktap, out = sys.argv[1:3]
ps, n = {}, set()
for line in open(ktap):
    f = line.split()
    if f[:2] == ["#", "bench:"] and len(f) == 6:
        phase, kind, val, pairs = f[2], f[3], int(f[4]), int(f[5])
        ps[(phase, kind)] = val
        n.add(pairs)
need = [("stock", "outer"), ("stock", "redirect"), ("patched", "outer"),
        ("patched", "redirect"), ("patched", "nested")]
missing = [f"{p} {k}" for p, k in need if (p, k) not in ps]
if missing or len(n) != 1:
    print(f"bench: missing measurements: {', '.join(missing) or 'inconsistent N'}", file=sys.stderr)
    sys.exit(1)
stock = ps[("stock", "outer")]
redirect = ps[("patched", "redirect")]
direct = ps.get(("patched", "direct"))
direct_nested = ps.get(("patched", "direct_nested"))
lines = {
    "arch": "s390x",
    "accel": "tcg",
    "kernel": "s390x-bench (no PROVE_LOCKING, DEBUG_MUTEXES, DEBUG_ATOMIC_SLEEP)",
    "N": n.pop(),
    "stock_outer_ps_per_pair": stock,
    "patched_outer_ps_per_pair": ps[("patched", "outer")],
    "patched_nested_ps_per_pair": ps[("patched", "nested")],
    "redirect_ps_per_pair": redirect,
    "redirect_stock_phase_ps_per_pair": ps[("stock", "redirect")],
    "outermost_raw_ratio": f"{ps[('patched', 'outer')] / stock:.3f}",
    "outermost_net_ratio": f"{(ps[('patched', 'outer')] - redirect) / stock:.3f}",
    "nested_net_ratio": f"{(ps[('patched', 'nested')] - redirect) / stock:.3f}",
    "outermost_net_target": "1.05",
    "nested_net_target": "0.5",
    # Beside the subtraction: the replacements called directly, no redirect to subtract.
    "direct_outer_ps_per_pair": direct,
    "direct_nested_ps_per_pair": direct_nested,
    "outermost_direct_ratio": f"{direct / stock:.3f}" if direct else "n/a",
    "nested_direct_ratio": f"{direct_nested / stock:.3f}" if direct_nested else "n/a",
}
with open(out, "w") as f:
    for k, v in lines.items():
        f.write(f"{k}={v}\n")
PY
zr_info "bench: wrote $out"
cat "$out"
