# SPDX-License-Identifier: GPL-2.0
"""Checks of our qemu-system-s390x (scripts/build-qemu.sh) that need no guest: the zPCI bugs
qemu/patches/ fixes, shown against Debian's binary. ZR_QEMU_OURS names our binary (the
harness sets it once the machine that uses it is prepared); without it the checks are skipped."""

import contextlib
import json
import os
import select
import shutil
import subprocess
import unittest

OURS = os.environ.get("ZR_QEMU_OURS", "")
DEBIAN = shutil.which("qemu-system-s390x")


def qmp_session(qemu, args, commands, wait_event=None, timeout=20):
    """Run QEMU stopped (-S, no guest runs) with QMP on stdio, send `commands`, wait up to
    `timeout` s for the event `wait_event` if given, then quit; returns (exit status, the QMP
    replies and events)."""
    p = subprocess.Popen([qemu, "-M", "s390-ccw-virtio", "-nodefaults", "-nographic", "-S",
                          "-qmp", "stdio", *args], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = []

    def send(cmd):
        p.stdin.write(json.dumps(cmd) + "\n")
        p.stdin.flush()

    def read_until(pred):
        ready = select.select([p.stdout], [], [], timeout)[0]
        while ready:
            line = p.stdout.readline()
            if not line:
                return False
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
            if pred(out[-1]):
                return True
            ready = select.select([p.stdout], [], [], timeout)[0]
        return False

    try:
        read_until(lambda m: "QMP" in m)
        for cmd in [{"execute": "qmp_capabilities"}, *commands]:
            send(cmd)
            read_until(lambda m: "return" in m or "error" in m)
        if wait_event:
            read_until(lambda m: m.get("event") == wait_event)
        send({"execute": "quit"})
    except (BrokenPipeError, OSError):
        pass
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    for f in (p.stdin, p.stdout):
        with contextlib.suppress(OSError):
            f.close()
    return rc, out


ORPHAN = ["-device", "zpci,id=z1,uid=5,fid=5,target=nothing"]
DEL = [{"execute": "device_del", "arguments": {"id": "z1"}}]


@unittest.skipUnless(OURS, "ZR_QEMU_OURS not set (our QEMU is built for the s390x-sriov machine)")
class OurQemu(unittest.TestCase):
    def test_unplug_of_a_zpci_device_without_pci_function(self):
        # QEMU 10.0.2 read the function's IOMMU in the zPCI unplug: NULL for a zpci device that
        # never had a PCI function (qemu/patches/0001): SIGSEGV.
        rc, out = qmp_session(OURS, ORPHAN, DEL, wait_event="DEVICE_DELETED")
        self.assertEqual(rc, 0, out)
        self.assertTrue(any(m.get("event") == "DEVICE_DELETED" for m in out), out)

    @unittest.skipUnless(DEBIAN, "no Debian qemu-system-s390x")
    def test_debian_binary_crashes_there(self):
        rc, _ = qmp_session(DEBIAN, ORPHAN, DEL, wait_event="DEVICE_DELETED")
        self.assertEqual(rc, -11, "Debian's QEMU no longer crashes: drop the check, or the patch")

    def test_x_sriov_and_platform_event_exist(self):
        rc, out = qmp_session(OURS, ["-global", "s390-pcihost.x-sriov=on", *ORPHAN],
                              [{"execute": "qom-set", "arguments": {
                                  "path": "/machine/peripheral/z1", "property": "x-platform-event",
                                  "value": "bogus"}}])
        self.assertEqual(rc, 0, out)
        errors = [m["error"]["desc"] for m in out if "error" in m]
        # A zpci device without a PCI function refuses every event, by name.
        self.assertTrue(errors and "has no PCI function" in errors[0], out)


if __name__ == "__main__":
    unittest.main()
