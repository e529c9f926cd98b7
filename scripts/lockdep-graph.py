#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""lockdep-graph.py [options] LOCKDEP: draw the lock order lockdep recorded in a guest as a
Graphviz DOT graph.

LOCKDEP is a copy of the guest's /proc/lockdep ("-" reads standard input; make test takes it
from the boot's lockdep data record, qemu/zr/records.py). /proc/lockdep
(kernel/locking/lockdep_proc.c, l_show()) prints "all lock classes:", then for every class

    00000000b2c6e6f9 FD:   37 BD:    1 +.+.: pci_rescan_remove_lock
     -> [00000000a1b2c3d4] zpci_add_remove_lock

that is the class line (key, forward and backward dependency counts, usage characters, name)
and one " -> [key] name" line per lock lockdep saw acquired while the class was held (its
direct, distance-1 dependencies), then a blank line. Several dumps in one file are merged.

Only the focus classes are drawn (--focus REGEX, repeatable, re.search() on the class name;
the default set is the rescan/remove locks and their neighbours, see DEFAULT_FOCUS). An edge
A -> B (B taken while A held) is solid when lockdep recorded it directly, and dashed, labelled
with the classes in between, when B is reached from A through at most --through (default 2)
non-focus classes (the shortest such path, by breadth-first search). All kn->active#N classes
(kernfs active references, one class per sysfs attribute group) are merged into one node
"kn->active (sysfs)" unless --no-collapse-kernfs; an edge between two different classes merged
into the same node is dropped, as it would be a self loop of the merged node, not a lock-order
cycle. --highlight-cycles colours red every edge inside a strongly connected component of the
drawn graph (and every self loop) and prints each elementary cycle on standard error as
"cycle: a -> b -> a".

The DOT goes to standard output, or to -o FILE. --svg FILE also renders it with Graphviz's dot
when dot is on PATH; without dot a note goes to standard error and the exit status stays 0.
Exit status 1, with "lockdep-graph: <reason>" on standard error, for an unreadable input, input
without lockdep class data, a bad regex or a failing dot; 2 for a usage error.

Example:
    scripts/lockdep-graph.py --highlight-cycles --title "s1 stock" -o s1.dot --svg s1.svg \\
        build/runs/s390x-stock/lockdep.txt
"""

import argparse
import os
import shutil
import subprocess
import sys

# The harness's package, qemu/zr, holds the /proc/lockdep reader and the graph.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "qemu"))
from zr.lockdep import (  # noqa: E402
    DEFAULT_FOCUS,
    MAX_CYCLES,
    LockClass,
    LockdepError,
    build_graph,
    compile_focus,
    extract_lines,
    find_cycles,
    node_of,
    parse_lockdep,
    parse_reports,
)


def dot_escape(text):
    """TEXT with the characters special in a quoted DOT string escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def dot_quote(text):
    """TEXT as a quoted DOT string (an ID or a label without escape sequences)."""
    return f'"{dot_escape(text)}"'


def dot_label(lines):
    """A quoted DOT label of LINES, one per line."""
    return '"{}"'.format("\\n".join(dot_escape(line) for line in lines))


def node_tooltip(data, names):
    """The tooltip of a node merging the classes NAMES."""
    if len(names) > 1:
        return f"{len(names)} classes: {', '.join(names)}"
    c = data.classes[names[0]]
    if c.fd is None:
        return c.name
    return f"{c.name} FD:{c.fd} BD:{c.bd} {c.usage}"


def render_dot(data, graph, title=None, red=frozenset(), reported=frozenset()):
    """The DOT text of GRAPH (built from DATA), edges in RED drawn red, edges in REPORTED (the
    ones a lockdep report refused) drawn bold and labelled so."""
    out = ["digraph lockdep {"]
    graph_attrs = ["rankdir=LR", 'fontname="monospace"']
    if title:
        graph_attrs += [f"label={dot_quote(title)}", "labelloc=t"]
    out.append("\tgraph [{}];".format(", ".join(graph_attrs)))
    out.append('\tnode [shape=box, fontname="monospace"];')
    out.append('\tedge [fontname="monospace", fontsize=10];')
    for node, names in graph.nodes.items():
        out.append(f"\t{dot_quote(node)} [tooltip={dot_quote(node_tooltip(data, names))}];")
    for (src, dst), via in graph.edges.items():
        attrs = []
        if (src, dst) in reported:
            attrs += ["style=bold", "label={}".format(dot_quote("lockdep report"))]
        elif via:
            attrs += ["style=dashed", f"label={dot_label(via)}"]
        if (src, dst) in red:
            attrs += ["color=red", "fontcolor=red", "penwidth=2"]
        suffix = " [{}]".format(", ".join(attrs)) if attrs else ""
        out.append(f"\t{dot_quote(src)} -> {dot_quote(dst)}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


def through_count(text):
    """argparse type of --through: an integer >= 0."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"not a count >= 0: {text!r}")
    return n


def parse_args(argv):
    """The parsed command line (argparse exits with status 2 on a usage error)."""
    p = argparse.ArgumentParser(
        prog="lockdep-graph.py",
        description="Draw the lock order of a captured /proc/lockdep as a Graphviz DOT graph.")
    p.add_argument("input", metavar="LOCKDEP",
                   help='a copy of /proc/lockdep ("-": stdin)')
    p.add_argument("--focus", metavar="REGEX", action="append",
                   help="draw the classes whose name matches REGEX (repeatable; default: the "
                   "rescan/remove locks and their neighbours)")
    p.add_argument("--through", metavar="N", type=through_count, default=2,
                   help="dashed edges through at most N non-focus classes (default 2, 0: none)")
    p.add_argument("--no-collapse-kernfs", dest="collapse", action="store_false",
                   help="keep every kn->active#N class as its own node")
    p.add_argument("--title", metavar="TEXT", help="graph label")
    p.add_argument("--report", metavar="LOG", action="append", default=[],
                   help="a console log whose lockdep reports add the dependency they refused "
                        "(drawn bold; repeatable)")
    p.add_argument("--highlight-cycles", action="store_true",
                   help="colour the edges on a cycle red and list the cycles on stderr")
    p.add_argument("-o", "--output", metavar="FILE", help="write the DOT to FILE, not stdout")
    p.add_argument("--svg", metavar="FILE", help="also render FILE with dot -Tsvg, if available")
    return p.parse_args(argv)


def read_input(path):
    """The text of PATH ("-": standard input); LockdepError if unreadable."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as e:
        raise LockdepError(f"cannot read {path}: {e.strerror or e}") from None


def write_svg(dot_text, path):
    """Render DOT_TEXT to the SVG file PATH with Graphviz, if dot is on PATH."""
    dot = shutil.which("dot")
    if dot is None:
        print(f"lockdep-graph: dot (Graphviz) not found on PATH, {path} not written; "
              "the DOT output is complete", file=sys.stderr)
        return
    try:
        r = subprocess.run([dot, "-Tsvg", "-o", path], input=dot_text, text=True,
                           capture_output=True, check=False)
    except OSError as e:
        raise LockdepError(f"cannot run {dot}: {e}") from None
    if r.returncode != 0:
        raise LockdepError(f"dot -Tsvg failed (status {r.returncode}): {r.stderr.strip()}")


def run(args):
    """Do what ARGS ask; LockdepError on failure."""
    focus = compile_focus(args.focus if args.focus else DEFAULT_FOCUS)
    data = parse_lockdep(extract_lines(read_input(args.input)))
    reported = set()
    for log in args.report:
        for held, trying in sorted(parse_reports(read_input(log))):
            for name in (held, trying):
                data.classes.setdefault(name, LockClass(name, None))
            data.edges.add((held, trying))
            reported.add((node_of(held, args.collapse), node_of(trying, args.collapse)))
    graph = build_graph(data, focus, args.through, args.collapse)
    if not graph.nodes:
        print("lockdep-graph: warning: no lock class matches the focus regexes",
              file=sys.stderr)
    red = frozenset()
    if args.highlight_cycles:
        red, cycles = find_cycles(graph)
        for cycle in cycles:
            print("cycle: {}".format(" -> ".join(cycle)), file=sys.stderr)
        if len(cycles) >= MAX_CYCLES:
            print(f"lockdep-graph: cycle listing stopped at {MAX_CYCLES}", file=sys.stderr)
    dot_text = render_dot(data, graph, args.title, red, frozenset(reported))
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(dot_text)
        except OSError as e:
            raise LockdepError(f"cannot write {args.output}: {e.strerror or e}") from None
    else:
        sys.stdout.write(dot_text)
        sys.stdout.flush()
    if args.svg:
        write_svg(dot_text, args.svg)


def main(argv=None):
    """Command line entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        run(args)
    except LockdepError as e:
        print(f"lockdep-graph: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
