"""EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON): run a query several times, keep what a DBA compares.

A `Measurement` holds the plan *shape* (node types nested as the plan is, with the index each
scan uses and its direction, no costs or row estimates, so two runs of the same plan have the
same shape), the rows returned, the shared buffers hit and read, heap fetches of index-only
scans, and the execution times. The first run warms the cache and is not counted; the median of
the others is the figure reported.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

EXPLAIN_PREFIX = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ")


@dataclass
class Measurement:
    shape: str
    node_types: list[str]
    indexes: list[str]
    rows: int
    shared_hit: int
    shared_read: int
    heap_fetches: int
    median_ms: float
    planning_ms: float
    times_ms: list[float] = field(default_factory=list)

    @property
    def has_sort(self) -> bool:
        return any(t.endswith("Sort") for t in self.node_types)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Measurement:
        return cls(**{k: document[k] for k in cls.__dataclass_fields__ if k in document})


def walk(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Plan nodes in pre-order."""
    yield node
    for child in node.get("Plans", ()):
        yield from walk(child)


def node_label(node: Mapping[str, Any]) -> str:
    label = node["Node Type"]
    if node.get("Index Name"):
        direction = " backward" if node.get("Scan Direction") == "Backward" else ""
        label += f"[{node['Index Name']}{direction}]"
    elif node.get("Relation Name") and "Scan" in label:
        label += f"[{node['Relation Name']}]"
    return label


def plan_shape(node: Mapping[str, Any]) -> str:
    """`Limit(Incremental Sort(Index Scan[messages_conversation_id_created_at_idx backward]))`."""
    children = node.get("Plans", ())
    inner = ", ".join(plan_shape(child) for child in children)
    return node_label(node) + (f"({inner})" if children else "")


def summarize(explain: Mapping[str, Any], times_ms: list[float], planning_ms: list[float]) -> Measurement:
    top = explain["Plan"]
    nodes = list(walk(top))
    return Measurement(
        shape=plan_shape(top),
        node_types=[n["Node Type"] for n in nodes],
        indexes=sorted({n["Index Name"] for n in nodes if n.get("Index Name")}),
        rows=int(top.get("Actual Rows", 0) * top.get("Actual Loops", 1)),
        shared_hit=int(top.get("Shared Hit Blocks", 0)),
        shared_read=int(top.get("Shared Read Blocks", 0)),
        heap_fetches=int(sum(n.get("Heap Fetches", 0) for n in nodes)),
        median_ms=round(statistics.median(times_ms), 4),
        planning_ms=round(statistics.median(planning_ms), 4),
        times_ms=[round(t, 4) for t in times_ms],
    )


def explain_analyze(conn: psycopg.Connection, statement: sql.Composable, params: Mapping[str, Any]) -> dict[str, Any]:
    row = conn.execute(EXPLAIN_PREFIX + statement, params).fetchone()
    document = row[0]
    return document[0] if isinstance(document, list) else document


def measure(conn: psycopg.Connection, statement: sql.Composable, params: Mapping[str, Any], runs: int) -> Measurement:
    """One warm-up run, then `runs` measured runs; the plan of the last run is kept."""
    explain_analyze(conn, statement, params)
    times, planning = [], []
    last: dict[str, Any] = {}
    for _ in range(runs):
        last = explain_analyze(conn, statement, params)
        times.append(float(last["Execution Time"]))
        planning.append(float(last.get("Planning Time", 0.0)))
    return summarize(last, times, planning)
