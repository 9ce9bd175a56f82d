"""Shards on object storage: an S3-compatible server (moto) on 127.0.0.1, reached by pyarrow's
S3FileSystem through a `s3://bucket/prefix?endpoint_override=...&scheme=http` URI, with dummy
credentials in the standard AWS environment variables (never in the URI or run config).

Generated to the bucket, the objects are byte-identical to a local generation of the same spec,
seed, sizes and shard count; loaded from the bucket into real PostgreSQL, the row counts are the
manifest's; a corrupted object fails its partition's transaction in one line (verified on the bytes
loaded, each object read once); scale_out_job runs with an s3:// shard store. Credentials in a URI
(whatever '/', '#' or '%2F' the secret holds) and malformed locations are refused in one line that
never shows the secret.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from synth_pipeline.cli import main
from synth_pipeline.contracts.shard_manifest import ShardManifest
from synth_pipeline.errors import SynthError
from synth_pipeline.generator import generate, load_spec, resolve_sizes
from synth_pipeline.infra import shard_store
from synth_pipeline.loader.load import load_shards
from synth_pipeline.paths import REFERENCE_SPEC
from synth_pipeline.schema.mapping import load_mapping
from synth_pipeline_tests.helpers import isolate_state
from synth_pipeline_tests.helpers import free_port

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

BUCKET = "synth-shards"
SEED = 5
MESSAGES = 6_000
SHARDS = 3


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A moto S3 server on a free port, the AWS variables pyarrow and boto3 read, one bucket."""
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "synth-test-key")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "synth-test-secret")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_REGION", "us-east-1")
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "SYNTH_SHARD_STORE"):
            patch.delenv(name, raising=False)
        isolate_state(patch, tmp_path_factory.mktemp("s3_state"))
        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        try:
            yield {"client": client, "endpoint": f"127.0.0.1:{port}"}
        finally:
            server.stop()


def _uri(s3: dict, prefix: str) -> str:
    return f"s3://{BUCKET}/{prefix}?endpoint_override={s3['endpoint']}&scheme=http&region=us-east-1"


def _objects(s3: dict, prefix: str) -> dict[str, bytes]:
    client = s3["client"]
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
            for o in page.get("Contents", [])]
    # Keys ending in '/' are directory markers pyarrow may leave after a delete (docs/scale-out.md), not files.
    return {k.removeprefix(prefix + "/"): client.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys
            if not k.endswith("/")}


def _local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _sizes():
    return resolve_sizes(load_spec(REFERENCE_SPEC), messages=MESSAGES)[1]


def _counts(dsn: str, schema: str, tables: list[str]) -> dict[str, int]:
    mapping = load_mapping("reference")
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{schema}"."{mapping.table_name(t)}"').fetchone()[0] for t in tables}


@pytest.fixture(scope="module")
def local_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(REFERENCE_SPEC, tmp_path_factory.mktemp("local") / "set", seed=SEED, band=_sizes(),
                    n_shards=SHARDS, progress=None).out_dir


def test_generate_to_s3_is_byte_identical_loads_and_refuses_corruption(s3: dict, local_set: Path, pg_dsn: str) -> None:
    uri = _uri(s3, "runs/set1")
    result = generate(REFERENCE_SPEC, uri, seed=SEED, band=_sizes(), n_shards=SHARDS, progress=None)
    assert result.out_dir == uri and result.manifest_path == shard_store.join(uri, "manifest.json")

    # Same seed: every object is byte-identical to the local file of the same name, and nothing else is there
    # (no temporary objects: one PUT per file).
    local, remote = _local_files(local_set), _objects(s3, "runs/set1")
    assert sorted(remote) == sorted(local)
    assert remote == local
    manifest = ShardManifest.model_validate_json(remote["manifest.json"])
    assert sum(len(p.files) for p in manifest.partitions) == len([k for k in remote if k.endswith(".parquet")])

    # Loaded from the bucket: the manifest's rows per table; run_<id>.json written beside the shards.
    result = load_shards(uri, pg_dsn, "synth_s3_load")
    assert result.status == "COMPLETED" and result.rows == manifest.table_rows
    assert _counts(pg_dsn, "synth_s3_load", list(manifest.table_rows)) == manifest.table_rows
    assert str(result.run_file).startswith(f"s3://{BUCKET}/runs/set1/run_{result.run_id}.json")
    run_record = _objects(s3, "runs/set1")[f"run_{result.run_id}.json"]
    assert b'"status": "COMPLETED"' in run_record and b"synth-test-secret" not in run_record
    assert b'"shards_dir": "s3://synth-shards/runs/set1?' in run_record

    # A corrupted object (same size, one byte changed) passes the up-front existence and size check (one
    # listing) and is refused on the bytes read for COPY: that partition's transaction is rolled back.
    key = "runs/set1/" + next(f.path for p in manifest.partitions if p.name == "shard-00001" for f in p.files
                              if f.table == "messages")
    data = bytearray(remote[key.removeprefix("runs/set1/")])
    data[len(data) // 2] ^= 0xFF
    s3["client"].put_object(Bucket=BUCKET, Key=key, Body=bytes(data))
    with pytest.raises(SynthError) as refused:
        load_shards(uri, pg_dsn, "synth_s3_corrupt", jobs=1)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"shard file s3://{BUCKET}/{key}?endpoint_override=")
    assert "does not match its sha256 in manifest.json: corrupt" in message
    with psycopg.connect(pg_dsn) as conn:  # users and shard-00000 committed, shard-00001 rolled back
        ledger = dict(conn.execute("SELECT partition, rows FROM synth_meta.shard_ledger "
                                   "WHERE schema_name = 'synth_s3_corrupt'").fetchall())
        status, errors = conn.execute("SELECT status, errors FROM synth_meta.load_runs "
                                      "WHERE schema_name = 'synth_s3_corrupt'").fetchone()
    assert sorted(ledger) == ["shard-00000", "users"]
    assert status == "FAILED" and errors == [message]
    shard0 = next(p for p in manifest.partitions if p.name == "shard-00000")
    assert _counts(pg_dsn, "synth_s3_corrupt", ["messages"]) == {"messages": next(f.rows for f in shard0.files if f.table == "messages")}
    s3["client"].put_object(Bucket=BUCKET, Key=key, Body=remote[key.removeprefix("runs/set1/")])


def test_each_object_is_read_once_through_one_filesystem(s3: dict, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """COPY decodes the very bytes whose sha256 was checked: one GET per Parquet object, no separate
    hash or schema read, and one filesystem (one region lookup at most) for the whole load."""
    uri = _uri(s3, "once")
    generate(REFERENCE_SPEC, uri, seed=SEED, band=_sizes(), n_shards=SHARDS, progress=None)
    reads: list[str] = []
    opened: list[str] = []
    original_read, original_open = shard_store.ShardStore.read_buffer, shard_store._open_uri

    def read_buffer(self, relative: str):
        reads.append(relative)
        return original_read(self, relative)

    def forbidden(self, relative: str, *args):
        raise AssertionError(f"{relative} read a second time")

    def open_uri(location: str):
        opened.append(location)
        return original_open(location)

    monkeypatch.setattr(shard_store.ShardStore, "read_buffer", read_buffer)
    monkeypatch.setattr(shard_store.ShardStore, "sha256", forbidden)
    monkeypatch.setattr(shard_store.ShardStore, "parquet_source", forbidden)
    monkeypatch.setattr(shard_store, "_open_uri", open_uri)
    result = load_shards(uri, pg_dsn, "synth_s3_once")
    assert result.status == "COMPLETED"
    manifest = ShardManifest.model_validate_json(_objects(s3, "once")["manifest.json"])
    assert sorted(reads) == sorted(f.path for p in manifest.partitions for f in p.files)
    assert len(opened) == 1


def test_an_object_is_written_by_one_write_of_the_complete_bytes(s3: dict) -> None:
    """pyarrow's output stream has no abort: leaving the `with` by an exception still completes the
    upload (shown below on the real server), so write_bytes must hand the whole object to ONE write()."""
    store = shard_store.ShardStore(_uri(s3, "atomic"))
    with pytest.raises(RuntimeError):
        with store._fs.open_output_stream(store._remote("partial.bin")) as stream:
            stream.write(b"half")
            raise RuntimeError("failed mid-object")
    assert _objects(s3, "atomic") == {"partial.bin": b"half"}  # why: a second write() would be unsafe

    calls: list[tuple[str, bytes]] = []

    class Recording:
        def __init__(self, path: str) -> None:
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc_info) -> None:
            calls.append((self.path, b"<closed>"))

        def write(self, data) -> None:
            calls.append((self.path, bytes(data)))

    class Filesystem:
        def open_output_stream(self, path: str) -> Recording:
            return Recording(path)

    payload = os.urandom(3 << 20)
    store._fs = Filesystem()
    store.write_bytes("shard-00000/messages.parquet", payload)
    assert calls == [(store._remote("shard-00000/messages.parquet"), payload),
                     (store._remote("shard-00000/messages.parquet"), b"<closed>")]


def test_directory_markers_left_by_deletes_are_not_files(s3: dict, pg_dsn: str) -> None:
    uri = _uri(s3, "markers")
    generate(REFERENCE_SPEC, uri, seed=SEED, band=_sizes(), n_shards=1, progress=None)
    store = shard_store.ShardStore(uri)
    store.write_bytes("scratch/only.bin", b"x")
    store.delete("scratch/only.bin")
    keys = [o["Key"] for o in s3["client"].list_objects_v2(Bucket=BUCKET, Prefix="markers/")["Contents"]]
    assert "markers/scratch/" in keys  # pyarrow's zero-byte marker
    listed = store.list_files()
    assert "scratch/" not in listed and "scratch" not in listed and not any(k.endswith("/") for k in listed)
    assert set(listed) == set(_objects(s3, "markers"))
    assert load_shards(uri, pg_dsn, "synth_s3_markers").rows == ShardManifest.model_validate_json(
        _objects(s3, "markers")["manifest.json"]).table_rows


def test_read_errors_other_than_not_found_are_reported_not_called_missing(s3: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from synth_pipeline.loader.shards import read_shard_set, read_verified, verify_partitions

    uri = _uri(s3, "denied")
    generate(REFERENCE_SPEC, uri, seed=SEED, band=_sizes(), n_shards=1, progress=None)
    shard_set = read_shard_set(uri)
    shard_file = shard_set.partitions[0].files[0]
    denied = OSError("When reading information for key 'denied/users/users.parquet' in bucket 'synth-shards': "
                     "AWS Error ACCESS_DENIED during GetObject operation: Access Denied")

    def raise_denied(*args):
        raise denied

    monkeypatch.setattr(shard_store.ShardStore, "read_buffer", raise_denied)
    with pytest.raises(SynthError) as refused:
        read_verified(shard_set, shard_file)
    assert "missing" not in str(refused.value)
    assert str(refused.value).startswith(f"cannot read shard file s3://{BUCKET}/denied/{shard_file.path}?endpoint_override=")
    assert "AWS Error ACCESS_DENIED during GetObject operation" in str(refused.value)
    monkeypatch.setattr(shard_store.ShardStore, "list_files", raise_denied)
    with pytest.raises(SynthError, match=r"^cannot list the shard files in s3://synth-shards/denied\?.*ACCESS_DENIED"):
        verify_partitions(shard_set, shard_set.partitions)

    def not_found(*args):
        raise FileNotFoundError(2, "Path does not exist")

    monkeypatch.setattr(shard_store.ShardStore, "read_buffer", not_found)
    with pytest.raises(SynthError, match=r"^shard file s3://.* is missing; regenerate"):
        read_verified(shard_set, shard_file)


def test_a_denied_delete_of_the_manifest_is_one_line(s3: dict, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    uri = _uri(s3, "nodelete")

    def denied(self, relative: str) -> None:
        raise OSError("AWS Error ACCESS_DENIED during DeleteObject operation: Access Denied")

    monkeypatch.setattr(shard_store.ShardStore, "delete", denied)
    assert main(["generate", "--out", uri, "--seed", str(SEED), "--messages", "2000", "--shards", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"synth-pipeline generate: error: --out s3://{BUCKET}/nodelete?endpoint_override=")
    assert "cannot write shards (AWS Error ACCESS_DENIED during DeleteObject operation" in err
    assert "internal error" not in err and err.count("\n") == 1


SECRETS = ["wJal/rXUtnFEMI/K7MDENG", "wJal#rXUtnFEMI", "wJal%2FrXUtnFEMI", "wJal?rXUtnFEMI"]


@pytest.mark.parametrize("secret", SECRETS)
def test_a_secret_in_the_uri_never_reaches_output_errors_or_dagster(secret: str, capsys: pytest.CaptureFixture,
                                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from synth_pipeline.defs.resources import PipelineStorage
    from synth_pipeline.defs.scaleout.jobs import build_scale_out_job

    uri = f"s3://AKIAEXAMPLE:{secret}@{BUCKET}/p?region=us-east-1"
    fragments = ["AKIAEXAMPLE", "rXUtnFEMI"]
    shown = shard_store.display(uri)
    assert not any(f in shown for f in fragments)
    for call in (lambda: shard_store.refuse_credentials(uri, "shard_store"), lambda: shard_store.ShardStore(uri),
                 lambda: shard_store.read_bytes(uri)):
        with pytest.raises(SynthError, match="the URI carries credentials") as refused:
            call()
        assert not any(f in str(refused.value) for f in fragments)

    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--out", uri, "--seed", "1", "--messages", "2000"]) == 2
    assert main(["load", "--shards", uri, "--target-url", "postgresql://u@127.0.0.1:1/x", "--schema", "synth_x"]) == 2
    captured = capsys.readouterr()
    assert not any(f in captured.out + captured.err for f in fragments)
    assert captured.err.count("the URI carries credentials") == 2 and "internal error" not in captured.err
    assert list(tmp_path.iterdir()) == []  # nothing created locally

    monkeypatch.setenv("SYNTH_SHARD_STORE", uri)
    with pytest.raises(SynthError) as refused:
        PipelineStorage(root=str(tmp_path / "storage")).shards_location("g")
    assert not any(f in str(refused.value) for f in fragments)
    monkeypatch.delenv("SYNTH_SHARD_STORE")

    config = {"resources": {"shard_set": {"config": {"messages": 2_000, "shard_store": uri}}}}
    result = build_scale_out_job(1).execute_in_process(run_config=config, raise_on_error=False)
    assert not result.success
    description = result.failure_data_for_node("generate_users").user_failure_data.description
    assert "the URI carries credentials" in description
    for event in result.all_events:  # messages, failure data, metadata of every event
        text = repr(event.message) + repr(event.event_specific_data)
        assert not any(f in text for f in fragments), event.event_type_value


def test_pyarrow_errors_are_wrapped_without_echoing_the_uri() -> None:
    with pytest.raises(SynthError) as refused:
        shard_store.ShardStore("s3://bucket/p?region=us-east-1&no_such_option=1", "--out")
    assert str(refused.value).startswith("--out s3://bucket/p?region=us-east-1&no_such_option=1: cannot open the shard store: ")
    echoed = ValueError("Cannot parse URI: 's3://AKIAEXAMPLE:wJal/rXUtnFEMI@bucket/p' due to syntax error")
    assert shard_store.reason(echoed) == "Cannot parse URI: 's3://bucket/p' due to syntax error"


@pytest.mark.parametrize("location, problem", [
    ("s3://bucket/p q", "space or control character"),
    ("s3:/bucket/p", "no bucket; write s3://bucket/prefix"),
    ("s3:///p", "no bucket"),
    ("file://shards", "a file URI needs an absolute path"),
    ("file:relative/dir", "a file URI needs an absolute path"),
    ("ftp://host/p", "unknown scheme 'ftp:'"),
    ("c:shards", "unknown scheme 'c:'"),
    ("s3://bucket/p#x", "percent-encode it (%23)"),
    ("s3://bu%63ket/p", "not a valid bucket name"),
])
def test_malformed_locations_are_refused_in_one_line(location: str, problem: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")  # file://shards once resolved to '.', and deleted this
    for call in (lambda: shard_store.ShardStore(location, "--out"), lambda: shard_store.check_location(location, "--out")):
        with pytest.raises(SynthError, match=problem.replace("(", r"\(").replace(")", r"\)")):
            call()
    assert main(["generate", "--out", location, "--seed", "1", "--messages", "2000", "--shards", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("synth-pipeline generate: error: --out ") and problem in err and err.count("\n") == 1
    with pytest.raises(SynthError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        generate(REFERENCE_SPEC, location, seed=1, band=_sizes(), n_shards=1, progress=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]  # no './s3:/bucket/p', nothing deleted


def test_file_uris_are_absolute_and_percent_decoded(tmp_path: Path) -> None:
    target = tmp_path / "a b"
    uri = "file://" + str(target).replace(" ", "%20")
    assert shard_store.join(uri, "g") == target / "g" and shard_store.ShardStore(uri).local == target
    result = generate(REFERENCE_SPEC, uri, seed=1, band=resolve_sizes(load_spec(REFERENCE_SPEC), messages=2_000)[1],
                      n_shards=1, progress=None)
    assert result.out_dir == target and (target / "manifest.json").exists()
    assert not (tmp_path / "a%20b").exists()


def test_the_demo_names_the_run_record_beside_an_object_store() -> None:
    from synth_pipeline.demo import _run_record

    assert (_run_record("s3://b/p/gen?endpoint_override=h:9&scheme=http", "R1")
            == "s3://b/p/gen/run_R1.json?endpoint_override=h%3A9&scheme=http")
    assert _run_record("/tmp/shards/gen", "R1") == "/tmp/shards/gen/run_R1.json"


def test_cli_generate_and_load_with_s3_uris(s3: dict, local_set: Path, pg_dsn: str, capsys: pytest.CaptureFixture) -> None:
    uri = _uri(s3, "cli/set")
    assert main(["generate", "--out", uri, "--seed", str(SEED), "--messages", str(MESSAGES), "--shards", str(SHARDS)]) == 0
    assert f"wrote s3://{BUCKET}/cli/set/manifest.json?endpoint_override=" in capsys.readouterr().out
    assert _objects(s3, "cli/set") == _local_files(local_set)
    assert main(["load", "--shards", uri, "--target-url", pg_dsn, "--schema", "synth_s3_cli"]) == 0
    manifest = ShardManifest.model_validate_json(_objects(s3, "cli/set")["manifest.json"])
    assert _counts(pg_dsn, "synth_s3_cli", list(manifest.table_rows)) == manifest.table_rows


def test_missing_bucket_and_missing_manifest_are_one_line(s3: dict) -> None:
    with pytest.raises(SynthError, match=r"^cannot read shard manifest s3://synth-shards/nothing/manifest.json\?endpoint_override="):
        load_shards(_uri(s3, "nothing"), "postgresql://unused@127.0.0.1:1/x", "synth_s3_none")
    with pytest.raises(SynthError, match=r"^--out s3://no-such-bucket/x\?.*: cannot write shards") as refused:
        generate(REFERENCE_SPEC, _uri(s3, "x").replace(BUCKET, "no-such-bucket"), seed=SEED, band=_sizes(),
                 n_shards=1, progress=None)
    assert "\n" not in str(refused.value)


def test_display_never_shows_credentials_and_config_refuses_them() -> None:
    uri = "s3://AKIAX:verysecret@bucket/p?access_key=AKIAX&secret_key=verysecret&session_token=t0k&endpoint_override=h:9&scheme=http"
    shown = shard_store.display(uri)
    assert shown == "s3://bucket/p?endpoint_override=h%3A9&scheme=http"
    with pytest.raises(SynthError, match="carries credentials") as joined:  # join never launders a refused URI
        shard_store.join(uri, "gen", "manifest.json")
    assert "secret" not in str(joined.value)
    assert shard_store.join("s3://b/p?scheme=http", "g", "manifest.json") == "s3://b/p/g/manifest.json?scheme=http"
    assert shard_store.parent("s3://b/p/g/manifest.json?scheme=http") == "s3://b/p/g?scheme=http"
    assert shard_store.join("/tmp/x", "g") == Path("/tmp/x/g") and shard_store.join("file:///tmp/x", "g") == Path("/tmp/x/g")
    with pytest.raises(SynthError, match="the URI carries credentials; give them in the environment") as refused:
        shard_store.refuse_credentials(uri, "shard_store")
    assert "verysecret" not in str(refused.value)
    shard_store.refuse_credentials("s3://bucket/p?endpoint_override=h:9", "shard_store")  # no credentials: fine


def test_scale_out_job_with_an_s3_shard_store(s3: dict, local_set: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from synth_pipeline.defs.scaleout.jobs import build_scale_out_job
    from synth_pipeline.generator import generation_id, plan_generation

    monkeypatch.setenv("SYNTH_PERF_URL", pg_dsn)
    for name in ("SYNTH_PERF_ENV", "SYNTH_ENV"):
        monkeypatch.delenv(name, raising=False)
    store = _uri(s3, "scaleout")
    config = {"resources": {"shard_set": {"config": {"messages": MESSAGES, "seed": SEED, "shard_store": store}}},
              "ops": {"load_shard_set": {"config": {"schema_name": "synth_s3_scaleout"}}}}
    result = build_scale_out_job(SHARDS).execute_in_process(run_config=config, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    generation = generation_id(plan_generation(load_spec(REFERENCE_SPEC), _sizes(), SEED, SHARDS))
    assert result.output_for_node("write_shard_manifest") == shard_store.join(store, generation, "manifest.json")
    objects = _objects(s3, f"scaleout/{generation}")
    assert {k: v for k, v in objects.items() if not k.startswith("run_")} == _local_files(local_set)
    manifest = ShardManifest.model_validate_json(objects["manifest.json"])
    loaded = result.output_for_node("load_shard_set")
    assert loaded["status"] == "COMPLETED" and loaded["rows"] == manifest.table_rows

    # Credentials in the shard_store URI are refused (run config lands in the event log).
    secret = {"resources": {"shard_set": {"config": {"messages": 2_000, "shard_store": store + "&secret_key=x"}}}}
    refused = build_scale_out_job(1).execute_in_process(run_config=secret, raise_on_error=False)
    assert not refused.success
    description = refused.failure_data_for_node("generate_users").user_failure_data.description
    assert "the URI carries credentials; give them in the environment" in description


def test_synthetic_shards_assets_write_to_the_storage_shard_store(s3: dict, tmp_path: Path) -> None:
    """`synthetic_shards` + `shard_manifest` with PipelineStorage(shard_store=s3://...): the same bytes as the core."""
    from synth_pipeline.defs.generation.assets import N_SHARDS, shard_partitions
    from synth_pipeline.defs.resources import PipelineStorage
    from synth_pipeline.generator import generation_id, plan_generation
    from synth_pipeline_tests.generation_fixtures import materialize_manifest, materialize_shard, stand_in_setup

    store = _uri(s3, "assets")
    setup = stand_in_setup(REFERENCE_SPEC, PipelineStorage(root=str(tmp_path / "storage"), shard_store=store))
    for key in shard_partitions.get_partition_keys():
        assert materialize_shard(setup, key, {"seed": SEED, "messages": MESSAGES}).success
    result = materialize_manifest(setup)
    assert result.success
    generation = generation_id(plan_generation(load_spec(REFERENCE_SPEC), _sizes(), SEED, N_SHARDS))
    assert result.output_for_node("shard_manifest") == shard_store.join(store, generation, "manifest.json")
    local = generate(REFERENCE_SPEC, tmp_path / "local", seed=SEED, band=_sizes(), n_shards=N_SHARDS, progress=None)
    assert _objects(s3, f"assets/{generation}") == _local_files(local.out_dir)
    assert not (tmp_path / "storage" / "shards").exists()
