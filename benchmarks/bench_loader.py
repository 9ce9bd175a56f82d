"""Loader benchmark: the dev band (5M messages and the other tables) into the embedded server.

Measures, on the embedded PostgreSQL server (`.synth/pg`, or SYNTH_DATABASE_URL):
- COPY time (all partitions, binary COPY from Parquet) and rows/s over every table;
- key/foreign-key/index/ANALYZE time; verify time; the total (load + verify);
- the reference in the same run: `pgbench -i -s 50 -I dtg` (5M pgbench_accounts rows, client-side
  generation) on the same server, with Debian's pgbench 15 through the server's unix socket;
- the ratio COPY rows/s / pgbench rows/s (target >= 0.5), the dev total (target < 60 s), and the
  total extrapolated linearly to 100M messages (the seeds' bar: under 10 minutes).

Shards: the generator's dev band from the reference spec (5 shards), cached under .synth/bench/.

    python -m benchmarks loader [--repeat-pgbench=2] [--jobs=2] [--shards=DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from synth_pipeline.infra.debian_pg import DEBIAN_PG_BIN
from synth_pipeline.infra.dsn import dsn_params, ensure_database
from synth_pipeline.infra.embedded_pg import resolve_database_url
from synth_pipeline.paths import state_dir

RESULTS = Path(__file__).resolve().parent / "results" / "loader.json"
BENCH_DATABASE = "synth_bench_loader"
BENCH_SCHEMA = "synth_bench"
PGBENCH_ROWS = 5_000_000  # -s 50: 100,000 pgbench_accounts rows per scale unit
DEV_MESSAGES = 5_000_000
TARGET_RATIO = 0.5
TARGET_TOTAL_S = 60.0
SEED = 20_260_601


def _log(message: str) -> None:
    print(f"[bench loader] {message}", flush=True)


# --- shards -------------------------------------------------------------------------------

def prepare_shards(args: argparse.Namespace) -> tuple[Path, str]:
    """The generator's dev band from the reference spec, cached under .synth/bench/ between runs."""
    if args.shards:
        return Path(args.shards), "given"
    from synth_pipeline.generator import generate
    from synth_pipeline.paths import REFERENCE_SPEC

    out = state_dir() / "bench" / f"loader-dev-generator-{SEED}"
    if (out / "manifest.json").exists():
        return out, "generator, dev band (cached)"
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    generate(REFERENCE_SPEC, out, seed=SEED, band="dev", progress=None)
    _log(f"generated the dev band with the generator in {time.monotonic() - started:.1f} s")
    return out, "generator, dev band"


# --- reference: pgbench -----------------------------------------------------------------------

def pgbench_rows_per_s(dsn: str, repeat: int) -> list[float]:
    pgbench = DEBIAN_PG_BIN / "pgbench"
    if not pgbench.exists():
        raise SystemExit(f"pgbench not found at {pgbench} (apt-get install postgresql-15): the reference cannot run")
    params = dsn_params(dsn)
    command = [str(pgbench), "-i", "-s", "50", "-I", "dtg", "-h", params.get("host", ""), "-p", params.get("port", "5432"),
               "-U", params.get("user", "postgres"), params["dbname"]]
    env = {**os.environ, **({"PGPASSWORD": params["password"]} if params.get("password") else {})}
    rates = []
    for _ in range(repeat):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        match = re.search(r"client-side generate ([0-9.]+) s", done.stderr + done.stdout)
        if not match:
            raise SystemExit(f"unexpected pgbench output: {done.stderr[-300:]}")
        rates.append(PGBENCH_ROWS / float(match.group(1)))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers")
    return rates


# --- the load -------------------------------------------------------------------------------

@contextmanager
def isolated_state() -> Iterator[Path]:
    """The load's registry entry and audit lines go to a temporary state directory, not the project's
    `.synth/`: the benchmark database is dropped afterwards, so its entry would point at nothing."""
    saved = {name: os.environ.get(name) for name in ("SYNTH_STATE_DIR", "SYNTH_AUDIT_LOG")}
    with tempfile.TemporaryDirectory(prefix="synth-bench-state-") as state:
        os.environ["SYNTH_STATE_DIR"] = state
        os.environ["SYNTH_AUDIT_LOG"] = str(Path(state) / "audit.log")
        try:
            yield Path(state)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def run_load(dsn: str, shards: Path, jobs: int) -> dict:
    from synth_pipeline.loader.load import load_shards
    from synth_pipeline.loader.verify import verify_schema

    # Wall clock around the whole call: `duration_s` starts after the shard checks (existence, size,
    # sha256 and Parquet schema of every file), which a user waits for too.
    started = time.monotonic()
    with isolated_state():
        result = load_shards(shards, dsn, BENCH_SCHEMA, ttl_days=1, jobs=jobs)
    load_wall_s = time.monotonic() - started
    started = time.monotonic()
    report = verify_schema(dsn, BENCH_SCHEMA)
    verify_s = time.monotonic() - started
    if not report.ok:
        raise SystemExit(f"verify failed after the benchmark load: {[c.line() for c in report.failures]}")
    total_rows = sum(result.rows.values())
    return {
        "rows": result.rows, "total_rows": total_rows, "copy_s": result.copy_s, "index_s": result.index_s,
        "load_s": load_wall_s, "shard_checks_s": load_wall_s - result.duration_s, "verify_s": verify_s,
        "total_s": load_wall_s + verify_s,
        "copy_rows_per_s": total_rows / result.copy_s,
        "post_load_steps": [{"statement": st, "s": round(sec, 3)} for st, sec in result.steps],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks loader")
    parser.add_argument("--shards", help="use this shard directory instead of generating the dev band")
    parser.add_argument("--repeat-pgbench", type=int, default=2, help="pgbench runs (the best counts)")
    parser.add_argument("--jobs", type=int, default=2, help="loader connections (default 2, as `load`)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args(argv)

    shards, origin = prepare_shards(args)
    admin_dsn = resolve_database_url()
    dsn = ensure_database(admin_dsn, BENCH_DATABASE, recreate=True)
    load_before = os.getloadavg()[0]
    try:
        _log(f"pgbench -i -s 50 -I dtg x{args.repeat_pgbench} (reference) ...")
        pgbench = pgbench_rows_per_s(dsn, args.repeat_pgbench)
        _log(f"loading {shards} ({origin}) ...")
        load = run_load(dsn, shards, args.jobs)
    finally:
        if not args.keep:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))
    reference = max(pgbench)
    ratio = load["copy_rows_per_s"] / reference
    messages = load["rows"].get("messages", DEV_MESSAGES)
    extrapolated = load["total_s"] * 100_000_000 / messages
    figures = {
        "shards": origin, "jobs": args.jobs, **load, "pgbench_rows_per_s": pgbench, "reference_rows_per_s": reference, "ratio": ratio,
        "extrapolated_100M_messages_s": extrapolated, "targets": {"ratio": TARGET_RATIO, "total_s": TARGET_TOTAL_S},
        "machine": {"cpus": os.cpu_count(), "load_avg_before": load_before, "load_avg_after": os.getloadavg()[0]},
    }
    print(f"rows: {load['total_rows']:,} ({', '.join(f'{t} {n:,}' for t, n in load['rows'].items())})")
    print(f"shard checks    {load['shard_checks_s']:6.1f} s  (size, sha256 and Parquet schema of every file)")
    print(f"COPY            {load['copy_s']:6.1f} s  {load['copy_rows_per_s'] / 1e6:5.2f} M rows/s ({args.jobs} connection(s))")
    print(f"keys + indexes  {load['index_s']:6.1f} s  (keys, uniques, chat indexes, VACUUM (ANALYZE), foreign keys)")
    for step in sorted(load["post_load_steps"], key=lambda x: -x["s"])[:8]:
        print(f"    {step['s']:5.1f} s  {step['statement'][:100]}")
    print(f"verify          {load['verify_s']:6.1f} s")
    print(f"total           {load['total_s']:6.1f} s  (target < {TARGET_TOTAL_S:.0f} s)")
    print(f"pgbench -i -s 50 -I dtg: {', '.join(f'{r / 1e6:.2f}' for r in pgbench)} M rows/s (best {reference / 1e6:.2f})")
    print(f"ratio COPY / pgbench: {ratio:.2f} (target >= {TARGET_RATIO})")
    print(f"extrapolated to 100M messages: {extrapolated / 60:.1f} min (linear in messages)")
    print(f"machine: {os.cpu_count()} cpus, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    met = ratio >= TARGET_RATIO and load["total_s"] < TARGET_TOTAL_S
    print(f"targets {'met' if met else 'NOT met'}; figures in {RESULTS}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
