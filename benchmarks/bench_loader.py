"""Loader benchmark: the dev band (5M messages and the other tables) into the embedded server.

Measures, on the embedded PostgreSQL server (`.synth/pg`, or SYNTH_DATABASE_URL):
- COPY time (all partitions, binary COPY from Parquet) and rows/s over every table;
- key/foreign-key/index/ANALYZE time; verify time; the total (load + verify);
- the reference in the same run: `pgbench -i -s 50 -I dtg` (5M pgbench_accounts rows, client-side
  generation) on the same server, with Debian's pgbench 15 through the server's unix socket;
- the ratio COPY rows/s / pgbench rows/s (target >= 0.5), the dev total (target < 60 s), and the
  total extrapolated linearly to 100M messages (the seeds' bar: under 10 minutes).

Shards: the generator's dev band when the generator is available (`synth_pipeline.generator`),
else a fast synthetic stand-in of the same shape (5 shards, reads and attachments in the reference
spec's proportions). Shards are cached under .synth/bench/ between runs.

    python -m benchmarks loader [--repeat-pgbench 2] [--shards DIR] [--synthetic] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from synth_pipeline.infra.debian_pg import DEBIAN_PG_BIN
from synth_pipeline.infra.dsn import dsn_params, with_database
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

def generator_shards(out: Path) -> bool:
    """Generate the dev band with the project's generator, if it is available."""
    try:
        from synth_pipeline.generator import generate
    except ImportError:
        return False
    from synth_pipeline.paths import REFERENCE_SPEC

    generate(REFERENCE_SPEC, out, seed=SEED, band="dev", progress=None)
    return True


def synthetic_shards(out: Path, *, n_shards: int = 5, users: int = 5_000, conversations: int = 8_000,
                     messages: int = DEV_MESSAGES) -> None:
    """A vectorised stand-in with the dev band's shape: consistent keys, participants as senders
    and readers, reads after messages, synthetic identities, neutral-word content."""
    from synth_pipeline_tests.loader_fixtures import write_partitions  # shared manifest writer

    rng = np.random.default_rng(SEED)
    per_conv = np.maximum(1, rng.lognormal(4.5, 1.6, conversations))
    per_conv = np.maximum(1, np.floor(per_conv * messages / per_conv.sum())).astype(np.int64)
    per_conv[np.argmax(per_conv)] += messages - per_conv.sum()
    shard_of_conv = np.minimum(n_shards - 1, (np.cumsum(per_conv) - 1) * n_shards // messages)
    words = _word_buffer(rng)
    tables = {"users": {"users": _users(users, rng)}}
    first_message_id = 1
    for shard in range(n_shards):
        convs = np.flatnonzero(shard_of_conv == shard)
        tables[f"shard-{shard:05d}"] = _shard(convs, per_conv[convs], users, first_message_id, words, rng)
        first_message_id += int(per_conv[convs].sum())
    write_partitions(out, tables, seed=SEED, band="dev", generator_version="bench-synthetic")


def _word_buffer(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from synth_pipeline.privacy.neutral_words import NEUTRAL_WORDS

    chosen = rng.choice(np.array(NEUTRAL_WORDS, dtype=object), 4_000_000)
    text = (" ".join(chosen) + " ").encode()
    data = np.frombuffer(text, np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(data == 32) + 1])[:-1]
    return data, starts


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype(np.int64), pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _strings(template: str, ids: np.ndarray) -> pa.Array:
    import pyarrow.compute as pc

    prefix, suffix = template.split("{}")
    digits = pc.cast(pa.array(ids, pa.int64()), pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, pa.scalar(suffix), "")


def _users(n: int, rng: np.random.Generator) -> pa.Table:
    from synth_pipeline.schema.arrow import ARROW_SCHEMAS

    ids = np.arange(1, n + 1)
    devices = pa.array(np.array(["web", "ios", "android"])[rng.integers(0, 3, n)])
    return pa.Table.from_arrays([
        pa.array(ids, pa.int64()), _strings("syn_user_{}@synthetic.test", ids), _strings("synuser{}", ids),
        pa.array(["User"] * n), _strings("{}", ids), _strings("Synthetic test user {}", ids), devices,
        pa.array(rng.random(n) < 0.9), _ts(1_700_000_000_000_000 + rng.integers(0, 10**13, n)),
    ], schema=ARROW_SCHEMAS["users"])


def _shard(convs: np.ndarray, sizes: np.ndarray, n_users: int, first_id: int, words, rng) -> dict[str, pa.Table]:
    from synth_pipeline.schema.arrow import ARROW_SCHEMAS

    n_conv = len(convs)
    conv_ids = convs + 1
    group = rng.random(n_conv) < 0.3
    members = np.where(group, rng.integers(3, 12, n_conv), 2)
    member_offsets = np.concatenate([[0], np.cumsum(members)])
    # distinct members per conversation: a random start and a stride coprime with n_users
    start = rng.integers(0, n_users, n_conv)
    stride = rng.integers(1, 500, n_conv)
    while (bad := np.gcd(stride, n_users) != 1).any():
        stride[bad] += 1
    member_pos = np.arange(member_offsets[-1]) - np.repeat(member_offsets[:-1], members)
    member_users = (np.repeat(start, members) + member_pos * np.repeat(stride, members)) % n_users + 1
    conv_created = 1_760_000_000_000_000 + rng.integers(0, 10**12, n_conv)
    conversations = pa.Table.from_arrays([
        pa.array(conv_ids, pa.int64()),
        pa.array([f"Group {c}" if g else None for c, g in zip(conv_ids, group)], pa.string()),
        pa.array(np.where(group, "group", "direct")), _ts(conv_created),
    ], schema=ARROW_SCHEMAS["conversations"])
    participants = pa.Table.from_arrays([
        pa.array(np.repeat(conv_ids, members), pa.int64()), pa.array(member_users, pa.int64()),
        _ts(np.repeat(conv_created, members)),
    ], schema=ARROW_SCHEMAS["conversation_participants"])

    n_msg = int(sizes.sum())
    conv_of_msg = np.repeat(np.arange(n_conv), sizes)
    msg_ids = first_id + np.arange(n_msg)
    sender = member_users[member_offsets[conv_of_msg] + (rng.random(n_msg) * members[conv_of_msg]).astype(np.int64)]
    created = conv_created[conv_of_msg] + np.sort(rng.integers(0, 30 * 86_400_000_000, n_msg))
    data, starts = words
    lengths = np.clip(rng.lognormal(3.6, 0.95, n_msg).astype(np.int64), 1, 400)
    first_word = rng.integers(0, len(starts) // 2, 1)[0]
    begin = starts[first_word] + np.concatenate([[0], np.cumsum(lengths)[:-1]])
    begin = starts[np.minimum(np.searchsorted(starts, begin % (len(data) - 500)), len(starts) - 1)]
    idx = np.repeat(begin - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    content = pa.Array.from_buffers(pa.string(), n_msg, [None, pa.py_buffer(offsets), pa.py_buffer(data[idx])])
    messages = pa.Table.from_arrays([
        pa.array(msg_ids, pa.int64()), pa.array(conv_ids[conv_of_msg], pa.int64()), pa.array(sender, pa.int64()),
        content, pa.array(np.array(["web", "ios", "android"])[rng.integers(0, 3, n_msg)]), _ts(created),
    ], schema=ARROW_SCHEMAS["messages"])

    with_att = np.flatnonzero(rng.random(n_msg) < 0.08)
    kinds = np.array(["image", "video", "audio", "file"])[rng.integers(0, 4, len(with_att))]
    mimes = np.array(["image/png", "video/mp4", "audio/ogg", "application/pdf"])[np.searchsorted(
        np.array(["audio", "file", "image", "video"]), kinds).clip(0, 3)]
    attachments = pa.Table.from_arrays([
        pa.array(msg_ids[with_att], pa.int64()), pa.array(msg_ids[with_att], pa.int64()), pa.array(kinds),
        pa.array(mimes), pa.array(rng.integers(200, 10**7, len(with_att)), pa.int64()),
    ], schema=ARROW_SCHEMAS["attachments"])

    read = rng.random(n_msg) < 0.85
    size = members[conv_of_msg]
    n_reads = np.where(read, np.minimum(size, np.clip(rng.lognormal(0.6, 0.8, n_msg).astype(np.int64), 1, 79)), 0)
    reader_start = (rng.random(n_msg) * size).astype(np.int64)
    read_msg = np.repeat(np.arange(n_msg), n_reads)
    j = np.arange(n_reads.sum()) - np.repeat(np.concatenate([[0], np.cumsum(n_reads)[:-1]]), n_reads)
    reader = member_users[member_offsets[conv_of_msg[read_msg]] + (reader_start[read_msg] + j) % size[read_msg]]
    reads = pa.Table.from_arrays([
        pa.array(msg_ids[read_msg], pa.int64()), pa.array(reader, pa.int64()),
        _ts(created[read_msg] + rng.lognormal(18, 2, len(read_msg)).astype(np.int64)),
    ], schema=ARROW_SCHEMAS["message_reads"])
    return {"conversations": conversations, "conversation_participants": participants, "messages": messages,
            "attachments": attachments, "message_reads": reads}


def prepare_shards(args: argparse.Namespace) -> tuple[Path, str]:
    if args.shards:
        return Path(args.shards), "given"
    base = state_dir() / "bench"
    if not args.synthetic:
        out = base / f"loader-dev-generator-{SEED}"
        if (out / "manifest.json").exists():
            return out, "generator (cached)"
        shutil.rmtree(out, ignore_errors=True)
        started = time.monotonic()
        if generator_shards(out):
            _log(f"generated the dev band with the generator in {time.monotonic() - started:.1f} s")
            return out, "generator"
        _log("the generator is not available: using the synthetic stand-in")
    out = base / f"loader-dev-synthetic-{SEED}"
    if not (out / "manifest.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        started = time.monotonic()
        synthetic_shards(out)
        _log(f"wrote synthetic dev-band shards in {time.monotonic() - started:.1f} s")
    return out, "synthetic stand-in"


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

def fresh_database(admin_dsn: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DATABASE)))
    return with_database(admin_dsn, BENCH_DATABASE)


def run_load(dsn: str, shards: Path) -> dict:
    from synth_pipeline.loader.load import load_shards
    from synth_pipeline.loader.verify import verify_schema

    os.environ.setdefault("SYNTH_AUDIT_LOG", str(state_dir() / "bench" / "audit.log"))
    result = load_shards(shards, dsn, BENCH_SCHEMA, ttl_days=1)
    started = time.monotonic()
    report = verify_schema(dsn, BENCH_SCHEMA)
    verify_s = time.monotonic() - started
    if not report.ok:
        raise SystemExit(f"verify failed after the benchmark load: {[c.line() for c in report.failures]}")
    total_rows = sum(result.rows.values())
    return {
        "rows": result.rows, "total_rows": total_rows, "copy_s": result.copy_s, "index_s": result.index_s,
        "load_s": result.duration_s, "verify_s": verify_s, "total_s": result.duration_s + verify_s,
        "copy_rows_per_s": total_rows / result.copy_s,
        "post_load_steps": [{"statement": st, "s": round(sec, 3)} for st, sec in result.steps],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks loader")
    parser.add_argument("--shards", help="use this shard directory instead of generating the dev band")
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic stand-in even if the generator exists")
    parser.add_argument("--repeat-pgbench", type=int, default=2, help="pgbench runs (the best counts)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args(argv)

    shards, origin = prepare_shards(args)
    admin_dsn = resolve_database_url()
    dsn = fresh_database(admin_dsn)
    load_before = os.getloadavg()[0]
    try:
        _log(f"pgbench -i -s 50 -I dtg x{args.repeat_pgbench} (reference) ...")
        pgbench = pgbench_rows_per_s(dsn, args.repeat_pgbench)
        _log(f"loading {shards} ({origin}) ...")
        load = run_load(dsn, shards)
    finally:
        if not args.keep:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))
    reference = max(pgbench)
    ratio = load["copy_rows_per_s"] / reference
    messages = load["rows"].get("messages", DEV_MESSAGES)
    extrapolated = load["total_s"] * 100_000_000 / messages
    figures = {
        "shards": origin, **load, "pgbench_rows_per_s": pgbench, "reference_rows_per_s": reference, "ratio": ratio,
        "extrapolated_100M_messages_s": extrapolated, "targets": {"ratio": TARGET_RATIO, "total_s": TARGET_TOTAL_S},
        "machine": {"cpus": os.cpu_count(), "load_avg_before": load_before, "load_avg_after": os.getloadavg()[0]},
    }
    print(f"rows: {load['total_rows']:,} ({', '.join(f'{t} {n:,}' for t, n in load['rows'].items())})")
    print(f"COPY            {load['copy_s']:6.1f} s  {load['copy_rows_per_s'] / 1e6:5.2f} M rows/s")
    print(f"keys + indexes  {load['index_s']:6.1f} s  (primary keys, uniques, foreign keys, chat indexes, ANALYZE)")
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
