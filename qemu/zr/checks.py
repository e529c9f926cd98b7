# SPDX-License-Identifier: GPL-2.0
"""The build checks, once per architecture: a changed replaced function must be refused
(source-check-ARCH) and the lock's fast paths must be free of interlocked instructions
(lock-fastpath-ARCH); and what they check, a prepared machine."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from .console import log
from .files import read_text as read
from .paths import BUILD, CACHE, LOGS, SCRIPTS
from .record import Results
from .suite import TOP

# The cross tool prefix of an architecture's binaries on this host.
ARCH_CROSS = {"s390x": "s390x-linux-gnu-", "x86_64": "x86_64-linux-gnu-"}


def cross(arch: str) -> str:
    return "" if os.uname().machine == arch else ARCH_CROSS[arch]


@dataclass
class Prepared:
    """A machine ready to boot: its kernel tree and initramfs, and our QEMU if it runs that."""
    name: str
    arch: str
    kernel: str
    kdir: str
    initrd: str
    qemu: str | None


def build_checks(prepared: Iterable[Prepared], results: Results) -> None:
    """source-check-ARCH and lock-fastpath-ARCH, once per architecture whose test kernel
    (scripts/config/ARCH.config) a prepared machine boots: the bench and KASAN kernels are
    variants of it, and the KASAN instrumentation's calls would take the machine-code walk
    through half of the kernel."""
    done: set[str] = set()
    for p in prepared:
        if p.arch in done or p.kernel != p.arch:
            continue
        done.add(p.arch)
        changed_source(p, results)
        lock_fastpath(p, results)


def changed_source(p: Prepared, results: Results) -> None:
    """The livepatch must not build against a tree whose replaced functions differ from the
    source its replacements were written against (rust/zr_sources.list): a copy of those
    files with sriov_disable() changed as the upstream series changes it (VF removal under
    the rescan/remove lock) must be refused, naming the function."""
    name = f"source-check-{p.arch}"
    want = "sriov_disable (drivers/pci/iov.c) differs from the source"
    tree = os.path.join(BUILD, "changed-src", p.arch)
    lpath = os.path.join(LOGS, f"module-{p.arch}-changed-source.log")
    shutil.rmtree(tree, ignore_errors=True)
    ksrc = read(os.path.join(CACHE, "ksrc.path")).strip()
    files = sorted({line.split()[1] for line in read(os.path.join(TOP, "rust",
                                                                 "zr_sources.list")).splitlines()
                    if line.strip() and not line.startswith("#") and len(line.split()) >= 3})
    try:
        for f in files:
            os.makedirs(os.path.dirname(os.path.join(tree, f)), exist_ok=True)
            shutil.copyfile(os.path.join(ksrc, f), os.path.join(tree, f))
    except OSError as e:
        results.fail(name, f"cannot copy the kernel tree's sources: {e}")
        return
    iov = os.path.join(tree, "drivers", "pci", "iov.c")
    text = read(iov)
    changed = text.replace("\n\tsriov_del_vfs(dev);\n", "\n\tpci_lock_rescan_remove();\n"
                           "\tsriov_del_vfs(dev);\n\tpci_unlock_rescan_remove();\n")
    if changed == text:
        results.fail(name, "drivers/pci/iov.c has no sriov_del_vfs(dev) line to change")
        return
    with open(iov, "w", encoding="utf-8") as out:
        out.write(changed)
    log(f"module build against a changed sriov_disable() ({p.arch}), must fail "
        f"(log: {lpath})")
    with open(lpath, "w", encoding="utf-8") as lf:
        rc = subprocess.run([os.path.join(SCRIPTS, "build-module.sh"), "--kdir", p.kdir,
                             "--out", os.path.join(BUILD, "module", f"changed-{p.arch}"),
                             "--srctree", tree, "modules"], stdout=lf, stderr=lf,
                            check=False).returncode
    if rc == 0:
        results.fail(name, "a module was built against a changed sriov_disable() "
                          f"(log: {lpath})")
    elif want in read(lpath):
        results.ok(name)
    else:
        results.fail(name, f"the build failed without naming sriov_disable (log: {lpath})")


def lock_fastpath(p: Prepared, results: Results) -> None:
    """The lock's physical floor, read from the machine code of the module
    (scripts/lock-fastpath.py): no interlocked instruction on the replacements' paths but
    the stock mutex's own."""
    name = f"lock-fastpath-{p.arch}"
    lpath = os.path.join(LOGS, f"{name}.log")
    with open(lpath, "w", encoding="utf-8") as lf:
        rc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "lock-fastpath.py"),
                             f"{cross(p.arch)}objdump", os.path.join(p.kdir, "vmlinux"),
                             os.path.join(BUILD, "module", p.kernel, "rust", "zpci_rrlock.ko"),
                             p.arch], stdout=lf, stderr=lf, check=False).returncode
    lines = read(lpath).splitlines()
    if rc == 0:
        results.ok(name)
    else:
        results.fail(name, lines[-1] if lines else f"no output (log: {lpath})")
    if lines:
        log(lines[0])
