"""`synth-pipeline sample` and `fake-production` on the command line: success output, and every bad
input (missing salt, unreachable DSN, missing table or column, empty window, bad options) gives
one line on stderr, exit 2 and no file."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from synth_pipeline.cli import main as cli_main
from synth_pipeline.schema import load_mapping
from synth_pipeline.schema.ddl import create_logical_schema
from synth_pipeline_tests.sampler_fixtures import TEST_SALT, build_small, salt_env  # noqa: F401


@pytest.fixture(scope="module")
def dsn(pg_dsn: str) -> str:
    build_small(pg_dsn, messages=6_000)
    with psycopg.connect(pg_dsn) as conn:
        create_logical_schema(conn, "empty_src", load_mapping("reference"))
        conn.execute("CREATE SCHEMA no_tables")
    return pg_dsn


def _sample(dsn: str, out: Path, *extra: str) -> int:
    return cli_main(["sample", "--source-url", dsn, "--out", str(out), *extra])


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_sample_writes_pack_and_manifest(dsn, salt_env, tmp_path, capsys) -> None:
    out = tmp_path / "q4" / "pack.json"
    assert _sample(dsn, out, "--window-days", "20") == 0
    stdout = capsys.readouterr().out
    assert str(out) in stdout and "pack_mapping.json" in stdout
    manifest = json.loads((tmp_path / "q4" / "pack_mapping.json").read_text())
    assert manifest["window"]["days"] == 20
    assert manifest["tokenization"]["salt_fingerprint"] == salt_env.fingerprint
    assert TEST_SALT not in (tmp_path / "q4" / "pack_mapping.json").read_text()
    assert TEST_SALT not in stdout
    assert sorted(p.name for p in out.parent.iterdir()) == ["pack.json", "pack_mapping.json"]


@pytest.mark.parametrize("salt", [None, "too-short"])
def test_missing_or_short_salt_is_exit_2_and_writes_nothing(dsn, salt, monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.delenv("ANONYMIZATION_SALT", raising=False)
    if salt is not None:
        monkeypatch.setenv("ANONYMIZATION_SALT", salt)
    assert _sample(dsn, tmp_path / "pack.json") == 2
    assert "ANONYMIZATION_SALT" in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_dsn_is_exit_2_without_the_password(salt_env, tmp_path, capsys) -> None:
    assert _sample("postgresql://sampler:hunter2secret@127.0.0.1:1/production", tmp_path / "pack.json") == 2
    err = _one_line_error(capsys)
    assert "cannot connect to the source database" in err and "hunter2secret" not in err
    assert list(tmp_path.iterdir()) == []


def test_missing_table_is_exit_2_naming_it(dsn, salt_env, tmp_path, capsys) -> None:
    assert _sample(dsn, tmp_path / "pack.json", "--schema", "no_tables") == 2
    assert "table no_tables.users" in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_missing_column_is_exit_2_naming_it(dsn, salt_env, tmp_path, capsys) -> None:
    mapping = tmp_path / "renamed.yaml"
    reference = load_mapping("reference")
    text = Path(reference.source_path).read_text().replace("content: content", "content: body_text").replace(
        "name: reference", "name: renamed")
    mapping.write_text(text)
    assert _sample(dsn, tmp_path / "out" / "pack.json", "--mapping", str(mapping)) == 2
    assert "column public.messages.body_text of mapping 'renamed'" in _one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_empty_window_is_exit_2(dsn, salt_env, tmp_path, capsys) -> None:
    assert _sample(dsn, tmp_path / "pack.json", "--schema", "empty_src") == 2
    assert "empty window" in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", [["--window-days", "0"], ["--epsilon", "-1"], ["--min-cell-size", "x"],
                                    ["--schema", "bad;schema"], ["--mapping", "no-such-mapping"]])
def test_bad_options_are_exit_2(dsn, salt_env, tmp_path, capsys, option) -> None:
    with pytest.raises(SystemExit) as exited:
        code = _sample(dsn, tmp_path / "pack.json", *option)
        raise SystemExit(code)
    assert exited.value.code == 2
    _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_fake_production_refuses_to_overwrite_then_replaces(dsn, capsys) -> None:
    args = ["fake-production", "--target-url", dsn, "--messages", "2000", "--schema", "cli_fake", "--mapping", "prisma",
            "--no-reads"]
    assert cli_main(args) == 0
    stdout = capsys.readouterr().out
    assert "FAKE" in stdout and "messages 2000" in stdout and "message_reads" not in stdout
    assert cli_main(args) == 2
    assert "already has table" in _one_line_error(capsys)
    assert cli_main([*args, "--replace", "--seed", "3"]) == 0
    with psycopg.connect(dsn) as conn:
        assert conn.execute('SELECT count(*) FROM cli_fake."Message"').fetchone()[0] == 2000
        assert conn.execute("SELECT to_regclass('cli_fake.\"MessageRead\"')").fetchone()[0] is None


def test_unwritable_out_is_exit_2_and_leaves_no_manifest(dsn, salt_env, tmp_path, capsys) -> None:
    (tmp_path / "pack.json").mkdir()  # --out names a directory: the pack cannot be written
    assert _sample(dsn, tmp_path / "pack.json") == 2
    assert "cannot write" in _one_line_error(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["pack.json"]  # no orphan pack_mapping.json
