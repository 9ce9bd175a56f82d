"""Dataset quality check on a real loaded schema: hand-written valid and invalid rows, counted
server-side, under the reference and the Prisma mapping."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest

from synth_pipeline.errors import SynthError
from synth_pipeline.privacy.dataset_quality import dataset_quality
from synth_pipeline.privacy.neutral_words import NEUTRAL_WORDS
from synth_pipeline.schema.ddl import create_logical_schema
from synth_pipeline.schema.mapping import load_mapping
from synth_pipeline_tests.helpers import run_cli

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
W = NEUTRAL_WORDS

# (id, email, username, first_name, last_name, bio): ids 1-3 follow the contract, the rest break it.
USERS = [
    (1, "syn_user_1@synthetic.test", "synuser1", "User", "1", "Synthetic test user 1"),
    (2, "syn_user_2@synthetic.test", "synuser2", "User", "2", None),
    (3, "syn_user_3@synthetic.test", "synuser3", "User", "3", "Synthetic test user 3"),
    (4, "zelda.quinterossa@example.org", "synuser4", "User", "4", "Synthetic test user 4"),  # real email
    (5, "syn_user_5@synthetic.test", "zquinterossa", "Zelda", "Quinterossa", "Loves hiking in Lisbon"),
    (6, "syn_user_99@synthetic.test", "synuser6", "User", "6", "Synthetic test user 6"),  # wrong id
]
# (id, name, kind)
CONVERSATIONS = [
    (1, None, "direct"),
    (2, "Group 2", "group"),
    (3, "Heavy Room 1", "group"),
    (4, "Zelda's birthday", "group"),  # free text
    (5, "Group 5", "direct"),  # direct chats carry no name
]
# (id, conversation, sender, content)
MESSAGES = [
    (1, 1, 1, f"{W[0]} {W[1]} {W[2]}"),
    (2, 2, 2, f"{W[10]}  {W[20]} {W[30]}"),  # a doubled separator is harmless
    (3, 3, 3, ""),
    (4, 3, 1, f"{W[5]} call me on 07700 900123"),
    (5, 3, 2, f"{W[5]} {W[6].capitalize()}"),  # capitals are not in the list
    (6, 2, 3, f"{W[7]} {W[8]}."),  # nor is punctuation
    (7, 2, 3, f"{W[7]}\t{W[8]}"),  # words are separated by single spaces only
]


def _load(dsn: str, schema: str, mapping_name: str) -> None:
    mapping = load_mapping(mapping_name)

    def insert(table: str, columns: tuple[str, ...], rows) -> None:
        statement = psycopg.sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            mapping.table(schema, table), mapping.columns(table, columns),
            psycopg.sql.SQL(", ").join(psycopg.sql.Placeholder() * len(columns)),
        )
        conn.cursor().executemany(statement, rows)

    with psycopg.connect(dsn) as conn:
        create_logical_schema(conn, schema, mapping)
        insert("users", ("id", "email", "username", "first_name", "last_name", "bio", "is_active", "created_at"),
               [(*u, True, T0) for u in USERS])
        insert("conversations", ("id", "name", "kind", "created_at"), [(*c, T0) for c in CONVERSATIONS])
        insert("messages", ("id", "conversation_id", "sender_id", "content", "created_at"), [(*m, T0) for m in MESSAGES])


EXPECTED = {
    "real_email_count": 1,
    "username_outside_pattern": 1,
    "first_name_outside_pattern": 1,
    "last_name_outside_pattern": 1,
    "bio_outside_pattern": 1,
    "identity_id_mismatch": 1,
    "conversation_name_outside_pattern": 2,
    "messages_outside_vocabulary": 4,
}


@pytest.mark.parametrize("mapping_name", ["reference", "prisma"])
def test_counts_violations_server_side(pg_dsn: str, mapping_name: str) -> None:
    schema = f"quality_{mapping_name}"
    _load(pg_dsn, schema, mapping_name)
    report = dataset_quality(pg_dsn, schema, mapping_name)
    assert report.rows == {"users": 6, "conversations": 5, "messages": 7}
    assert report.counts == EXPECTED
    assert report.real_email_count == 1 and not report.passed


def test_clean_schema_passes_and_report_carries_no_values(pg_dsn: str) -> None:
    schema = "quality_clean"
    with psycopg.connect(pg_dsn) as conn:
        create_logical_schema(conn, schema, load_mapping("reference"))
        conn.execute(psycopg.sql.SQL(
            "INSERT INTO {}.users (id, email, username, first_name, last_name, bio, is_active, created_at) "
            "SELECT i, 'syn_user_' || i || '@synthetic.test', 'synuser' || i, 'User', i::text, "
            "'Synthetic test user ' || i, true, now() FROM generate_series(1, 50) AS i"
        ).format(psycopg.sql.Identifier(schema)))
        conn.execute(psycopg.sql.SQL(
            "INSERT INTO {}.conversations VALUES (1, NULL, 'direct', now()), (2, 'Group 1', 'group', now()), "
            "(3, 'Heavy Room 1', 'group', now())"
        ).format(psycopg.sql.Identifier(schema)))
        conn.execute(
            psycopg.sql.SQL(
                "INSERT INTO {}.messages (id, conversation_id, sender_id, content, created_at) "
                "SELECT i, 1 + i %% 3, 1 + i %% 50, array_to_string(ARRAY[(%(w)s::text[])[1 + i %% 1000], (%(w)s::text[])[1 + (7 * i) %% 1000]], ' '), "
                "now() FROM generate_series(1, 2000) AS i"
            ).format(psycopg.sql.Identifier(schema)),
            {"w": list(NEUTRAL_WORDS)},
        )
    report = dataset_quality(pg_dsn, schema, "reference")
    assert report.passed and report.counts["messages_outside_vocabulary"] == 0
    assert report.rows == {"users": 50, "conversations": 3, "messages": 2000}
    assert all(value == 0 for value in report.counts.values())


def test_cli_exit_codes_and_no_values_printed(pg_dsn: str) -> None:
    _load(pg_dsn, "quality_cli", "reference")
    result = run_cli("dataset-quality", "--target-url", pg_dsn, "--schema", "quality_cli")
    assert result.returncode == 1, result.stderr
    assert "real_email_count: 1" in result.stdout and "FAIL" in result.stdout
    for value in ("zelda", "Zelda", "Quinterossa", "07700", "Lisbon"):
        assert value not in result.stdout + result.stderr


def test_missing_schema_is_a_clear_error(pg_dsn: str) -> None:
    with pytest.raises(SynthError, match="has no table 'users'"):
        dataset_quality(pg_dsn, "no_such_schema", "reference")
