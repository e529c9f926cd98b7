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
import collections
import re
import shutil
import subprocess
import sys

DEFAULT_FOCUS = (
    r"^pci_rescan_remove_lock$",
    r"^zpci_add_remove_lock$",
    r"^zpci_list_lock$",
    r"^zbus_list_lock$",
    r"state_lock",
    r"^pci_slot_mutex$",
    r"^pci_bus_sem$",
    r"^&ctrl->reset_lock$",
    r"^kn->active",
)

KERNFS_NODE = "kn->active (sysfs)"
KERNFS_CLASS = re.compile(r"^kn->active(?:#\d+)?(?:/\d+)?$")
HEADER = "all lock classes:"
# Key ("%p": hex, or "(____ptrval____)" before pointer hashing is ready), the CONFIG_DEBUG_LOCKDEP
# op count, the CONFIG_PROVE_LOCKING counts and usage characters, then the name.
CLASS_LINE = re.compile(
    r"^(?P<key>[0-9a-fA-Fx]+|\([^)\s]*\))"
    r"(?: OPS:\s*\d+)?"
    r"(?: FD:\s*(?P<fd>\d+) BD:\s*(?P<bd>\d+) (?P<usage>\S+))?"
    r": (?P<name>.+)$")
DEP_LINE = re.compile(r"^ -> \[(?P<key>[^\]]*)\] (?P<name>.+)$")
MAX_CYCLES = 100


class LockdepError(Exception):
    """A reason the graph cannot be drawn; main() prints it and exits with status 1."""


class LockClass:
    """One lockdep class as /proc/lockdep shows it (counts and usage None if not printed)."""

    def __init__(self, name, key, fd=None, bd=None, usage=None):
        self.name = name
        self.key = key
        self.fd = fd
        self.bd = bd
        self.usage = usage


class Lockdep:
    """The parsed /proc/lockdep: classes by name and direct edges (held, acquired)."""

    def __init__(self):
        self.classes = {}
        self.edges = set()

    def successors(self):
        """Class name -> sorted list of the classes acquired while it was held."""
        succ = collections.defaultdict(set)
        for held, acquired in self.edges:
            succ[held].add(acquired)
        return {name: sorted(after) for name, after in succ.items()}


class Graph:
    """The focus graph: nodes (name -> list of the lockdep classes merged into it) and edges
    ((src, dst) -> tuple of intermediate node names, empty for a direct dependency)."""

    def __init__(self, nodes, edges):
        self.nodes = nodes
        self.edges = edges


def extract_lines(text):
    """The /proc/lockdep lines of TEXT, trailing white space dropped."""
    return [line.rstrip() for line in text.splitlines()]


def parse_lockdep(lines):
    """Parse /proc/lockdep LINES (see extract_lines()) into a Lockdep; LockdepError if there
    is no "all lock classes:" header or no class after it."""
    data = Lockdep()
    seen_header = False
    current = None
    for line in lines:
        if line == HEADER:
            seen_header = True
            current = None
            continue
        if not seen_header:
            continue
        if not line:
            current = None
            continue
        m = DEP_LINE.match(line)
        if m:
            if current is not None:
                name = m.group("name")
                data.classes.setdefault(name, LockClass(name, m.group("key")))
                data.edges.add((current, name))
            continue
        m = CLASS_LINE.match(line)
        if m:
            current = m.group("name")
            fd, bd = m.group("fd"), m.group("bd")
            data.classes[current] = LockClass(current, m.group("key"),
                                              int(fd) if fd is not None else None,
                                              int(bd) if bd is not None else None,
                                              m.group("usage"))
            continue
        current = None
    if not seen_header:
        raise LockdepError(f'no lockdep data (no "{HEADER}" line)')
    if not data.classes:
        raise LockdepError(f"no lock class parsed after \"{HEADER}\"")
    return data


def report_class(line):
    """The class name in a lockdep report's lock line ("ADDR (NAME){....}-{..}, at: ..."), or
    None: the first balanced parenthesised group."""
    start = line.find("(")
    if start < 0:
        return None
    depth = 0
    for i in range(start, len(line)):
        if line[i] == "(":
            depth += 1
        elif line[i] == ")":
            depth -= 1
            if depth == 0:
                return line[start + 1:i] or None
    return None


def parse_reports(text):
    """The dependencies lockdep refused in the reports of TEXT (a console log): for every
    "is trying to acquire lock:" followed by "but task is already holding lock:", the edge
    (held, trying). Lockdep never records the edge that closes a cycle it reports (and turns
    itself off), so /proc/lockdep alone lacks it."""
    lines = [re.sub(r"^\[\s*[0-9.]+\]\s*", "", line).strip() for line in text.splitlines()]
    edges = set()
    for i, line in enumerate(lines):
        if not line.endswith("is trying to acquire lock:") or i + 1 >= len(lines):
            continue
        trying = report_class(lines[i + 1])
        for j in range(i + 2, min(i + 8, len(lines) - 1)):
            if lines[j].startswith("but task is already holding lock:"):
                held = report_class(lines[j + 1])
                if trying and held:
                    edges.add((held, trying))
                break
    return edges


def compile_focus(patterns):
    """The compiled focus regexes; LockdepError naming a bad one."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as e:
            raise LockdepError(f"bad --focus regex {pattern!r}: {e}") from None
    return compiled


def node_of(name, collapse):
    """The graph node of lockdep class NAME."""
    return KERNFS_NODE if collapse and KERNFS_CLASS.match(name) else name


def build_graph(data, focus, through=2, collapse=True):
    """The Graph of the FOCUS classes (compiled regexes) of DATA, with indirect edges through at
    most THROUGH non-focus classes. A node is in focus if a regex matches its name or the name
    of a class merged into it."""
    members = collections.defaultdict(list)
    for name in data.classes:
        members[node_of(name, collapse)].append(name)
    focus_nodes = {node for node, names in members.items()
                   if any(r.search(n) for r in focus for n in [node] + names)}
    succ = data.successors()
    candidates = {}

    def offer(src, dst, raw_src, raw_dst, via):
        # A self loop only when the very same class, not two merged ones, closes it.
        if src == dst and raw_src != raw_dst:
            return
        via = tuple(node_of(n, collapse) for n in via)
        best = candidates.get((src, dst))
        if best is None or (len(via), via) < (len(best), best):
            candidates[(src, dst)] = via

    for raw_src in sorted(data.classes):
        src = node_of(raw_src, collapse)
        if src not in focus_nodes:
            continue
        # Breadth-first over non-focus classes, so the first path to a class is a shortest one.
        seen = {raw_src}
        queue = collections.deque([(raw_src, ())])
        while queue:
            raw, via = queue.popleft()
            for after in succ.get(raw, ()):
                if after in seen:
                    continue
                seen.add(after)
                dst = node_of(after, collapse)
                if dst in focus_nodes:
                    offer(src, dst, raw_src, after, via)
                elif len(via) < through:
                    queue.append((after, via + (after,)))
    nodes = {node: sorted(members[node]) for node in sorted(focus_nodes)}
    return Graph(nodes, dict(sorted(candidates.items())))


def strongly_connected(nodes, edges):
    """The strongly connected components (lists of sorted node names, in sorted order) of the
    graph of NODES and EDGES ((src, dst) pairs); Tarjan's algorithm, iterative."""
    succ = collections.defaultdict(list)
    for src, dst in sorted(edges):
        succ[src].append(dst)
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(succ[node]):
                work.append((node, i + 1))
                nxt = succ[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                comps.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(comps)


def find_cycles(graph):
    """(set of the edges on a cycle, list of elementary cycles as node lists closed by their
    first node) of GRAPH; at most MAX_CYCLES cycles are listed."""
    comp_of = {}
    for n, comp in enumerate(strongly_connected(graph.nodes, graph.edges)):
        for node in comp:
            comp_of[node] = n
    cyclic = {(src, dst) for src, dst in graph.edges
              if src == dst or (comp_of[src] == comp_of[dst] and src != dst)}
    succ = collections.defaultdict(list)
    for src, dst in sorted(cyclic):
        succ[src].append(dst)
    cycles = []
    # Each elementary cycle once, from its smallest node, through larger nodes only.
    for start in sorted(succ):
        path = [start]
        work = [iter(succ[start])]
        while work and len(cycles) < MAX_CYCLES:
            nxt = next(work[-1], None)
            if nxt is None:
                work.pop()
                path.pop()
            elif nxt == start:
                cycles.append(path + [start])
            elif nxt > start and nxt not in path:
                path.append(nxt)
                work.append(iter(succ[nxt]))
    return cyclic, cycles


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
