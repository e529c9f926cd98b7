#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Torture: concurrent workers pick random operations on the machine's PCI functions until an
# operation budget or a time bound runs out, while the host's worker (the "storm" of
# qemu/zr/control.py) hot-unplugs and re-plugs functions over QMP. Then every function must be
# back and bound to its driver, no worker may be stuck, and the kernel log must be clean.
#
# Two mixes of operations:
#   safe  (zr_torture):      what the stock kernel survives, run on both kernels for the ops/s
#                            comparison: s390x hot-unplug (host), slot power, recover,
#                            unbind/bind, reset; x86_64 VF enable/disable, VF unbind/bind, reset.
#   full  (zr_torture_full): everything, patched kernel only (on stock it deadlocks: S1, S4):
#                            safe plus remove/rescan; on x86_64 also PF unbind/bind, PF
#                            remove/rescan, slot power and hot-unplug (host).
#
# Kernel command line (all optional): zr.torture_seed=N (printed; replays each worker's
# sequence of operations, the interleaving stays up to the scheduler), zr.torture_seconds=N
# (time bound, default 10), zr.torture_ops=N (operation budget, 0 = time bound only),
# zr.torture_workers=N (guest workers, 1..8, default 3), zr.torture_host=0 (no QMP hot-unplugs
# from the host: QEMU 10.0.2's s390x machine segfaults under a long storm of them).
# Its figures go to the host as one torture record (zr_record) for scripts/torture-report.py.
. "$(dirname "$0")/functions.sh"

case "$0" in *_full*) mix=full ;; *) mix=safe ;; esac
if [ "$mix" = full ] && ! zr_patched; then
	zr_skip_all "the full mix deadlocks the stock kernel (S1, S4): patched kernel only"
fi

# opt NAME DEFAULT MIN MAX: _opt becomes the numeric zr.torture_NAME= option (DEFAULT if
# absent); anything else Bails out naming it.
opt() {
	_opt=$(zr_cmdline "zr.torture_$1")
	[ -z "$_opt" ] && _opt=$2
	zr_num_in "$_opt" "$3" "$4" || zr_die "zr.torture_$1=$_opt: not a number in $3..$4"
}
read -r _up _ </proc/uptime
# The hundredths of the uptime, as 100..199: "08" alone would be an invalid octal number.
opt seed $((($$ * 7919 + 1${_up#*.}) % 1000000)) 0 2147483647
seed=$_opt
opt seconds 10 1 86400
seconds=$_opt
opt ops 0 0 100000000
budget=$_opt
opt workers 3 1 8
nworkers=$_opt
opt host 1 0 1
use_host=$_opt

fns=$(zr_functions | tr '\n' ' ')
nfns=0
for _f in $fns; do nfns=$((nfns + 1)); done
# Slot power and the host's hot-unplugs work on disjoint functions (power: the first one that
# may be unplugged; the host: the others). A power-off racing the last reference of the same
# function, dropped by a hot-unplug, closes kn->active(power) -> state_lock -> rescan/remove ->
# zpci_add_remove_lock -> kn->active(power): zpci_release_device() deregisters the slot with
# zpci_add_remove_lock held. Stock 7.3.4 has that chain as well and the livepatch leaves it
# (Documentation/torture.rst, "Found"); on x86_64 a slot power-off unplugs the device in QEMU.
storm_fns='' power_fns=''
if [ "$ZR_ARCH" = s390x ]; then
	ops="power recover unbind reset"
	[ "$mix" = full ] && ops="$ops remove"
	# The s390x-sriov machine (our QEMU): its PF's VFs are zPCI functions the platform adds
	# and removes; VF add/del and the VFs' driver join the mix.
	zr_fn_find pigb && [ -e "$ZR_DEV/sriov_totalvfs" ] && ops="$ops numvfs vfunbind"
	power_fns=${fns%% *}
	# Not an nvme PF with SR-IOV, as on x86_64 below (QEMU's nvme unplug after SR-IOV).
	for _f in ${fns#* }; do
		if [ "$(zr_fn_driver "$_f")" = nvme ] && zr_fn_find "$_f" && [ -e "$ZR_DEV/sriov_totalvfs" ]; then
			continue
		fi
		storm_fns="$storm_fns $_f"
	done
else
	zr_need_vfs
	ops="numvfs vfunbind reset"
	if [ "$mix" = full ]; then
		ops="$ops unbind remove power"
		# Nobody unplugs the nvme PF (host storm, slot power): QEMU 10.0.2 aborts in
		# nvme_subsys_unreserve_cntlids() (hw/nvme/subsys.c:48) on its unplug after SR-IOV.
		for _f in $fns; do
			if [ "$(zr_fn_driver "$_f")" = nvme ]; then
				:
			elif [ -z "$power_fns" ]; then
				power_fns=$_f
			else
				storm_fns="$storm_fns $_f"
			fi
		done
	fi
	for _f in $fns; do
		_d=$(zr_fn_dev "$_f") && [ -e "$_d/sriov_drivers_autoprobe" ] &&
			[ "$(zr_fn_driver "$_f")" = nvme ] && echo 0 >"$_d/sriov_drivers_autoprobe"
	done
fi
nops=0
for _o in $ops; do nops=$((nops + 1)); done
zr_have_host || storm_fns=''
[ "$use_host" = 1 ] || storm_fns=''

# nth N LIST...: the Nth word (0-based) of LIST.
nth() {
	shift $(($1 + 1))
	echo "$1"
}

# torture_op I: one operation of worker I from its seeded sequence, run by zr_worker again and
# again in the worker's subshell, where its state lasts (t_*); the counts go to $dir/I as
# "op.result=N" words after each operation. An operation that does not apply (na) is counted
# and the next one drawn, at most a list's worth, so that the budget counts operations done.
dir=/tmp/zr-torture.$$
mkdir -p "$dir"
torture_op() {
	local w=$1 tries=$((nops * nfns)) r k op fn res o x counts
	t_rng=${t_rng:-$(((seed + w * 104729) % 2147483648))} t_att=${t_att:-0}
	while [ "$tries" -gt 0 ]; do
		tries=$((tries - 1))
		t_rng=$(((t_rng * 1103515245 + 12345) % 2147483648))
		r=$((t_rng >> 8))
		# A worker's first nops operations walk the whole list (from an offset of its own), so
		# that even a short run tries every kind; then it is random.
		k=$((r % nops))
		[ "$t_att" -lt "$nops" ] && k=$(((t_att + w) % nops))
		# shellcheck disable=SC2086 # lists of words
		op=$(nth $k $ops)
		# shellcheck disable=SC2086
		fn=$(nth $(((r / nops) % nfns)) $fns)
		res=''
		if [ "$op" = power ]; then
			case " $power_fns " in *" $fn "*) ;; *) res=na ;; esac
		fi
		if [ -z "$res" ]; then
			"zr_op_$op" "$fn"
			case $? in 0) res=ok ;; 1) res=failed ;; *) res=na ;; esac
		fi
		t_att=$((t_att + 1))
		eval "t_c_${op}_$res=\$((\${t_c_${op}_$res:-0} + 1))"
		counts=''
		for o in $ops; do
			for x in ok failed na; do
				eval "counts=\"\$counts $o.$x=\${t_c_${o}_$x:-0}\""
			done
		done
		echo "$counts" >"$dir/$w"
		[ "$res" != na ] && break
	done
	return 0
}

ktap_print_header
ktap_set_plan 5
zr_canary
zr_log "torture: mix=$mix seed=$seed seconds=$seconds ops=$budget workers=$nworkers ops: $ops; host: ${storm_fns:-none}"
echo "# torture: seed $seed (replay: zr.torture_seed=$seed), mix $mix, workers $nworkers, operations: $ops"
t0=$(cut -d' ' -f1 /proc/uptime)
storm_ok=1
if [ -n "$storm_fns" ]; then
	# shellcheck disable=SC2086 # the function list is words
	zr_host_storm_start "$seed" 1500 $storm_fns || storm_ok=''
fi
# The budget in equal shares (0: the time bound only).
i=0
while [ "$i" -lt "$nworkers" ]; do
	: >"$dir/$i"
	share=0
	[ "$budget" -gt 0 ] && share=$(((budget + nworkers - 1 - i) / nworkers))
	zr_worker --rounds "$share" "torture$i" "$seconds" torture_op "$i"
	i=$((i + 1))
done
# Each worker stops at its share of the budget or at the time bound, whichever comes first, and
# how fast the budget goes is not known (0.1-0.3 operations per second and worker under TCG), so
# the bound is the time bound plus 60 s for the last operation; a worker still running then is
# stuck (zr_workers_wait names it).
zr_workers_wait $((seconds + 60))
stuck=$(zr_workers_stuck)
t1=$(cut -d' ' -f1 /proc/uptime)
storm=''
if [ -n "$storm_fns" ]; then
	if zr_host_storm_stop; then storm=$ZR_HOST_OUT; else storm_ok=''; fi
fi
zr_check "workers finished within their bound ($seconds s + 60 s)" [ "$stuck" = 0 ]
if [ -n "$storm_fns" ]; then
	zr_check "host worker (QMP hot-unplug/re-plug of $storm_fns) ran and stopped cleanly" [ -n "$storm_ok" ]
else
	ktap_test_skip "no host worker: ${ZR_ARCH} $mix mix without hot-unplug here (zr.torture_host=$use_host, or no host channel)"
fi

# Sum the workers' counts.
total_ok=0 total_failed=0 summary=''
for _o in $ops; do
	for _x in ok failed na; do
		_sum=0
		for _w in "$dir"/*; do
			read -r _l <"$_w"
			for _kv in $_l; do
				case "$_kv" in "$_o.$_x="*) _sum=$((_sum + ${_kv#*=})) ;; esac
			done
		done
		eval "sum_${_o}_$_x=$_sum"
		summary="$summary $_o.$_x=$_sum"
	done
	eval "total_ok=\$((total_ok + sum_${_o}_ok)) total_failed=\$((total_failed + sum_${_o}_failed))"
done
# Bring everything back, then count what is missing.
for _f in $fns; do
	_d=$(zr_fn_dev "$_f") && [ -e "$_d/sriov_numvfs" ] && echo 0 >"$_d/sriov_numvfs" 2>/dev/null
done
lost=0
for _f in $fns; do
	zr_restore_fn "$_f" || { lost=$((lost + 1)); echo "# $_f: not back and bound to $(zr_fn_driver "$_f")"; }
done
zr_check "every function back and bound to its driver ($nfns)" [ "$lost" = 0 ]

log=$(zr_dmesg_since)
lockdep=$(echo "$log" | grep -cE "$ZR_REPORT_LOCKDEP_RE")
hung=$(echo "$log" | grep -cE "$ZR_REPORT_HUNG_RE")
warn=$(echo "$log" | grep -cE "$ZR_REPORT_FAULT_RE")
if zr_patched; then
	zr_check "no kernel report (lockdep $lockdep, hung tasks $hung, WARNING/BUG $warn)" zr_no_reports
else
	# Stock 7.3.4 recover_store (F1): two recovers of one function race to remove the
	# attribute, kernfs warns "can not remove 'recover', no directory". Counted, allowed;
	# any other report fails.
	ZR_ALLOWED_REPORT=kernfs_remove_by_name_ns zr_check \
		"stock: no report but F1's recover WARNING (lockdep $lockdep, hung tasks $hung, WARNING/BUG $warn)" zr_no_reports
fi

secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
rate=$(awk -v n="$total_ok" -v f="$total_failed" -v s="$secs" 'BEGIN { printf "%.2f", (s > 0) ? (n + f) / s : 0 }')
kernel=stock
zr_patched && kernel=patched
# shellcheck disable=SC2086 # $summary is a list of OP.RESULT=N fields
zr_record torture arch="$ZR_ARCH" kernel="$kernel" mix="$mix" seed="$seed" workers="$nworkers" \
	budget="$budget" seconds="$secs" ops=$((total_ok + total_failed)) ok="$total_ok" \
	failed="$total_failed" ops_per_s="$rate" lockdep="$lockdep" hung="$hung" warnings="$warn" \
	lost="$lost" stuck="$stuck" host="${storm:-none}" $summary
zr_check "operations done ($((total_ok + total_failed)) in $secs s, $rate ops/s; $total_ok succeeded, $total_failed failed against a concurrent removal)" [ "$total_ok" -gt 0 ]
rm -rf "$dir"
ktap_finished
