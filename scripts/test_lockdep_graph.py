# SPDX-License-Identifier: GPL-2.0
"""Unit tests of lockdep-graph.py: /proc/lockdep parsing, focus graph with
direct and indirect edges, kn->active collapsing, cycle highlighting, DOT quoting and the command
line (exit statuses, -o, --svg without Graphviz).

Run from scripts/: python3 -m unittest test_lockdep_graph"""

import contextlib
import io
import os
import tempfile
import textwrap
import unittest
from unittest import mock

from script_module import load_script
from zr import lockdep as ld

lg = load_script("lockdep-graph.py")

# A trimmed /proc/lockdep of a stock s390 boot after the S1 scenario: the rescan/remove lock and
# zpci_add_remove_lock taken in both orders, sysfs attribute classes, a subclass and a class
# (&dev->mutex) between two focus classes.
FIXTURE = textwrap.dedent("""\
    all lock classes:
    00000000b2c6e6f9 FD:   37 BD:    3 +.+.: pci_rescan_remove_lock
     -> [00000000a1b2c3d4] zpci_add_remove_lock
     -> [0000000011d0e7aa] &dev->mutex
     -> [000000003c2f4e10] pci_bus_sem

    00000000a1b2c3d4 FD:   12 BD:    4 +.+.: zpci_add_remove_lock
     -> [00000000b2c6e6f9] pci_rescan_remove_lock
     -> [000000007e11a3b2] zpci_list_lock

    000000007e11a3b2 FD:    1 BD:    5 ....: zpci_list_lock

    000000003c2f4e10 FD:    1 BD:    6 ++++: pci_bus_sem

    0000000011d0e7aa FD:   20 BD:    2 +.+.: &dev->mutex
     -> [00000000e4b8a7f0] &zdev->state_lock
     -> [0000000011d0e7ab] &dev->mutex/1

    0000000011d0e7ab FD:    3 BD:    3 +.+.: &dev->mutex/1

    00000000e4b8a7f0 FD:    2 BD:    3 +.+.: &zdev->state_lock
     -> [000000007e11a3b2] zpci_list_lock

    000000005a6b7c8d FD:   40 BD:    1 ++++: kn->active#12
     -> [00000000b2c6e6f9] pci_rescan_remove_lock
     -> [000000009f0e1d2c] (wq_completion)events

    000000005a6b7c8e FD:   38 BD:    1 ++++: kn->active#13
     -> [00000000a1b2c3d4] zpci_add_remove_lock
     -> [000000005a6b7c8d] kn->active#12

    000000009f0e1d2c FD:    1 BD:    2 +.+.: (wq_completion)events

    00000000c0ffee00 FD:    0 BD:    1 ....: &(&zdev->irq_lock)->rlock

    """)


def graph_of(text=FIXTURE, focus=ld.DEFAULT_FOCUS, through=2, collapse=True):
    data = ld.parse_lockdep(ld.extract_lines(text))
    return data, ld.build_graph(data, ld.compile_focus(focus), through, collapse)


def run_main(argv):
    """(status, stdout, stderr) of lockdep-graph's main(ARGV); SystemExit codes count too."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = lg.main(argv)
        except SystemExit as e:
            status = e.code
    return status, out.getvalue(), err.getvalue()


class ParseTest(unittest.TestCase):
    def test_classes_and_direct_edges(self):
        data = ld.parse_lockdep(ld.extract_lines(FIXTURE))
        self.assertEqual(len(data.classes), 11)
        c = data.classes["pci_rescan_remove_lock"]
        self.assertEqual((c.key, c.fd, c.bd, c.usage), ("00000000b2c6e6f9", 37, 3, "+.+."))
        self.assertIn(("pci_rescan_remove_lock", "zpci_add_remove_lock"), data.edges)
        self.assertIn(("zpci_add_remove_lock", "pci_rescan_remove_lock"), data.edges)
        self.assertIn(("&dev->mutex", "&dev->mutex/1"), data.edges)
        self.assertIn(("kn->active#12", "(wq_completion)events"), data.edges)
        self.assertIn("&(&zdev->irq_lock)->rlock", data.classes)
        self.assertEqual(len(data.edges), 12)

    def test_without_prove_locking_columns(self):
        data = ld.parse_lockdep(["all lock classes:", "00000000b2c6e6f9: pci_bus_sem", ""])
        self.assertIsNone(data.classes["pci_bus_sem"].fd)

    def test_empty_input_is_an_error(self):
        for text in ("", "all lock classes:\n", "some unrelated log\n"):
            with self.assertRaises(ld.LockdepError):
                ld.parse_lockdep(ld.extract_lines(text))


class GraphTest(unittest.TestCase):
    def test_direct_edges_between_focus_classes(self):
        _, g = graph_of()
        self.assertEqual(g.edges[("pci_rescan_remove_lock", "zpci_add_remove_lock")], ())
        self.assertEqual(g.edges[("pci_rescan_remove_lock", "pci_bus_sem")], ())
        self.assertEqual(g.edges[("zpci_add_remove_lock", "zpci_list_lock")], ())
        self.assertNotIn("&dev->mutex", g.nodes)
        self.assertNotIn("(wq_completion)events", g.nodes)

    def test_indirect_edge_through_one_non_focus_class(self):
        _, g = graph_of()
        self.assertEqual(g.edges[("pci_rescan_remove_lock", "&zdev->state_lock")],
                         ("&dev->mutex",))
        _, g0 = graph_of(through=0)
        self.assertNotIn(("pci_rescan_remove_lock", "&zdev->state_lock"), g0.edges)

    def test_direct_edge_wins_over_indirect(self):
        # zpci_list_lock is reached directly from zpci_add_remove_lock and also through
        # pci_rescan_remove_lock -> &dev->mutex -> state_lock; neither replaces a direct edge.
        _, g = graph_of(focus=[r"^zpci_add_remove_lock$", r"^zpci_list_lock$"])
        self.assertEqual(g.edges, {("zpci_add_remove_lock", "zpci_list_lock"): ()})

    def test_path_longer_than_through_is_not_drawn(self):
        focus = [r"^pci_rescan_remove_lock$", r"^zpci_list_lock$"]
        # Shortest path: pci_rescan_remove_lock -> zpci_add_remove_lock -> zpci_list_lock.
        _, g = graph_of(focus=focus, through=1)
        self.assertEqual(g.edges[("pci_rescan_remove_lock", "zpci_list_lock")],
                         ("zpci_add_remove_lock",))
        # kn->active#12 -> pci_rescan_remove_lock -> &dev->mutex -> &dev->mutex/1.
        focus = [r"^&dev->mutex/1$", r"^kn->active#12$"]
        _, g = graph_of(focus=focus, through=1, collapse=False)
        self.assertEqual(g.edges, {})
        _, g = graph_of(focus=focus, through=2, collapse=False)
        self.assertEqual(g.edges, {("kn->active#12", "&dev->mutex/1"):
                                   ("pci_rescan_remove_lock", "&dev->mutex")})

    def test_kn_active_collapsed(self):
        _, g = graph_of()
        self.assertIn(ld.KERNFS_NODE, g.nodes)
        self.assertEqual(g.nodes[ld.KERNFS_NODE], ["kn->active#12", "kn->active#13"])
        self.assertNotIn("kn->active#12", g.nodes)
        self.assertEqual(g.edges[(ld.KERNFS_NODE, "pci_rescan_remove_lock")], ())
        self.assertEqual(g.edges[(ld.KERNFS_NODE, "zpci_add_remove_lock")], ())
        # kn->active#13 -> kn->active#12 is no self loop of the merged node.
        self.assertNotIn((ld.KERNFS_NODE, ld.KERNFS_NODE), g.edges)

    def test_no_collapse_kernfs(self):
        _, g = graph_of(collapse=False)
        self.assertNotIn(ld.KERNFS_NODE, g.nodes)
        self.assertEqual(g.edges[("kn->active#13", "kn->active#12")], ())
        self.assertEqual(g.edges[("kn->active#12", "pci_rescan_remove_lock")], ())

    def test_bad_regex(self):
        with self.assertRaises(ld.LockdepError):
            ld.compile_focus(["pci_(bus"])


class CycleTest(unittest.TestCase):
    def test_ab_ba_cycle_detected(self):
        _, g = graph_of()
        red, cycles = ld.find_cycles(g)
        self.assertEqual(cycles, [["pci_rescan_remove_lock", "zpci_add_remove_lock",
                                   "pci_rescan_remove_lock"]])
        self.assertEqual(red, {("pci_rescan_remove_lock", "zpci_add_remove_lock"),
                               ("zpci_add_remove_lock", "pci_rescan_remove_lock")})

    def test_self_loop_and_three_cycle(self):
        g = ld.Graph({n: [n] for n in "abcd"},
                     {("a", "b"): (), ("b", "c"): (), ("c", "a"): ("x",), ("d", "d"): (),
                      ("c", "d"): ()})
        red, cycles = ld.find_cycles(g)
        self.assertEqual(cycles, [["a", "b", "c", "a"], ["d", "d"]])
        self.assertEqual(red, {("a", "b"), ("b", "c"), ("c", "a"), ("d", "d")})

    def test_cycle_edges_red_in_dot(self):
        data, g = graph_of()
        red, _ = ld.find_cycles(g)
        dot = lg.render_dot(data, g, "s1 stock", red)
        self.assertIn('"pci_rescan_remove_lock" -> "zpci_add_remove_lock" '
                      '[color=red, fontcolor=red, penwidth=2];', dot)
        self.assertIn('"zpci_add_remove_lock" -> "pci_rescan_remove_lock" '
                      '[color=red, fontcolor=red, penwidth=2];', dot)
        self.assertIn('"pci_rescan_remove_lock" -> "pci_bus_sem";', dot)
        self.assertIn('label="s1 stock"', dot)


class DotTest(unittest.TestCase):
    def test_quoting(self):
        self.assertEqual(lg.dot_quote('a "b" \\c'), '"a \\"b\\" \\\\c"')
        text = FIXTURE + '000000000000abcd FD:    0 BD:    1 ....: lock "x"\\y\n' \
            ' -> [00000000b2c6e6f9] pci_rescan_remove_lock\n\n'
        data, g = graph_of(text, focus=[r"x", r"^pci_rescan_remove_lock$"])
        dot = lg.render_dot(data, g)
        self.assertIn('"lock \\"x\\"\\\\y" -> "pci_rescan_remove_lock";', dot)

    def test_indirect_edge_dashed_and_labelled(self):
        data, g = graph_of()
        dot = lg.render_dot(data, g)
        self.assertIn('"pci_rescan_remove_lock" -> "&zdev->state_lock" '
                      '[style=dashed, label="&dev->mutex"];', dot)

    def test_output_is_deterministic(self):
        data, g = graph_of()
        first = lg.render_dot(data, g)
        shuffled = "all lock classes:\n" + "\n\n".join(
            reversed(FIXTURE.split("all lock classes:\n")[1].strip().split("\n\n"))) + "\n\n"
        data2, g2 = graph_of(shuffled)
        self.assertEqual(lg.render_dot(data2, g2), first)


class MainTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.input = os.path.join(self.tmp.name, "lockdep.txt")
        with open(self.input, "w", encoding="utf-8") as f:
            f.write(FIXTURE)

    def test_highlight_cycles_on_stderr(self):
        status, out, err = run_main([self.input, "--highlight-cycles", "--title", "t"])
        self.assertEqual(status, 0)
        self.assertTrue(out.startswith("digraph lockdep {"))
        self.assertIn("color=red", out)
        self.assertEqual(err, "cycle: pci_rescan_remove_lock -> zpci_add_remove_lock -> "
                         "pci_rescan_remove_lock\n")

    def test_no_red_without_highlight(self):
        status, out, err = run_main([self.input])
        self.assertEqual((status, err), (0, ""))
        self.assertNotIn("color=red", out)

    def test_svg_without_dot(self):
        dot_file = os.path.join(self.tmp.name, "g.dot")
        svg_file = os.path.join(self.tmp.name, "g.svg")
        with mock.patch.object(lg.shutil, "which", return_value=None) as which, \
                mock.patch.object(lg.subprocess, "run") as run:
            status, out, err = run_main([self.input, "-o", dot_file, "--svg", svg_file])
        which.assert_called_with("dot")
        run.assert_not_called()
        self.assertEqual((status, out), (0, ""))
        self.assertIn("dot (Graphviz) not found", err)
        self.assertFalse(os.path.exists(svg_file))
        with open(dot_file, encoding="utf-8") as f:
            self.assertTrue(f.read().startswith("digraph lockdep {"))

    def test_svg_with_dot(self):
        svg_file = os.path.join(self.tmp.name, "g.svg")
        done = mock.Mock(returncode=0, stderr="")
        with mock.patch.object(lg.shutil, "which", return_value="/usr/bin/dot"), \
                mock.patch.object(lg.subprocess, "run", return_value=done) as run:
            status, out, _ = run_main([self.input, "--svg", svg_file])
        self.assertEqual(status, 0)
        self.assertEqual(run.call_args.args[0], ["/usr/bin/dot", "-Tsvg", "-o", svg_file])
        self.assertEqual(run.call_args.kwargs["input"], out)

    def test_errors_exit_1(self):
        empty = os.path.join(self.tmp.name, "empty.txt")
        open(empty, "w", encoding="utf-8").close()
        for argv, reason in (([os.path.join(self.tmp.name, "missing")], "cannot read"),
                             ([empty], "no lockdep data"),
                             ([self.input, "--focus", "("], "bad --focus regex")):
            status, out, err = run_main(argv)
            self.assertEqual((status, out), (1, ""), argv)
            self.assertTrue(err.startswith("lockdep-graph: " + reason), err)

    def test_usage_errors_exit_2(self):
        for argv in ([], [self.input, "--through", "-1"], [self.input, "--bogus"]):
            status, _, _ = run_main(argv)
            self.assertEqual(status, 2, argv)


REPORT = """\
[   60.881866] WARNING: possible circular locking dependency detected
[   60.882000] 7.3.4-zpci-rrlock #1 Not tainted
[   60.882100] ------------------------------------------------------
[   60.882200] kmcheck/40 is trying to acquire lock:
[   60.882300] 000003ffe09a5c90 (pci_rescan_remove_lock){+.+.}-{3:3}, at: zpci_release_device+0x9e/0x1b0
[   60.882400]
[   60.882500] but task is already holding lock:
[   60.882600] 000003ffe09a6640 (zpci_add_remove_lock){+.+.}-{3:3}, at: zpci_zdev_put+0x2e/0x88
"""


class ReportTest(unittest.TestCase):
    def test_refused_edge(self):
        self.assertEqual(ld.parse_reports(REPORT),
                         {("zpci_add_remove_lock", "pci_rescan_remove_lock")})

    def test_nested_parentheses(self):
        self.assertEqual(ld.report_class("0000 ((wq_completion)events){+.+.}-{0:0}, at: x"),
                         "(wq_completion)events")
        self.assertIsNone(ld.report_class("no class here"))

    def test_no_report(self):
        self.assertEqual(ld.parse_reports("plain console\nnothing to see\n"), set())


if __name__ == "__main__":
    unittest.main()
