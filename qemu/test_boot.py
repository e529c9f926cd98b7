# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the QEMU runner: machine loading, QEMU argv, guest KTAP and console parsing."""

import asyncio
import os
import tempfile
import textwrap
import unittest

from zr import console, control, diagnose, ktap, machine

S390X = os.path.join(os.path.dirname(__file__), "machines", "s390x.toml")
X86_64 = os.path.join(os.path.dirname(__file__), "machines", "x86_64.toml")
S390X_SRIOV = os.path.join(os.path.dirname(__file__), "machines", "s390x-sriov.toml")


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text))
    return path


class MachineTest(unittest.TestCase):
    def test_s390x_definition_loads(self):
        m = machine.load_machine(S390X)
        self.assertEqual(m["machine"]["arch"], "s390x")
        self.assertEqual([f["id"] for f in m["function"]], ["zigb", "znvme", "znet"])

    def test_zpci_device_comes_first_and_targets_the_function(self):
        m = machine.load_machine(S390X)
        devs = machine.function_qdevs(m, m["function"][2])
        self.assertEqual(devs[0], {"driver": "zpci", "id": "zpci-znet", "uid": 3, "fid": 3,
                                   "target": "znet"})
        self.assertEqual(devs[1], {"driver": "virtio-net-pci", "id": "znet", "netdev": "nd1",
                                   "romfile": ""})

    def test_argv_has_console_qmp_and_restricted_user_net(self):
        m = machine.load_machine(S390X)
        argv = machine.qemu_argv(m, "k", "i", "zr.functions=x", "/r")
        self.assertIn("console=ttysclp0 cio_ignore=all,!condev zr.functions=x", argv)
        # The host channel is a zPCI function of its own, its zpci device first.
        i = argv.index("virtio-serial-pci,id=zrvser")
        self.assertEqual(argv[i - 3:i], ["-device", "zpci,id=zpci-zrvser,uid=16,fid=16,target=zrvser", "-device"])
        self.assertIn("unix:/r/qmp.sock,server=on,wait=off", argv)
        nets = [a for a in argv if a.startswith("user,")]
        self.assertTrue(nets and all("restrict=on" in a for a in nets))

    def test_guest_cmdline_lists_functions(self):
        m = machine.load_machine(S390X)
        self.assertEqual(machine.guest_cmdline(m),
                         "zr.functions=zigb:1:igb;znvme:2:nvme;znet:3:virtio-pci zr.control_fid=16")

    def test_x86_64_functions_sit_in_root_port_slots(self):
        m = machine.load_machine(X86_64)
        self.assertEqual(machine.guest_cmdline(m), "zr.functions=pigb:1:igb;pnvme:2:nvme;pigb2:3:igb")
        devs = machine.function_qdevs(m, m["function"][0])
        self.assertEqual(devs, [{"driver": "igb", "id": "pigb", "bus": "rp1", "netdev": "nd0",
                                 "romfile": ""}])
        argv = machine.qemu_argv(m, "k", "i", "", "/r")
        ports = [argv[i + 1] for i, a in enumerate(argv) if a == "-device"]
        # Every function's bus is a root port created before it.
        for fn in m["function"]:
            port = next(i for i, d in enumerate(ports) if d.startswith(f"pcie-root-port,id={fn['bus']},"))
            self.assertLess(port, next(i for i, d in enumerate(ports) if f",id={fn['id']}," in d))
        self.assertIn("virtio-serial-pci,id=zrvser", argv)

    def test_bad_definitions_are_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            cases = {
                "nomachine.toml": "x = 1\n",
                "dup.toml": """
                    [machine]
                    arch = "x86_64"
                    qemu = "q"
                    args = []
                    console = "ttyS0"
                    control = "virtio-serial-pci"
                    [[function]]
                    id = "a"
                    device = "d"
                    driver = "x"
                    [[function]]
                    id = "a"
                    device = "d"
                    driver = "x"
                    """,
                "nofid.toml": """
                    [machine]
                    arch = "s390x"
                    qemu = "q"
                    args = []
                    console = "c"
                    control = "v"
                    [[function]]
                    id = "a"
                    device = "d"
                    driver = "x"
                    """,
                "noslot.toml": """
                    [machine]
                    arch = "x86_64"
                    qemu = "q"
                    args = []
                    console = "c"
                    control = "v"
                    [[function]]
                    id = "a"
                    device = "d"
                    driver = "x"
                    bus = "rp1"
                    """,
                "ctlfid.toml": """
                    [machine]
                    arch = "s390x"
                    qemu = "q"
                    args = []
                    console = "c"
                    control = "v"
                    control_fid = 1
                    [[function]]
                    id = "a"
                    device = "d"
                    driver = "x"
                    uid = 1
                    fid = 1
                    """,
                "broken.toml": "[machine\n",
            }
            for name, text in cases.items():
                with self.subTest(name=name), self.assertRaises(machine.UsageError):
                    machine.load_machine(write(tmp, name, text))
            with self.assertRaises(machine.UsageError):
                machine.load_machine(os.path.join(tmp, "missing.toml"))

    def test_props_need_key_value(self):
        self.assertEqual(machine.parse_props("a=b,c="), {"a": "b", "c": ""})
        with self.assertRaises(machine.UsageError):
            machine.parse_props("a=b,oops")


GUEST_OK = """\
KTAP version 1
1..2
# zr-suite: one
  TAP version 13
  1..2
  ok 1 first
  ok 2 second # SKIP not here
ok 1 one
# zr-suite: two
  TAP version 13
  1..1
  not ok 1 broken thing
not ok 2 two # exit 1
"""


class GuestKtapTest(unittest.TestCase):
    def test_leaves_are_counted_per_suite(self):
        res = ktap.Results()
        self.assertEqual(ktap.parse_guest_ktap(GUEST_OK, [], {}, res), (2, 2))
        self.assertEqual(res.counts(), (1, 1, 1))
        self.assertEqual(res.failures(), ["two: broken thing"])

    def test_unfinished_suite_is_a_failure_and_a_timeout_is_named(self):
        text = "# zr-suite: hang\n  1..3\n  ok 1 a\n"
        res = ktap.Results()
        ktap.parse_guest_ktap(text, ["hang"], {}, res)
        self.assertEqual(res.counts(), (1, 1, 0))
        self.assertIn("TIMEOUT", res.failures()[0])
        res = ktap.Results()
        ktap.parse_guest_ktap(text, [], {}, res)
        self.assertIn("did not finish", res.failures()[0])

    def test_failed_suite_without_failed_leaf_still_fails(self):
        text = "# zr-suite: s\n  1..2\n  ok 1 a\nnot ok 1 s # exit 1\n"
        res = ktap.Results()
        ktap.parse_guest_ktap(text, [], {}, res)
        self.assertEqual(res.counts(), (1, 1, 0))

    def test_a_failure_carries_the_last_diagnostic_before_it(self):
        text = ("# zr-suite: s\n  1..3\n  # round 1: fine\n  ok 1 a\n  # round 2: znvme not back\n"
                "  not ok 2 rounds (1 done)\n  # Totals: pass:1 fail:1\n  not ok 3 b\n"
                "not ok 1 s # exit 1\n# zr-suite: t\n  1..2\n  # waiting for x\n")
        res = ktap.Results()
        ktap.parse_guest_ktap(text, ["t"], {}, res)
        self.assertEqual(res.failures(), ["s: rounds (1 done) [round 2: znvme not back]", "s: b",
                                          "t: t: TIMEOUT [waiting for x]"])
        res = ktap.Results()
        ktap.parse_guest_ktap("# zr-suite: u\n  Bail out!  x=0: bad\nnot ok 1 u # exit 1\n", [], {}, res)
        self.assertEqual(res.failures(), ["u: suite exited with failure (exit 1) [Bail out!  x=0: bad]"])

    def test_missing_suites_are_reported_by_the_plan(self):
        res = ktap.Results()
        self.assertEqual(ktap.parse_guest_ktap("KTAP version 1\n1..3\n", [], {}, res), (3, 0))
        self.assertEqual(ktap.parse_guest_ktap("", [], {}, res), (None, 0))

    def test_skipped_suite_counts_as_skip(self):
        text = "# zr-suite: s\n  1..0 # SKIP no device\nok 1 s # SKIP\n"
        res = ktap.Results()
        ktap.parse_guest_ktap(text, [], {}, res)
        self.assertEqual(res.counts(), (0, 0, 1))

    def test_expected_failure_and_timeout(self):
        res = ktap.Results()
        ktap.parse_guest_ktap(GUEST_OK, [], {}, res)
        res.expect_failed("two")
        self.assertEqual(res.counts(), (2, 0, 1))
        res.expect_failed("one")
        self.assertEqual(res.failures(), ["one: expected a failure, got none"])
        res = ktap.Results()
        ktap.parse_guest_ktap("# zr-suite: hang\n  1..1\n", ["hang"], {}, res)
        res.expect_failed("hang", timeout=True)
        self.assertEqual(res.counts(), (1, 0, 0))
        res = ktap.Results()
        res.expect_failed("absent")
        self.assertEqual(res.counts(), (0, 1, 0))

    def test_ktap_output_is_nested_with_plans(self):
        res = ktap.Results()
        ktap.parse_guest_ktap(GUEST_OK, [], {}, res)
        out = res.ktap().splitlines()
        self.assertEqual(out[:2], ["KTAP version 1", "1..2"])
        self.assertIn("  not ok 1 broken thing", out)
        self.assertEqual(out[-1], "not ok 2 two")


CONSOLE = """\
[    1.0] zr-init: start
[    5.0] ======================================================
[    5.0] WARNING: possible circular locking dependency detected
[    5.0] 7.3.4 #1 Not tainted
[    9.0] INFO: task kworker/0:1:12 blocked for more than 10 seconds.
[    9.5] pci 0001:00:00.0: [Firmware Bug]: BAR 0: invalid; can't size
  ok 3 no BUG: or WARNING: or Oops in this boot
"""


class ConsoleScanTest(unittest.TestCase):
    def scan(self, expected=()):
        with tempfile.TemporaryDirectory() as tmp:
            return console.scan_console(write(tmp, "console.log", CONSOLE), set(expected))

    def test_reports_are_found_with_excerpts(self):
        unexpected, seen = self.scan()
        self.assertEqual(sorted(unexpected), ["hung-task", "lockdep-circular"])
        self.assertIn("circular locking", unexpected["lockdep-circular"])
        self.assertEqual(seen, ["lockdep-circular", "hung-task"])

    def test_expected_reports_are_not_failures(self):
        unexpected, _ = self.scan(["lockdep-circular"])
        self.assertEqual(sorted(unexpected), ["hung-task"])

    def test_firmware_bug_and_guest_ktap_are_not_reports(self):
        unexpected, seen = self.scan()
        self.assertNotIn("bug", seen)
        self.assertNotIn("oops", seen)

    def test_oops_and_panic_are_reports(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(tmp, "c.log", "[ 1.0] Oops: 0004 ilc:3 [#1] PREEMPT SMP\n"
                                       "[ 2.0] Kernel panic - not syncing: Fatal exception\n")
            _, seen = console.scan_console(path, set())
        self.assertEqual(seen, ["oops", "oops"])

    def test_bug_on_is_a_report_on_both_architectures(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(tmp, "c.log", "[ 1.0] kernel BUG at drivers/pci/iov.c:922!\n"
                                       "[ 1.0] monitor event: 0040 ilc:2 [#1]SMP \n"
                                       "[ 2.0] kernel BUG at mm/slub.c:100!\n"
                                       "[ 2.0] Oops: invalid opcode: 0000 [#2] PREEMPT SMP\n")
            _, seen = console.scan_console(path, set())
        self.assertEqual(seen, ["bug", "oops", "bug", "oops"])

    def test_warnings_in_both_formats_are_reports(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(tmp, "c.log",
                         "[ 1.0] WARNING: CPU: 1 PID: 42 at drivers/pci/remove.c:128 x+0x1/0x2\n"
                         "[ 2.0] WARNING: drivers/pci/remove.c:128 at pci_stop_and_remove_bus_device"
                         "+0x39/0x40, CPU#0: zr_vf_unbind.sh/250\n")
            _, seen = console.scan_console(path, set())
        self.assertEqual(seen, ["warning", "warning"])


    def test_known_pciehp_report_is_its_own_kind(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write(tmp, "c.log", "[ 1.0] WARNING: possible circular locking dependency detected\n"
                                       "[ 1.0] 7.3.4 #1 Not tainted\n"
                                       "[ 1.0] irq/24-pciehp/41 is trying to acquire lock:\n"
                                       "[ 1.0] ff11 (&ctrl->reset_lock){.+.+}-{4:4}, at: "
                                       "pciehp_unconfigure_device+0x91/0x100\n")
            unexpected, seen = console.scan_console(path, {"lockdep-circular"})
        # Expecting the generic kind does not accept the refined one, and vice versa.
        self.assertEqual(seen, ["lockdep-pciehp-reset"])
        self.assertIn("lockdep-pciehp-reset", unexpected)



class VcpuStateTest(unittest.TestCase):
    def test_pcs_of_both_architectures(self):
        regs = ("CPU#0\nRAX=0000000000000000 RBX=0000000000000001\n"
                "RIP=ffffffff8150b7e0 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n"
                "CPU#1\nPSW=mask 0704c00180000000 addr 000003ffe03cc506 cc 00\n")
        self.assertEqual(diagnose.vcpu_pcs(regs), [0xffffffff8150b7e0, 0x000003ffe03cc506])

    def test_symbolise(self):
        syms = [(0x1000, "a"), (0x2000, "b")]
        self.assertEqual(diagnose.symbolise(syms, 0x2010), "b+0x10")
        self.assertEqual(diagnose.symbolise(syms, 0x1000), "a+0x0")
        self.assertEqual(diagnose.symbolise(syms, 0x10), "?")
        self.assertEqual(diagnose.symbolise([], 0x10), "?")

    def test_load_symbols_keeps_text_only(self):
        with tempfile.NamedTemporaryFile("w", suffix=".map") as f:
            f.write("ffffffff81000000 T _text\nffffffff82000000 D some_data\n"
                    "ffffffff81000100 t local_fn\n")
            f.flush()
            self.assertEqual(diagnose.load_symbols(f.name),
                             [(0xffffffff81000000, "_text"), (0xffffffff81000100, "local_fn")])
        self.assertEqual(diagnose.load_symbols("/nonexistent/System.map"), [])


class EmulatorCrash(unittest.TestCase):
    def test_crash_names_the_assertion(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "qemu.out")
            with open(out, "w", encoding="utf-8") as f:
                f.write("qemu-system-x86_64: system/physmem.c:2678: iotlb_to_section: "
                        "Assertion `section_index < d->map.sections_nb' failed.\n")
            why = diagnose.emulator_crash(-6, None, out)
            self.assertIn("qemu exit -6", why)
            self.assertIn("iotlb_to_section", why)

    def test_not_a_crash(self):
        self.assertIsNone(diagnose.emulator_crash(0, None, "/nonexistent"))
        self.assertIsNone(diagnose.emulator_crash(None, None, "/nonexistent"))
        # The runner killed it at a deadline: a hang, not an emulator crash.
        self.assertIsNone(diagnose.emulator_crash(-9, "test x ran past its deadline", "/nonexistent"))


class OurQemuTest(unittest.TestCase):
    """The s390x-sriov machine runs our QEMU build, given with --qemu."""

    def test_every_machine_definition_loads(self):
        d = os.path.join(os.path.dirname(__file__), "machines")
        for name in sorted(os.listdir(d)):
            with self.subTest(name):
                machine.load_machine(os.path.join(d, name))

    def test_patched_machine_needs_our_binary(self):
        m = machine.load_machine(S390X_SRIOV)
        self.assertIn("-global", m["machine"]["args"])
        with self.assertRaisesRegex(machine.UsageError, "pass --qemu"):
            machine.qemu_argv(m, "k", "i", "", "/r")
        with self.assertRaisesRegex(machine.UsageError, "not an executable"):
            machine.qemu_argv(m, "k", "i", "", "/r", qemu="/nonexistent/qemu")
        argv = machine.qemu_argv(m, "k", "i", "", "/r", qemu="/bin/true")
        self.assertEqual(argv[0], "/bin/true")
        self.assertIn("s390-pcihost.x-sriov=on", argv)
        # Debian's binary stays the default elsewhere; --qemu overrides it.
        self.assertEqual(machine.qemu_argv(machine.load_machine(S390X), "k", "i", "", "/r")[0],
                         "qemu-system-s390x")

    def test_zpci_properties_and_bad_qemu_keys(self):
        with tempfile.TemporaryDirectory() as tmp:
            base = """
                [machine]
                arch = "s390x"
                args = []
                console = "c"
                control = "x"
                {qemu}
                [[function]]
                id = "f"
                device = "igb"
                driver = "igb"
                uid = 1
                fid = 1
                {zpci}
                """
            ok = machine.load_machine(write(tmp, "ok.toml", base.format(
                qemu="qemu_patched = true", zpci="zpci = { pchid = 256 }")))
            self.assertEqual(machine.function_qdevs(ok, ok["function"][0])[0]["pchid"], 256)
            for name, qemu, zpci, msg in (
                    ("both", 'qemu = "q"\nqemu_patched = true', "", "either 'qemu'"),
                    ("none", "", "", "either 'qemu'"),
                    ("nobool", 'qemu_patched = "yes"', "", "true or false"),
                    ("zpcitype", 'qemu = "q"', 'zpci = "pchid=1"', "table of zpci"),
                    ("zpciclash", 'qemu = "q"', "zpci = { fid = 7 }", "set by the runner")):
                with self.subTest(name), self.assertRaisesRegex(machine.UsageError, msg):
                    machine.load_machine(write(tmp, f"{name}.toml", base.format(qemu=qemu, zpci=zpci)))

    def test_platform_event_is_a_qom_set_of_the_zpci_function(self):
        class R:
            fns = {"pigb": {"id": "pigb"}}

            def __init__(self):
                self.sent = []

            async def qmp_cmd(self, cmd, arguments=None):
                self.sent.append((cmd, arguments))

        async def go():
            r = R()
            self.assertTrue((await control.Control.platform_event(r, "pigb", "2", "hard-deconfigure")).ok)
            self.assertTrue((await control.Control.platform_event(r, "pigb", "configure")).ok)
            self.assertIn("unknown function", (await control.Control.platform_event(r, "x", "error")).payload)
            self.assertIn("not a number", (await control.Control.platform_event(r, "pigb", "v", "error")).payload)
            self.assertEqual(r.sent, [
                ("qom-set", {"path": "/machine/peripheral/zpci-pigb/vf[2]",
                             "property": "x-platform-event", "value": "hard-deconfigure"}),
                ("qom-set", {"path": "/machine/peripheral/zpci-pigb",
                             "property": "x-platform-event", "value": "configure"})])
        asyncio.run(go())


class RequestTest(unittest.TestCase):
    """The guest's requests: the table's arity checks and the ACK lines of typed replies."""

    def control(self, tmp):
        m = machine.load_machine(X86_64)
        return control.Control(m, tmp, 0.0)

    def test_replies_on_the_wire(self):
        self.assertEqual(control.DONE.wire("3.1"), "ACK 3.1 ok")
        self.assertEqual(control.Reply(True, "unplug=1 plug=1").wire("3.2"), "ACK 3.2 ok unplug=1 plug=1")
        self.assertEqual(control.refused("no storm runs").wire("3.3"), "ACK 3.3 err no storm runs")

    def test_the_table_checks_verbs_and_arguments(self):
        async def go(c):
            self.assertTrue((await c.handle(["ping"])).ok)
            bad = await c.handle(["ping", "x"])
            self.assertFalse(bad.ok)
            self.assertIn("usage: ping", bad.payload)
            self.assertIn("bad request 'nope'", (await c.handle(["nope"])).payload)
            self.assertIn("bad request ''", (await c.handle([])).payload)
            self.assertIn("unknown function 'zz'", (await c.handle(["plug", "zz"])).payload)
            self.assertIn("not a number", (await c.handle(["wait-deleted", "pigb", "x"])).payload)
            self.assertIn("usage: storm-start", (await c.handle(["storm-start", "1"])).payload)
        with tempfile.TemporaryDirectory() as tmp:
            c = self.control(tmp)
            asyncio.run(go(c))
            c.close()


class TimerLostTest(unittest.TestCase):
    LINE = ("[  106.640012] rcu: rcu_sched kthread timer wakeup didn't happen for 6492 jiffies! "
            "g3181 f0x0 RCU_GP_WAIT_FQS(5) ->state=I\n")

    def test_lost_timer_counts_only_for_a_killed_guest(self):
        with tempfile.TemporaryDirectory() as tmp:
            con = write(tmp, "console.log", "[    1.0] booting\n" + self.LINE)
            self.assertIn("timer wakeup didn't happen", console.timer_lost(con, "test x ran past its deadline"))
            self.assertIsNone(console.timer_lost(con, None))
            # The guest's KTAP echo of the words is no kernel line.
            echo = write(tmp, "echo.log", "  # rcu: rcu_sched kthread timer wakeup didn't happen for 1 jiffies\n")
            self.assertIsNone(console.timer_lost(echo, "killed"))


class FakeControl:
    """What Storm and Control.storm_start use of a Control: functions, unplug/plug, the QMP log."""

    def __init__(self, busy=0, fail_plug=False):
        self.fns = {"a": {}, "b": {}}
        self.storm = None
        self.busy, self.fail_plug = busy, fail_plug
        self.present = {"a": True, "b": True}
        self.log = []

    def qlog(self, kind, obj):
        self.log.append((kind, obj))

    async def unplug(self, fn, timeout=60):
        await asyncio.sleep(0)
        if self.busy:
            self.busy -= 1
            raise RuntimeError("Device a is busy")
        self.present[fn] = False
        return control.DONE

    async def plug(self, fn):
        await asyncio.sleep(0)
        if self.fail_plug:
            return control.refused("device_add refused")
        self.present[fn] = True
        return control.DONE


class StormTest(unittest.TestCase):
    def test_bad_requests_are_refused(self):
        r = FakeControl()
        for rest, msg in ((["1", "2"], "usage"), (["x", "0", "a"], "integers"),
                          (["-1", "0", "a"], ">= 0"), (["1", "70000", "a"], "0..60000"),
                          (["1", "0", "zz"], "unknown function 'zz'")):
            self.assertIn(msg, control.Control.storm_start(r, rest).payload)
        self.assertIsNone(r.storm)

    def test_runs_and_stops_with_everything_back(self):
        async def go():
            r = FakeControl(busy=2)
            self.assertTrue(control.Control.storm_start(r, ["7", "0", "a", "b"]).ok)
            self.assertIn("already", control.Control.storm_start(r, ["7", "0", "a"]).payload)
            await asyncio.sleep(0.05)
            res = await control.Control.storm_stop(r)
            self.assertTrue(res.ok and res.payload.startswith("unplug="), res)
            self.assertEqual(r.present, {"a": True, "b": True})
            n = dict(kv.split("=") for kv in res.payload.split())
            self.assertEqual(n["unplug"], n["plug"])
            self.assertEqual(n["busy"], "2")
            self.assertGreater(int(n["unplug"]), 0)
            self.assertIn("no storm", (await control.Control.storm_stop(r)).payload)
        asyncio.run(go())

    def test_failed_replug_is_an_error(self):
        async def go():
            r = FakeControl(fail_plug=True)
            control.Control.storm_start(r, ["1", "0", "a"])
            await asyncio.sleep(0.05)
            self.assertIn("re-plugging a failed", (await control.Control.storm_stop(r)).payload)
        asyncio.run(go())


if __name__ == "__main__":
    unittest.main()
