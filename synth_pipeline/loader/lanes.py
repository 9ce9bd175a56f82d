"""Work on several connections side by side ("lanes"): lane 0 uses the caller's connection,
the others open their own (with the bulk session settings). The first error stops the others
(each checks `failed` between units of work) and is re-raised."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg

from synth_pipeline.infra.dsn import connect

LaneWork = Callable[[psycopg.Connection, threading.Event], None]


def bulk_session(conn: psycopg.Connection) -> None:
    """Session settings for bulk work that any role may set (server-wide ones: docs/perf-database.md)."""
    conn.execute("SELECT set_config('synchronous_commit', 'off', false)")
    conn.execute("SELECT set_config('maintenance_work_mem', '1GB', false)")
    # Parallel index builds (DESIGN.md section 9: 2.7 s instead of 4.1 s for 5M messages).
    conn.execute(
        "SELECT set_config('max_parallel_maintenance_workers', "
        "greatest(current_setting('max_parallel_maintenance_workers')::int, 2)::text, false)"
    )


def run_lanes(conn: psycopg.Connection, dsn: str, works: list[LaneWork]) -> None:
    if len(works) == 1:
        works[0](conn, threading.Event())
        return
    failed = threading.Event()

    def lane(index: int) -> None:
        try:
            if index == 0:
                works[0](conn, failed)
                return
            with connect(dsn, purpose="perf target", autocommit=True) as own:
                bulk_session(own)
                works[index](own, failed)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=len(works), thread_name_prefix="lane") as pool:
        futures = [pool.submit(lane, i) for i in range(len(works))]
        for future in futures:
            future.result()
