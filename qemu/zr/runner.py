# SPDX-License-Identifier: GPL-2.0
"""One guest boot: the QEMU process, its console tailed for the guest's markers, the deadlines of
the boot and of each test (a hung guest is killed, its vCPUs' state saved first), and the control
channel (zr.control) served meanwhile."""

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import subprocess
import time

from . import console
from .control import Control
from .diagnose import load_symbols, symbolise, vcpu_pcs
from .machine import Machine, guest_cmdline, qemu_argv

# Seconds the guest has to power off after its runner's final marker. Every result is in by
# then; a kernel whose shutdown hangs (device_shutdown() waiting for a device lock that a stock
# deadlock holds) is killed and the boot judged on what it delivered. Three times the guests'
# hung-task timeout (10 s): a task the shutdown blocks is reported before the kill.
POWEROFF_GRACE = 30


class Runner:
    def __init__(self, args: argparse.Namespace, machine: Machine):
        self.args = args
        self.machine = machine
        self.rundir = args.rundir
        self.t0 = time.monotonic()
        self.control = Control(machine, self.rundir, self.t0)
        self.proc: asyncio.subprocess.Process | None = None
        self.killed: str | None = None       # why the guest was killed, if it was
        self.test: tuple[str, float] | None = None   # (name, deadline) of the running test
        self.timeouts: list[str] = []        # tests that ran past their deadline
        self.finished = False                # the guest's runner printed its final marker
        self.poweroff_by: float | None = None   # when the guest must be off, once finished
        self.shutdown_hung = False           # killed after finishing: power-off never came
        self.reached_init = False
        self.stalled: str | None = None      # why early boot (before /init) counts as stalled

    def on_console_line(self, line: str) -> None:
        if console.INIT_START.search(line):
            self.reached_init = True
            console.log(f"{self.args.name}: guest reached /init after "
                        f"{time.monotonic() - self.t0:.0f}s")
        m = console.TEST_BEGIN.search(line)
        if m:
            self.test = (m.group(1), time.monotonic() + int(m.group(2)) + self.args.grace)
            console.log(f"{self.args.name}: test {m.group(1)}")
        if console.TEST_END.search(line):
            self.test = None
        if console.INIT_FINISHED.search(line) and not self.finished:
            self.finished = True
            self.poweroff_by = time.monotonic() + POWEROFF_GRACE

    async def watch(self) -> None:
        assert self.proc is not None
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
            elif self.poweroff_by is not None and now > self.poweroff_by:
                self.shutdown_hung = True
                await self.kill(f"no power-off within {POWEROFF_GRACE}s of the suite's end "
                                "(the kernel's shutdown hung)")
            elif now > deadline:
                await self.kill(f"boot ran past its deadline of {self.args.timeout}s")
            elif not self.reached_init and now > self.t0 + self.args.init_timeout:
                self.stalled = f"no /init after {self.args.init_timeout}s"
                await self.kill(f"guest stalled in early boot ({self.stalled})")

    async def vcpu_state(self) -> None:
        """Saves what the vCPUs were doing (HMP `info registers -a`, program counters
        symbolised with the kernel's System.map when it lies beside the image) before a kill:
        a guest frozen without a word on its console shows there whether its vCPUs sat halted
        (an emulator or interrupt problem) or spun in the kernel."""
        qmp = self.control.qmp
        if self.proc is None or self.proc.returncode is not None or qmp.runstate.name != "RUNNING":
            return
        try:
            regs = await asyncio.wait_for(self.control.qmp_cmd(
                "human-monitor-command", {"command-line": "info registers -a"}), 15)
            cpus = await asyncio.wait_for(self.control.qmp_cmd("query-cpus-fast"), 15)
        except Exception as e:  # the kill goes on whatever the monitor answers
            console.log(f"{self.args.name}: no vCPU state ({e})")
            return
        lines = [f"# vCPUs at the kill: {json.dumps(cpus)}"]
        symbols: list[tuple[int, str]] = []
        kernel = self.args.kernel
        for d in (os.path.dirname(kernel), os.path.dirname(os.path.realpath(kernel))):
            symbols = symbols or load_symbols(os.path.join(d, "System.map"))
        for pc in vcpu_pcs(regs):
            lines.append(f"# pc {pc:016x} {symbolise(symbols, pc)}")
        path = os.path.join(self.rundir, "vcpu-state.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n" + regs)
        console.log(f"{self.args.name}: vCPU state before the kill: {path}")

    async def kill(self, why: str) -> None:
        if self.killed is None:
            self.killed = why
            console.log(f"{self.args.name}: killing the guest: {why}")
            await self.vcpu_state()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def run(self) -> None:
        argv = qemu_argv(self.machine, self.args.kernel, self.args.initrd,
                         f"{guest_cmdline(self.machine)} {self.args.append}", self.rundir,
                         self.args.qemu)
        with open(os.path.join(self.rundir, "qemu.cmdline"), "w", encoding="utf-8") as f:
            f.write(shlex.join(argv) + "\n")
        console.log(f"{self.args.name}: booting {self.machine['machine']['arch']} guest "
                    f"(deadline {self.args.timeout}s, console: {self.rundir}/console.log)")
        with open(os.path.join(self.rundir, "qemu.out"), "wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        qmp = self.control.qmp
        for _ in range(100):
            try:
                await qmp.connect(os.path.join(self.rundir, "qmp.sock"))
                break
            except Exception:
                if self.proc.returncode is not None:
                    break
                await asyncio.sleep(0.1)
        tasks = []
        if qmp.runstate.name == "RUNNING":
            tasks = [asyncio.create_task(self.control.event_pump()),
                     asyncio.create_task(self.control.serve_guest(
                         os.path.join(self.rundir, "ctl.sock"), console.log))]
        else:
            console.log(f"{self.args.name}: could not connect to QMP (see {self.rundir}/qemu.out)")
        await self.watch()
        if self.control.storm is not None:  # the guest ended without storm-stop
            tasks.append(self.control.storm.task)
        for t in tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            await qmp.disconnect()
        self.control.close()
        console.log(f"{self.args.name}: guest ended after {time.monotonic() - self.t0:.0f}s "
                    f"(qemu exit {self.proc.returncode})")
