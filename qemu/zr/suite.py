# SPDX-License-Identifier: GPL-2.0
"""The test suite as data: the in-guest tests (scripts/selftests/tests.list, which the guest's
runner reads too), the boots (qemu/suite/boots.toml, bench.toml) and the stock-vs-patched
scenarios (qemu/suite/scenarios.toml), read and checked against each other and the machines.
A boot's tests are composed, not listed: the tests of the scenario sides that name the boot and
the boot's own `checks`, in the one run order of tests.list. Every mistake is a UsageError
naming the file and the entry."""

import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .machine import UsageError, load_machine
from .reports import kind_names

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = os.path.join(TOP, "qemu", "suite")
MACHINES = os.path.join(TOP, "qemu", "machines")
TESTS_LIST = os.path.join(TOP, "scripts", "selftests", "tests.list")
KERNEL_CONFIGS = os.path.join(TOP, "scripts", "config")

# The tests that enable the livepatch: a boot that runs one of them is a patched boot from there.
PATCHING = ("zr_patch_on", "zr_lifecycle")
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
# A guest kernel parameter: no blanks (the command line is one string).
PARAM = re.compile(r"^\S+$")


@dataclass(frozen=True)
class Test:
    """One in-guest test: its deadline in seconds and whether it talks to the host."""
    name: str
    timeout: int
    host: bool


@dataclass
class BootSpec:
    """One guest boot: a machine, the tests it runs in order (composed: load_boots), and what its
    console and results must show."""
    name: str
    machine: str
    tests: list[str]
    title: str = ""
    reports: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    fail: list[str] = field(default_factory=list)
    timeout: str | None = None
    grace: int = 30
    boot_timeout: int = 600
    append: list[str] = field(default_factory=list)
    doc: str = ""

    def patched_from(self) -> int | None:
        """The index of the first test that enables the livepatch, None for a stock boot (a
        test the boot expects to fail enables nothing)."""
        return next((i for i, t in enumerate(self.tests) if t in PATCHING and t not in self.fail),
                    None)

    def runner_args(self) -> list[str]:
        """The boot runner's (zr.cli) options for these expectations."""
        out = ["--timeout", str(self.boot_timeout), "--grace", str(self.grace)]
        for kind in self.reports:
            out += ["--expect-report", kind]
        for kind in self.allow:
            out += ["--allow-report", kind]
        for suite in self.fail:
            out += ["--expect-fail", suite]
        if self.timeout:
            out += ["--expect-timeout", self.timeout]
        return out


@dataclass(frozen=True)
class Side:
    """Where a scenario shows on one kernel: a boot's test, and the report kinds the console
    must show while that test runs (stock only; console.reports_by_test)."""
    boot: str
    test: str
    shows: tuple[str, ...] = ()


@dataclass
class Scenario:
    """One row of the stock-vs-patched table: the test that shows it on each kernel."""
    id: str
    machine: str
    title: str
    stock: Side | None
    patched: Side
    no_stock: str = ""


def _words(s: str) -> str:
    return " ".join(s.split())


def read_tests(path: str = TESTS_LIST) -> dict[str, Test]:
    """tests.list: NAME TIMEOUT-SECONDS [host], in the run order of every boot."""
    tests: dict[str, Test] = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise UsageError(f"{path}: {e}") from e
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        w = line.split()
        if len(w) not in (2, 3) or not w[1].isdigit() or w[2:] not in ([], ["host"]):
            raise UsageError(f"{path}:{n}: want 'NAME TIMEOUT-SECONDS [host]', got '{line}'")
        if w[0] in tests:
            raise UsageError(f"{path}:{n}: test '{w[0]}' listed twice")
        tests[w[0]] = Test(w[0], int(w[1]), len(w) == 3)
    return tests


def _load_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"{path}: {e}") from e


def _str_list(where: str, key: str, val: Any) -> list[str]:
    if not isinstance(val, list) or not all(isinstance(x, str) and x for x in val):
        raise UsageError(f"{where}: '{key}' must be a list of non-empty strings")
    return list(val)


def _int(where: str, key: str, val: Any, lo: int, hi: int) -> int:
    if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= hi:
        raise UsageError(f"{where}: '{key}' must be a whole number in {lo}..{hi}")
    return val


def machine_names() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(MACHINES) if f.endswith(".toml"))


BOOT_KEYS = {"name", "title", "machine", "checks", "reports", "allow", "fail", "timeout", "grace",
             "boot_timeout", "append", "doc"}


def compose(where: str, checks: list[str], sides: list[str], tests: dict[str, Test]) -> list[str]:
    """A boot's tests: its checks and its scenarios' tests, in tests.list's order."""
    for t in checks:
        if t not in tests:
            raise UsageError(f"{where}: checks: no test '{t}' in scripts/selftests/tests.list")
    if len(set(checks)) != len(checks):
        raise UsageError(f"{where}: checks: a test is listed twice")
    both = [t for t in checks if t in sides]
    if both:
        raise UsageError(f"{where}: checks: {', '.join(both)} already run here for a scenario "
                         "(scenarios.toml): name a test once")
    order = list(tests)
    return sorted(set(checks) | set(sides), key=order.index)


def parse_boot(where: str, b: dict[str, Any], tests: dict[str, Test],
               sides: dict[str, list[str]]) -> BootSpec:
    unknown = set(b) - BOOT_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(BOOT_KEYS))})")
    for key in ("name", "machine"):
        if key not in b:
            raise UsageError(f"{where}: no '{key}'")
    name = b["name"]
    if not isinstance(name, str) or not NAME.match(name):
        raise UsageError(f"{where}: name '{name}' must be lower case letters, digits, '_.-'")
    where = f"{where} ('{name}')"
    if b["machine"] not in machine_names():
        raise UsageError(f"{where}: no machine '{b['machine']}' (qemu/machines/: "
                         f"{', '.join(machine_names())})")
    if not isinstance(b.get("title"), str) or not b["title"].strip():
        raise UsageError(f"{where}: no 'title' (what the boot shows, in a line)")
    composed = compose(where, _str_list(where, "checks", b.get("checks", [])),
                       sides.get(name, []), tests)
    spec = BootSpec(name, b["machine"], composed, _words(b["title"]),
                    _str_list(where, "reports", b.get("reports", [])),
                    _str_list(where, "allow", b.get("allow", [])),
                    _str_list(where, "fail", b.get("fail", [])),
                    b.get("timeout"),
                    _int(where, "grace", b.get("grace", 30), 0, 3600),
                    _int(where, "boot_timeout", b.get("boot_timeout", 600), 60, 172800),
                    _str_list(where, "append", b.get("append", [])),
                    _words(b.get("doc", "")) if isinstance(b.get("doc", ""), str) else "")
    check_boot(where, spec, tests)
    return spec


def check_boot(where: str, spec: BootSpec, tests: dict[str, Test]) -> None:
    """A boot's names against the tests, the report kinds and each other."""
    if not spec.tests:
        raise UsageError(f"{where}: no tests (no 'checks', and no scenario side names it)")
    for t in spec.tests:
        if t not in tests:
            raise UsageError(f"{where}: no test '{t}' in scripts/selftests/tests.list")
    if len(set(spec.tests)) != len(spec.tests):
        raise UsageError(f"{where}: a test is listed twice")
    kinds = kind_names()
    for key, ks in (("reports", spec.reports), ("allow", spec.allow)):
        for k in ks:
            if k not in kinds:
                raise UsageError(f"{where}: {key}: unknown report kind '{k}' "
                                 f"(qemu/zr/reports.py: {', '.join(kinds)})")
    both = set(spec.reports) & set(spec.allow)
    if both:
        raise UsageError(f"{where}: {', '.join(sorted(both))} both required and allowed")
    for t in spec.fail + ([spec.timeout] if spec.timeout is not None else []):
        if not isinstance(t, str) or t not in spec.tests:
            raise UsageError(f"{where}: '{t}' must fail or hang but is not one of its tests")
    if spec.timeout is not None and spec.tests[-1] != spec.timeout:
        raise UsageError(f"{where}: '{spec.timeout}' hangs until the host kills the guest: "
                         "it must be the boot's last test")
    for p in spec.append:
        if not PARAM.match(p):
            raise UsageError(f"{where}: append: '{p}' is not one kernel parameter")


def load_boots(path: str, tests: dict[str, Test] | None = None,
               sides: dict[str, list[str]] | None = None) -> tuple[list[BootSpec], list[str]]:
    """Read and check a boots file (boots.toml's format): its boots, each with its checks and the
    tests `sides` (scenario_sides) gives it, and the names of those in its optional 'run'
    list."""
    tests = read_tests() if tests is None else tests
    sides = {} if sides is None else sides
    data = _load_toml(path)
    if not set(data) <= {"boot", "run"} or not isinstance(data.get("boot"), list):
        raise UsageError(f"{path}: want [[boot]] tables and an optional 'run' list only")
    boots = [parse_boot(f"{os.path.basename(path)} boot {i + 1}", b, tests, sides)
             for i, b in enumerate(data["boot"])]
    seen: set[str] = set()
    for b in boots:
        if b.name in seen:
            raise UsageError(f"{path}: boot '{b.name}' defined twice")
        seen.add(b.name)
    run = _str_list(f"{path}: run", "run", data.get("run", []))
    for name in run:
        if name not in seen:
            raise UsageError(f"{path}: run: no boot '{name}'")
    return boots, run


def _side_shape(where: str, val: Any, stock: bool) -> None:
    keys = {"boot", "test", "shows"} if stock else {"boot", "test"}
    if (not isinstance(val, dict) or not {"boot", "test"} <= set(val) <= keys
            or not all(isinstance(val[k], str) for k in ("boot", "test"))):
        raise UsageError(f"{where}: want {{ boot = \"NAME\", test = \"TEST\""
                         + (", shows = [KIND...] }" if stock else " }"))


def scenario_sides(path: str, tests: dict[str, Test]) -> dict[str, list[str]]:
    """Boot name -> the tests the scenarios of `path` run in it (the rest of each scenario is
    checked by load_scenarios, once the boots are composed)."""
    data = _load_toml(path)
    if set(data) != {"scenario"} or not isinstance(data["scenario"], list):
        raise UsageError(f"{path}: want [[scenario]] tables only")
    out: dict[str, list[str]] = {}
    for i, s in enumerate(data["scenario"]):
        where = f"{os.path.basename(path)} scenario {i + 1} ('{s.get('id')}')"
        for side in ("stock", "patched"):
            if side not in s:
                continue
            _side_shape(f"{where} {side}", s[side], side == "stock")
            if s[side]["test"] not in tests:
                raise UsageError(f"{where} {side}: no test '{s[side]['test']}' in "
                                 "scripts/selftests/tests.list")
            out.setdefault(s[side]["boot"], []).append(s[side]["test"])
    return out


def _side(where: str, val: Any, boots: dict[str, BootSpec], stock: bool) -> Side:
    _side_shape(where, val, stock)
    b = boots.get(val["boot"])
    if b is None:
        raise UsageError(f"{where}: no boot '{val['boot']}' in boots.toml")
    if val["test"] not in b.tests:
        raise UsageError(f"{where}: boot '{b.name}' does not run {val['test']}")
    shows = _str_list(where, "shows", val.get("shows", []))
    # A kind the test must show is one its boot requires: a kind the boot only allows depends
    # on timing.
    for kind in shows:
        if kind not in b.reports:
            raise UsageError(f"{where}: shows {kind}, which boot '{b.name}' does not require "
                             f"(its reports: {', '.join(b.reports) or 'none'})")
    return Side(val["boot"], val["test"], tuple(shows))


def load_scenarios(path: str, boots: list[BootSpec]) -> list[Scenario]:
    """Read and check scenarios.toml against the boots: each side's boot runs its test, the
    stock side on the stock kernel and the patched side after the livepatch is enabled, both on
    one machine."""
    data = _load_toml(path)
    if set(data) != {"scenario"} or not isinstance(data["scenario"], list):
        raise UsageError(f"{path}: want [[scenario]] tables only")
    by_name = {b.name: b for b in boots}
    out: list[Scenario] = []
    for i, s in enumerate(data["scenario"]):
        where = f"{os.path.basename(path)} scenario {i + 1}"
        unknown = set(s) - {"id", "title", "stock", "patched", "no_stock"}
        if unknown:
            raise UsageError(f"{where}: unknown key {', '.join(sorted(unknown))}")
        for key in ("id", "title", "patched"):
            if key not in s:
                raise UsageError(f"{where}: no '{key}'")
        where = f"{where} ('{s['id']}')"
        if ("stock" in s) == ("no_stock" in s):
            raise UsageError(f"{where}: needs either 'stock' or 'no_stock' (the reason it has "
                             "no stock side)")
        patched = _side(f"{where} patched", s["patched"], by_name, stock=False)
        pb = by_name[patched.boot]
        if any(x.id == s["id"] and x.machine == pb.machine for x in out):
            raise UsageError(f"{where}: id defined twice for machine {pb.machine}")
        first = pb.patched_from()
        if first is None or pb.tests.index(patched.test) <= first:
            raise UsageError(f"{where} patched: boot '{pb.name}' runs {patched.test} before "
                             f"it enables the livepatch ({', '.join(PATCHING)})")
        stock = None
        if "stock" in s:
            stock = _side(f"{where} stock", s["stock"], by_name, stock=True)
            sb = by_name[stock.boot]
            first = sb.patched_from()
            if first is not None and sb.tests.index(stock.test) > first:
                raise UsageError(f"{where} stock: boot '{sb.name}' runs {stock.test} with the "
                                 "livepatch enabled")
            if sb.machine != pb.machine:
                raise UsageError(f"{where}: stock boot on {sb.machine}, patched on {pb.machine}")
        out.append(Scenario(s["id"], pb.machine, _words(s["title"]), stock, patched,
                            _words(s.get("no_stock", ""))))
    return out


@dataclass
class Suite:
    tests: dict[str, Test]
    boots: list[BootSpec]
    scenarios: list[Scenario]
    bench: list[BootSpec]
    run: list[str]

    def boot(self, name: str) -> BootSpec | None:
        return next((b for b in self.boots + self.bench if b.name == name), None)


def load_suite(suite_dir: str = SUITE) -> Suite:
    tests = read_tests()
    sides = scenario_sides(os.path.join(suite_dir, "scenarios.toml"), tests)
    boots, run = load_boots(os.path.join(suite_dir, "boots.toml"), tests, sides)
    bench, _ = load_boots(os.path.join(suite_dir, "bench.toml"), tests)
    clash = {b.name for b in boots} & {b.name for b in bench}
    if clash:
        raise UsageError(f"bench.toml: boot {', '.join(sorted(clash))} also in boots.toml")
    for b in boots + bench:
        check_machine(b.machine)
    scenarios = load_scenarios(os.path.join(suite_dir, "scenarios.toml"), boots)
    return Suite(tests, boots, scenarios, bench, run)


# Debian's own kernel of the linux-source package (Documentation/distro.rst).
DISTRO_KERNEL = "debian-amd64"


def check_machine(name: str) -> dict[str, Any]:
    """A machine definition, validated, that names a kernel config this tree has, or Debian's
    own kernel (DISTRO_KERNEL, scripts/build-distro.sh: x86_64 only)."""
    m = load_machine(os.path.join(MACHINES, f"{name}.toml"))
    kernel = m["machine"].get("kernel")
    if kernel == DISTRO_KERNEL:
        if m["machine"]["arch"] != "x86_64":
            raise UsageError(f"machine {name}: kernel {DISTRO_KERNEL} is an x86_64 kernel")
    elif not kernel or not os.path.isfile(os.path.join(KERNEL_CONFIGS, f"{kernel}.config")):
        raise UsageError(f"machine {name}: 'kernel' must name a config fragment of "
                         f"scripts/config/ or be {DISTRO_KERNEL!r} (got {kernel!r})")
    return m
