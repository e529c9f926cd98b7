#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: `make run`, the demonstration. Sets everything up like `make test`, then boots the
# s390x guests and shows what the stock kernel does and what it does with the zpci_rrlock
# livepatch, as the stock-vs-patched table of the scenarios these boots ran, then a line per boot:
#   s1-stock    S1 on the stock kernel: remove of one zPCI function, device_del of another
#               (lockdep: zpci_add_remove_lock / pci_rescan_remove_lock circular dependency)
#   stock-nest  nested pci_lock_rescan_remove() on the stock kernel (self-deadlock)
#   patched     the livepatch enabled: zPCI operations, S1 deterministic and raced, nesting
#   sriov-stock, sriov-remove-stock, sriov-unload-stock, sriov-patched
#               SR-IOV on s390x (our QEMU): S1 on VF disable and as a deadlock on sysfs remove
#               of the PF, the PF-unload race (S6, a VF removed twice), all clean with the
#               livepatch
# Logs and full KTAP stay in build/runs/<boot>/ (console.log, qmp.log, results.ktap).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

boots=${ZR_RUN_BOOTS:-s1-stock stock-nest patched sriov-stock sriov-remove-stock sriov-unload-stock sriov-patched}
log=$ZR_LOGS/run.log
mkdir -p "$ZR_LOGS"
zr_info "make run: set-up and boots ($boots); full output in $log"
ZR_BOOTS="$boots" "$ZR_TOP/scripts/test.sh" 2>&1 | tee "$log" | grep --line-buffered -E '^\[..:..:..\]'
rc=${PIPESTATUS[0]}

echo
echo "zpci-rrlock: stock 7.3.4 vs the livepatch"
echo "========================================="
# shellcheck disable=SC2086 # the boot names are words
python3 "$ZR_TOP/scripts/scenarios.py" --print "$ZR_TOP/scripts/selftests/scenarios.list" \
	"$ZR_BUILD/runs" "$ZR_BUILD/scenarios.md" $boots
echo
echo "Boots"
echo "-----"
for b in $boots; do
	s=$ZR_BUILD/runs/$b/summary.json
	[ -f "$s" ] || { echo "$b: no result (see $log)"; continue; }
	python3 - "$s" "$ZR_TOP/scripts/selftests/boots.list" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
desc = {}
for line in open(sys.argv[2]):
    if line.strip() and not line.startswith("#"):
        f = line.split()
        desc[f[0]] = f[2].replace(",", ", ")
reports = sorted(set(s["reports_seen"]))
print(f"{s['name']}: {desc.get(s['name'], '')}")
print(f"  kernel reports: {', '.join(reports) if reports else 'none'}")
if s.get("killed"):
    print(f"  guest ended by the host: {s['killed']}")
print(f"  results: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped")
for f in s["failures"]:
    print(f"  FAILED {f}")
PY
done
echo
echo "s1-stock and sriov-stock must show the circular-locking report (S1), stock-nest a"
echo "recursive-locking report and a hung task, sriov-remove-stock both (the stock deadlocks),"
echo "sriov-unload-stock S6's WARNING; the patched boots must show none."
echo "Console logs: $ZR_BUILD/runs/<boot>/console.log"
exit "$rc"
