# SPDX-License-Identifier: GPL-2.0
#
# zpci-rrlock. This Makefile is both the out-of-tree module Makefile of the Rust-for-Linux
# template (make, make clean, make modules_install, make rust-analyzer) and the project's front
# door (make run, make test). Without KDIR= the module targets first bootstrap the toolchain and
# build the cached s390x test kernel; with KDIR=/path/to/a/Rust-enabled/kernel/build they only
# build the module against that tree.

ZR_ARCH ?= s390x
zr-module = scripts/build-module.sh $(if $(KDIR),--kdir $(KDIR)) --arch $(ZR_ARCH)
zr-pass = $(if $(CLIPPY),CLIPPY=$(CLIPPY)) $(if $(V),V=$(V)) $(if $(INSTALL_MOD_PATH),INSTALL_MOD_PATH=$(INSTALL_MOD_PATH))

.PHONY: default modules modules_install clean rust-analyzer run test test-s390x test-s390x-sriov test-s390x-kasan test-x86_64 test-x86_64-kasan test-x86_64-switch test-distro-amd64 lint bench torture distro

default: modules

modules:
	@$(zr-module) modules $(zr-pass) >/dev/null

modules_install:
	@$(zr-module) modules_install $(zr-pass) >/dev/null

rust-analyzer:
	@$(zr-module) rust-analyzer >/dev/null

clean:
	rm -rf build rust-project.json

# Boot the s390x guest and show the deadlock scenarios on the stock kernel and with the module.
# The harness (qemu/zr/, scripts/zr --help): each target is one of its subcommands.
run:
	@scripts/zr run

# Host-side tests and the guest boot suites; ends with "N passed, N failed, N skipped".
test:
	@scripts/zr test

# One machine's boots only (host tests included), for quick iteration.
test-s390x test-s390x-sriov test-s390x-kasan test-x86_64 test-x86_64-kasan test-x86_64-switch test-distro-amd64:
	@scripts/zr test --machines $(@:test-%=%)

# The rescan/remove lock benchmark (not part of test): build/bench-lock.txt.
bench:
	@scripts/zr bench

# The long torture run (make test runs a bounded one): build/torture.md. Options: TORTURE_OPS,
# TORTURE_SECONDS, TORTURE_SEED, TORTURE_WORKERS, TORTURE_CYCLES, TORTURE_HOST, TORTURE_FULL,
# TORTURE_MACHINES (scripts/zr torture --help).
torture:
	@$(foreach v,TORTURE_OPS TORTURE_SECONDS TORTURE_SEED TORTURE_WORKERS TORTURE_CYCLES TORTURE_HOST TORTURE_FULL TORTURE_MACHINES,$(if $($(v)),$(v)="$($(v))")) scripts/zr torture

# zpci_rrlock.ko for Debian's own amd64 kernel, from its packages (Documentation/distro.rst):
# build/module/debian-amd64/. Needs root.
distro:
	@scripts/build-distro.sh module >/dev/null

# rustfmt, a CLIPPY=1 module build, shellcheck and checkpatch; fails on any warning.
lint:
	@scripts/lint.sh
