# SPDX-License-Identifier: GPL-2.0
"""Unit tests of lock-fastpath.py over canned objdump output: calls followed into the module and
vmlinux, the stock mutex exempt, an interlocked instruction elsewhere found by name.

Run from scripts/: python3 -m unittest test_lock_fastpath"""

import os
import stat
import tempfile
import unittest

from script_module import load_script

lf = load_script("lock-fastpath.py")

MODULE = """
0000000000001220 <zr_pci_lock_rescan_remove>:
    1220:	push   %rbx
    1228:	call   1254 <helper>
			1229: R_X86_64_PLT32	rust_helper_get_current-0x4
    1230:	jmp    1300 <lock_slow>

0000000000001300 <lock_slow>:
    1300:	jmp    1305 <lock_slow+0x5>
			1301: R_X86_64_PLT32	rust_helper_mutex_lock-0x4

0000000000001400 <zr_pci_unlock_rescan_remove>:
    1400:	mov    0x0(%rip),%rax
    1407:	jmp    140c <zr_pci_unlock_rescan_remove+0xc>
			1408: R_X86_64_PLT32	mutex_unlock-0x4
"""
VMLINUX = {
    "rust_helper_get_current": "ffffffff81000000 <rust_helper_get_current>:\n"
                               "ffffffff81000000:\tmov    %gs:0x0,%rax\n",
    "rust_helper_mutex_lock": "ffffffff81000010 <rust_helper_mutex_lock>:\n"
                              "ffffffff81000010:\tjmp    ffffffff81000100 <mutex_lock>\n",
    "mutex_lock": "ffffffff81000100 <mutex_lock>:\nffffffff81000100:\tlock cmpxchg %rdx,(%rdi)\n",
}


class LockFastpath(unittest.TestCase):
    def objdump(self, tmp, extra=""):
        """A fake objdump: the module's text, or one vmlinux function (--disassemble=NAME)."""
        for name, text in VMLINUX.items():
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(text)
        with open(os.path.join(tmp, "module.txt"), "w", encoding="utf-8") as f:
            f.write(MODULE + extra)
        path = os.path.join(tmp, "objdump")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"""#!/bin/sh
for a; do
	case "$a" in
	--disassemble=*) cat "{tmp}/${{a#--disassemble=}}" 2>/dev/null; exit 0 ;;
	esac
done
cat "{tmp}/module.txt"
""")
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def test_clean_paths_pass_and_the_stock_mutex_is_exempt(self):
        with tempfile.TemporaryDirectory() as tmp:
            lines, found = lf.check(self.objdump(tmp), "vmlinux", "m.ko", "x86_64")
        self.assertEqual(found, [])
        self.assertIn("rust_helper_get_current, rust_helper_mutex_lock", lines[0])
        self.assertIn("stock calls: mutex_lock, mutex_unlock", lines[0])

    def test_an_interlocked_instruction_is_named(self):
        extra = """
0000000000001500 <stats>:
    1500:	lock xadd %rax,(%rdx)
"""
        bad = MODULE.replace("    1230:\tjmp    1300 <lock_slow>", "    1230:\tcall   1500 <stats>")
        with tempfile.TemporaryDirectory() as tmp:
            path = self.objdump(tmp, extra)
            with open(os.path.join(tmp, "module.txt"), "w", encoding="utf-8") as f:
                f.write(bad + extra)
            _, found = lf.check(path, "vmlinux", "m.ko", "x86_64")
        self.assertEqual(found[0], "stats: lock xadd %rax,(%rdx)")

    def test_a_local_function_reached_through_its_section_is_followed(self):
        # x86: a call of a local function relocates against .text, 4 bytes before its start.
        extra = """
0000000000001500 <cold_path>:
    1500:	lock xadd %rax,(%rdx)
"""
        bad = MODULE.replace("    1407:\tjmp    140c <zr_pci_unlock_rescan_remove+0xc>\n"
                             "\t\t\t1408: R_X86_64_PLT32\tmutex_unlock-0x4\n",
                             "    1407:\tjmp    140c <zr_pci_unlock_rescan_remove+0xc>\n"
                             "\t\t\t1408: R_X86_64_PLT32\tmutex_unlock-0x4\n"
                             "    140c:\tjmp    1411 <zr_pci_unlock_rescan_remove+0x11>\n"
                             "\t\t\t140d: R_X86_64_PLT32\t.text+0x14fc\n")
        self.assertNotEqual(bad, MODULE)
        with tempfile.TemporaryDirectory() as tmp:
            path = self.objdump(tmp, extra)
            with open(os.path.join(tmp, "module.txt"), "w", encoding="utf-8") as f:
                f.write("Disassembly of section .text:\n" + bad + extra)
            _, found = lf.check(path, "vmlinux", "m.ko", "x86_64")
        self.assertEqual(found, ["cold_path: lock xadd %rax,(%rdx)"])

    def test_s390_interlocked_mnemonics(self):
        rx = lf.INTERLOCKED["s390x"]
        for insn in ("csg\t%r1,%r2,0(%r3)", "laag\t%r1,%r2,0(%r3)", "cs\t%r0,%r1,0(%r2)",
                     "agsi\t0(%r1),1"):
            self.assertTrue(rx.match(insn), insn)
        for insn in ("lg\t%r1,0(%r2)", "clg\t%r1,%r2", "csch", "aghi\t%r2,1"):
            self.assertFalse(rx.match(insn), insn)

    def test_usage(self):
        self.assertEqual(lf.main(["x"]), 2)
        self.assertEqual(lf.main(["x", "o", "v", "m", "arm64"]), 2)


if __name__ == "__main__":
    unittest.main()
