# SPDX-License-Identifier: GPL-2.0
"""What a dead or killed guest leaves to explain it: QEMU's own exit, and the vCPUs' program
counters symbolised with the kernel's System.map."""

import bisect
import re


def load_symbols(path: str) -> list[tuple[int, str]]:
    """Sorted (address, name) of the text symbols of a System.map, or [] without one."""
    syms = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                w = line.split()
                if len(w) == 3 and w[1] in "tTwW":
                    syms.append((int(w[0], 16), w[2]))
    except (OSError, ValueError):
        return []
    syms.sort()
    return syms


def vcpu_pcs(regs: str) -> list[int]:
    """The program counters in HMP `info registers -a` output (x86 RIP=, s390x PSW=mask .. addr)."""
    found = re.findall(r"RIP=([0-9a-f]{16})|PSW=mask [0-9a-f]{16} addr ([0-9a-f]{16})", regs)
    return [int(rip or psw, 16) for rip, psw in found]


def symbolise(syms: list[tuple[int, str]], addr: int) -> str:
    """name+0xoff of the text symbol at or below `addr`, or "?"."""
    i = bisect.bisect_right(syms, (addr, "\uffff")) - 1
    if i < 0 or not syms:
        return "?"
    base, name = syms[i]
    return f"{name}+{addr - base:#x}"


def emulator_crash(returncode: int | None, killed: str | None, qemu_out: str) -> str | None:
    """Why QEMU itself died, or None: a non-zero exit the runner did not cause (it kills the
    guest only at a deadline), with QEMU's last message (e.g. a TCG assertion). A kernel that
    panics or hangs does not make QEMU exit non-zero."""
    if killed is not None or returncode in (None, 0):
        return None
    last = ""
    try:
        with open(qemu_out, encoding="utf-8", errors="replace") as f:
            lines = [s.strip() for s in f if s.strip()]
        last = lines[-1] if lines else ""
    except OSError:
        pass
    return f"qemu exit {returncode}" + (f": {last}" if last else "")


# The idle loop a halted x86_64 vCPU sits in (default_idle's HLT).
IDLE = re.compile(r"^# pc \S+ (default_idle|native_safe_halt|arch_cpu_idle)\+", re.M)


def tcg_freeze(killed: str | None, seen: list[str], vcpu_state: str) -> str | None:
    """A guest killed at a deadline with every vCPU halted in the idle loop and no hung-task
    report: QEMU's TCG stopped delivering timer interrupts to halted vCPUs (the silent x86_64
    freeze of Documentation/torture.rst). A deadlock leaves tasks blocked on a ticking kernel,
    which the hung-task detector reports; a frozen guest cannot. None otherwise."""
    if killed is None or "hung-task" in seen:
        return None
    halted = re.findall(r"\bHLT=([01])\b", vcpu_state)
    if not halted or "0" in halted or len(IDLE.findall(vcpu_state)) < len(halted):
        return None
    return f"every vCPU halted in the idle loop, no hung task ({len(halted)} vCPUs)"
