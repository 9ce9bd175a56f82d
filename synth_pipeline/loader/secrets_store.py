"""The per-environment secrets files: `.secrets/.env.{env}` (mode 0600, directory 0700).

The directory is `.secrets/` at the project root (git-ignored); SYNTH_SECRETS_DIR overrides it
(tests). Each file holds shell-style `KEY=value` lines: DATABASE_URL (the owner role: loads) and
DATABASE_URL_OWNER / DATABASE_URL_APP / DATABASE_URL_READONLY. Passwords are URL-safe tokens, so
the URLs need no quoting.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import atomic_write_bytes
from synth_pipeline.infra.dsn import dsn_params
from synth_pipeline.paths import PROJECT_ROOT

SECRETS_DIR_ENV = "SYNTH_SECRETS_DIR"
DIR_MODE = 0o700
FILE_MODE = 0o600


def secrets_dir() -> Path:
    override = os.environ.get(SECRETS_DIR_ENV)
    return Path(override) if override else PROJECT_ROOT / ".secrets"


def env_file(env: str) -> Path:
    return secrets_dir() / f".env.{env}"


def write_env_file(env: str, values: dict[str, str]) -> Path:
    directory = secrets_dir()
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(directory, DIR_MODE)  # also tightens a directory that existed with a looser mode
    body = "".join(f"{key}={value}\n" for key, value in values.items())
    path = env_file(env)
    atomic_write_bytes(path, ("# written by synth-pipeline provision; never commit\n" + body).encode(), mode=FILE_MODE)
    return path


def read_env_file(env: str) -> dict[str, str] | None:
    path = env_file(env)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SynthError(f"cannot read secrets file {path}: {exc.strerror}") from None
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def remove_env_file(env: str) -> bool:
    """Delete the secrets file; remove `.secrets/` too when nothing else is left in it."""
    path = env_file(env)
    try:
        path.unlink()
        removed = True
    except FileNotFoundError:
        removed = False
    try:
        path.parent.rmdir()
    except OSError:
        pass  # not empty (other environments) or already gone
    return removed


def provisioned_envs() -> list[str]:
    directory = secrets_dir()
    if not directory.is_dir():
        return []
    return sorted(p.name.removeprefix(".env.") for p in directory.glob(".env.*") if p.is_file())


def env_database_url(env: str, key: str = "DATABASE_URL") -> str:
    values = read_env_file(env)
    if not values or not values.get(key):
        raise SynthError(f"no {key} in {env_file(env)}; run synth-pipeline provision --env {env} first")
    return values[key]


def role_url(server_dsn: str, user: str, password: str, database: str) -> str:
    """A postgresql:// URL for `user` on the server of `server_dsn` (unix socket hosts go in the query)."""
    params = dsn_params(server_dsn)
    host = params.get("host", "")
    port = params.get("port", "")
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    if not host or host.startswith("/"):
        query = [f"host={quote(host, safe='')}"] if host else []
        if port:
            query.append(f"port={port}")
        return f"postgresql://{auth}/{quote(database, safe='')}" + ("?" + "&".join(query) if query else "")
    netloc_host = f"[{host}]" if ":" in host else host
    netloc_port = f":{port}" if port else ""
    sslmode = f"?sslmode={params['sslmode']}" if params.get("sslmode") else ""
    return f"postgresql://{auth}{netloc_host}{netloc_port}/{quote(database, safe='')}{sslmode}"
