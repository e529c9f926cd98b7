# SPDX-License-Identifier: GPL-2.0
"""The host side of the guest's control channel: QMP (through qemu.qmp), the requests a guest
test may send, carried out, and the host's torture worker (the storm).

The wire format and the verbs are zr.contract's (VERBS): verb VERB is carried out by the method
``do_VERB`` of Control (dashes as underscores). The guest's end is zr_host in
scripts/selftests/host.sh and the zr_host_VERB functions generated from the same table."""

import asyncio
import contextlib
import json
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from qemu.qmp import QMPClient

from . import contract
from .machine import Machine, function_qdevs


@dataclass(frozen=True)
class Reply:
    """The answer to one request: carried out (`ok`, with `payload` as its data) or not
    (`payload` says why)."""
    ok: bool
    payload: str = ""

    def wire(self, seq: str) -> str:
        """The ACK line for request SEQ."""
        return contract.ack(seq, self.ok, self.payload)


DONE = Reply(True)


def refused(why: str) -> Reply:
    return Reply(False, why)


class Storm:
    """The host's torture worker (zr_torture): QMP hot-unplug and re-plug of functions picked by
    a seeded random generator, concurrent with the guest's own workers."""

    def __init__(self, control: "Control", seed: int, max_pause: float, fns: list[str]):
        self.control, self.rng = control, random.Random(seed)
        self.max_pause, self.fns = max_pause, fns
        self.n = {"unplug": 0, "plug": 0, "busy": 0, "errors": 0}
        self.away: str | None = None   # the function unplugged and not yet re-plugged
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(self.loop())

    def counts(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.n.items())

    @staticmethod
    async def call(op: Awaitable[Reply]) -> str | None:
        """A QMP request's error (device_del refused, ...) as a string, None on success."""
        try:
            reply = await op
        except Exception as e:  # ExecuteError and connection errors alike
            return str(e) or type(e).__name__
        return None if reply.ok else reply.payload

    async def pause(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.rng.uniform(0, self.max_pause))

    async def qmp(self, kind: str, fn: str) -> str:
        """One QMP unplug or plug of fn, counted: "ok", "busy" (PCIe: the slot's power indicator
        still blinks after a re-plug; tried again later) or "error" (logged to qmp.log)."""
        op = self.control.unplug(fn, timeout=60) if kind == "unplug" else self.control.plug(fn)
        err = await self.call(op)
        if err is None:
            self.n[kind] += 1
            return "ok"
        if kind == "unplug" and "busy" in err.lower():
            self.n["busy"] += 1
            return "busy"
        self.n["errors"] += 1
        self.control.qlog("storm", {kind: fn, "error": err})
        return "error"

    async def loop(self) -> None:
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

    async def stop(self) -> str | None:
        self.stopping.set()
        try:
            # An unplug the guest never completes (a deadlocked guest) is waited for 60 s.
            await asyncio.wait_for(self.task, 70)
        except TimeoutError:
            return f"storm did not stop within 70 s: an unplug never completed ({self.counts()})"
        if self.away is not None and await self.qmp("plug", self.away) == "error":
            return f"re-plugging {self.away} failed ({self.counts()}), see qmp.log"
        if self.n["errors"]:
            return f"storm hit QMP errors ({self.counts()}), see qmp.log"
        return None


class Control:
    """QMP and the guest's requests for one boot; everything goes to RUNDIR/qmp.log."""

    def __init__(self, machine: Machine, rundir: str, t0: float):
        self.machine = machine
        self.fns = {f["id"]: f for f in machine.get("function", [])}
        self.qmp = QMPClient("zr-boot")
        # Open for the object's life, closed by close().
        self.qmplog = open(os.path.join(rundir, "qmp.log"), "w", encoding="utf-8")  # noqa: SIM115
        self.t0 = t0
        self.deleted: dict[str, asyncio.Event] = {}   # device id -> set on DEVICE_DELETED
        self.storm: Storm | None = None               # the host torture worker, while one runs
        # verb -> (its table entry, the method that carries it out)
        self.verbs: dict[str, tuple[contract.Verb, Callable[..., Awaitable[Reply]]]] = {
            v.name: (v, getattr(self, f"do_{v.ident}")) for v in contract.VERBS}

    # ---- QMP ----------------------------------------------------------------------------
    def qlog(self, kind: str, obj: Any) -> None:
        self.qmplog.write(f"{time.monotonic() - self.t0:9.3f} {kind} {json.dumps(obj)}\n")
        self.qmplog.flush()

    async def qmp_cmd(self, cmd: str, arguments: dict[str, Any] | None = None) -> Any:
        self.qlog("->", {"execute": cmd, "arguments": arguments or {}})
        try:
            res = await self.qmp.execute(cmd, arguments)
        except Exception as e:  # ExecuteError and connection errors alike
            self.qlog("<-", {"error": str(e)})
            raise
        self.qlog("<-", {"return": res})
        return res

    async def event_pump(self) -> None:
        async for ev in self.qmp.events:
            self.qlog("ev", {"event": ev["event"], "data": ev.get("data", {})})
            data = cast(dict[str, Any], ev.get("data", {}))
            if ev["event"] == "DEVICE_DELETED":
                dev = data.get("device")
                if dev:
                    self.deleted.setdefault(dev, asyncio.Event()).set()

    def close(self) -> None:
        self.qmplog.close()

    # ---- requests -----------------------------------------------------------------------
    async def do_ping(self) -> Reply:
        return DONE

    async def unplug(self, fid_: str, wait: bool = True, timeout: int = 60) -> Reply:
        fn = self.fns.get(fid_)
        if fn is None:
            return refused(f"unknown function '{fid_}'")
        ids = [d["id"] for d in function_qdevs(self.machine, fn)]
        for i in ids:
            self.deleted[i] = asyncio.Event()
        await self.qmp_cmd("device_del", {"id": fn["id"]})
        if not wait:
            return DONE
        for i in ids:
            try:
                await asyncio.wait_for(self.deleted[i].wait(), timeout)
            except TimeoutError:
                return refused(f"no DEVICE_DELETED for '{i}' within {timeout}s")
        return DONE

    async def do_unplug(self, fid_: str) -> Reply:
        return await self.unplug(fid_)

    async def do_unplug_nowait(self, fid_: str) -> Reply:
        return await self.unplug(fid_, wait=False)

    async def plug(self, fid_: str) -> Reply:
        fn = self.fns.get(fid_)
        if fn is None:
            return refused(f"unknown function '{fid_}'")
        for d in function_qdevs(self.machine, fn):
            await self.qmp_cmd("device_add", d)
        return DONE

    async def wait_deleted(self, fid_: str, timeout: int = 60) -> Reply:
        fn = self.fns.get(fid_)
        if fn is None:
            return refused(f"unknown function '{fid_}'")
        ev = self.deleted.setdefault(fn["id"], asyncio.Event())
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except TimeoutError:
            return refused(f"no DEVICE_DELETED for '{fn['id']}' within {timeout}s")
        return DONE

    async def do_plug(self, fid_: str) -> Reply:
        return await self.plug(fid_)

    async def do_wait_deleted(self, fid_: str, seconds: str = "60") -> Reply:
        if not seconds.isdigit():
            return refused(f"SECONDS '{seconds}' is not a number")
        return await self.wait_deleted(fid_, int(seconds))

    def storm_start(self, rest: list[str]) -> Reply:
        """storm-start SEED MAX_PAUSE_MS FN...: start the host's torture worker: until
        storm-stop, hot-unplug a function picked at random (seeded), wait for its removal, pause,
        re-plug it, pause."""
        if self.storm is not None:
            return refused("a storm runs already")
        if len(rest) < 3:
            return refused("usage: storm-start SEED MAX_PAUSE_MS FN...")
        try:
            seed, pause = int(rest[0]), int(rest[1])
        except ValueError:
            return refused("SEED and MAX_PAUSE_MS must be integers")
        if seed < 0 or not 0 <= pause <= 60000:
            return refused("SEED must be >= 0 and MAX_PAUSE_MS within 0..60000")
        unknown = [f for f in rest[2:] if f not in self.fns]
        if unknown:
            return refused(f"unknown function '{unknown[0]}'")
        self.storm = Storm(self, seed, pause / 1000, rest[2:])
        return DONE

    async def do_storm_start(self, *rest: str) -> Reply:
        return self.storm_start(list(rest))

    async def do_storm_stop(self) -> Reply:
        """Stop the torture worker after its current operation, re-plug whatever it took away,
        and answer with its counts ("unplug=N plug=N busy=N errors=N")."""
        if self.storm is None:
            return refused("no storm runs")
        storm, self.storm = self.storm, None
        err = await storm.stop()
        return refused(err) if err else Reply(True, storm.counts())

    async def do_platform_event(self, fid_: str, *args: str) -> Reply:
        """platform-event ID [VF] EVENT: QMP qom-set of x-platform-event on the zPCI function
        of function ID, or of its VF number VF (0-based), on our QEMU (s390x-sriov machine)."""
        fn = self.fns.get(fid_)
        if fn is None:
            return refused(f"unknown function '{fid_}'")
        path = f"/machine/peripheral/zpci-{fn['id']}"
        if len(args) == 2:
            if not args[0].isdigit():
                return refused(f"VF index '{args[0]}' is not a number")
            path += f"/vf[{int(args[0])}]"
        await self.qmp_cmd("qom-set", {"path": path, "property": "x-platform-event",
                                       "value": args[-1]})
        return DONE

    async def do_freeze(self) -> Reply:
        """Stop the vCPUs: the guest hangs as a deadlocked kernel would (harness test)."""
        await self.qmp_cmd("stop")
        return DONE

    async def handle(self, words: list[str]) -> Reply:
        """One guest request, carried out through the table of verbs."""
        op, rest = (words[0], words[1:]) if words else ("", [])
        entry = self.verbs.get(op)
        if entry is None or len(rest) not in entry[0].nargs:
            why = f"bad request '{' '.join(words)}'"
            return refused(why + (f" (usage: {entry[0].usage})" if entry else ""))
        try:
            return await entry[1](*rest)
        except Exception as e:  # a QMP error is the answer, not a runner crash
            return refused(f"{op}: {e}".replace("\n", " "))

    async def serve_guest(self, path: str, log: Callable[[str], None]) -> None:
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
            m = contract.REQUEST.match(text)
            if not m:
                continue
            self.qlog("guest", {"request": text})
            reply = (await self.handle(m.group(2).split())).wire(m.group(1))
            self.qlog("guest", {"reply": reply})
            writer.write((reply + "\n").encode())
            await writer.drain()
