"""DSN helpers. A DSN is never logged whole: `redact_dsn` hides its password."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import conninfo

from synth_pipeline.errors import SynthError

_PASSWORD_IN_KV = re.compile(r"(password\s*=\s*)('([^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URL_USERINFO = re.compile(r"^(\w[\w+.-]*://[^:/@]*:)([^@]*)(@)")  # groups: prefix, password, '@'
_URL_PASSWORD_PARAM = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced by `***` (URL or key=value form)."""
    if "://" not in dsn:
        return _PASSWORD_IN_KV.sub(r"\1***", dsn)
    try:
        parts = urlsplit(dsn)
    except ValueError:  # malformed (e.g. an unclosed IPv6 bracket): mask by pattern
        return _URL_PASSWORD_PARAM.sub(r"\1***", _URL_USERINFO.sub(r"\1***\3", dsn))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostinfo = netloc.rsplit("@", 1)
        if ":" in userinfo and userinfo.split(":", 1)[1]:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostinfo}"
    query = urlencode(
        [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="/",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _passwords_in(dsn: str) -> list[str]:
    """The password of a DSN as written and decoded, found without parsing it (it may be malformed)."""
    found = [m.group(2).strip("'") for m in _PASSWORD_IN_KV.finditer(dsn)]
    userinfo = _URL_USERINFO.match(dsn)
    if userinfo:
        found.append(userinfo.group(2))
    found += [m.group(2) for m in _URL_PASSWORD_PARAM.finditer(dsn)]
    found += [unquote(p) for p in found]
    return sorted({p for p in found if p}, key=len, reverse=True)


def driver_message(exc: BaseException, dsn: str) -> str:
    """The first line of a driver error with the DSN's password masked: libpq quotes the offending
    token of a malformed DSN (e.g. a password with a bare '%') in its parse errors."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else type(exc).__name__
    for password in _passwords_in(dsn):
        message = message.replace(password, "***")
    return message


def _invalid_dsn_error(exc: BaseException, dsn: str) -> SynthError:
    return SynthError(f"invalid database URL {redact_dsn(dsn)!r}: {driver_message(exc, dsn)}")


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    try:
        return conninfo.make_conninfo(dsn, dbname=database)
    except psycopg.ProgrammingError as exc:
        raise _invalid_dsn_error(exc, dsn) from None


def database_exists(conn: psycopg.Connection, name: str) -> bool:
    """True when database `name` exists on the connected server (pg_database)."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = %s)", (name,)).fetchone()[0]


def ensure_database(admin_dsn: str, name: str, *, recreate: bool = False) -> str:
    """Create database `name` on the server of `admin_dsn` if it is missing (dropped first with
    `recreate`); return its DSN (same credentials)."""
    from psycopg import sql

    with connect(admin_dsn, purpose="admin", autocommit=True) as conn:
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not database_exists(conn, name):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(admin_dsn, name)


def dsn_params(dsn: str) -> dict[str, str]:
    """Parsed connection parameters (host, port, dbname, user, ...). Raises SynthError when invalid."""
    try:
        return conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise _invalid_dsn_error(exc, dsn) from None


def same_database(dsn_a: str, dsn_b: str) -> bool:
    """True when both DSNs point at the same database on the same server (users may differ)."""
    a, b = dsn_params(dsn_a), dsn_params(dsn_b)
    key = ("host", "port", "dbname")
    defaults = {"host": "", "port": "5432", "dbname": ""}
    return all(str(a.get(k, defaults[k]) or defaults[k]) == str(b.get(k, defaults[k]) or defaults[k]) for k in key)


def connect(dsn: str, *, purpose: str, **kwargs) -> psycopg.Connection:
    """Open a connection, turning driver errors into one clear line without the password."""
    try:
        return psycopg.connect(dsn, **kwargs)
    except psycopg.OperationalError as exc:
        raise SynthError(f"cannot connect to the {purpose} database {redact_dsn(dsn)}: {driver_message(exc, dsn)}") from None
    except psycopg.ProgrammingError as exc:  # a DSN libpq cannot parse
        raise SynthError(f"invalid {purpose} database URL {redact_dsn(dsn)!r}: {driver_message(exc, dsn)}") from None


def dagster_storage_url(dsn: str) -> str:
    """A SQLAlchemy URL for dagster-postgres storage on the same database.

    DESIGN.md section 3: with SQLAlchemy 2.1 and psycopg 3 both installed, a bare
    `postgresql://` URL makes SQLAlchemy pick psycopg 3 and dagster runs hang, so we always name
    the psycopg2 driver explicitly (and pin SQLAlchemy < 2.1 as a second guard).
    """
    if "://" not in dsn:
        params = dsn_params(dsn)
        from urllib.parse import quote

        user = quote(params.get("user", "postgres"))
        password = quote(params["password"]) if params.get("password") else ""
        auth = f"{user}:{password}@" if password else f"{user}@"
        host = params.get("host", "")
        netloc_host = "" if host.startswith("/") else host
        port = f":{params['port']}" if params.get("port") and netloc_host else ""
        query = f"?host={host}" if host.startswith("/") else ""
        dsn = f"postgresql://{auth}{netloc_host}{port}/{params.get('dbname', 'postgres')}{query}"
    scheme, rest = dsn.split("://", 1)
    return f"postgresql+psycopg2://{rest}" if scheme in ("postgresql", "postgres") else dsn
