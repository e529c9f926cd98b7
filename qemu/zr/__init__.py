# SPDX-License-Identifier: GPL-2.0
"""zr: the test runner of zpci-rrlock, one module per concern:

    machine   machine definitions (TOML) validated, the QEMU and guest command lines
    control   QMP, the guest's requests (the RPC table, typed replies), the host's storm
    runner    one boot: the QEMU process, console markers, deadlines, vCPU state at a kill
    console   the console markers, progress log, kernel-report and lost-timer scans
    reports   the one table of kernel-report kinds (host patterns and the guest's copy)
    ktap      the guest's KTAP parsed, results merged and rendered
    verdict   expectations and the host's own checks of a boot
    diagnose  QEMU's exit and the vCPUs' program counters
    cli       boot.py's command line

qemu/boot.py is its entry point."""
