"""The shard store: a local directory (the default) or a pyarrow filesystem URI.

A *location* is a local path (`str` or `Path`, also `file:///abs/path`, percent-decoded) or an
`s3://bucket/prefix` / `gs://bucket/prefix` URI that `pyarrow.fs.FileSystem.from_uri` opens. Any
text starting `name:` (`^[A-Za-z][\\w+.-]*:`) is a scheme: an unknown or malformed one (`s3:/b/p`,
`file://shards`, a space, a fragment, no bucket) is refused in one line by `check_location`, never
taken for a local directory. S3 settings come from where pyarrow reads them: the standard AWS
environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_REGION/AWS_DEFAULT_REGION, AWS_ENDPOINT_URL[_S3], AWS_PROFILE) or the URI's query
(`?endpoint_override=host:port&scheme=http&region=...`).

Credentials belong in the environment. An '@' anywhere in a URI is taken for userinfo (a secret
may hold '/', '#' or '?', which end what urlsplit calls userinfo) and refused, as is a query key
naming a key, secret, token, password or credential; `display` never shows either (it keeps what
follows the last '@'), and every pyarrow error is re-raised as a SynthError built from `display`
(pyarrow's own messages may echo the whole URI). Run config is stored in Dagster's event log.

Writes are atomic either way: locally a temporary file, fsync and rename (`fsutil`, unchanged,
byte-for-byte the same files); on an object store one PUT of the complete bytes on stream close
(an object appears whole or not at all), so no temporary object and no rename. One store holds
one filesystem object: S3 without `?region=` (and without endpoint_override) costs one bucket
region lookup when the store is opened, not one per file. Deleting the last object under a
"directory" makes pyarrow leave a zero-byte `prefix/` marker object; `list_files` ignores them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from synth_pipeline.errors import SynthError
from synth_pipeline.fsutil import atomic_write_bytes, canonical_json, sha256_file

Location = str | os.PathLike[str]
REMOTE_SCHEMES = ("s3", "gs", "gcs")
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")
_SCHEME = re.compile(r"^([A-Za-z][\w+.-]*):")
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_URI_IN_TEXT = re.compile(r"[A-Za-z][\w+.-]*://[^\s'\"]*")
_CHUNK = 8 << 20
_FORMS = "a local path, file:///abs/path, s3://bucket/prefix or gs://bucket/prefix"


def _text(location: Any) -> str | None:
    if isinstance(location, (str, os.PathLike)):
        text = os.fspath(location)
        return text if isinstance(text, str) else None
    return None


def _scheme(text: str) -> str | None:
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else None


def is_uri(location: Any) -> bool:
    """True for a non-local location: any `scheme:` but file: (malformed ones are refused when opened)."""
    if isinstance(location, ShardStore):
        return not location.is_local
    text = _text(location)
    scheme = _scheme(text) if text is not None else None
    return scheme is not None and scheme != "file"


def _local_path(location: Location) -> Path:
    text = os.fspath(location)
    if isinstance(text, str) and _scheme(text) == "file":
        return Path(unquote(urlsplit(text).path))
    return Path(text)


def _secret(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_WORDS)


def _one_line(text: str, *, spaces: bool) -> str:
    pattern = r"[\x00-\x20\x7f]" if spaces else r"[\x00-\x1f\x7f]"
    return re.sub(pattern, lambda m: f"%{ord(m.group()):02X}", text)


def display(location: Any) -> str:
    """The location as it may be logged or recorded: never userinfo or credential query keys, one line."""
    if isinstance(location, ShardStore):
        location = location.root
    text = _text(location)
    if text is None:
        return str(location)
    scheme = _scheme(text)
    if scheme is None or (scheme == "file" and "@" not in text):
        return _one_line(text, spaces=False)
    rest = text[len(scheme) + 1:]
    if "@" in rest:  # userinfo, whatever '/', '#' or '?' the secret holds: keep what follows the last '@'
        rest = ("//" if rest.startswith("//") else "") + rest.rsplit("@", 1)[1]
    try:
        parts = urlsplit(f"{scheme}:{rest}")
        netloc = parts.netloc if not parts.netloc or _BUCKET.match(parts.netloc) else "(invalid)"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _secret(k)])
        shown = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        shown = f"{scheme}:(unparseable)"
    return _one_line(shown, spaces=True)


def reason(exc: BaseException) -> str:
    """An exception's message for a SynthError: one line, at most 200 characters, any URI in it shown by `display`."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return _URI_IN_TEXT.sub(lambda m: display(m.group()), text)[:200]


def check_location(location: Any, what: str) -> None:
    """Refuse credentials in a URI and any unknown or malformed location, in one line that shows `display` only."""
    if isinstance(location, ShardStore):
        return
    text = _text(location)
    scheme = _scheme(text) if text is not None else None
    if scheme is None:
        return

    def refuse(problem: str) -> SynthError:
        return SynthError(f"{what} {display(location)}: {problem}")

    if scheme != "file" and ("@" in text or any(_secret(k) for k, _ in _query(text))):
        raise refuse("the URI carries credentials; give them in the environment (AWS_ACCESS_KEY_ID, "
                     "AWS_SECRET_ACCESS_KEY, ...), never in config (docs/scale-out.md)")
    if scheme not in ("file", *REMOTE_SCHEMES):
        raise refuse(f"unknown scheme {scheme + ':'!r}; a shard store is {_FORMS} "
                     "(a local directory whose name holds ':' is ./NAME)")
    if re.search(r"[\x00-\x20\x7f]", text):
        raise refuse("the location holds a space or control character; percent-encode it (%20)")
    if "#" in text:
        raise refuse("the location holds '#'; percent-encode it (%23)")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise refuse(f"not a valid URI; a shard store is {_FORMS}") from None
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/") or parts.query:
            raise refuse("a file URI needs an absolute path: file:///abs/path ('file://NAME' names a host)")
        return
    if not text[len(scheme) + 1:].startswith("//") or not parts.netloc:
        raise refuse(f"no bucket; write {scheme}://bucket/prefix")
    if not _BUCKET.match(parts.netloc):
        raise refuse("not a valid bucket name (letters, digits, '.', '-', '_')")


def refuse_credentials(location: Any, what: str) -> None:
    """`check_location` under its former name (kept: tests import it)."""
    check_location(location, what)


def _query(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(urlsplit(text).query, keep_blank_values=True)
    except ValueError:
        return []


def join(location: Location, *parts: str) -> Path | str:
    """`location/part/...`: a Path for local locations; for a URI the parts go before its query."""
    if not is_uri(location):
        return _local_path(location).joinpath(*parts)
    check_location(location, "shard store")  # never launder a refused URI (urlsplit drops a '#...' part)
    split = urlsplit(str(location))
    path = "/".join([split.path.rstrip("/"), *(p.strip("/") for p in parts)])
    return urlunsplit((split.scheme, split.netloc, path, split.query, ""))


def parent(location: Location) -> Path | str:
    """The directory holding `location` (its query kept for a URI)."""
    if not is_uri(location):
        return _local_path(location).parent
    check_location(location, "shard store")
    split = urlsplit(str(location))
    return urlunsplit((split.scheme, split.netloc, split.path.rstrip("/").rsplit("/", 1)[0], split.query, ""))


def _open_uri(uri: str) -> tuple[Any, str]:
    from pyarrow import fs as pafs

    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


class ShardStore:
    """A directory of a shard store; every method takes a path relative to it ('shard-00000/x.parquet').
    `what` names the location in errors ('--out', 'shard_store', ...)."""

    def __init__(self, root: Location, what: str = "shard store") -> None:
        check_location(root, what)
        if is_uri(root):
            self.root: Path | str = str(root)
            self.local: Path | None = None
            try:
                self._fs, self._base = _open_uri(self.root)
            except Exception as exc:  # ArrowInvalid echoes the whole URI, OSError (region lookup), not built
                raise SynthError(f"{what} {display(self.root)}: cannot open the shard store: {reason(exc)}") from None
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
        # pyarrow's output stream has no abort: closing it (leaving the `with`, even by an exception,
        # or garbage collection) completes the upload with whatever was written. The whole object
        # therefore goes through ONE write() of the complete bytes, with nothing else in the block,
        # so there is no point at which a partial object could be committed by an error of ours.
        # (test_shard_store_s3.py::test_an_object_is_written_by_one_write_of_the_complete_bytes)
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

    def read_buffer(self, relative: str) -> Any:
        """The whole file in memory, read once (bytes locally, a pyarrow Buffer from an object store:
        one GET); FileNotFoundError when it does not exist."""
        if self.local is not None:
            return (self.local / relative).read_bytes()
        with self._fs.open_input_stream(self._remote(relative)) as stream:
            return stream.read_buffer()

    def size(self, relative: str) -> int | None:
        """Bytes of the file, None when it does not exist."""
        if self.local is not None:
            try:
                return os.stat(self.local / relative).st_size
            except FileNotFoundError:
                return None
        from pyarrow import fs as pafs

        info = self._fs.get_file_info(self._remote(relative))
        return None if info.type != pafs.FileType.File else info.size

    def list_files(self) -> dict[str, int]:
        """Every file under the root (relative path -> bytes), in one listing on an object store.
        Directory-marker objects (zero-byte keys ending in '/', which pyarrow leaves after deleting
        the last object of a 'directory') are not files and are left out."""
        if self.local is not None:
            return {p.relative_to(self.local).as_posix(): p.stat().st_size for p in self.local.rglob("*") if p.is_file()}
        from pyarrow import fs as pafs

        selector = pafs.FileSelector(self._base, recursive=True, allow_not_found=True)
        prefix = self._base + "/"
        return {info.path.removeprefix(prefix): info.size for info in self._fs.get_file_info(selector)
                if info.type == pafs.FileType.File and not info.path.endswith("/")}

    def delete(self, relative: str) -> None:
        """Remove the file if it exists (on an object store pyarrow may leave a 'directory/' marker object)."""
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


def open_store(root: Location | ShardStore, what: str = "shard store") -> ShardStore:
    return root if isinstance(root, ShardStore) else ShardStore(root, what)


def read_bytes(location: Location) -> bytes:
    """The bytes at a full location (e.g. the manifest path a Dagster step handed over)."""
    if not is_uri(location):
        return _local_path(location).read_bytes()
    check_location(location, "shard store")
    return ShardStore(parent(location)).read_bytes(urlsplit(str(location)).path.rstrip("/").rsplit("/", 1)[-1])
