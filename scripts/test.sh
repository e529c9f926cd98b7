#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test.sh: the whole test suite behind `make test`.
#   1. set-up: bootstrap, cached kernel build, module builds (normal and forged identity);
#   2. host-side tests (the runner's own unit tests, cargo test of tools/);
#   3. the s390x guest boot suite (qemu/boot.py).
# Prints the merged KTAP to build/results.ktap, a summary, and last the line
# "N passed, N failed, N skipped". Exit status non-zero on any failure or timeout.
#
# The boots are listed in scripts/selftests/boots.list. Environment: ZR_LINT=1 also runs
# scripts/lint.sh as one result; ZR_TESTS="zr_module zr_hotplug" runs only those in-guest tests
# in one boot (of the machine ZR_MACHINES names, default s390x); ZR_BOOTS="pipeline harness" runs
# only those boots; ZR_MACHINES="x86_64" only the boots of those machines
# (qemu/machines/NAME.toml); ZR_APPEND="..." adds guest kernel command-line words (e.g.
# zr.expect_count=4); ZR_BOOTS_LIST=FILE reads the boots from FILE instead (scripts/bench.sh);
# ZR_JOBS=N runs N boots at a time (default 2); ZR_QEMU=PATH runs the boots of the s390x machines
# that use Debian's QEMU on that qemu-system-s390x instead (e.g. ours, for a regression run of
# qemu/patches with x-sriov off). Invalid values are refused before anything runs.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Options are checked before anything runs.
maxjobs=${ZR_JOBS:-2}
[[ "$maxjobs" =~ ^[1-9][0-9]?$ ]] || { echo "test.sh: ZR_JOBS='$maxjobs' must be a number in 1..99" >&2; exit 2; }
if [ -n "${ZR_TESTS:-}" ]; then
	for t in $ZR_TESTS; do
		awk -v t="$t" '$1 == t { f = 1 } END { exit !f }' "$ZR_TOP/scripts/selftests/tests.list" ||
			{ echo "test.sh: ZR_TESTS: no test '$t' in scripts/selftests/tests.list" >&2; exit 2; }
	done
fi
boots=${ZR_BOOTS_LIST:-$ZR_TOP/scripts/selftests/boots.list}
[ -f "$boots" ] || { echo "test.sh: no boots list $boots" >&2; exit 2; }
plan=$(awk '!/^#/ && NF' "$boots")
for m in ${ZR_MACHINES:-}; do
	[ -f "$ZR_TOP/qemu/machines/$m.toml" ] ||
		{ echo "test.sh: ZR_MACHINES: no machine '$m' (qemu/machines/$m.toml)" >&2; exit 2; }
done
if [ -n "${ZR_QEMU:-}" ] && ! [ -x "$ZR_QEMU" ]; then
	echo "test.sh: ZR_QEMU='$ZR_QEMU' is not an executable file" >&2; exit 2
fi
for b in ${ZR_BOOTS:-}; do
	echo "$plan" | awk -v b="$b" '$1 == b { f = 1 } END { exit !f }' ||
		{ echo "test.sh: ZR_BOOTS: no boot '$b' in $boots" >&2; exit 2; }
done
if [ -n "${ZR_TESTS:-}" ]; then
	plan="custom ${ZR_MACHINES:-s390x} $(echo "$ZR_TESTS" | tr ' ' ',') -"
elif [ -n "${ZR_BOOTS:-}" ]; then
	plan=$(echo "$plan" | awk -v want=" $ZR_BOOTS " 'index(want, " " $1 " ")')
	[ -n "$plan" ] || { echo "test.sh: no boot named in ZR_BOOTS='$ZR_BOOTS' (see $boots)" >&2; exit 2; }
elif [ -n "${ZR_MACHINES:-}" ]; then
	plan=$(echo "$plan" | awk -v want=" $ZR_MACHINES " 'index(want, " " $2 " ")')
	[ -n "$plan" ] || { echo "test.sh: no boot on a machine in ZR_MACHINES='$ZR_MACHINES' (see $boots)" >&2; exit 2; }
fi

mkdir -p "$ZR_BUILD"
results=$ZR_BUILD/results.txt
: >"$results"
# record NAME PASSED FAILED SKIPPED [FAILURE...]
record() {
	local name=$1 p=$2 f=$3 s=$4
	shift 4
	echo "$name $p $f $s" >>"$results"
	local x
	for x in "$@"; do echo "FAILED $name: $x" >>"$results.failures"; done
}
rm -f "$results.failures"
ran=()

# A set-up step that fails is one failed result named after the step; the run stops there.
setup_failed() {
	record "setup" 0 1 0 "$1 (see the log named above)"
	finish
}

# lockdep_graphs: the lock order each boot that dumped /proc/lockdep (zr_lockdep) saw, drawn
# from lockdep's own data: build/lockdep-BOOT.dot, .svg (graphviz), .cycles (one line a cycle).
lockdep_graphs() {
	local b k
	for b in "${ran[@]}"; do
		k=$ZR_BUILD/runs/$b/guest.ktap
		grep -q '# lockdep: all lock classes' "$k" 2>/dev/null || continue
		python3 "$ZR_TOP/scripts/lockdep-graph.py" --highlight-cycles --title "lock order seen by boot $b" \
			--report "$ZR_BUILD/runs/$b/console.log" -o "$ZR_BUILD/lockdep-$b.dot" --svg "$ZR_BUILD/lockdep-$b.svg" "$k" \
			2>"$ZR_BUILD/lockdep-$b.cycles" &&
			echo "# Lock order of $b: $ZR_BUILD/lockdep-$b.svg ($(grep -c '^cycle:' "$ZR_BUILD/lockdep-$b.cycles") cycles)"
	done
}

finish() {
	local p=0 f=0 s=0 name rp rf rs
	if [ "${#ran[@]}" -gt 0 ]; then
		python3 "$ZR_TOP/scripts/scenarios.py" "$ZR_TOP/scripts/selftests/scenarios.list" \
			"$ZR_BUILD/runs" "$ZR_BUILD/scenarios.md" "${ran[@]}" &&
			echo "# Scenario table: $ZR_BUILD/scenarios.md"
	fi
	lockdep_graphs
	if [ "${#ran[@]}" -gt 0 ] && python3 "$ZR_TOP/scripts/torture-report.py" "$ZR_BUILD/torture.md" \
		"$ZR_BUILD/runs" "${ran[@]}" 2>/dev/null; then
		echo "# Torture figures: $ZR_BUILD/torture.md"
	fi
	echo "# Summary"
	while read -r name rp rf rs; do
		echo "#   $name: $rp passed, $rf failed, $rs skipped"
		p=$((p + rp)) f=$((f + rf)) s=$((s + rs))
	done <"$results"
	[ -f "$results.failures" ] && sed 's/^/# /' "$results.failures"
	echo "$p passed, $f failed, $s skipped"
	[ "$f" -eq 0 ]
	exit
}

"$ZR_TOP/scripts/bootstrap.sh" || setup_failed "bootstrap"

# Host-side tests, and the linters when asked (ZR_LINT=1, as CI does).
"$ZR_TOP/scripts/host-tests.sh" "$results" || true
if [ -n "${ZR_LINT:-}" ]; then
	if zr_step lint "$ZR_TOP/scripts/lint.sh"; then
		record lint 1 0 0
	else
		record lint 0 1 0 "rustfmt/clippy/shellcheck/checkpatch findings (log: $ZR_LOGS/lint.log)"
	fi
fi

# prepare MACHINE: kernel, module builds and initramfs for a machine (run in the background, one
# job per machine; the two machines' builds share the cores). On success it writes the kernel
# tree's path to build/prepare/MACHINE.kdir, else the failed step to build/prepare/MACHINE.fail.
prepare() {
	local machine=$ZR_TOP/qemu/machines/$1.toml arch kdir initrd=$ZR_BUILD/guest/$1/initramfs.cpio
	local out=$ZR_BUILD/prepare/$1 mod=$ZR_BUILD/module/$1
	fail() { echo "$1" >"$out.fail"; exit 1; }
	[ -f "$machine" ] || fail "no machine definition $machine"
	arch=$(python3 "$ZR_TOP/qemu/machine.py" "$machine" arch) || fail "machine $1"
	if [ "$(python3 "$ZR_TOP/qemu/machine.py" "$machine" qemu_patched 2>/dev/null)" = True ]; then
		"$ZR_TOP/scripts/build-qemu.sh" >"$out.qemu" || fail "QEMU build ($1)"
	fi
	kdir=$("$ZR_TOP/scripts/build-kernel.sh" "$arch" \
		"$ZR_TOP/scripts/config/$(python3 "$ZR_TOP/qemu/machine.py" "$machine" kernel).config") ||
		fail "kernel build ($1)"
	zr_step "module-$1" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" --out "$mod" modules ||
		fail "module build ($1)"
	zr_step "module-$1-forged" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" \
		--out "$mod-forged" --forge "#0 forged-by-zpci-rrlock-tests" modules ||
		fail "forged module build ($1)"
	zr_step "module-$1-forged-size" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" \
		--out "$mod-forged-size" --forge-size pci_unlock_rescan_remove modules ||
		fail "forged-size module build ($1)"
	# Test modules (their klp-convert flags are in scripts/selftests/modules/klp.flags).
	zr_step "module-$1-klp" "$ZR_TOP/scripts/build-module.sh" --kdir "$kdir" \
		--src "$ZR_TOP/scripts/selftests/modules" --out "$mod-klp" modules ||
		fail "livepatch test modules ($1)"
	zr_step "initramfs-$1" "$ZR_TOP/scripts/mkinitramfs.sh" --machine "$machine" --kdir "$kdir" \
		--module "$mod" --forged "$mod-forged" \
		--forged-size "$mod-forged-size" --klp "$mod-klp" --out "$initrd" ||
		fail "initramfs ($1)"
	echo "$kdir" >"$out.kdir"
}

# run_boot NAME MACHINE TESTS EXPECTED APPEND: one guest boot (the machine prepared already);
# its KTAP goes to build/runs/NAME.ktap, its exit status to build/runs/NAME.rc.
run_boot() {
	local name=$1 machine=$2 tests=$3 expect=$4 append=$5 rundir=$ZR_BUILD/runs/$1 k
	local -a xargs=()
	if [ "$expect" != "-" ]; then
		for k in ${expect//,/ }; do
			case "$k" in
			fail:*) xargs+=(--expect-fail "${k#fail:}") ;;
			timeout:*) xargs+=(--expect-timeout "${k#timeout:}") ;;
			grace:*) xargs+=(--grace "${k#grace:}") ;;
			allow:*) xargs+=(--allow-report "${k#allow:}") ;;
			boot-timeout:*) xargs+=(--timeout "${k#boot-timeout:}") ;;
			*) xargs+=(--expect-report "$k") ;;
			esac
		done
	fi
	if [ -f "$ZR_BUILD/prepare/$machine.qemu" ]; then
		xargs+=(--qemu "$(cat "$ZR_BUILD/prepare/$machine.qemu")")
	elif [ -n "${ZR_QEMU:-}" ] && [ "$(python3 "$ZR_TOP/qemu/machine.py" "$ZR_TOP/qemu/machines/$machine.toml" arch)" = s390x ]; then
		xargs+=(--qemu "$ZR_QEMU")
	fi
	rm -rf "$rundir" "$rundir.rc" "$rundir".crashed* "$rundir.retry"
	local try crash kept
	for try in 1 2 3; do
		mkdir -p "$rundir"
		"$ZR_CACHE/venv/bin/python3" "$ZR_TOP/qemu/boot.py" --machine "$ZR_TOP/qemu/machines/$machine.toml" \
			--kernel "${prepared[$machine]}/zr-image" --initrd "$ZR_BUILD/guest/$machine/initramfs.cpio" \
			--rundir "$rundir" --name "$name" \
			--append "zr.tests=$tests $append ${ZR_APPEND:-}" "${xargs[@]}" >"$rundir.ktap"
		echo "$?" >"$rundir.rc"
		# QEMU itself crashing (an emulator bug, e.g. a TCG assertion or QEMU 10.0.2's s390x
		# segfault around zPCI hot-plug; never the guest kernel's doing), or a guest stalled in
		# early boot before /init (seen under TCG on a loaded host, before any test or module
		# ran), or a guest killed at a deadline after RCU saw a vCPU's timer interrupt never
		# come (x86_64 TCG under load), is not a result: the boot runs again, at most three
		# times in all, each crashed run kept beside it (NAME.crashed, NAME.crashed2).
		crash=$(python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
print(j.get("qemu_crash") or (j.get("early_stall") and "early boot stalled: " + j["early_stall"])
      or (j.get("timer_lost") and "a vCPU lost its timer interrupt (TCG): " + j["timer_lost"]) or "")' \
			"$rundir/summary.json" 2>/dev/null)
		if [ -z "$crash" ] || [ "$try" = 3 ]; then
			break
		fi
		kept=$rundir.crashed
		[ "$try" = 1 ] || kept=$kept$try
		zr_info "$name: $crash; running the boot once more (run $try kept: $kept)"
		echo "run $try: $crash" >>"$rundir.retry"
		mv "$rundir" "$kept"
	done
}

# collect NAME: record the results of a finished boot.
collect() {
	local name=$1 rundir=$ZR_BUILD/runs/$1 rc p f s
	local -a fails=()
	rc=$(cat "$rundir.rc" 2>/dev/null || echo 2)
	[ -f "$rundir.retry" ] && echo "# $name: the earlier runs did not count: $(awk '{ printf "%s%s", s, $0; s = "; " }' "$rundir.retry")"
	cat "$rundir.ktap" >>"$ZR_BUILD/results.ktap"
	if [ "$rc" -eq 2 ] || [ ! -f "$rundir/summary.json" ]; then
		record "$name" 0 1 0 "boot runner failed (exit $rc, see $rundir)"
		return
	fi
	eval "$(python3 -c '
import json, shlex, sys
s = json.load(open(sys.argv[1]))
print("p=%d f=%d s=%d" % (s["passed"], s["failed"], s["skipped"]))
print("fails=(%s)" % " ".join(shlex.quote(x) for x in s["failures"]))' "$rundir/summary.json")"
	record "$name" "$p" "$f" "$s" "${fails[@]}"
}

# Prepare every machine first, then run the boots, ZR_JOBS (default 2) at a time: most of a
# boot's time is waiting (deadlines, sleeps, the hung-task detector), so two TCG guests share the
# two cores well. Results are recorded in the order of the list.
declare -A prepared
rm -rf "$ZR_BUILD/prepare"
mkdir -p "$ZR_BUILD/prepare"
for m in $(echo "$plan" | awk '!seen[$2]++ { print $2 }'); do
	(prepare "$m") &
done
wait
for m in $(echo "$plan" | awk '!seen[$2]++ { print $2 }'); do
	[ -f "$ZR_BUILD/prepare/$m.fail" ] && setup_failed "$(cat "$ZR_BUILD/prepare/$m.fail")"
	[ -f "$ZR_BUILD/prepare/$m.kdir" ] || setup_failed "preparing machine $m"
	prepared[$m]=$(cat "$ZR_BUILD/prepare/$m.kdir")
done
# changed_source ARCH KDIR: the livepatch must not build against a tree whose replaced functions
# differ from the source its replacements were written against (rust/zr_sources.list): a copy of
# those files of the tree with sriov_disable() changed as the upstream series changes it (VF
# removal under the rescan/remove lock) must be refused, naming the function.
changed_source() {
	local tree=$ZR_BUILD/changed-src/$1 log=$ZR_LOGS/module-$1-changed-source.log f
	local want="sriov_disable (drivers/pci/iov.c) differs from the source"
	rm -rf "$tree"
	while read -r f; do
		if ! { mkdir -p "$tree/${f%/*}" && cp "$(zr_ksrc)/$f" "$tree/$f"; }; then
			record "source-check-$1" 0 1 0 "cannot copy $f of the kernel tree"
			return
		fi
	done < <(awk '!/^#/ && NF >= 3 { print $2 }' "$ZR_TOP/rust/zr_sources.list" | sort -u)
	sed -i 's/^\tsriov_del_vfs(dev);$/\tpci_lock_rescan_remove();\n&\n\tpci_unlock_rescan_remove();/' \
		"$tree/drivers/pci/iov.c"
	zr_info "module build against a changed sriov_disable() ($1), must fail (log: $log)"
	if "$ZR_TOP/scripts/build-module.sh" --kdir "$2" --out "$ZR_BUILD/module/changed-$1" \
		--srctree "$tree" modules >"$log" 2>&1; then
		record "source-check-$1" 0 1 0 "a module was built against a changed sriov_disable() (log: $log)"
	elif grep -q "$want" "$log"; then
		record "source-check-$1" 1 0 0
	else
		record "source-check-$1" 0 1 0 "the build failed without naming sriov_disable (log: $log)"
	fi
}
# lock_fastpath ARCH KDIR MACHINE: the lock's physical floor, read from the machine code of the
# module built for MACHINE (scripts/lock-fastpath.py): no interlocked instruction on the
# replacements' paths but the stock mutex's own.
lock_fastpath() {
	local log=$ZR_LOGS/lock-fastpath-$1.log
	if python3 "$ZR_TOP/scripts/lock-fastpath.py" "$(zr_cross "$1")objdump" "$2/vmlinux" \
		"$ZR_BUILD/module/$3/rust/zpci_rrlock.ko" "$1" >"$log" 2>&1; then
		record "lock-fastpath-$1" 1 0 0
	else
		record "lock-fastpath-$1" 0 1 0 "$(tail -n 1 "$log")"
	fi
	zr_info "$(head -n 1 "$log")"
}
declare -A checked
for m in "${!prepared[@]}"; do
	a=$(python3 "$ZR_TOP/qemu/machine.py" "$ZR_TOP/qemu/machines/$m.toml" arch)
	[ -n "${checked[$a]:-}" ] && continue
	checked[$a]=1
	changed_source "$a" "${prepared[$m]}"
	lock_fastpath "$a" "${prepared[$m]}" "$m"
done

# Our QEMU, once built: the zPCI bugs its patches fix, shown without a guest (and against
# Debian's binary).
ourqemu=$(cat "$ZR_BUILD"/prepare/*.qemu 2>/dev/null | head -n1)
[ -n "$ourqemu" ] && "$ZR_TOP/scripts/host-tests.sh" "$results" --our-qemu "$ourqemu"

: >"$ZR_BUILD/results.ktap"
mkdir -p "$ZR_BUILD/runs"
while read -r name machine tests expect append; do
	while [ "$(jobs -rp | wc -l)" -ge "$maxjobs" ]; do
		wait -n
	done
	ran+=("$name")
	run_boot "$name" "$machine" "$tests" "${expect:--}" "${append:-}" &
done <<<"$plan"
wait
for name in "${ran[@]}"; do
	collect "$name"
done
finish
