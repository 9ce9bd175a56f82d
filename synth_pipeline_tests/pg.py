"""Test helpers for real PostgreSQL servers (never mocks)."""

from __future__ import annotations

import re
import uuid

import psycopg
from psycopg import sql

from synth_pipeline.infra.dsn import with_database


def create_database(admin_dsn: str, prefix: str) -> tuple[str, str]:
    """Create a fresh, uniquely named database; returns (name, dsn)."""
    slug = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:40]
    name = f"t_{slug}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, with_database(admin_dsn, name)


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(admin_dsn: str, name: str) -> bool:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = %s)", (name,)).fetchone()[0]
