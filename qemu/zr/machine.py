# SPDX-License-Identifier: GPL-2.0
"""Machines as data: a TOML definition (qemu/machines/*.toml) validated into the dict the runner
uses, and the QEMU command line and guest command line it implies."""

import os
import tomllib
from typing import Any

from . import contract, records

Machine = dict[str, Any]


class UsageError(Exception):
    """A bad machine definition or argument: exit status 2."""


def read_machine(path: str, seen: tuple[str, ...] = ()) -> Machine:
    """A definition as written, with its base's (``base = "NAME"`` in [machine]: the machine
    qemu/machines/NAME.toml, whose [machine] keys it overrides one by one and whose
    [[function]] and [[backend]] lists it replaces if it has its own)."""
    try:
        with open(path, "rb") as f:
            m = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"machine definition {path}: {e}") from e
    base = m.get("machine", {}).pop("base", None)
    if base is None:
        return m
    bpath = os.path.join(os.path.dirname(path), f"{base}.toml")
    if not isinstance(base, str) or bpath in seen or len(seen) > 4:
        raise UsageError(f"machine definition {path}: base {base!r} is not a machine or "
                         "includes itself")
    merged = read_machine(bpath, seen + (path,))
    merged["machine"] = {**merged.get("machine", {}), **m.get("machine", {})}
    for key, val in m.items():
        if key != "machine":
            merged[key] = val
    return merged


def load_machine(path: str) -> Machine:
    m = read_machine(path)
    for key in ("arch", "args", "console", "control"):
        if key not in m.get("machine", {}):
            raise UsageError(f"machine definition {path}: [machine] has no '{key}'")
    for key in ("modules", "test_modules"):
        val = m["machine"].get(key, [])
        if not isinstance(val, list) or not all(isinstance(v, str) and v for v in val):
            raise UsageError(f"machine definition {path}: '{key}' must be a list of module names")
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
            raise UsageError(f"machine definition {path}: s390x function '{fn['id']}' "
                             "needs uid and fid")
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


def parse_props(props: str | None) -> dict[str, str]:
    """'a=b,c=' -> {'a': 'b', 'c': ''}"""
    out = {}
    for item in filter(None, (props or "").split(",")):
        key, sep, val = item.partition("=")
        if not sep:
            raise UsageError(f"device property '{item}' is not key=value")
        out[key] = val
    return out


def function_qdevs(machine: Machine, fn: dict[str, Any]) -> list[dict[str, Any]]:
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


def qdev_to_cli(d: dict[str, Any]) -> str:
    parts = [d["driver"]] + [f"{k}={v}" for k, v in d.items() if k != "driver"]
    return ",".join(parts)


def control_zpci(mc: dict[str, Any]) -> list[str]:
    """s390x with a PCI host channel: the zPCI device in front of it (control_fid; uid alike)."""
    if "control_fid" not in mc:
        return []
    fid = mc["control_fid"]
    return ["-device", f"zpci,id=zpci-zrvser,uid={fid},fid={fid},target=zrvser"]


def qemu_binary(machine: Machine, qemu: str | None) -> str:
    """The QEMU binary of a boot: --qemu if given (required for a qemu_patched machine, which
    runs our build), else the machine's 'qemu'."""
    if qemu:
        if not (os.path.isfile(qemu) and os.access(qemu, os.X_OK)):
            raise UsageError(f"--qemu {qemu}: not an executable file")
        return qemu
    if machine["machine"].get("qemu_patched"):
        raise UsageError("this machine runs our QEMU build: pass --qemu PATH "
                         "(scripts/build-qemu.sh prints it)")
    return str(machine["machine"]["qemu"])


def qemu_argv(machine: Machine, kernel: str, initrd: str, append: str, rundir: str,
              qemu: str | None = None) -> list[str]:
    mc = machine["machine"]
    argv = [qemu_binary(machine, qemu), *mc["args"], "-nodefaults", "-nographic", "-no-reboot",
            "-kernel", kernel, "-initrd", initrd,
            "-append", f"console={mc['console']} {mc.get('append', '')} {append}".strip(),
            "-serial", f"file:{rundir}/console.log",
            "-qmp", f"unix:{rundir}/qmp.sock,server=on,wait=off",
            *control_zpci(mc),
            "-device", f"{mc['control']},id=zrvser"
            + (f",devno={mc['control_devno']}" if "control_devno" in mc else ""),
            "-chardev", f"socket,id=zrctl,path={rundir}/ctl.sock,server=on,wait=off",
            "-device", f"virtserialport,chardev=zrctl,name={contract.PORT_CTL},bus=zrvser.0",
            "-chardev", f"file,id=zrktap,path={rundir}/guest.ktap",
            "-device", f"virtserialport,chardev=zrktap,name={contract.PORT_KTAP},bus=zrvser.0",
            "-chardev", f"file,id=zrdata,path={rundir}/{records.FILE}",
            "-device", f"virtserialport,chardev=zrdata,name={contract.PORT_DATA},bus=zrvser.0"]
    for be in machine.get("backend", []):
        argv += [be["option"], be["arg"]]
    for extra in mc.get("devices", []):
        argv += ["-device", extra]
    for fn in machine.get("function", []):
        for d in function_qdevs(machine, fn):
            argv += ["-device", qdev_to_cli(d)]
    return argv


def guest_cmdline(machine: Machine) -> str:
    """Kernel command-line words that tell the guest which functions to expect: id, how to find
    it (s390x: zPCI function id; else: hot-plug slot number) and driver."""
    fns = machine.get("function", [])
    spec = ";".join(f"{f['id']}:{f.get('fid', f.get('slot', ''))}:{f['driver']}" for f in fns)
    ctl = machine["machine"].get("control_fid")
    return f"zr.functions={spec}" + (f" zr.control_fid={ctl}" if ctl is not None else "")
