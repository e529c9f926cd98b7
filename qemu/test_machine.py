# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the machine definitions (zr/machine.py): loading, validation, QEMU argv, and
the machine that runs our QEMU. Run from qemu/: python3 -m unittest test_machine"""

import asyncio
import os
import tempfile
import textwrap
import unittest

from zr import control, machine

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
                "modules.toml": """
                    [machine]
                    arch = "x86_64"
                    qemu = "q"
                    args = []
                    console = "c"
                    control = "v"
                    test_modules = "vfio_pci"
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
            self.assertTrue((await control.Control.do_platform_event(r, "pigb", "2", "hard-deconfigure")).ok)
            self.assertTrue((await control.Control.do_platform_event(r, "pigb", "configure")).ok)
            self.assertIn("unknown function", (await control.Control.do_platform_event(r, "x", "error")).payload)
            self.assertIn("not a number", (await control.Control.do_platform_event(r, "pigb", "v", "error")).payload)
            self.assertEqual(r.sent, [
                ("qom-set", {"path": "/machine/peripheral/zpci-pigb/vf[2]",
                             "property": "x-platform-event", "value": "hard-deconfigure"}),
                ("qom-set", {"path": "/machine/peripheral/zpci-pigb",
                             "property": "x-platform-event", "value": "configure"})])
        asyncio.run(go())


if __name__ == "__main__":
    unittest.main()
