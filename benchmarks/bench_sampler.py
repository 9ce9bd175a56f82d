"""Sampler benchmark: `sample_pack` on a 5M-message production-like database vs one full scan.

Builds (once, cached as the database `synth_bench_sampler` on the embedded server or
SYNTH_DATABASE_URL's server, rebuilt when its marker comment does not match) a FAKE production
database of 5M messages with `fake_production.build_fake_production`, then measures in the same
run, alternating, after one warm-up of each:
- the reference: `SELECT count(*), sum(length(content)) FROM messages` (a plain session, server
  defaults: the parallel sequential scan a DBA would run);
- the sampler: `sample_pack` with its defaults (30-day window, 2 sessions on one snapshot).
Prints both times (median of --repeat runs), rows/s over the messages table, the ratio
sampler / reference (target <= 5), the per-statement breakdown of the last sampler run and, when
the server runs on this machine, the server CPU each one cost (total work: unlike wall time it does
not depend on how busy the machine is, nor on how many processes a plan runs in parallel).

    python -m benchmarks sampler [--messages=N] [--repeat=3] [--jobs=2] [--rebuild] [--time-build=1000000]

`--time-build=N` also times building an N-message fake production database from scratch (in a
scratch database, dropped afterwards): the issue asks for about 1M messages in well under a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

import psycopg
from psycopg import sql

from synth_pipeline.infra.dsn import ensure_database, with_database
from synth_pipeline.infra.embedded_pg import resolve_database_url
from synth_pipeline.sampler.core import sample_pack
from synth_pipeline.sampler.executor import SessionSettings
from synth_pipeline.sampler.fake_production import FAKE_PRODUCTION_VERSION, build_fake_production
from synth_pipeline.sampler.tokens import Salt

RESULTS = Path(__file__).resolve().parent / "results" / "sampler.json"
BENCH_DATABASE = "synth_bench_sampler"
SEED = 20_261_101
TARGET_RATIO = 5.0
REFERENCE_SQL = "SELECT count(*), sum(length(content)) FROM messages"
BENCH_SALT = Salt(b"synth-pipeline-benchmark-salt-not-secret")


def _log(message: str) -> None:
    print(f"[bench sampler] {message}", flush=True)


def _marker(messages: int) -> str:
    return f"synth-pipeline sampler benchmark: fake production v{FAKE_PRODUCTION_VERSION}, {messages} messages, seed {SEED}"


def cached_database(admin_dsn: str, messages: int, rebuild: bool) -> tuple[str, float | None]:
    """The cached benchmark database; (dsn, build seconds or None when it was reused)."""
    marker = _marker(messages)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           (BENCH_DATABASE,)).fetchone()
    if row is not None and row[0] == marker and not rebuild:
        return with_database(admin_dsn, BENCH_DATABASE), None
    _log(f"building {messages:,} FAKE messages into database {BENCH_DATABASE} (cached for later runs)")
    dsn = ensure_database(admin_dsn, BENCH_DATABASE, recreate=True)
    started = time.monotonic()
    report = build_fake_production(dsn, messages=messages, seed=SEED, replace=True)
    seconds = time.monotonic() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")  # a settled production table: visibility map set, statistics fresh
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(BENCH_DATABASE), sql.Literal(marker)))
    _log(f"built in {seconds:.1f} s ({messages / seconds:,.0f} messages/s); rows: {report.rows}")
    return dsn, seconds


def time_build(admin_dsn: str, messages: int) -> float:
    scratch = f"{BENCH_DATABASE}_build"
    scratch_dsn = ensure_database(admin_dsn, scratch, recreate=True)
    try:
        started = time.monotonic()
        build_fake_production(scratch_dsn, messages=messages, seed=SEED)
        return time.monotonic() - started
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))


def time_reference(dsn: str) -> float:
    with psycopg.connect(dsn) as conn:
        started = time.monotonic()
        conn.execute(REFERENCE_SQL).fetchone()
        return time.monotonic() - started


def time_sampler(dsn: str, jobs: int):
    started = time.monotonic()
    result = sample_pack(dsn, salt=BENCH_SALT, session=SessionSettings(jobs=jobs))
    return time.monotonic() - started, result


class ServerCpu:
    """CPU seconds the server spent in backends (and parallel workers) that ended: the postmaster's
    reaped-children time. Total work, whatever the machine's load; other clients of the same server
    add to it, and it is unavailable (None) for a server on another machine."""

    REAP_S = 0.3  # a closed session's backend exits, and is reaped, just after the client disconnects

    def __init__(self, admin_dsn: str) -> None:
        try:
            with psycopg.connect(admin_dsn) as conn:
                data_directory = conn.execute("SHOW data_directory").fetchone()[0]
            self.stat = Path(f"/proc/{int(Path(data_directory, 'postmaster.pid').read_text().split()[0])}/stat")
            self.stat.read_text()
        except (OSError, ValueError, psycopg.Error):
            self.stat = None

    def seconds(self) -> float | None:
        if self.stat is None:
            return None
        time.sleep(self.REAP_S)
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime + cstime

    def of(self, run):
        """(run's value, server CPU seconds it cost or None)."""
        before = self.seconds()
        value = run()
        after = self.seconds()
        return value, (after - before if before is not None else None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks sampler")
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--time-build", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)

    admin_dsn = resolve_database_url()
    build_s = None
    if args.time_build:
        build_s = time_build(admin_dsn, args.time_build)
        _log(f"fake production build of {args.time_build:,} messages: {build_s:.1f} s "
             f"({args.time_build / build_s:,.0f} messages/s)")
    dsn, built = cached_database(admin_dsn, args.messages, args.rebuild)
    server_cpu = ServerCpu(admin_dsn)
    load_before = os.getloadavg()[0]
    time_reference(dsn)
    time_sampler(dsn, args.jobs)  # warm-up: both start from the same cache state
    references, samples, reference_cpu, sampler_cpu, result = [], [], [], [], None
    for i in range(args.repeat):
        seconds, cpu = server_cpu.of(lambda: time_reference(dsn))
        references.append(seconds)
        reference_cpu.append(cpu)
        (seconds, result), cpu = server_cpu.of(lambda: time_sampler(dsn, args.jobs))
        samples.append(seconds)
        sampler_cpu.append(cpu)
        _log(f"run {i + 1}: reference {references[-1]:.2f} s, sampler {seconds:.2f} s"
             + (f" (server CPU {reference_cpu[-1]:.2f} s and {cpu:.2f} s)" if cpu is not None else ""))
    load_after = os.getloadavg()[0]
    reference, sampler = statistics.median(references), statistics.median(samples)
    ratio = sampler / reference
    cpu_ratio = (statistics.median(sampler_cpu) / statistics.median(reference_cpu)
                 if None not in reference_cpu and min(reference_cpu) > 0 else None)
    per_statement: dict[str, float] = defaultdict(float)
    for record in result.statements:
        per_statement[record.name] += record.seconds
    window_messages = result.pack.totals.messages
    busy = max(load_before, load_after) > (os.cpu_count() or 1)
    _log(f"reference  {reference:.2f} s  ({args.messages / reference:,.0f} rows/s over messages)")
    _log(f"sampler    {sampler:.2f} s  ({args.messages / sampler:,.0f} rows/s over messages, "
         f"{window_messages:,} messages in the window, {len(result.statements)} statements, jobs {args.jobs})")
    _log("statement seconds: " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in per_statement.items()))
    _log(f"ratio sampler / reference = {ratio:.2f} (target <= {TARGET_RATIO:g}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    if cpu_ratio is not None:
        _log(f"server CPU (total work, medians): reference {statistics.median(reference_cpu):.2f} s, "
             f"sampler {statistics.median(sampler_cpu):.2f} s, ratio {cpu_ratio:.2f}")
    _log(f"load average {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} cores"
         + ("; the machine was busy, figures are noisy" if busy else ""))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "messages": args.messages, "window_messages": window_messages, "jobs": args.jobs, "repeat": args.repeat,
        "reference_s": reference, "sampler_s": sampler, "ratio": ratio, "target_ratio": TARGET_RATIO,
        "reference_runs_s": references, "sampler_runs_s": samples, "statement_s": per_statement,
        "reference_server_cpu_s": reference_cpu, "sampler_server_cpu_s": sampler_cpu, "server_cpu_ratio": cpu_ratio,
        "build_s": built, "time_build": {"messages": args.time_build, "seconds": build_s} if args.time_build else None,
        "load_average": [load_before, load_after], "cpu_count": os.cpu_count(),
    }, indent=2) + "\n")
    return 0
