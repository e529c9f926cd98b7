# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the suite's data and the harness's command line (zr.suite, zr.main,
zr.session, zr.scenarios): the data of this tree is consistent, every mistake in it is named,
the plans of test and torture are what the options say, and a boot's results are read back as
the boot runner wrote them. Run from qemu/: python3 -m unittest test_suite"""

import argparse
import contextlib
import dataclasses
import io
import json
import os
import shutil
import tempfile
import unittest
import unittest.mock

from zr import checks, record, scenarios, session, suite
from zr.machine import UsageError
from zr.main import README_BEGIN, README_END, parse_args, readme_boots, test_plan, torture_plan
from zr.suite import (
    DISTRO_KERNEL,
    MACHINES,
    BootSpec,
    Test,
    check_boot,
    check_machine,
    load_boots,
    load_scenarios,
    load_suite,
    read_tests,
    scenario_sides,
)

# In run order: zr_a may run before the livepatch is enabled, zr_b only after.
TESTS = {n: Test(n, 60, False) for n in ("zr_a", "zr_patch_on", "zr_b", "zr_c", "zr_hang")}


def write(tmp: str, name: str, text: str) -> str:
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class SuiteData(unittest.TestCase):
    def test_tree_is_consistent(self):
        s = load_suite()
        self.assertTrue(s.boots and s.scenarios and s.bench and s.run)
        # Every scenario names its machine through its boots; every boot's tests exist.
        for sc in s.scenarios:
            self.assertEqual(s.boot(sc.patched.boot).machine, sc.machine)
        self.assertEqual(set(s.run) - {b.name for b in s.boots}, set())

    def test_readme_lists_the_boots(self):
        readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "README.md")
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        want = readme_boots(load_suite())
        self.assertIn(want, text, "README.md's list of boots is not the data's: "
                                  "scripts/zr check --readme prints it")
        self.assertEqual(text.count(README_BEGIN) + text.count(README_END), 2,
                         "README.md has the generated list's markers more than once")

    def boots(self, text: str, sides: dict[str, list[str]] | None = None) -> list[BootSpec]:
        with tempfile.TemporaryDirectory() as tmp:
            return load_boots(write(tmp, "boots.toml", text), TESTS, sides)[0]

    def refused(self, text: str, want: str) -> None:
        with self.assertRaises(UsageError) as cm:
            self.boots(text)
        self.assertIn(want, str(cm.exception))

    def test_boot_fields(self):
        b = self.boots('[[boot]]\nname = "x"\ntitle = "t"\nmachine = "s390x"\nchecks = ["zr_a", "zr_hang"]\n'
                       'reports = ["hung-task"]\nallow = ["warning"]\ntimeout = "zr_hang"\n'
                       'grace = 5\nappend = ["zr.a=1"]\n')[0]
        self.assertEqual(b.runner_args(), ["--timeout", "600", "--grace", "5", "--expect-report",
                                           "hung-task", "--allow-report", "warning",
                                           "--expect-timeout", "zr_hang"])
        self.assertIsNone(b.patched_from())

    def test_boot_mistakes_are_named(self):
        head = '[[boot]]\nname = "x"\ntitle = "t"\nmachine = "s390x"\n'
        for text, want in (
                (head + 'checks = ["zr_nope"]\n', "checks: no test 'zr_nope'"),
                (head + 'tests = ["zr_a"]\n', "unknown key tests"),
                ('[[boot]]\nname = "x"\ntitle = "t"\nmachine = "arm"\nchecks = ["zr_a"]\n',
                 "no machine 'arm'"),
                ('[[boot]]\nname = "x"\nmachine = "s390x"\nchecks = ["zr_a"]\n', "no 'title'"),
                (head + 'checks = ["zr_a"]\nreports = ["lockdep-nope"]\n',
                 "unknown report kind 'lockdep-nope'"),
                (head + 'checks = ["zr_a"]\nreports = ["warning"]\nallow = ["warning"]\n',
                 "both required and allowed"),
                (head + 'checks = ["zr_a", "zr_b"]\ntimeout = "zr_a"\n', "must be the boot's last"),
                (head + 'checks = ["zr_a"]\nfail = ["zr_b"]\n', "is not one of its tests"),
                (head + 'checks = ["zr_a"]\ngrace = "5"\n', "'grace' must be a whole number"),
                (head + 'checks = ["zr_a"]\nappend = ["a b"]\n', "is not one kernel parameter"),
                (head + 'checks = ["zr_a"]\nexpect = []\n', "unknown key expect"),
                (head + 'checks = []\n', "no tests"),
                (head, "no tests"),
                (head + 'checks = ["zr_a", "zr_a"]\n', "listed twice"),
                (head + 'checks = ["zr_a"]\n' + head + 'checks = ["zr_b"]\n', "defined twice"),
                ('[[boot]]\nname = "X"\ntitle = "t"\nmachine = "s390x"\nchecks = ["zr_a"]\n',
                 "lower case"),
                ('run = ["y"]\n' + head + 'checks = ["zr_a"]\n', "run: no boot 'y'"),
                ('[boot]\n', "want [[boot]] tables"),
                (head + 'checks = [\n', "boots.toml")):
            self.refused(text, want)

    def test_boot_tests_are_composed(self):
        # The checks and the scenarios' tests, in tests.list's order whatever the lists' order.
        b = self.boots('[[boot]]\nname = "x"\ntitle = "t"\nmachine = "s390x"\n'
                       'checks = ["zr_hang", "zr_a"]\n', {"x": ["zr_b", "zr_patch_on"]})[0]
        self.assertEqual(b.tests, ["zr_a", "zr_patch_on", "zr_b", "zr_hang"])
        self.assertEqual(b.patched_from(), 1)
        only = self.boots('[[boot]]\nname = "x"\ntitle = "t"\nmachine = "s390x"\n',
                          {"x": ["zr_c", "zr_c"], "y": ["zr_a"]})[0]
        self.assertEqual(only.tests, ["zr_c"])
        failing = self.boots('[[boot]]\nname = "x"\ntitle = "t"\nmachine = "s390x"\n'
                             'checks = ["zr_patch_on", "zr_b"]\nfail = ["zr_patch_on"]\n')[0]
        self.assertIsNone(failing.patched_from(), "a test that must fail enables nothing")

    def scenarios(self, text: str):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(tmp, "scenarios.toml", text)
            boots = self.boots('[[boot]]\nname = "stock"\ntitle = "t"\nmachine = "s390x"\n'
                               'checks = ["zr_c"]\nreports = ["hung-task"]\n'
                               'allow = ["warning"]\n'
                               '[[boot]]\nname = "patched"\ntitle = "t"\nmachine = "s390x"\n'
                               'checks = ["zr_patch_on"]\n'
                               '[[boot]]\nname = "x86"\ntitle = "t"\nmachine = "x86_64"\n'
                               'checks = ["zr_patch_on"]\n', scenario_sides(path, TESTS))
            return load_scenarios(path, boots)

    def test_scenario_mistakes_are_named(self):
        ok = ('[[scenario]]\nid = "S"\ntitle = "t"\nstock = { boot = "stock", test = "zr_a" }\n'
              'patched = { boot = "patched", test = "zr_b" }\n')
        self.assertEqual(self.scenarios(ok)[0].machine, "s390x")
        shows = ok.replace('test = "zr_a" }', 'test = "zr_a", shows = ["hung-task"] }')
        self.assertEqual(self.scenarios(shows)[0].stock.shows, ("hung-task",))
        for text, want in (
                (ok.replace('test = "zr_b"', 'test = "zr_a"'), "before it enables the livepatch"),
                (ok.replace('boot = "stock", test = "zr_a"', 'boot = "patched", test = "zr_b"'),
                 "with the livepatch enabled"),
                (ok.replace('boot = "stock"', 'boot = "nope"'), "no boot 'nope'"),
                (ok.replace('test = "zr_b"', 'test = "zr_nope"'),
                 "scenario 1 ('S') patched: no test 'zr_nope'"),
                (ok.replace('test = "zr_a"', 'test = "zr_c"'),
                 "checks: zr_c already run here for a scenario"),
                (ok.replace('"patched", test = "zr_b"', '"x86", test = "zr_b"'),
                 "stock boot on s390x, patched on x86_64"),
                (ok.replace('stock = { boot = "stock", test = "zr_a" }\n', ''),
                 "either 'stock' or 'no_stock'"),
                (ok + ok, "id defined twice for machine s390x"),
                (ok.replace('title = "t"\n', ''), "no 'title'"),
                (ok + 'colour = "red"\n', "unknown key colour"),
                (ok.replace('test = "zr_a" }', 'test = "zr_a", shows = ["warning"] }'),
                 "shows warning, which boot 'stock' does not require (its reports: hung-task)"),
                (ok.replace('test = "zr_b" }', 'test = "zr_b", shows = ["hung-task"] }'),
                 'want { boot = "NAME", test = "TEST" }')):
            with self.assertRaises(UsageError) as cm:
                self.scenarios(text)
            self.assertIn(want, str(cm.exception), text)

    def test_tests_list_mistakes(self):
        with tempfile.TemporaryDirectory() as tmp:
            for text, want in (("zr_a sixty\n", "want 'NAME TIMEOUT-SECONDS [host]'"),
                               ("zr_a 60\nzr_a 30\n", "listed twice"),
                               ("zr_a 60 guest\n", "want 'NAME")):
                with self.assertRaises(UsageError) as cm:
                    read_tests(write(tmp, "tests.list", text))
                self.assertIn(want, str(cm.exception))


def args(cmd: str, env: dict[str, str]) -> argparse.Namespace:
    saved = dict(os.environ)
    try:
        for k in list(os.environ):
            if k.startswith(("ZR_", "TORTURE_")) and k != "ZR_CACHE":
                del os.environ[k]
        os.environ.update(env)
        return parse_args([cmd])
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Plans(unittest.TestCase):
    def setUp(self):
        self.suite = load_suite()

    def test_test_plan(self):
        self.assertEqual(len(test_plan(self.suite, args("test", {}))), len(self.suite.boots))
        plan = test_plan(self.suite, args("test", {"ZR_MACHINES": "x86_64"}))
        self.assertTrue(plan and all(b.machine == "x86_64" for b in plan))
        plan = test_plan(self.suite, args("test", {"ZR_BOOTS": "harness patched"}))
        self.assertEqual([b.name for b in plan], ["patched", "harness"])  # the data's order
        plan = test_plan(self.suite, args("test", {"ZR_TESTS": "zr_module zr_identity"}))
        self.assertEqual([(b.name, b.machine, b.tests) for b in plan],
                         [("custom", "s390x", ["zr_module", "zr_identity"])])

    def test_torture_plan(self):
        plan = torture_plan(self.suite, args("torture", {"TORTURE_SECONDS": "60",
                                                         "TORTURE_SEED": "7"}))
        names = [b.name for b in plan]
        self.assertEqual(names, ["torture-s390x-stock", "torture-s390x-patched",
                                 "torture-x86_64-stock", "torture-x86_64-patched",
                                 "torture-lifecycle", "torture-s390x-full",
                                 "torture-x86_64-full"])
        stock = plan[0]
        self.assertEqual(stock.allow, ["warning"])
        self.assertIn("zr.torture_seed=7", stock.append)
        self.assertIn("zr.timeout_zr_torture=660", stock.append)
        self.assertEqual(stock.boot_timeout, 1260)
        plan = torture_plan(self.suite, args("torture", {"TORTURE_MACHINES": "x86_64",
                                                         "TORTURE_FULL": "0"}))
        self.assertEqual([b.name for b in plan], ["torture-x86_64-stock",
                                                  "torture-x86_64-patched"])
        plan = torture_plan(self.suite, args("torture", {"ZR_BOOTS": "torture-lifecycle"}))
        self.assertEqual([b.name for b in plan], ["torture-lifecycle"])
        with self.assertRaises(UsageError):
            torture_plan(self.suite, args("torture", {"ZR_BOOTS": "pipeline"}))


class SessionPieces(unittest.TestCase):
    def test_emulator_fault(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "summary.json")
            self.assertEqual(session.emulator_fault(p), "")
            for summary, want in (({"qemu_crash": "QEMU exited with signal 11"}, "signal 11"),
                                  ({"early_stall": "no /init"}, "early boot stalled: no /init"),
                                  ({"timer_lost": "rcu: x"}, "lost its timer interrupt"),
                                  ({"tcg_freeze": "every vCPU halted"}, "the guest froze"),
                                  ({"early_report": "[ 0.003] BUG: KASAN: x"},
                                   "a kernel report before /init"),
                                  ({"qemu_crash": None}, "")):
                with open(p, "w", encoding="utf-8") as f:
                    json.dump(summary, f)
                self.assertIn(want, session.emulator_fault(p))

    def test_host_test_records(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = write(tmp, "host.txt", "host-a 3 1 0\nhost-b 2 0 1\n")
            write(tmp, "host.txt.failures", "FAILED host-a: test_x (m.T) ... FAIL\n")
            r = record.Results()
            r.read_host_tests(p)
            self.assertEqual(r.totals(), (5, 1, 1))
            self.assertEqual(r.records[0].failures, ["test_x (m.T) ... FAIL"])
            r = record.Results()
            r.read_host_tests(os.path.join(tmp, "missing"))
            self.assertEqual(r.totals(), (0, 1, 0))

    def test_jobs(self):
        for bad in ("0", "x", "100", "02", ""):
            with self.assertRaises(UsageError):
                session.check_jobs(bad)
        self.assertEqual(session.check_jobs("4"), 4)

    def test_distro_machine_needs_root(self):
        """Debian's kernel: an x86_64 machine only, and without root its boots are skipped,
        named, before anything is prepared."""
        self.assertEqual(check_machine("distro-amd64")["machine"]["kernel"], DISTRO_KERNEL)
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(MACHINES, "s390x.toml"), os.path.join(tmp, "base.toml"))
            write(tmp, "bad.toml", f'[machine]\nbase = "base"\nkernel = "{DISTRO_KERNEL}"\n')
            old = suite.MACHINES
            suite.MACHINES = tmp
            try:
                with self.assertRaisesRegex(UsageError, "is an x86_64 kernel"):
                    check_machine("bad")
            finally:
                suite.MACHINES = old
        plan = [b for b in load_suite().boots if b.machine in ("distro-amd64", "x86_64")][:20]
        s = session.Session(load_suite(), plan)
        with unittest.mock.patch.object(os, "geteuid", return_value=1000), \
                unittest.mock.patch.object(session, "BUILD", tempfile.mkdtemp()), \
                unittest.mock.patch.object(session.subprocess, "run") as run, \
                contextlib.redirect_stdout(io.StringIO()) as out:
            run.return_value.returncode = 1
            s.prepare_machines()
        self.assertTrue(all(b.machine != "distro-amd64" for b in s.plan))
        skipped = [r.name for r in s.results.records if r.skipped == 1]
        self.assertIn("distro-patched", skipped)
        self.assertIn("needs root", out.getvalue())
        self.assertEqual({c.args[0][1] for c in run.call_args_list} - {"x86_64"}, set())

    def test_boot_argv(self):
        s = session.Session(load_suite(), [], append="zr.x=1")
        s.prepared["s390x"] = checks.Prepared("s390x", "s390x", "s390x", "/k", "/i", None)
        b = BootSpec("b", "s390x", ["zr_module"], "t", append=["zr.y=2"])
        check_boot("b", b, load_suite().tests)
        argv = s.boot_argv(b)
        self.assertEqual(argv[argv.index("--append") + 1], "zr.tests=zr_module zr.y=2 zr.x=1")
        self.assertNotIn("--qemu", argv)


class Spoiled(unittest.TestCase):
    HALTED = ("# pc ffffffff814fe093 default_idle+0x13\n# pc ffffffff814fe093 default_idle+0x13\n"
              "RIP=ffffffff814fe093 RFL=00000246 HLT=1\nRIP=ffffffff814fe093 RFL=00000246 HLT=1\n")

    def test_tcg_freeze(self):
        from zr.diagnose import tcg_freeze
        self.assertIn("halted", tcg_freeze("deadline", [], self.HALTED))
        self.assertIsNone(tcg_freeze(None, [], self.HALTED))
        self.assertIsNone(tcg_freeze("deadline", ["hung-task"], self.HALTED))
        busy = self.HALTED.replace("HLT=1\n", "HLT=0\n", 1)
        self.assertIsNone(tcg_freeze("deadline", [], busy))
        elsewhere = self.HALTED.replace("default_idle", "mutex_lock", 1)
        self.assertIsNone(tcg_freeze("deadline", [], elsewhere))
        self.assertIsNone(tcg_freeze("deadline", [], ""))

    def test_reports_by_test(self):
        from zr.console import OUTSIDE, Console
        con = Console.parse(["[    1.0] WARNING: CPU: 0 PID: 1 at x",
                             "[    2.0] zr-test: begin zr_a timeout=10",
                             "  # KTAP echo: WARNING: not a kernel line",
                             "[    2.5] INFO: task insmod:12 blocked for more than 10 seconds.",
                             "[    3.0] zr-test: end zr_a rc=0",
                             "[    4.0] zr-test: begin zr_b timeout=10",
                             "[    5.0] BUG: unable to handle page fault for address: 0"])
        self.assertEqual(con.reports_by_test(), {OUTSIDE: ["warning"], "zr_a": ["hung-task"],
                                                 "zr_b": ["bug"]})

    def test_early_report(self):
        from zr.console import Console
        early = Console.parse(["[    0.003260] BUG: KASAN: wild-memory-access in x+0x1",
                               "zr-init: start 7.3.4"])
        self.assertIn("KASAN", early.early_report())
        late = Console.parse(["[    0.1] booting", "zr-init: start 7.3.4",
                              "[   22.1] BUG: KASAN: slab-use-after-free in y+0x1"])
        self.assertIsNone(late.early_report())


class Table(unittest.TestCase):
    def test_rows(self):
        suite = load_suite()
        sc = next(s for s in suite.scenarios if s.id == "nest")
        with tempfile.TemporaryDirectory() as runs:
            boot = sc.stock.boot
            os.makedirs(os.path.join(runs, boot))
            write(runs, f"{boot}.ktap", f"not ok 2 {sc.stock.test} # TIMEOUT\n")
            with open(os.path.join(runs, boot, "summary.json"), "w", encoding="utf-8") as f:
                json.dump({"reports_seen": ["warning", "hung-task", "lockdep-recursive"],
                           "reports_by_test": {"(outside the tests)": ["warning"],
                                               sc.stock.test: ["hung-task", "lockdep-recursive",
                                                               "hung-task"]},
                           "killed": "deadline"}, f)
            out = os.path.join(runs, "scenarios.md")
            rows = scenarios.write([sc], runs, out, {boot})
            self.assertEqual(rows[0][3], "test FAIL (timeout); reports: hung-task, "
                                         "lockdep-recursive (rest of the boot: warning); "
                                         "guest ended at the deadline")
            self.assertEqual(rows[0][4], "not run")
            with open(out, encoding="utf-8") as f:
                self.assertIn("| nest | s390x |", f.read())
            self.assertIn("stock:   test FAIL", scenarios.text(rows))
            # A scenario without a stock side says why; its patched side alone shows it.
            ns = next(s for s in suite.scenarios if s.stock is None)
            row = scenarios.rows([ns], runs, set())[0]
            self.assertEqual(row[3], f"n/a: {ns.no_stock}")
            self.assertEqual(scenarios.text([row]), "(no scenario's boots ran)")

    def test_verdicts_judge_what_the_test_showed(self):
        suite = load_suite()
        sc = next(s for s in suite.scenarios if s.id == "nest")
        boot = sc.stock.boot
        with tempfile.TemporaryDirectory() as runs:
            os.makedirs(os.path.join(runs, boot))
            write(runs, f"{boot}.ktap", f"ok 1 {sc.stock.test}\n")

            def judged(by_test, shows=("lockdep-recursive",)):
                with open(os.path.join(runs, boot, "summary.json"), "w", encoding="utf-8") as f:
                    json.dump({"reports_by_test": by_test}, f)
                s = dataclasses.replace(sc, stock=dataclasses.replace(sc.stock, shows=shows))
                return scenarios.verdicts([s], runs, {boot})
            self.assertEqual(judged({sc.stock.test: ["lockdep-recursive"]}),
                             [("scenario-nest-s390x", None)])
            self.assertEqual(judged({"zr_zpci_enum": ["lockdep-recursive"]}),
                             [("scenario-nest-s390x", "nest stock: the console showed no report "
                               f"while {sc.stock.test} ran, want lockdep-recursive ({boot})")])
            self.assertEqual(judged({}, shows=()), [])
            self.assertEqual(scenarios.verdicts([sc], runs, set()), [])


if __name__ == "__main__":
    unittest.main()
