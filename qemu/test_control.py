# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the host control channel (zr/control.py): the guest's requests and their
replies, and the host torture worker. Run from qemu/: python3 -m unittest test_control"""

import asyncio
import os
import tempfile
import unittest

from zr import control, machine

X86_64 = os.path.join(os.path.dirname(__file__), "machines", "x86_64.toml")


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
            res = await control.Control.do_storm_stop(r)
            self.assertTrue(res.ok and res.payload.startswith("unplug="), res)
            self.assertEqual(r.present, {"a": True, "b": True})
            n = dict(kv.split("=") for kv in res.payload.split())
            self.assertEqual(n["unplug"], n["plug"])
            self.assertEqual(n["busy"], "2")
            self.assertGreater(int(n["unplug"]), 0)
            self.assertIn("no storm", (await control.Control.do_storm_stop(r)).payload)
        asyncio.run(go())

    def test_failed_replug_is_an_error(self):
        async def go():
            r = FakeControl(fail_plug=True)
            control.Control.storm_start(r, ["1", "0", "a"])
            await asyncio.sleep(0.05)
            self.assertIn("re-plugging a failed", (await control.Control.do_storm_stop(r)).payload)
        asyncio.run(go())


if __name__ == "__main__":
    unittest.main()
