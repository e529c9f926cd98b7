#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What the guest and the host say to each other, other than kernel reports (zr.reports): the
virtio-serial ports, the markers the guest writes on the console and in its KTAP, the wire
format and the verbs of the control port. Each is written here once.

The host reads with the patterns derived here (zr.console, zr.ktap, zr.control, zr.machine);
the guest writes through the shell functions generated from the same entries
(``contract.py --guest-shell`` > /selftests/contract.sh, by scripts/mkinitramfs.sh): a marker
NAME is printed by ``zr_mark_NAME ARG...``, a verb VERB is sent by ``zr_host_VERB ARG...``
(dashes as underscores). scripts/test_guest_helpers.py runs the generated functions and reads
their output back with the host's patterns. Standalone (the standard library only), so that the
initramfs build runs it with any python3.
"""

import re
import sys
from dataclasses import dataclass

# The virtio-serial ports, by name (the guest finds them in /sys/class/virtio-ports).
PORT_KTAP = "zr.ktap"     # the guest's KTAP
PORT_CTL = "zr.ctl"       # requests to the host (REQ/ACK below)
PORT_DATA = "zr.data"     # data records, JSON lines (zr.records)
PORTS = (PORT_KTAP, PORT_CTL, PORT_DATA)

# What a marker's fields may hold.
FIELDS = {"test": r"\S+", "timeout": r"\d+", "rc": r"\d+", "release": r"\S+"}


@dataclass(frozen=True)
class Marker:
    """A line the guest writes for the host: `text` with {field} placeholders (FIELDS), filled
    by the generated shell function's arguments in order."""

    name: str
    text: str
    doc: str

    @property
    def fields(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.text)

    @property
    def pattern(self) -> re.Pattern[str]:
        """The host's pattern: the text, each field a group."""
        parts = re.split(r"\{(\w+)\}", self.text)
        rx = "".join(re.escape(p) if i % 2 == 0 else f"({FIELDS[p]})"
                     for i, p in enumerate(parts))
        return re.compile(rx)

    def shell(self) -> str:
        """The guest's function: prints the line (the caller sends it where it belongs)."""
        text = self.text
        for i, f in enumerate(self.fields, 1):
            text = text.replace("{" + f + "}", f"${i}")
        return f'zr_mark_{self.name}() {{ echo "{text}"; }}'


# The console markers of /init (scripts/selftests/init) and of the runner (run.sh), and the
# header of a suite in the guest's KTAP.
INIT_START = Marker("init_start", "zr-init: start {release}", "/init began (console)")
INIT_FINISHED = Marker("init_finished", "zr-init: finished", "every test ran (console)")
TEST_BEGIN = Marker("test_begin", "zr-test: begin {test} timeout={timeout}",
                    "a test starts, with its deadline in seconds (kernel log)")
TEST_END = Marker("test_end", "zr-test: end {test} rc={rc}", "a test ended (kernel log)")
SYSRQ_DUMP = Marker("sysrq_dump", "zr-test: sysrq dump",
                    "the watchdog, at a test's deadline, before sysrq w and d (kernel log)")
SUITE_BEGIN = Marker("suite_begin", "# zr-suite: {test}", "a test's KTAP block (KTAP)")
MARKERS = (INIT_START, INIT_FINISHED, TEST_BEGIN, TEST_END, SYSRQ_DUMP, SUITE_BEGIN)

# The control port's wire format, one line each way:
#     guest:  REQ SEQ VERB ARG...
#     host:   ACK SEQ ok [PAYLOAD]        the request was carried out (PAYLOAD: its data)
#             ACK SEQ err MESSAGE         it was not, and why
REQ, ACK, OK, ERR = "REQ", "ACK", "ok", "err"
REQUEST = re.compile(rf"{REQ} (\S+) (.*)$")


def ack(seq: str, ok: bool, payload: str) -> str:
    """The host's answer line."""
    if ok:
        return f"{ACK} {seq} {OK}" + (f" {payload}" if payload else "")
    return f"{ACK} {seq} {ERR} {payload}"


@dataclass(frozen=True)
class Verb:
    """A request the guest may send: its name, how many arguments it takes, its usage line.
    zr.control carries it out with its method ``do_NAME`` (dashes as underscores)."""

    name: str
    nargs: tuple[int, ...]
    usage: str

    @property
    def ident(self) -> str:
        return self.name.replace("-", "_")

    def shell(self) -> str:
        return f'zr_host_{self.ident}() {{ zr_host {self.name} "$@"; }}'


VERBS = (
    Verb("ping", (0,), "ping"),
    Verb("unplug", (1,), "unplug FN"),
    Verb("unplug-nowait", (1,), "unplug-nowait FN"),
    Verb("wait-deleted", (1, 2), "wait-deleted FN [SECONDS]"),
    Verb("plug", (1,), "plug FN"),
    Verb("storm-start", tuple(range(3, 64)), "storm-start SEED MAX_PAUSE_MS FN..."),
    Verb("storm-stop", (0,), "storm-stop"),
    Verb("platform-event", (2, 3), "platform-event FN [VF] EVENT"),
    Verb("freeze", (0,), "freeze"),
)


def guest_shell() -> str:
    """/selftests/contract.sh: the guest's side of every entry above."""
    out = ["# Generated from qemu/zr/contract.py by scripts/mkinitramfs.sh: do not edit.",
           "# shellcheck shell=dash disable=SC2034",
           f"ZR_PORT_KTAP={PORT_KTAP}", f"ZR_PORT_CTL={PORT_CTL}", f"ZR_PORT_DATA={PORT_DATA}",
           f'zr_rpc_request() {{ echo "{REQ} $*"; }}',
           "# zr_rpc_reply SEQ LINE: 0 (ZR_HOST_OUT: the payload) if LINE carries out request",
           "# SEQ, 1 (ZR_HOST_ERR: why) if it refuses it, 2 if LINE answers another request.",
           "zr_rpc_reply() {",
           "\tcase \"$2\" in",
           f'\t"{ACK} $1 {OK}") ZR_HOST_OUT=; return 0 ;;',
           f'\t"{ACK} $1 {OK} "*) ZR_HOST_OUT=${{2#"{ACK} $1 {OK} "}}; return 0 ;;',
           f'\t"{ACK} $1 {ERR} "*) ZR_HOST_ERR=${{2#"{ACK} $1 {ERR} "}}; return 1 ;;',
           f'\t"{ACK} $1 {ERR}") ZR_HOST_ERR=; return 1 ;;',
           "\tesac",
           "\treturn 2",
           "}"]
    out += [m.shell() for m in MARKERS]
    out += [v.shell() for v in VERBS]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if argv[1:] == ["--guest-shell"]:
        sys.stdout.write(guest_shell())
        return 0
    sys.stderr.write("usage: contract.py --guest-shell\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
