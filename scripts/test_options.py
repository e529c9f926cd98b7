# SPDX-License-Identifier: GPL-2.0
"""Bad options of the project's scripts: each is refused with a message naming it and a non-zero
exit before anything runs (the build directory stays empty): the harness's subcommands
(scripts/zr test: ZR_JOBS, ZR_TESTS, ZR_BOOTS, ZR_MACHINES, ZR_QEMU; run: ZR_RUN_BOOTS; torture:
TORTURE_*), build-module.sh (options, targets), qemu/boot.py (arguments), and the report
scripts' usage.

Run from scripts/: python3 -m unittest test_options"""

import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class OptionsTest(unittest.TestCase):
    def refused(self, argv, env, want):
        with tempfile.TemporaryDirectory() as tmp:
            build = os.path.join(tmp, "build")
            # The caller's own test options (make test-x86_64 runs these tests with
            # ZR_MACHINES set) must not leak into the cases.
            base = {k: v for k, v in os.environ.items()
                    if not k.startswith(("ZR_", "TORTURE_")) or k in ("ZR_CACHE",)}
            e = dict(base, ZR_BUILD=build, **env)
            p = subprocess.run(argv, cwd=TOP, env=e, capture_output=True, text=True, timeout=60,
                               check=False)
            self.assertNotEqual(p.returncode, 0, f"{argv} {env} accepted")
            self.assertIn(want, p.stdout + p.stderr, f"{argv} {env}")
            left = os.listdir(build) if os.path.isdir(build) else []
            self.assertEqual(left, [], f"{argv} {env} left {left} behind")

    def test_zr_test(self):
        sh = ["sh", "scripts/zr", "test"]
        for env, want in (({"ZR_JOBS": "0"}, "ZR_JOBS='0'"), ({"ZR_JOBS": "x"}, "ZR_JOBS='x'"),
                          ({"ZR_JOBS": "100"}, "ZR_JOBS='100'"),
                          ({"ZR_JOBS": "02"}, "ZR_JOBS='02'"),
                          ({"ZR_TESTS": "zr_module zr_nope"}, "no test 'zr_nope'"),
                          ({"ZR_BOOTS": "pipeline nope"}, "no boot 'nope'"),
                          ({"ZR_MACHINES": "arm"}, "no machine 'arm'"),
                          ({"ZR_QEMU": "/nonexistent"}, "ZR_QEMU='/nonexistent'")):
            self.refused(sh, env, want)
        self.refused(["sh", "scripts/zr", "run"], {"ZR_RUN_BOOTS": "patched nope"},
                     "no boot 'nope'")
        self.refused(["sh", "scripts/zr", "nope"], {}, "invalid choice")

    def test_zr_torture(self):
        sh = ["sh", "scripts/zr", "torture"]
        for var, val in (("TORTURE_OPS", "abc"), ("TORTURE_OPS", "-1"), ("TORTURE_SECONDS", "0"),
                         ("TORTURE_SECONDS", "86401"), ("TORTURE_WORKERS", "9"),
                         ("TORTURE_CYCLES", "1001"), ("TORTURE_SEED", "1e3"), ("TORTURE_HOST", "2"),
                         ("TORTURE_FULL", "x"), ("TORTURE_SECONDS", "08"),
                         ("TORTURE_SEED", "99999999999"), ("TORTURE_OPS", "")):
            if val == "":
                continue  # empty means the default
            self.refused(sh, {var: val}, f"{var}='{val}'")
        self.refused(sh, {"TORTURE_MACHINES": "s390x arm"}, "unknown machine 'arm'")

    def test_build_module_sh(self):
        self.refused(["bash", "scripts/build-module.sh", "--bogus"], {}, "unknown option --bogus")
        self.refused(["bash", "scripts/build-module.sh", "--kdir", "/nonexistent", "bogus"], {},
                     "unknown target 'bogus'")

    def test_boot_py(self):
        cache = os.environ.get("ZR_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "zpci-rrlock")
        py = os.path.join(cache, "venv", "bin", "python3")
        if not os.path.exists(py):
            self.skipTest(f"no runner venv {py} (scripts/bootstrap.sh makes it)")
        boot = [py, "qemu/boot.py", "--machine", "qemu/machines/s390x.toml",
                "--kernel", "/nonexistent", "--initrd", "/nonexistent", "--rundir", "/tmp/x"]
        self.refused(boot, {}, "no such file: /nonexistent")
        self.refused(boot[:2], {}, "required")
        real = [py, "qemu/boot.py", "--machine", "qemu/machines/s390x.toml", "--kernel",
                "/etc/hostname", "--initrd", "/etc/hostname", "--rundir", "/tmp/x"]
        self.refused(real + ["--init-timeout", "0"], {}, "--init-timeout must be > 0")
        self.refused(real + ["--timeout", "-1"], {}, "--timeout and --init-timeout")

    def test_report_scripts_usage(self):
        for script in ("scripts/torture-report.py", "scripts/lockdep-graph.py"):
            p = subprocess.run([sys.executable, script, "--bogus-option-x"], cwd=TOP,
                               capture_output=True, text=True, timeout=60, check=False)
            self.assertNotEqual(p.returncode, 0, script)
            self.assertTrue(p.stderr.strip(), f"{script}: no message")


if __name__ == "__main__":
    unittest.main()
