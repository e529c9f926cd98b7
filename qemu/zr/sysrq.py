# SPDX-License-Identifier: GPL-2.0
"""The sysrq dumps of a timed-out test, summed up on the host: at a test's deadline the guest's
runner (scripts/selftests/run.sh) writes console.SYSRQ_DUMP and asks the kernel for sysrq w
(tasks in uninterruptible sleep, with their stacks) and d (the locks every task holds, lockdep);
blocked_summary() makes one line of them for the test's failure."""

import re

# The first frame of a stack line ("[<000003ffe0123456>] pci_lock_rescan_remove+0x2c/0x40" on
# s390x, " pci_lock_rescan_remove+0x1a/0x30" on x86_64).
FRAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?=\+0x)")
# Frames that only say the task sleeps: the scheduler's and the sleeping locks'.
SLEEPING = re.compile(r"schedule|switch_to|^__mutex_lock|^mutex_lock|wait_for_common"
                      r"|wait_for_completion|^rwsem_down|^__down|^down_|^__wait|nanosleep")
TASK = re.compile(r"(?:^|\s)task:(\S+)")
HELD_BY = re.compile(r"\slocks? held by (\S+?):?$")
HELD_LOCK = re.compile(r"^\s*(?:\[[ 0-9.]+\])?\s+#\d+: ")
LOCK_NAME = re.compile(r"\(([^)]*)\)")
LOCKDEP_OFF = "INFO: lockdep is turned off"
# Frames kept per task, and the summary's bound (a failure line, not a dump).
FRAMES = 3
LIMIT = 600


def rust_symbol(name: str) -> str:
    """A Rust v0 symbol (_R...) as CRATE::..::NAME, its first and last identifiers; any other
    symbol unchanged."""
    if not name.startswith("_R"):
        return name
    crate = ""
    m = re.search(r"C(?:s[0-9A-Za-z]*_)?(\d+)", name)
    if m:
        crate = name[m.end():m.end() + int(m.group(1))]
    # The last identifier: a decimal length L, not preceded by a digit, then L characters.
    for n in range(1, len(name)):
        head = name[:len(name) - n]
        if head.endswith(str(n)) and len(head) > len(str(n)) and \
                not head[-len(str(n)) - 1].isdigit():
            return f"{crate}::..::{name[len(name) - n:]}"
    return name


def blocked_summary(lines: list[str]) -> str:
    """One line from the kernel lines of a sysrq w + d dump (time stamps stripped or not): the
    tasks in uninterruptible sleep, each with its first FRAMES frames that are not sleeping ones,
    and the locks every task holds (rcu_read_lock aside)."""
    blocked: list[str] = []
    held: list[str] = []
    task, frames, holder, lockdep_off = "", 0, "", False

    def flush() -> None:
        nonlocal task
        if task:
            blocked.append(task)
        task = ""

    for line in lines:
        if LOCKDEP_OFF in line:
            lockdep_off = True
            continue
        m = TASK.search(line)
        if m:
            flush()
            task, frames = m.group(1), 0
            continue
        m = HELD_BY.search(line)
        if m:
            flush()
            holder = m.group(1)
            continue
        if HELD_LOCK.search(line):
            m = LOCK_NAME.search(line)
            if holder and m and m.group(1) != "rcu_read_lock":
                held.append(f"{holder}:{m.group(1)}")
            continue
        m = FRAME.search(line)
        if task and frames < FRAMES and m and not SLEEPING.search(m.group(0)):
            task += ("<" if frames else " in ") + rust_symbol(m.group(0))
            frames += 1
    flush()
    if held:
        locks = ", ".join(held)
    else:
        locks = "unknown (lockdep is off after its first report)" if lockdep_off else "none"
    s = f"blocked: {'; '.join(blocked) or 'none'}; held: {locks}"
    return s if len(s) <= LIMIT else s[:LIMIT - 3] + "..."
