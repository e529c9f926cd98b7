# SPDX-License-Identifier: GPL-2.0
"""A guest's /proc/lockdep, read on the host: the lock classes and the direct dependencies
lockdep recorded (kernel/locking/lockdep_proc.c, l_show()), the dependencies it refused in its
reports, the focus graph among chosen classes (paths through other classes as labelled edges)
and its cycles. scripts/lockdep-graph.py draws the graph; its docstring says what each step
does."""

import collections
import re
from collections.abc import Iterable

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

Edge = tuple[str, str]   # (held, acquired while it was held)


class LockdepError(Exception):
    """A reason the graph cannot be drawn; main() prints it and exits with status 1."""


class LockClass:
    """One lockdep class as /proc/lockdep shows it (counts and usage None if not printed)."""

    def __init__(self, name: str, key: str, fd: int | None = None, bd: int | None = None,
                 usage: str | None = None) -> None:
        self.name = name
        self.key = key
        self.fd = fd
        self.bd = bd
        self.usage = usage


class Lockdep:
    """The parsed /proc/lockdep: classes by name and direct edges (held, acquired)."""

    def __init__(self) -> None:
        self.classes: dict[str, LockClass] = {}
        self.edges: set[Edge] = set()

    def successors(self) -> dict[str, list[str]]:
        """Class name -> sorted list of the classes acquired while it was held."""
        succ: dict[str, set[str]] = collections.defaultdict(set)
        for held, acquired in self.edges:
            succ[held].add(acquired)
        return {name: sorted(after) for name, after in succ.items()}


class Graph:
    """The focus graph: nodes (name -> list of the lockdep classes merged into it) and edges
    ((src, dst) -> tuple of intermediate node names, empty for a direct dependency)."""

    def __init__(self, nodes: dict[str, list[str]], edges: dict[Edge, tuple[str, ...]]) -> None:
        self.nodes = nodes
        self.edges = edges


def extract_lines(text: str) -> list[str]:
    """The /proc/lockdep lines of TEXT, trailing white space dropped."""
    return [line.rstrip() for line in text.splitlines()]


def parse_lockdep(lines: list[str]) -> Lockdep:
    """Parse /proc/lockdep LINES (see extract_lines()) into a Lockdep; LockdepError if there
    is no "all lock classes:" header or no class after it."""
    data = Lockdep()
    seen_header = False
    current: str | None = None
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


def report_class(line: str) -> str | None:
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


def parse_reports(text: str) -> set[Edge]:
    """The dependencies lockdep refused in the reports of TEXT (a console log): for every
    "is trying to acquire lock:" followed by "but task is already holding lock:", the edge
    (held, trying). Lockdep never records the edge that closes a cycle it reports (and turns
    itself off), so /proc/lockdep alone lacks it."""
    lines = [re.sub(r"^\[\s*[0-9.]+\]\s*", "", line).strip() for line in text.splitlines()]
    edges: set[Edge] = set()
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


def compile_focus(patterns: list[str]) -> list[re.Pattern[str]]:
    """The compiled focus regexes; LockdepError naming a bad one."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as e:
            raise LockdepError(f"bad --focus regex {pattern!r}: {e}") from None
    return compiled


def node_of(name: str, collapse: bool) -> str:
    """The graph node of lockdep class NAME."""
    return KERNFS_NODE if collapse and KERNFS_CLASS.match(name) else name


def build_graph(data: Lockdep, focus: list[re.Pattern[str]], through: int = 2,
                collapse: bool = True) -> Graph:
    """The Graph of the FOCUS classes (compiled regexes) of DATA, with indirect edges through at
    most THROUGH non-focus classes. A node is in focus if a regex matches its name or the name
    of a class merged into it."""
    members: dict[str, list[str]] = collections.defaultdict(list)
    for name in data.classes:
        members[node_of(name, collapse)].append(name)
    focus_nodes = {node for node, names in members.items()
                   if any(r.search(n) for r in focus for n in [node] + names)}
    succ = data.successors()
    candidates: dict[Edge, tuple[str, ...]] = {}

    def offer(src: str, dst: str, raw_src: str, raw_dst: str, via: tuple[str, ...]) -> None:
        # A self loop only when the very same class, not two merged ones, closes it.
        if src == dst and raw_src != raw_dst:
            return
        nodes = tuple(node_of(n, collapse) for n in via)
        best = candidates.get((src, dst))
        if best is None or (len(nodes), nodes) < (len(best), best):
            candidates[(src, dst)] = nodes

    for raw_src in sorted(data.classes):
        src = node_of(raw_src, collapse)
        if src not in focus_nodes:
            continue
        # Breadth-first over non-focus classes, so the first path to a class is a shortest one.
        seen = {raw_src}
        queue: collections.deque[tuple[str, tuple[str, ...]]] = collections.deque([(raw_src, ())])
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


def strongly_connected(nodes: Iterable[str], edges: Iterable[Edge]) -> list[list[str]]:
    """The strongly connected components (lists of sorted node names, in sorted order) of the
    graph of NODES and EDGES ((src, dst) pairs); Tarjan's algorithm, iterative."""
    succ: dict[str, list[str]] = collections.defaultdict(list)
    for src, dst in sorted(edges):
        succ[src].append(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
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
                comp: list[str] = []
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


def find_cycles(graph: Graph) -> tuple[set[Edge], list[list[str]]]:
    """(set of the edges on a cycle, list of elementary cycles as node lists closed by their
    first node) of GRAPH; at most MAX_CYCLES cycles are listed."""
    comp_of: dict[str, int] = {}
    for n, comp in enumerate(strongly_connected(graph.nodes, graph.edges)):
        for node in comp:
            comp_of[node] = n
    cyclic = {(src, dst) for src, dst in graph.edges
              if src == dst or (comp_of[src] == comp_of[dst] and src != dst)}
    succ: dict[str, list[str]] = collections.defaultdict(list)
    for src, dst in sorted(cyclic):
        succ[src].append(dst)
    cycles: list[list[str]] = []
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
