"""The local registry of loads, `.synth/loads.json`: where `ttl-check` looks for expiring loads.

Every load made from this machine adds (or refreshes) one entry: the environment (for a
provisioned perf database, whose URL is then read from its secrets file) or the target DSN
*without its password* (for an isolated schema: credentials come from trust, ~/.pgpass or
PGPASSWORD), the schema, the run id and `expires_at`. `synth_meta.load_runs` in the target stays
the authority on `expires_at`; the registry only says where to look. Provisioned environments
found in `.secrets/` are scanned as well, so loads made elsewhere into them are found too.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psycopg import conninfo

from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import atomic_write_json
from synth_pipeline.infra.dsn import dsn_params
from synth_pipeline.paths import state_dir


def registry_path() -> Path:
    return state_dir() / "loads.json"


def dsn_without_password(dsn: str) -> str:
    params = {k: v for k, v in dsn_params(dsn).items() if k != "password"}
    return conninfo.make_conninfo("", **params)


def target_key(dsn: str) -> str:
    params = dsn_params(dsn)
    return f"{params.get('host', '')}:{params.get('port', '5432')}/{params.get('dbname', '')}"


@contextmanager
def _locked() -> Iterator[list[dict[str, Any]]]:
    path = registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = _read(path)
        before = json.dumps(entries, sort_keys=True)
        yield entries
        if json.dumps(entries, sort_keys=True) != before:
            atomic_write_json(path, {"loads": entries})


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads(path.read_bytes())["loads"])
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError):
        raise SynthError(f"load registry {path} is unreadable; fix or delete it (synth_meta in each target is the authority)") from None


def entries() -> list[dict[str, Any]]:
    return _read(registry_path())


def record_load(*, dsn: str, env: str | None, schema: str, run_id: str, expires_at: str) -> None:
    key = target_key(dsn)
    with _locked() as loads:
        loads[:] = [e for e in loads if not (e["target_key"] == key and e["schema"] == schema)]
        loads.append({
            "target_key": key,
            "target": None if env else dsn_without_password(dsn),
            "env": env,
            "schema": schema,
            "run_id": run_id,
            "expires_at": expires_at,
        })


def _remove(predicate: Callable[[dict[str, Any]], bool],
            check: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """Remove, under the registry lock, the entries `predicate` accepts; returns them. `check(entries)`
    runs first under the same lock and may refuse (raise), leaving the registry unchanged."""
    with _locked() as loads:
        if check is not None:
            check(loads)
        removed = [e for e in loads if predicate(e)]
        loads[:] = [e for e in loads if not predicate(e)]
    return removed


def forget(*, dsn: str | None = None, schema: str | None = None, env: str | None = None) -> None:
    """Drop entries of a torn-down schema (dsn + schema) or of a whole environment (env)."""
    key = target_key(dsn) if dsn else None
    _remove(lambda e: (env is not None and e["env"] == env)
            or (key is not None and e["target_key"] == key and e["schema"] == schema))


def forget_runs(run_ids: list[str]) -> list[dict[str, Any]]:
    """Remove the entries of these run ids (an operator's decision that their database is gone for
    good, e.g. a decommissioned host `ttl-check` can never reach); returns the removed entries.
    Unknown run ids are an error (checked under the lock): nothing is forgotten then."""
    wanted = set(run_ids)

    def known(loads: list[dict[str, Any]]) -> None:
        registered = {e.get("run_id") for e in loads}
        unknown = [r for r in run_ids if r not in registered]
        if unknown:
            raise SynthError(f"--forget {unknown[0]}: no such run in the load registry {registry_path()}; "
                             "ttl-check lists the registered runs of an unreachable database")

    return _remove(lambda e: e.get("run_id") in wanted, check=known)


def prune(key: str, stale: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Remove the entries of target `key` whose (schema, run_id) is in `stale`; returns them.

    Matching the run id as well means a load recorded since the caller looked is kept."""
    wanted = set(stale)
    return _remove(lambda e: e["target_key"] == key and (e["schema"], e.get("run_id")) in wanted)
