#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot a zpci-rrlock test guest in QEMU and turn what it did into KTAP results.

The machine comes from a TOML definition (qemu/machines/*.toml). While the guest runs, this
runner
  * serves the guest's host requests (hot-unplug / re-plug a named PCI function, ...) that
    arrive over a virtio-serial port, acting through QMP (qemu.qmp) and answering when the
    matching DEVICE_DELETED event (by data.device) has arrived;
  * tails the console log, shows progress, enforces the deadline of the whole boot and of each
    test (announced by the guest with "zr-test: begin NAME timeout=N"), killing a hung guest;
  * scans the console for kernel reports (BUG:, WARNING:, lockdep, hung task, Oops, panic).
Afterwards it merges the guest's KTAP (second virtio-serial port) with its own checks into
RUNDIR/results.ktap and RUNDIR/summary.json. Everything is kept in RUNDIR: console.log,
qmp.log (QMP transcript), guest.ktap, results.ktap.

Exit status: 0 if every result passed or was skipped, 1 otherwise, 2 on a usage error.
"""

import argparse
import asyncio
import bisect
import json
import os
import random
import re
import shlex
import subprocess
import sys
import time
import tomllib

from qemu.qmp import QMPClient

# Kernel reports that turn a boot red, unless the run expects them (--expect-report): the one
# table of their kinds and patterns, shared with the guest's tests.
from reports import REFINE_WINDOW, classify, kind_names
# Only kernel messages count (PRINTK_TIME stamps them); the guest's own KTAP, echoed to the
# console, may quote the same words.
KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d+\]")
# Lines of context kept around a report in the failure message.
EXCERPT = 12


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class UsageError(Exception):
    """A bad machine definition or argument: exit status 2."""


def load_machine(path):
    try:
        with open(path, "rb") as f:
            m = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"machine definition {path}: {e}") from e
    for key in ("arch", "args", "console", "control"):
        if key not in m.get("machine", {}):
            raise UsageError(f"machine definition {path}: [machine] has no '{key}'")
    patched = m["machine"].get("qemu_patched", False)
    if not isinstance(patched, bool):
        raise UsageError(f"machine definition {path}: qemu_patched must be true or false")
    if patched and m["machine"]["arch"] != "s390x":
        raise UsageError(f"machine definition {path}: qemu_patched: our QEMU build is "
                         "qemu-system-s390x only (scripts/build-qemu.sh)")
    if patched == ("qemu" in m["machine"]):
        raise UsageError(f"machine definition {path}: [machine] needs either 'qemu' (a binary) "
                         "or 'qemu_patched = true' (our build, given with --qemu)")
    ids = set()
    for fn in m.get("function", []):
        for key in ("id", "device", "driver"):
            if key not in fn:
                raise UsageError(f"machine definition {path}: a [[function]] has no '{key}'")
        if fn["id"] in ids:
            raise UsageError(f"machine definition {path}: function id '{fn['id']}' repeated")
        ids.add(fn["id"])
        if fn.get("fid") is not None and fn.get("fid") == m["machine"].get("control_fid"):
            raise UsageError(f"machine definition {path}: function '{fn['id']}' has the host "
                             "channel's fid")
        if m["machine"]["arch"] == "s390x" and ("uid" not in fn or "fid" not in fn):
            raise UsageError(f"machine definition {path}: s390x function '{fn['id']}' needs uid and fid")
        if m["machine"]["arch"] != "s390x" and ("slot" not in fn or "bus" not in fn):
            raise UsageError(f"machine definition {path}: function '{fn['id']}' needs the bus and "
                             "slot of its hot-plug port")
        zpci = fn.get("zpci", {})
        if "zpci" in fn and (not isinstance(zpci, dict) or m["machine"]["arch"] != "s390x"):
            raise UsageError(f"machine definition {path}: function '{fn['id']}': 'zpci' is a "
                             "table of zpci device properties, s390x only")
        clash = set(zpci) & {"id", "uid", "fid", "target", "driver"}
        if clash:
            raise UsageError(f"machine definition {path}: function '{fn['id']}': zpci property "
                             f"{', '.join(sorted(clash))} is set by the runner")
    return m


def parse_props(props):
    """'a=b,c=' -> {'a': 'b', 'c': ''}"""
    out = {}
    for item in filter(None, (props or "").split(",")):
        key, sep, val = item.partition("=")
        if not sep:
            raise UsageError(f"device property '{item}' is not key=value")
        out[key] = val
    return out


def function_qdevs(machine, fn):
    """The QMP device_add argument dicts for one PCI function, in plug order."""
    devs = []
    if machine["machine"]["arch"] == "s390x":
        devs.append({"driver": "zpci", "id": f"zpci-{fn['id']}", "uid": fn["uid"],
                     "fid": fn["fid"], "target": fn["id"], **fn.get("zpci", {})})
    dev = {"driver": fn["device"], "id": fn["id"]}
    if "bus" in fn:
        dev["bus"] = fn["bus"]
    dev.update(parse_props(fn.get("props")))
    devs.append(dev)
    return devs


def qdev_to_cli(d):
    parts = [d["driver"]] + [f"{k}={v}" for k, v in d.items() if k != "driver"]
    return ",".join(parts)


def control_zpci(mc):
    """s390x with a PCI host channel: the zPCI device in front of it (control_fid; uid alike)."""
    if "control_fid" not in mc:
        return []
    return ["-device", f"zpci,id=zpci-zrvser,uid={mc['control_fid']},fid={mc['control_fid']},target=zrvser"]


def qemu_binary(machine, qemu):
    """The QEMU binary of a boot: --qemu if given (required for a qemu_patched machine, which
    runs our build), else the machine's 'qemu'."""
    if qemu:
        if not (os.path.isfile(qemu) and os.access(qemu, os.X_OK)):
            raise UsageError(f"--qemu {qemu}: not an executable file")
        return qemu
    if machine["machine"].get("qemu_patched"):
        raise UsageError("this machine runs our QEMU build: pass --qemu PATH "
                         "(scripts/build-qemu.sh prints it)")
    return machine["machine"]["qemu"]


def qemu_argv(machine, kernel, initrd, append, rundir, qemu=None):
    mc = machine["machine"]
    argv = [qemu_binary(machine, qemu), *mc["args"], "-nodefaults", "-nographic", "-no-reboot",
            "-kernel", kernel, "-initrd", initrd,
            "-append", f"console={mc['console']} {mc.get('append', '')} {append}".strip(),
            "-serial", f"file:{rundir}/console.log",
            "-qmp", f"unix:{rundir}/qmp.sock,server=on,wait=off",
            *control_zpci(mc),
            "-device", f"{mc['control']},id=zrvser" + (f",devno={mc['control_devno']}" if "control_devno" in mc else ""),
            "-chardev", f"socket,id=zrctl,path={rundir}/ctl.sock,server=on,wait=off",
            "-device", "virtserialport,chardev=zrctl,name=zr.ctl,bus=zrvser.0",
            "-chardev", f"file,id=zrktap,path={rundir}/guest.ktap",
            "-device", "virtserialport,chardev=zrktap,name=zr.ktap,bus=zrvser.0"]
    for be in machine.get("backend", []):
        argv += [be["option"], be["arg"]]
    for extra in mc.get("devices", []):
        argv += ["-device", extra]
    for fn in machine.get("function", []):
        for d in function_qdevs(machine, fn):
            argv += ["-device", qdev_to_cli(d)]
    return argv


def guest_cmdline(machine):
    """Kernel command-line words that tell the guest which functions to expect: id, how to find
    it (s390x: zPCI function id; else: hot-plug slot number) and driver."""
    fns = machine.get("function", [])
    spec = ";".join(f"{f['id']}:{f.get('fid', f.get('slot', ''))}:{f['driver']}" for f in fns)
    ctl = machine["machine"].get("control_fid")
    return f"zr.functions={spec}" + (f" zr.control_fid={ctl}" if ctl is not None else "")


class Storm:
    """The host's torture worker (zr_torture): QMP hot-unplug and re-plug of functions picked by
    a seeded random generator, concurrent with the guest's own workers."""

    def __init__(self, runner, seed, max_pause, fns):
        self.runner, self.rng, self.max_pause, self.fns = runner, random.Random(seed), max_pause, fns
        self.n = {"unplug": 0, "plug": 0, "busy": 0, "errors": 0}
        self.away = None           # the function unplugged and not yet re-plugged
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(self.loop())

    def counts(self):
        return " ".join(f"{k}={v}" for k, v in self.n.items())

    @staticmethod
    async def call(coro):
        """A QMP request's error (device_del refused, ...) as a string, None on success."""
        try:
            return await coro
        except Exception as e:  # ExecuteError and connection errors alike
            return str(e) or type(e).__name__

    async def pause(self):
        try:
            await asyncio.wait_for(self.stopping.wait(), self.rng.uniform(0, self.max_pause))
        except asyncio.TimeoutError:
            pass

    async def qmp(self, kind, fn):
        """One QMP unplug or plug of fn, counted: "ok", "busy" (PCIe: the slot's power indicator
        still blinks after a re-plug; tried again later) or "error" (logged to qmp.log)."""
        op = self.runner.unplug(fn, timeout=60) if kind == "unplug" else self.runner.plug(fn)
        err = await self.call(op)
        if err is None:
            self.n[kind] += 1
            return "ok"
        if kind == "unplug" and "busy" in err.lower():
            self.n["busy"] += 1
            return "busy"
        self.n["errors"] += 1
        self.runner.qlog("storm", {kind: fn, "error": err})
        return "error"

    async def loop(self):
        while not self.stopping.is_set():
            fn = self.rng.choice(self.fns)
            res = await self.qmp("unplug", fn)
            if res == "error":
                return
            if res == "ok":
                self.away = fn
                await self.pause()
                if await self.qmp("plug", fn) == "error":
                    return
                self.away = None
            await self.pause()

    async def stop(self):
        self.stopping.set()
        try:
            # An unplug the guest never completes (a deadlocked guest) is waited for 60 s.
            await asyncio.wait_for(self.task, 70)
        except asyncio.TimeoutError:
            return f"storm did not stop within 70 s: an unplug never completed ({self.counts()})"
        if self.away is not None and await self.qmp("plug", self.away) == "error":
            return f"re-plugging {self.away} failed ({self.counts()}), see qmp.log"
        if self.n["errors"]:
            return f"storm hit QMP errors ({self.counts()}), see qmp.log"
        return None


class Runner:
    def __init__(self, args, machine):
        self.args = args
        self.machine = machine
        self.rundir = args.rundir
        self.fns = {f["id"]: f for f in machine.get("function", [])}
        self.qmp = QMPClient("zr-boot")
        self.qmplog = open(os.path.join(self.rundir, "qmp.log"), "w", encoding="utf-8")
        self.deleted = {}          # device id -> asyncio.Event, set on DEVICE_DELETED
        self.proc = None
        self.killed = None         # why the guest was killed, if it was
        self.test = None           # (name, deadline) of the test the guest runs now
        self.timeouts = []         # tests that ran past their deadline
        self.finished = False      # the guest's runner printed its final marker
        self.reached_init = False
        self.stalled = None        # why early boot (before /init: no test ran) counts as stalled
        self.t0 = time.monotonic()
        self.storm = None          # the host torture worker: Storm, while one runs

    # ---- QMP ----------------------------------------------------------------------------
    def qlog(self, kind, obj):
        self.qmplog.write(f"{time.monotonic() - self.t0:9.3f} {kind} {json.dumps(obj)}\n")
        self.qmplog.flush()

    async def qmp_cmd(self, cmd, arguments=None):
        self.qlog("->", {"execute": cmd, "arguments": arguments or {}})
        try:
            res = await self.qmp.execute(cmd, arguments)
        except Exception as e:  # ExecuteError and connection errors alike
            self.qlog("<-", {"error": str(e)})
            raise
        self.qlog("<-", {"return": res})
        return res

    async def event_pump(self):
        async for ev in self.qmp.events:
            self.qlog("ev", {"event": ev["event"], "data": ev.get("data", {})})
            if ev["event"] == "DEVICE_DELETED":
                dev = ev.get("data", {}).get("device")
                if dev:
                    self.deleted.setdefault(dev, asyncio.Event()).set()

    async def unplug(self, fid_, wait=True, timeout=60):
        fn = self.fns.get(fid_)
        if fn is None:
            return f"unknown function '{fid_}'"
        ids = [d["id"] for d in function_qdevs(self.machine, fn)]
        for i in ids:
            self.deleted[i] = asyncio.Event()
        await self.qmp_cmd("device_del", {"id": fn["id"]})
        if not wait:
            return None
        try:
            for i in ids:
                await asyncio.wait_for(self.deleted[i].wait(), timeout)
        except asyncio.TimeoutError:
            return f"no DEVICE_DELETED for '{i}' within {timeout}s"
        return None

    async def plug(self, fid_):
        fn = self.fns.get(fid_)
        if fn is None:
            return f"unknown function '{fid_}'"
        for d in function_qdevs(self.machine, fn):
            await self.qmp_cmd("device_add", d)
        return None

    async def wait_deleted(self, fid_, timeout=60):
        fn = self.fns.get(fid_)
        if fn is None:
            return f"unknown function '{fid_}'"
        ev = self.deleted.setdefault(fn["id"], asyncio.Event())
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except asyncio.TimeoutError:
            return f"no DEVICE_DELETED for '{fn['id']}' within {timeout}s"
        return None

    # ---- host torture worker ------------------------------------------------------------
    def storm_start(self, rest):
        """storm-start SEED MAX_PAUSE_MS FN...: start the host's torture worker: until
        storm-stop, hot-unplug a function picked at random (seeded), wait for its removal, pause,
        re-plug it, pause. Returns None or an error."""
        if self.storm is not None:
            return "a storm runs already"
        if len(rest) < 3:
            return "usage: storm-start SEED MAX_PAUSE_MS FN..."
        try:
            seed, pause = int(rest[0]), int(rest[1])
        except ValueError:
            return "SEED and MAX_PAUSE_MS must be integers"
        if seed < 0 or not 0 <= pause <= 60000:
            return "SEED must be >= 0 and MAX_PAUSE_MS within 0..60000"
        unknown = [f for f in rest[2:] if f not in self.fns]
        if unknown:
            return f"unknown function '{unknown[0]}'"
        self.storm = Storm(self, seed, pause / 1000, rest[2:])
        return None

    async def storm_stop(self):
        """Stop the torture worker after its current operation, re-plug whatever it took away,
        and answer with its counts ("ok unplug=N plug=N busy=N errors=N")."""
        if self.storm is None:
            return "no storm runs"
        storm, self.storm = self.storm, None
        err = await storm.stop()
        return err if err else f"OK {storm.counts()}"

    async def platform_event(self, fid_, *args):
        """platform-event ID [VF] EVENT: QMP qom-set of x-platform-event on the zPCI function
        of function ID, or of its VF number VF (0-based), on our QEMU (s390x-sriov machine)."""
        fn = self.fns.get(fid_)
        if fn is None:
            return f"unknown function '{fid_}'"
        path = f"/machine/peripheral/zpci-{fn['id']}"
        if len(args) == 2:
            if not args[0].isdigit():
                return f"VF index '{args[0]}' is not a number"
            path += f"/vf[{int(args[0])}]"
        await self.qmp_cmd("qom-set", {"path": path, "property": "x-platform-event",
                                       "value": args[-1]})
        return None

    async def handle(self, words):
        """One guest request; returns None on success or an error string."""
        op, rest = (words[0], words[1:]) if words else ("", [])
        try:
            if op == "ping":
                return None
            if op == "unplug" and len(rest) == 1:
                return await self.unplug(rest[0])
            if op == "unplug-nowait" and len(rest) == 1:
                return await self.unplug(rest[0], wait=False)
            if op == "wait-deleted" and len(rest) in (1, 2):
                return await self.wait_deleted(rest[0], int(rest[1]) if len(rest) > 1 else 60)
            if op == "plug" and len(rest) == 1:
                return await self.plug(rest[0])
            if op == "storm-start":
                return self.storm_start(rest)
            if op == "storm-stop" and not rest:
                return await self.storm_stop()
            if op == "platform-event" and len(rest) in (2, 3):
                return await self.platform_event(*rest)
            if op == "freeze" and not rest:
                # Stop the vCPUs: the guest hangs as a deadlocked kernel would (harness test).
                await self.qmp_cmd("stop")
                return None
        except Exception as e:  # a QMP error is the answer, not a runner crash
            return f"{op}: {e}".replace("\n", " ")
        return f"bad request '{' '.join(words)}'"

    async def serve_guest(self):
        path = os.path.join(self.rundir, "ctl.sock")
        for _ in range(100):
            try:
                reader, writer = await asyncio.open_unix_connection(path)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            log("control channel: cannot connect")
            return
        while True:
            line = await reader.readline()
            if not line:
                return
            text = line.decode(errors="replace").strip()
            m = re.match(r"REQ (\S+) (.*)$", text)
            if not m:
                continue
            seq, words = m.group(1), m.group(2).split()
            self.qlog("guest", {"request": text})
            err = await self.handle(words)
            if err is None:
                reply = f"ACK {seq} ok\n"
            elif err.startswith("OK "):
                reply = f"ACK {seq} ok {err[3:]}\n"
            else:
                reply = f"ACK {seq} err {err}\n"
            self.qlog("guest", {"reply": reply.strip()})
            writer.write(reply.encode())
            await writer.drain()

    # ---- console ------------------------------------------------------------------------
    def on_console_line(self, line):
        if "zr-init: start" in line:
            self.reached_init = True
            log(f"{self.args.name}: guest reached /init after {time.monotonic() - self.t0:.0f}s")
        m = re.search(r"zr-test: begin (\S+) timeout=(\d+)", line)
        if m:
            self.test = (m.group(1), time.monotonic() + int(m.group(2)) + self.args.grace)
            log(f"{self.args.name}: test {m.group(1)}")
        m = re.search(r"zr-test: end (\S+) rc=(\d+)", line)
        if m:
            self.test = None
        if "zr-init: finished" in line:
            self.finished = True

    async def watch(self):
        path = os.path.join(self.rundir, "console.log")
        pos, buf = 0, ""
        deadline = self.t0 + self.args.timeout
        while self.proc.returncode is None:
            await asyncio.sleep(0.2)
            try:
                with open(path, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except OSError:
                data = b""
            pos += len(data)
            buf += data.decode(errors="replace")
            *lines, buf = buf.split("\n")
            for line in lines:
                self.on_console_line(line)
            now = time.monotonic()
            if self.test and now > self.test[1]:
                self.timeouts.append(self.test[0])
                await self.kill(f"test {self.test[0]} ran past its deadline")
            elif now > deadline:
                await self.kill(f"boot ran past its deadline of {self.args.timeout}s")
            elif not self.reached_init and now > self.t0 + self.args.init_timeout:
                self.stalled = f"no /init after {self.args.init_timeout}s"
                await self.kill(f"guest stalled in early boot ({self.stalled})")

    async def vcpu_state(self):
        """Saves what the vCPUs were doing (HMP `info registers -a`, program counters
        symbolised with the kernel's System.map when it lies beside the image) before a kill:
        a guest frozen without a word on its console shows there whether its vCPUs sat halted
        (an emulator or interrupt problem) or spun in the kernel."""
        if self.proc.returncode is not None or self.qmp.runstate.name != "RUNNING":
            return
        try:
            regs = await asyncio.wait_for(self.qmp_cmd(
                "human-monitor-command", {"command-line": "info registers -a"}), 15)
            cpus = await asyncio.wait_for(self.qmp_cmd("query-cpus-fast"), 15)
        except Exception as e:  # the kill goes on whatever the monitor answers
            log(f"{self.args.name}: no vCPU state ({e})")
            return
        lines = [f"# vCPUs at the kill: {json.dumps(cpus)}"]
        symbols = []
        for d in (os.path.dirname(self.args.kernel), os.path.dirname(os.path.realpath(self.args.kernel))):
            symbols = symbols or load_symbols(os.path.join(d, "System.map"))
        for pc in vcpu_pcs(regs):
            lines.append(f"# pc {pc:016x} {symbolise(symbols, pc)}")
        path = os.path.join(self.rundir, "vcpu-state.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n" + regs)
        log(f"{self.args.name}: vCPU state before the kill: {path}")

    async def kill(self, why):
        if self.killed is None:
            self.killed = why
            log(f"{self.args.name}: killing the guest: {why}")
            await self.vcpu_state()
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def run(self):
        argv = qemu_argv(self.machine, self.args.kernel, self.args.initrd,
                         f"{guest_cmdline(self.machine)} {self.args.append}", self.rundir,
                         self.args.qemu)
        with open(os.path.join(self.rundir, "qemu.cmdline"), "w", encoding="utf-8") as f:
            f.write(shlex.join(argv) + "\n")
        log(f"{self.args.name}: booting {self.machine['machine']['arch']} guest "
            f"(deadline {self.args.timeout}s, console: {self.rundir}/console.log)")
        self.proc = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL, stdout=open(os.path.join(self.rundir, "qemu.out"), "wb"),
            stderr=subprocess.STDOUT)
        qsock = os.path.join(self.rundir, "qmp.sock")
        for _ in range(100):
            try:
                await self.qmp.connect(qsock)
                break
            except Exception:
                if self.proc.returncode is not None:
                    break
                await asyncio.sleep(0.1)
        tasks = []
        if self.qmp.runstate.name == "RUNNING":
            tasks = [asyncio.create_task(self.event_pump()), asyncio.create_task(self.serve_guest())]
        else:
            log(f"{self.args.name}: could not connect to QMP (see {self.rundir}/qemu.out)")
        await self.watch()
        if self.storm is not None:  # the guest ended without storm-stop
            tasks.append(self.storm.task)
        for t in tasks:
            t.cancel()
        try:
            await self.qmp.disconnect()
        except Exception:
            pass
        self.qmplog.close()
        log(f"{self.args.name}: guest ended after {time.monotonic() - self.t0:.0f}s "
            f"(qemu exit {self.proc.returncode})")


# ---- results ------------------------------------------------------------------------------
class Results:
    """Leaf results, grouped in suites, rendered as nested KTAP."""

    def __init__(self):
        self.suites = []   # (name, [(ok, desc, directive)], suite_ok)

    def add_suite(self, name, leaves, suite_ok=None):
        if suite_ok is None:
            suite_ok = all(ok or d.startswith("SKIP") for ok, _, d in leaves)
        self.suites.append((name, leaves, suite_ok))

    def counts(self):
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

    def expect_failed(self, name, timeout=False):
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
                self.suites[i] = (n, [(True, f"fails as expected with {what}: {'; '.join(bad)}", "")], True)
            else:
                self.suites[i] = (n, leaves + [(False, f"expected {what}, got none", "")], False)
            return
        self.add_suite(name, [(False, f"expected to run and fail, but it did not run", "")], False)

    def failures(self):
        return [f"{n}: {desc}" for n, leaves, _ in self.suites for ok, desc, d in leaves
                if not ok and not d.upper().startswith("SKIP")]

    def ktap(self):
        out = ["KTAP version 1", f"1..{len(self.suites)}"]
        for i, (name, leaves, sok) in enumerate(self.suites, 1):
            out += ["  KTAP version 1", f"  # Subtest: {name}", f"  1..{len(leaves)}"]
            for j, (ok, desc, d) in enumerate(leaves, 1):
                out.append(f"  {'ok' if ok else 'not ok'} {j} {desc}" + (f" # {d}" if d else ""))
            out.append(f"{'ok' if sok else 'not ok'} {i} {name}")
        return "\n".join(out) + "\n"


LEAF = re.compile(r"^\s+(not ok|ok) \d+ (.*?)(?: # (.*))?$")
SUITE_BEGIN = re.compile(r"^# zr-suite: (\S+)")
SUITE_END = re.compile(r"^(not ok|ok) \d+ (\S+)(?: # (.*))?$")
# A suite's diagnostic line ("  # round 2: znvme not back"), not its totals.
DIAG = re.compile(r"^\s+#\s+(?!Totals:)(\S.*)$|^\s+(Bail out!.*)$")


def with_diag(desc, diag):
    """A failure's description with the guest's last diagnostic before it, so the failure line
    itself (all that a CI log may keep) says why."""
    return f"{desc} [{diag}]" if diag else desc


def parse_guest_ktap(text, timeouts, results):
    """Guest KTAP: one nested block per suite, opened by '# zr-suite: NAME'. A failure carries
    the suite's last diagnostic line after its previous result.
    Returns (planned suites or None, suites seen)."""
    cur, leaves, diag = None, [], ""
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
                results.add_suite(cur, leaves + [(False, with_diag("suite did not finish", diag), "")],
                                  False)
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
            if not ok and all(o or d.upper().startswith("SKIP") for o, _, d in leaves):
                why = f"suite exited with failure ({m.group(3) or 'no reason'})"
                leaves.append((False, with_diag(why, diag), ""))
            if not leaves:
                leaves.append((ok, "suite ran", m.group(3) or ""))
            results.add_suite(cur, leaves)
            cur = None
    if cur:
        why = "TIMEOUT" if cur in timeouts else "suite did not finish"
        results.add_suite(cur, leaves + [(False, with_diag(f"{cur}: {why}", diag), "")], False)
    return plan, seen


def load_symbols(path):
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


def vcpu_pcs(regs):
    """The program counters in HMP `info registers -a` output (x86 RIP=, s390x PSW=mask .. addr)."""
    found = re.findall(r"RIP=([0-9a-f]{16})|PSW=mask [0-9a-f]{16} addr ([0-9a-f]{16})", regs)
    return [int(rip or psw, 16) for rip, psw in found]


def symbolise(syms, addr):
    """name+0xoff of the text symbol at or below `addr`, or "?"."""
    i = bisect.bisect_right(syms, (addr, "\uffff")) - 1
    if i < 0 or not syms:
        return "?"
    base, name = syms[i]
    return f"{name}+{addr - base:#x}"


def emulator_crash(returncode, killed, qemu_out):
    """Why QEMU itself died, or None: a non-zero exit the runner did not cause (it kills the
    guest only at a deadline), with QEMU's last message (e.g. a TCG assertion). A kernel that
    panics or hangs does not make QEMU exit non-zero."""
    if killed is not None or returncode in (None, 0):
        return None
    last = ""
    try:
        with open(qemu_out, encoding="utf-8", errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
        last = lines[-1] if lines else ""
    except OSError:
        pass
    return f"qemu exit {returncode}" + (f": {last}" if last else "")


# QEMU's TCG at times stops delivering a vCPU's timer interrupt (seen on x86_64 under load): RCU
# then reports that its kthread's timer never fired. A guest that hangs after this is the
# emulator's fault, not the kernel's, like an early-boot stall.
TIMER_LOST = re.compile(r"rcu: \S+ kthread timer wakeup didn't happen for \d+ jiffies")


def timer_lost(path, killed):
    """The console line that shows a vCPU's lost timer interrupt, for a guest killed at a
    deadline; else None."""
    if killed is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if KERNEL_LINE.match(line) and TIMER_LOST.search(line):
                    return line.strip()
    except OSError:
        pass
    return None


def scan_console(path, expected):
    """Map report kind -> first excerpt, for reports not in `expected`."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}, []
    found, seen = {}, []
    for i, line in enumerate(lines):
        if not KERNEL_LINE.match(line):
            continue
        kind = classify(line, "\n".join(lines[i + 1:i + 1 + REFINE_WINDOW]))
        if kind is not None:
            seen.append(kind)
            if kind not in found:
                found[kind] = "\n".join(lines[max(0, i - 2):i + EXCERPT])
    return {k: v for k, v in found.items() if k not in expected}, seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--machine", required=True, help="machine definition (TOML)")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--rundir", required=True, help="directory for logs and results")
    ap.add_argument("--name", default="boot", help="name of this boot in the results")
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--qemu", help="the QEMU binary (our build: required by a qemu_patched "
                    "machine; else overrides the machine's 'qemu')")
    ap.add_argument("--timeout", type=int, default=600, help="deadline of the whole boot (s)")
    ap.add_argument("--grace", type=int, default=30, help="slack on each test's deadline (s)")
    ap.add_argument("--init-timeout", type=int, default=180,
                    help="deadline for reaching /init (s): a guest stalled in early boot, before "
                         "any test or module ran, is killed then and reported as a stall")
    ap.add_argument("--expect-report", action="append", default=[], metavar="KIND",
                    help="a report kind this boot is expected to show (e.g. lockdep-circular)")
    ap.add_argument("--allow-report", action="append", default=[], metavar="KIND",
                    help="a report kind this boot may show without failing (a stock-kernel "
                         "outcome that depends on timing, e.g. hung-task after a racy deadlock)")
    ap.add_argument("--expect-fail", action="append", default=[], metavar="SUITE",
                    help="a guest suite expected to fail (harness self-tests)")
    ap.add_argument("--expect-timeout", metavar="SUITE",
                    help="the guest suite expected to hang until the host kills the guest "
                         "(a deadlock on the stock kernel)")
    args = ap.parse_args()
    try:
        for p in (args.kernel, args.initrd):
            if not os.path.isfile(p):
                raise UsageError(f"no such file: {p}")
        if args.timeout <= 0 or args.grace < 0 or args.init_timeout <= 0:
            raise UsageError("--timeout and --init-timeout must be > 0 and --grace >= 0")
        kinds = set(kind_names())
        for opt, ks in (("--expect-report", args.expect_report), ("--allow-report", args.allow_report)):
            for k in ks:
                if k not in kinds:
                    raise UsageError(f"{opt} {k}: unknown kind (one of {', '.join(sorted(kinds))})")
        both = set(args.expect_report) & set(args.allow_report)
        if both:
            raise UsageError(f"{', '.join(sorted(both))}: both expected and allowed")
        machine = load_machine(args.machine)
        qemu_binary(machine, args.qemu)
    except UsageError as e:
        print(f"boot.py: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.rundir, exist_ok=True)
    for stale in ("console.log", "guest.ktap", "results.ktap", "summary.json"):
        try:
            os.unlink(os.path.join(args.rundir, stale))
        except FileNotFoundError:
            pass

    runner = Runner(args, machine)
    asyncio.run(runner.run())

    res = Results()
    try:
        with open(os.path.join(args.rundir, "guest.ktap"), encoding="utf-8", errors="replace") as f:
            guest = f.read()
    except OSError:
        guest = ""
    plan, nsuites = parse_guest_ktap(guest, runner.timeouts, res)
    for suite in args.expect_fail:
        res.expect_failed(suite)
    if args.expect_timeout:
        res.expect_failed(args.expect_timeout, timeout=True)

    unexpected, seen = scan_console(os.path.join(args.rundir, "console.log"),
                                    set(args.expect_report) | set(args.allow_report))
    host = [(runner.reached_init, "guest reached /init", "")]
    host.append((plan is not None and plan > 0 and nsuites == plan,
                 f"guest KTAP channel delivered all suites ({nsuites} of {plan if plan is not None else '?'})",
                 ""))
    if args.expect_timeout:
        # The guest's own `timeout` may end the hung test first (the test is then reported
        # "# TIMEOUT" by the guest runner), or the host kills the wedged guest.
        hung = args.expect_timeout in runner.timeouts or re.search(
            rf"^not ok \d+ {re.escape(args.expect_timeout)} # TIMEOUT", guest, re.M)
        host.append((bool(hung), f"{args.expect_timeout} hung until its deadline, as expected"
                     + (f" ({runner.killed})" if runner.killed else ""), ""))
    else:
        host.append((runner.finished and runner.killed is None,
                     "guest suite finished before its deadline"
                     + (f" ({runner.killed})" if runner.killed else ""), ""))
    crash = emulator_crash(runner.proc.returncode if runner.proc else None, runner.killed,
                           os.path.join(args.rundir, "qemu.out"))
    host.append((crash is None, "QEMU did not crash" + (f" ({crash})" if crash else ""), ""))
    for kind in args.expect_report:
        host.append((kind in seen, f"console shows the expected {kind} report", ""))
    for kind in kind_names():
        if kind in args.expect_report:
            continue
        if kind in args.allow_report:
            host.append((True, f"console {'shows' if kind in seen else 'has no'} {kind} report "
                         "(allowed in this boot)", ""))
            continue
        host.append((kind not in unexpected, f"console has no {kind} report", ""))
    res.add_suite(f"{args.name}-host", host)

    ktap = res.ktap()
    with open(os.path.join(args.rundir, "results.ktap"), "w", encoding="utf-8") as f:
        f.write(ktap)
    p, fl, s = res.counts()
    summary = {"name": args.name, "passed": p, "failed": fl, "skipped": s,
               "failures": res.failures(), "reports_seen": seen, "killed": runner.killed,
               "qemu_crash": crash, "early_stall": runner.stalled,
               "timer_lost": timer_lost(os.path.join(args.rundir, "console.log"), runner.killed),
               "seconds": round(time.monotonic() - runner.t0, 1)}
    with open(os.path.join(args.rundir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    sys.stdout.write(ktap)
    for kind, excerpt in unexpected.items():
        print(f"# {args.name}: {kind} report in {args.rundir}/console.log:", file=sys.stderr)
        for line in excerpt.splitlines():
            print(f"#   {line}", file=sys.stderr)
    for failure in res.failures():
        print(f"# FAILED {args.name}: {failure}", file=sys.stderr)
    log(f"{args.name}: {p} passed, {fl} failed, {s} skipped (logs: {args.rundir})")
    return 0 if fl == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
