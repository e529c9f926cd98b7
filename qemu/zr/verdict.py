# SPDX-License-Identifier: GPL-2.0
"""The host's judgement of one boot: what the guest's suites must have shown (expected failures
and hangs), and the host's own checks (init reached, every suite delivered, the deadlines, QEMU
alive, kernel reports expected, allowed or absent)."""

import re
from dataclasses import dataclass, field

from .ktap import Leaf, Results
from .reports import kind_names


@dataclass
class Expectations:
    """What a boot must show (a boot of qemu/suite/boots.toml, as boot.py's options)."""
    reports: list[str] = field(default_factory=list)    # report kinds it must show
    allowed: list[str] = field(default_factory=list)    # report kinds it may show
    fail: list[str] = field(default_factory=list)       # suites that must fail
    timeout: str | None = None                          # the suite that must hang

    def errors(self) -> list[str]:
        """Contradictions and unknown names, one message each."""
        out = []
        kinds = set(kind_names())
        for opt, ks in (("--expect-report", self.reports), ("--allow-report", self.allowed)):
            out += [f"{opt} {k}: unknown kind (one of {', '.join(sorted(kinds))})"
                    for k in ks if k not in kinds]
        both = set(self.reports) & set(self.allowed)
        if both:
            out.append(f"{', '.join(sorted(both))}: both expected and allowed")
        return out


@dataclass
class Boot:
    """The facts of one finished boot, as the runner saw them."""
    reached_init: bool
    finished: bool
    killed: str | None
    timeouts: list[str]
    guest_ktap: str
    plan: int | None
    suites: int
    crash: str | None
    seen: list[str]                      # report kinds on the console, in order
    unexpected: dict[str, str]           # kind -> excerpt, for kinds neither expected nor allowed
    by_test: dict[str, list[str]] = field(default_factory=dict)  # test -> its report kinds
    shutdown_hung: bool = False          # killed after the suite's end, not before it


def first_during(boot: Boot, kind: str) -> str:
    """ " (first during TEST)" for the test during which the console first showed `kind`."""
    test = next((t for t, kinds in boot.by_test.items() if kind in kinds), None)
    return f" (first during {test})" if test else ""


def judge_suites(results: Results, expect: Expectations) -> None:
    for suite in expect.fail:
        results.expect_failed(suite)
    if expect.timeout:
        results.expect_failed(expect.timeout, timeout=True)


def host_checks(boot: Boot, expect: Expectations) -> list[Leaf]:
    host: list[Leaf] = [(boot.reached_init, "guest reached /init", "")]
    host.append((boot.plan is not None and boot.plan > 0 and boot.suites == boot.plan,
                 f"guest KTAP channel delivered all suites ({boot.suites} of "
                 f"{boot.plan if boot.plan is not None else '?'})", ""))
    killed = f" ({boot.killed})" if boot.killed else ""
    if expect.timeout:
        # The guest's own `timeout` may end the hung test first (the test is then reported
        # "# TIMEOUT" by the guest runner), or the host kills the wedged guest.
        hung = expect.timeout in boot.timeouts or re.search(
            rf"^not ok \d+ {re.escape(expect.timeout)} # TIMEOUT", boot.guest_ktap, re.M)
        host.append((bool(hung), f"{expect.timeout} hung until its deadline, as expected" + killed,
                     ""))
    else:
        host.append((boot.finished and (boot.killed is None or boot.shutdown_hung),
                     "guest suite finished before its deadline" + killed, ""))
    crash = f" ({boot.crash})" if boot.crash else ""
    host.append((boot.crash is None, "QEMU did not crash" + crash, ""))
    for kind in expect.reports:
        host.append((kind in boot.seen, f"console shows the expected {kind} report", ""))
    for kind in kind_names():
        if kind in expect.reports:
            continue
        if kind in expect.allowed:
            shows = "shows" if kind in boot.seen else "has no"
            host.append((True, f"console {shows} {kind} report (allowed in this boot)", ""))
            continue
        clean = kind not in boot.unexpected
        where = "" if clean else first_during(boot, kind)
        host.append((clean, f"console has no {kind} report{where}", ""))
    return host
