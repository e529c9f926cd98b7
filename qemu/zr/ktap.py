# SPDX-License-Identifier: GPL-2.0
"""KTAP: the guest's nested KTAP (one block per suite, opened by "# zr-suite: NAME") parsed into
leaf results, merged with the host's own checks and rendered as KTAP again."""

import re

from . import contract

Leaf = tuple[bool, str, str]   # (ok, description, directive)


class Results:
    """Leaf results, grouped in suites, rendered as nested KTAP."""

    def __init__(self) -> None:
        self.suites: list[tuple[str, list[Leaf], bool]] = []

    def add_suite(self, name: str, leaves: list[Leaf], suite_ok: bool | None = None) -> None:
        if suite_ok is None:
            suite_ok = all(ok or d.startswith("SKIP") for ok, _, d in leaves)
        self.suites.append((name, leaves, suite_ok))

    def counts(self) -> tuple[int, int, int]:
        p = f = s = 0
        for _, leaves, _ in self.suites:
            for ok, _, d in leaves:
                if d.upper().startswith("SKIP"):
                    s += 1
                elif ok:
                    p += 1
                else:
                    f += 1
        return p, f, s

    def expect_failed(self, name: str, timeout: bool = False) -> None:
        """Suite `name` is expected to fail (with a TIMEOUT if `timeout`): a failure becomes one
        passing result that quotes it, a pass becomes a failure."""
        for i, (n, leaves, _) in enumerate(self.suites):
            if n != name:
                continue
            bad = [desc for ok, desc, d in leaves if not ok and not d.upper().startswith("SKIP")]
            if timeout:
                bad = [b for b in bad if "TIMEOUT" in b]
            what = "a TIMEOUT" if timeout else "a failure"
            if bad:
                desc = f"fails as expected with {what}: {'; '.join(bad)}"
                self.suites[i] = (n, [(True, desc, "")], True)
            else:
                self.suites[i] = (n, leaves + [(False, f"expected {what}, got none", "")], False)
            return
        self.add_suite(name, [(False, "expected to run and fail, but it did not run", "")], False)

    def failures(self) -> list[str]:
        return [f"{n}: {desc}" for n, leaves, _ in self.suites for ok, desc, d in leaves
                if not ok and not d.upper().startswith("SKIP")]

    def ktap(self) -> str:
        out = ["KTAP version 1", f"1..{len(self.suites)}"]
        for i, (name, leaves, sok) in enumerate(self.suites, 1):
            out += ["  KTAP version 1", f"  # Subtest: {name}", f"  1..{len(leaves)}"]
            for j, (ok, desc, d) in enumerate(leaves, 1):
                out.append(f"  {'ok' if ok else 'not ok'} {j} {desc}" + (f" # {d}" if d else ""))
            out.append(f"{'ok' if sok else 'not ok'} {i} {name}")
        return "\n".join(out) + "\n"


LEAF = re.compile(r"^\s+(not ok|ok) \d+ (.*?)(?: # (.*))?$")
SUITE_BEGIN = contract.SUITE_BEGIN.pattern
SUITE_END = re.compile(r"^(not ok|ok) \d+ (\S+)(?: # (.*))?$")
# A suite's diagnostic line ("  # round 2: znvme not back"), not its totals.
DIAG = re.compile(r"^\s+#\s+(?!Totals:)(\S.*)$|^\s+(Bail out!.*)$")


def with_diag(desc: str, diag: str) -> str:
    """A failure's description with the guest's last diagnostic before it, so the failure line
    itself (all that a CI log may keep) says why."""
    return f"{desc} [{diag}]" if diag else desc


def parse_guest_ktap(text: str, timeouts: list[str], sysrq: dict[str, str],
                     results: Results) -> tuple[int | None, int]:
    """Guest KTAP: one nested block per suite, opened by '# zr-suite: NAME'. A failure carries
    the suite's last diagnostic line after its previous result; a suite that timed out (the
    guest's timeout or the host's deadline), what its sysrq dump shows (sysrq: test ->
    summary, console.Console.sysrq_summaries).
    Returns (planned suites or None, suites seen)."""
    cur: str | None = None
    leaves: list[Leaf] = []
    diag = ""
    plan, seen = None, 0
    for line in text.splitlines():
        m = re.match(r"^1\.\.(\d+)", line)
        if m and plan is None and cur is None:
            plan = int(m.group(1))
            continue
        m = SUITE_BEGIN.match(line)
        if m:
            seen += 1
            if cur:
                unfinished = (False, with_diag("suite did not finish", diag), "")
                results.add_suite(cur, [*leaves, unfinished], False)
            cur, leaves, diag = m.group(1), [], ""
            continue
        if cur is None:
            continue
        m = LEAF.match(line)
        if m:
            ok, desc = m.group(1) == "ok", m.group(2).strip()
            leaves.append((ok, desc if ok else with_diag(desc, diag), (m.group(3) or "").strip()))
            diag = ""
            continue
        m = DIAG.match(line)
        if m:
            diag = (m.group(1) or m.group(2)).strip()[:160]
            continue
        m = SUITE_END.match(line)
        if m and m.group(2) == cur:
            ok = m.group(1) == "ok"
            if (m.group(3) or "").startswith("TIMEOUT") and cur in sysrq:
                diag = sysrq[cur]
            if not ok and all(o or d.upper().startswith("SKIP") for o, _, d in leaves):
                why = f"suite exited with failure ({m.group(3) or 'no reason'})"
                leaves.append((False, with_diag(why, diag), ""))
            if not leaves:
                leaves.append((ok, "suite ran", m.group(3) or ""))
            results.add_suite(cur, leaves)
            cur = None
    if cur:
        why = "TIMEOUT" if cur in timeouts else "suite did not finish"
        diag = sysrq.get(cur, diag)
        results.add_suite(cur, leaves + [(False, with_diag(f"{cur}: {why}", diag), "")], False)
    return plan, seen
