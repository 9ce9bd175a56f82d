"""The shard store: a local directory (the default) or a pyarrow filesystem URI.

A *location* is a local path (`str` or `Path`, also `file:///...`) or a URI that
`pyarrow.fs.FileSystem.from_uri` opens: `s3://bucket/prefix`, `gs://bucket/prefix`, ... S3
settings come from where pyarrow reads them: the standard AWS environment variables
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION/AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL[_S3], AWS_PROFILE) or the URI's query (`?endpoint_override=host:port&scheme=http
&region=...`). Credentials belong in the environment: `display` drops userinfo and any query key
naming a key, secret, token or password, and `refuse_credentials` refuses a URI carrying them
(run config is stored in Dagster's event log).

Writes are atomic either way: locally a temporary file, fsync and rename (`fsutil`, unchanged,
byte-for-byte the same files); on an object store one PUT of the complete bytes on stream close
(an object appears whole or not at all), so no temporary object and no rename. Local locations
take the local fast path everywhere (plain `Path` operations, Parquet opened by file name).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from synth_pipeline.fsutil import atomic_write_bytes, canonical_json, sha256_file

Location = str | os.PathLike[str]
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")
_CHUNK = 8 << 20


def is_uri(location: Any) -> bool:
    """True for a non-local URI (s3://, gs://, ...); local paths and file:// are not."""
    if isinstance(location, ShardStore):
        return not location.is_local
    text = str(location) if isinstance(location, str) else ""
    return "://" in text and not text.startswith("file://")


def _local_path(location: Location) -> Path:
    text = os.fspath(location)
    if isinstance(text, str) and text.startswith("file://"):
        return Path(urlsplit(text).path)
    return Path(text)


def _secret(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_WORDS)


def display(location: Any) -> str:
    """The location as it may be logged or recorded: never userinfo or credential query keys."""
    if isinstance(location, ShardStore):
        location = location.root
    if not is_uri(location):
        return str(location)
    parts = urlsplit(str(location))
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _secret(k)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def refuse_credentials(location: str, what: str) -> None:
    """Refuse a URI that carries credentials (userinfo or a key/secret/token query parameter)."""
    if not is_uri(location):
        return
    parts = urlsplit(location)
    if "@" in parts.netloc or any(_secret(k) for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        from synth_pipeline.errors import SynthError

        raise SynthError(f"{what} {display(location)}: the URI carries credentials; give them in the environment "
                         "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...), never in config (docs/scale-out.md)")


def join(location: Location, *parts: str) -> Path | str:
    """`location/part/...`: a Path for local locations; for a URI the parts go before its query."""
    if not is_uri(location):
        return _local_path(location).joinpath(*parts)
    split = urlsplit(str(location))
    path = "/".join([split.path.rstrip("/"), *(p.strip("/") for p in parts)])
    return urlunsplit((split.scheme, split.netloc, path, split.query, ""))


def parent(location: Location) -> Path | str:
    """The directory holding `location` (its query kept for a URI)."""
    if not is_uri(location):
        return _local_path(location).parent
    split = urlsplit(str(location))
    return urlunsplit((split.scheme, split.netloc, split.path.rstrip("/").rsplit("/", 1)[0], split.query, ""))


def _open_uri(uri: str) -> tuple[Any, str]:
    from pyarrow import fs as pafs

    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


class ShardStore:
    """A directory of a shard store; every method takes a path relative to it ('shard-00000/x.parquet')."""

    def __init__(self, root: Location) -> None:
        if is_uri(root):
            self.root: Path | str = str(root)
            self.local: Path | None = None
            self._fs, self._base = _open_uri(self.root)
        else:
            self.root = self.local = _local_path(root)
            self._fs, self._base = None, ""

    @property
    def is_local(self) -> bool:
        return self.local is not None

    def __repr__(self) -> str:
        return f"ShardStore({self.display()!r})"

    def _remote(self, relative: str) -> str:
        return f"{self._base}/{relative}" if relative else self._base

    def location(self, relative: str = "") -> Path | str:
        """The full location of `relative` (a Path locally, else the URI with its query)."""
        return join(self.root, relative) if relative else self.root

    def display(self, relative: str = "") -> str:
        return display(self.location(relative))

    def ensure_root(self) -> None:
        """Create the local directory; an object store needs none (the bucket must exist)."""
        if self.local is not None:
            self.local.mkdir(parents=True, exist_ok=True)

    def write_bytes(self, relative: str, data: bytes | memoryview | Any) -> None:
        """Atomically: local temp file + fsync + rename; object store: one PUT on close."""
        if self.local is not None:
            atomic_write_bytes(self.local / relative, data)
            return
        with self._fs.open_output_stream(self._remote(relative)) as stream:
            stream.write(data)

    def write_json(self, relative: str, document: Any) -> str:
        """Canonical JSON (fsutil.canonical_json), atomically; returns the sha256 of the bytes."""
        payload = canonical_json(document)
        self.write_bytes(relative, payload)
        return hashlib.sha256(payload).hexdigest()

    def read_bytes(self, relative: str) -> bytes:
        """The whole file; FileNotFoundError (an OSError) when it does not exist."""
        if self.local is not None:
            return (self.local / relative).read_bytes()
        with self._fs.open_input_stream(self._remote(relative)) as stream:
            return stream.read()

    def size(self, relative: str) -> int | None:
        """Bytes of the file, None when it does not exist."""
        if self.local is not None:
            try:
                return os.stat(self.local / relative).st_size
            except FileNotFoundError:
                return None
        from pyarrow import fs as pafs

        info = self._fs.get_file_info(self._remote(relative))
        return None if info.type == pafs.FileType.NotFound else info.size

    def exists(self, relative: str) -> bool:
        return self.size(relative) is not None

    def delete(self, relative: str) -> None:
        """Remove the file if it exists."""
        if self.local is not None:
            (self.local / relative).unlink(missing_ok=True)
            return
        try:
            self._fs.delete_file(self._remote(relative))
        except FileNotFoundError:
            pass

    def sha256(self, relative: str) -> str:
        if self.local is not None:
            return sha256_file(self.local / relative)
        digest = hashlib.sha256()
        with self._fs.open_input_stream(self._remote(relative)) as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    @contextmanager
    def parquet_source(self, relative: str) -> Iterator[Any]:
        """What `pyarrow.parquet.ParquetFile` opens: the file name locally, else a random-access file."""
        if self.local is not None:
            yield str(self.local / relative)
            return
        with self._fs.open_input_file(self._remote(relative)) as handle:
            yield handle


def open_store(root: Location | ShardStore) -> ShardStore:
    return root if isinstance(root, ShardStore) else ShardStore(root)


def read_bytes(location: Location) -> bytes:
    """The bytes at a full location (e.g. the manifest path a Dagster step handed over)."""
    if not is_uri(location):
        return _local_path(location).read_bytes()
    return ShardStore(parent(location)).read_bytes(urlsplit(str(location)).path.rstrip("/").rsplit("/", 1)[-1])


@contextmanager
def parquet_source(location: Location) -> Iterator[Any]:
    """`ShardStore.parquet_source` for a full location."""
    if not is_uri(location):
        yield str(_local_path(location))
        return
    name = urlsplit(str(location)).path.rstrip("/").rsplit("/", 1)[-1]
    with ShardStore(parent(location)).parquet_source(name) as source:
        yield source
