"""Operator commands for local infrastructure: `db start|stop|url` and `ui`."""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from synth_pipeline.infra import embedded_pg
from synth_pipeline.infra.dsn import redact_dsn


def _db(args: argparse.Namespace) -> int:
    if args.action == "start":
        server = embedded_pg.ensure_server()
        print(f"embedded PostgreSQL running in {server.pgdata}")
        print(server.dsn)
    elif args.action == "url":  # SYNTH_DATABASE_URL may carry a password: never print it
        print(redact_dsn(embedded_pg.resolve_database_url(database=args.database)))
    elif args.action == "stop":
        stopped = embedded_pg.stop_server()
        print("stopped" if stopped else "not running")
    return 0


def _ui(args: argparse.Namespace) -> int:
    from synth_pipeline.errors import SynthError
    from synth_pipeline.infra.dagster_home import prepare_dagster_home
    from synth_pipeline.paths import PROJECT_ROOT

    env = prepare_dagster_home(embedded_pg.resolve_database_url())
    dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or shutil.which("dagster")
    if dagster is None:
        raise SynthError("the `dagster` command is not installed in this environment; run `make ui` to install it")
    command = [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={env['DAGSTER_HOME']}); Ctrl-C to stop", flush=True)
    os.chdir(PROJECT_ROOT)
    os.execve(dagster, command, env)
    return 0  # pragma: no cover - execve does not return


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "db", help="start, stop or print the URL of the embedded PostgreSQL server (.synth/pg)",
        description="The embedded PostgreSQL server used when no database URL is given. "
        "SYNTH_DATABASE_URL overrides it for `url`.",
    )
    parser.add_argument("action", choices=("start", "stop", "url"))
    parser.add_argument("--database", default=None, help="database name for `url`")
    parser.set_defaults(handler=_db)

    ui = subparsers.add_parser(
        "ui", help="open the Dagster UI (dagster dev) with PostgreSQL storage on the embedded server",
        description="Runs `dagster dev` (webserver + daemon for schedules and sensors) with run storage in "
        "the `dagster` database of the embedded server (or SYNTH_DATABASE_URL's server).",
    )
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)
