"""A production-like chat database full of FAKE personal data, for tests, demos and benchmarks.

It imitates what the sampler meets in production, so that the privacy tests have something real
to leak: Faker names, emails, usernames, phone numbers, card numbers and street addresses inside
message bodies and bios, plus unique planted *canary* strings that no output may ever contain.

Shape (seeded, deterministic for a given seed and size):
- users with lognormal activity weights (a few very active users, a long quiet tail);
- direct chats (2 participants) and groups (3 to a few hundred participants, lognormal);
- messages per conversation heavy-tailed (Pareto weights for groups): heavy rooms over 1,000
  messages appear from about 30k messages upwards;
- messages come in sessions (bursts of short gaps) whose start times follow a diurnal and weekly
  cycle; message length lognormal, cut at word boundaries from a shared text buffer;
- attachments on ~8% of messages (image, video, audio, file; lognormal size per kind);
- read receipts by other participants with a two-component lognormal latency;
- a device per message (mostly the sender's primary device).

Loading follows the bulk-load recipe: tables without constraints, binary COPY (FREEZE) of payloads
built with numpy and encoded by the loader's binary COPY encoder (`columns.py`), then `post_load_statements` (keys, foreign keys, indexes), all
in one transaction, then ANALYZE.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import psycopg
from psycopg import sql

from synth_pipeline.errors import SynthError
from synth_pipeline.infra.dsn import connect
from synth_pipeline.sampler.columns import Column, FixedColumn, TextColumn, copy_stream
from synth_pipeline.schema.ddl import create_tables, post_load_statements
from synth_pipeline.schema.logical import ATTACHMENT_KINDS, DEVICES, TABLE_ORDER
from synth_pipeline.schema.logical import table as logical_table
from synth_pipeline.schema.mapping import Mapping, TableMapping, load_mapping

log = logging.getLogger(__name__)

# Bumped whenever the same seed and size would give different data (benchmarks cache databases by it).
FAKE_PRODUCTION_VERSION = 2
DEFAULT_END = datetime(2026, 11, 2, tzinfo=timezone.utc)
FAKER_LOCALES = ("en_US", "de_DE", "fr_FR", "es_ES")
MIME_TYPES = {
    "image": ("image/jpeg", "image/png", "image/webp"),
    "video": ("video/mp4", "video/quicktime"),
    "audio": ("audio/ogg", "audio/mpeg"),
    "file": ("application/pdf", "application/zip", "text/plain"),
}
# log-size (mu, sigma) per attachment kind, bytes
ATTACHMENT_SIZE = {"image": (12.5, 0.8), "video": (15.5, 1.0), "audio": (12.0, 0.7), "file": (11.5, 1.5)}
US = 1_000_000
HEAVY_SHARE = 0.5  # share of the messages in heavy rooms


@dataclass(frozen=True)
class FakeProductionReport:
    """What was built, and the source values the privacy tests look for in outputs."""

    schema: str
    mapping: str
    seed: int
    rows: dict[str, int]
    parts: dict[str, bool]
    first_message_at: datetime
    last_message_at: datetime
    canaries: tuple[str, ...]
    emails: tuple[str, ...]
    usernames: tuple[str, ...]
    names: tuple[str, ...]
    seconds: float


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower()) or "user"


def _faker(seed: int):
    from faker import Faker

    fake = Faker(list(FAKER_LOCALES))
    fake.seed_instance(seed)
    return fake


def hour_of_week_weights() -> np.ndarray:
    """Diurnal cycle (peaks late morning and evening) and quieter weekends, UTC."""
    hours = np.arange(24)
    day = 0.15 + np.exp(-((hours - 11) ** 2) / 6.0) + 0.8 * np.exp(-((hours - 20) ** 2) / 5.0)
    week = np.concatenate([day * (0.55 if weekday >= 5 else 1.0) for weekday in range(7)])
    return week / week.sum()


def mapping_without(mapping: Mapping, *, attachments: bool, reads: bool, device: bool) -> Mapping:
    """The mapping with the optional parts that the fake source leaves out mapped to null."""
    tables = dict(mapping.tables)

    def drop_table(name: str) -> None:
        tm = tables[name]
        tables[name] = TableMapping(tm.logical, None, {c: None for c in tm.columns})

    def drop_column(name: str, column: str) -> None:
        tm = tables[name]
        tables[name] = TableMapping(tm.logical, tm.physical, {**tm.columns, column: None})

    if not attachments:
        drop_table("attachments")
    if not reads:
        drop_table("message_reads")
    if not device:
        drop_column("messages", "device")
        drop_column("users", "primary_device")
    return dataclasses.replace(mapping, tables=tables)


# --------------------------------------------------------------------------------------------
# Generation: plain numpy arrays per logical table
# --------------------------------------------------------------------------------------------


@dataclass
class _TextPool:
    """A shared UTF-8 buffer of words and PII phrases; message bodies are windows over it."""

    data: np.ndarray
    token_starts: np.ndarray

    def windows(self, rng: np.random.Generator, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tokens = len(self.token_starts)
        first = rng.integers(0, max(tokens - 2000, 1), size=len(lengths))
        starts = self.token_starts[first]
        last = np.searchsorted(self.token_starts, starts + lengths, side="left")
        last = np.clip(np.maximum(last, first + 1), 0, tokens - 1)
        ends = self.token_starts[last] - 1  # the space before the next token
        return starts, ends - starts


def _pii_phrases(fake, rng: np.random.Generator, emails: list[str], usernames: list[str], count: int) -> list[str]:
    templates = (
        lambda: f"call me at {fake.phone_number()}",
        lambda: f"my number is {fake.phone_number()}",
        lambda: f"card {fake.credit_card_number()} exp {fake.credit_card_expire()}",
        lambda: f"send it to {fake.street_address()}, {fake.city()}",
        lambda: f"mail {emails[int(rng.integers(len(emails)))]}",
        lambda: f"write to {fake.email()}",
        lambda: f"ping @{usernames[int(rng.integers(len(usernames)))]}",
        lambda: f"ask {fake.first_name()} {fake.last_name()}",
        lambda: f"IBAN {fake['de_DE'].iban()}",
        lambda: f"from {fake.ipv4()}",
    )
    phrases = [templates[i % len(templates)]() for i in range(count)]
    return [" ".join(p.split()) for p in phrases]


def _text_pool(fake, rng: np.random.Generator, target_bytes: int, phrases: list[str]) -> _TextPool:
    from faker.providers.lorem.en_US import Provider as EnglishLorem

    words = list(EnglishLorem.word_list)
    rng.shuffle(words)  # the frequent words should not be the alphabetically first ones
    vocabulary = np.array(words + phrases, dtype=object)
    zipf = 1.0 / np.arange(1, len(words) + 1) ** 0.8
    weights = np.concatenate([0.97 * zipf / zipf.sum(), np.full(len(phrases), 0.03 / len(phrases))])
    token_count = max(target_bytes // 7, 20_000)
    chosen = vocabulary[rng.choice(len(vocabulary), size=token_count, p=weights)]
    lengths = np.fromiter((len(t.encode()) for t in chosen), dtype=np.int64, count=token_count)
    text = (" ".join(chosen.tolist()) + " ").encode()
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
    return _TextPool(np.frombuffer(text, dtype=np.uint8), starts)


def _distinct_members(rng: np.random.Generator, sizes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Participant user indexes per conversation (flattened), distinct within a conversation."""
    conv = np.repeat(np.arange(len(sizes)), sizes)
    probabilities = weights / weights.sum()
    members = rng.choice(len(weights), size=len(conv), p=probabilities)
    for attempt in range(200):
        order = np.lexsort((members, conv))
        same = (conv[order][1:] == conv[order][:-1]) & (members[order][1:] == members[order][:-1])
        duplicates = order[1:][same]
        if duplicates.size == 0:
            return members
        # Heavily weighted users keep colliding in big groups: switch to uniform draws after a while.
        if attempt < 20:
            members[duplicates] = rng.choice(len(weights), size=duplicates.size, p=probabilities)
        else:
            members[duplicates] = rng.integers(0, len(weights), size=duplicates.size)
    raise SynthError("fake production: could not draw distinct group members; use more users")


def _traffic(rng: np.random.Generator, is_group: np.ndarray, messages: int) -> np.ndarray:
    """Expected share of the messages per conversation: heavy rooms carry about half of them.

    About 3% of the conversations (groups) are heavy rooms, but never so many that a room falls
    below ~4,000 messages over the history (its last 30 days must stay above 1,000); the rest
    share the other half with a heavy-tailed lognormal (groups busier than direct chats).
    """
    groups = np.flatnonzero(is_group)
    heavy_count = int(np.clip(round(0.03 * len(is_group)), 1, max(1, messages * HEAVY_SHARE // 4000)))
    heavy = rng.choice(groups, size=min(heavy_count, len(groups)), replace=False) if len(groups) else groups
    traffic = np.where(is_group, rng.lognormal(0.5, 1.2, len(is_group)), rng.lognormal(0.0, 1.0, len(is_group)))
    traffic *= (1 - HEAVY_SHARE) / traffic.sum()
    heavy_weights = rng.lognormal(0.0, 0.5, len(heavy))
    traffic[heavy] = HEAVY_SHARE * heavy_weights / heavy_weights.sum()
    return traffic


def _session_starts(rng: np.random.Generator, count: int, start_us: int, end_us: int) -> np.ndarray:
    """Session start times following the hour-of-week cycle, by rejection sampling."""
    weights = hour_of_week_weights()
    accept = weights / weights.max()
    out = np.empty(0, dtype=np.int64)
    span_hours = (end_us - start_us) // (3600 * US)
    while out.size < count:
        hours = rng.integers(0, span_hours, size=2 * (count - out.size) + 16)
        absolute_hours = start_us // (3600 * US) + hours
        # 1970-01-01 was a Thursday (ISO weekday 3 with Monday = 0)
        how = ((absolute_hours // 24 + 3) % 7) * 24 + absolute_hours % 24
        kept = absolute_hours[rng.random(hours.size) < accept[how]]
        out = np.concatenate([out, kept * 3600 * US + rng.integers(0, 3600 * US, size=kept.size)])
    return out[:count]


def _generate(messages: int, users: int, conversations: int, seed: int, end: datetime, history_days: int,
              canary_count: int, with_attachments: bool, with_reads: bool, with_device: bool):
    rng = np.random.default_rng(seed)
    fake = _faker(seed)
    end_us = int(end.timestamp()) * US
    start_us = end_us - history_days * 86400 * US
    canaries: list[str] = []

    def canary(kind: str) -> str:
        token = rng.bytes(6).hex()
        value = {
            "word": f"canary-{token}",
            "email": f"canary.{token}@canary-mail.example",
            "name": f"Canary{token[:8]}",
            "phone": f"+1 202 555 {int(token[:6], 16) % 10000:04d} x{token[6:]}",
        }[kind]
        canaries.append(value)
        return value

    # ---- users
    first_pool = [fake.first_name() for _ in range(min(users, 1500))]
    last_pool = [fake.last_name() for _ in range(min(users, 1500))]
    domains = [fake.free_email_domain() for _ in range(50)]
    first = [first_pool[i] for i in rng.integers(0, len(first_pool), users)]
    last = [last_pool[i] for i in rng.integers(0, len(last_pool), users)]
    ids = np.arange(1, users + 1, dtype=np.int64)
    emails = [f"{_slug(f)}.{_slug(l)}{i}@{domains[i % len(domains)]}" for f, l, i in zip(first, last, ids.tolist())]
    usernames = [f"{_slug(f)}_{_slug(l)[:3]}{i}" for f, l, i in zip(first, last, ids.tolist())]
    bio_pool = [fake["en_US"].sentence(nb_words=8) for _ in range(300)] + [f"Reach me on {fake.phone_number()}" for _ in range(50)]
    bios = [bio_pool[i] if keep else None for i, keep in zip(rng.integers(0, len(bio_pool), users), rng.random(users) < 0.6)]
    for index in range(min(canary_count // 4 + 1, users)):
        first[index] = canary("name")
        bios[index] = f"Contact {canary('email')} or {canary('phone')}"
    primary_device = rng.choice(3, size=users, p=[0.35, 0.40, 0.25])
    primary_device[rng.random(users) < 0.03] = -1
    activity = rng.lognormal(0.0, 1.4, users)
    user_created = start_us - rng.integers(86400 * US, 700 * 86400 * US, users)

    # ---- conversations and participants
    is_group = rng.random(conversations) < 0.3
    traffic = _traffic(rng, is_group, messages)
    # Busy groups are big groups: the group size grows with the square root of its traffic.
    group_size = 3 + np.floor(rng.lognormal(1.2, 0.8, conversations) * np.sqrt(traffic / np.median(traffic)))
    sizes = np.where(is_group, group_size, 2).astype(np.int64)
    sizes = np.minimum(sizes, max(2, min(users // 2, 400)))
    member_user = _distinct_members(rng, sizes, activity)
    member_offset = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    group_words = [fake["en_US"].word().title() for _ in range(200)]
    names: list[str | None] = [
        f"{fake.city()} {group_words[i % len(group_words)]}" if g else None for i, g in enumerate(is_group.tolist())
    ]
    for index in np.flatnonzero(is_group)[: canary_count // 4 + 1].tolist():
        names[index] = f"Team {canary('word')}"

    # ---- messages: per conversation counts, sessions, times
    if messages < conversations:
        raise SynthError(f"fake production: --messages ({messages}) must be at least the conversation count ({conversations})")
    counts = 1 + rng.multinomial(messages - conversations, traffic / traffic.sum())
    conv_of = np.repeat(np.arange(conversations), counts)
    sessions_per_conv = np.maximum(1, np.rint(counts / 8.0)).astype(np.int64)
    session_offset = np.concatenate(([0], np.cumsum(sessions_per_conv)[:-1]))
    session = session_offset[conv_of] + np.floor(rng.random(messages) * sessions_per_conv[conv_of]).astype(np.int64)
    order = np.argsort(session, kind="stable")
    conv_of, session = conv_of[order], session[order]
    gaps = np.where(rng.random(messages) < 0.75, rng.exponential(20.0, messages), rng.exponential(240.0, messages))
    gap_us = (gaps * US).astype(np.int64) + 1_000_000
    cumulative = np.cumsum(gap_us)
    session_first = np.searchsorted(session, session, side="left")
    offsets = cumulative - cumulative[session_first] + gap_us[session_first]
    starts = _session_starts(rng, int(sessions_per_conv.sum()), start_us, end_us - 3600 * US)
    created = np.minimum(starts[session] + offsets, end_us - 1)
    time_order = np.argsort(created, kind="stable")
    conv_of, created = conv_of[time_order], created[time_order]

    skew = np.where(sizes[conv_of] > 2, rng.random(messages) ** 1.6, rng.random(messages))
    position = np.floor(skew * sizes[conv_of]).astype(np.int64)
    sender = member_user[member_offset[conv_of] + position]
    if with_device:
        device = np.where(rng.random(messages) < 0.8, primary_device[sender], rng.integers(0, 3, messages))
        device[device < 0] = rng.integers(0, 3, int((device < 0).sum()))
        device[rng.random(messages) < 0.01] = -1
    else:
        device = np.full(messages, -1)

    # ---- message bodies: windows over a shared buffer of words and PII phrases
    phrases = _pii_phrases(fake, rng, emails, usernames, 3000)
    pool = _text_pool(fake, rng, int(np.clip(messages * 24, 2_000_000, 48_000_000)), phrases)
    lengths = np.clip(np.rint(rng.lognormal(3.6, 0.95, messages)), 1, 4000).astype(np.int64)
    body_start, body_length = pool.windows(rng, lengths)
    recent = np.flatnonzero(created >= end_us - 20 * 86400 * US)
    planted = rng.choice(recent if recent.size >= canary_count else np.arange(messages), size=canary_count, replace=False)
    planted_texts = [f"so {canary(('word', 'email', 'phone')[i % 3])} is the one we talked about" for i in range(canary_count)]
    planted_bytes = [t.encode() for t in planted_texts]
    extra_start = len(pool.data) + np.concatenate(([0], np.cumsum([len(b) for b in planted_bytes])[:-1])).astype(np.int64)
    data = np.concatenate([pool.data, np.frombuffer(b"".join(planted_bytes), dtype=np.uint8)])
    body_start[planted] = extra_start
    body_length[planted] = [len(b) for b in planted_bytes]

    conv_created = np.full(conversations, end_us, dtype=np.int64)
    np.minimum.at(conv_created, conv_of, created)
    conv_created -= rng.integers(60 * US, 30 * 86400 * US, conversations)
    joined = conv_created[np.repeat(np.arange(conversations), sizes)] + rng.integers(0, 3600 * US, int(sizes.sum()))
    message_ids = np.arange(1, messages + 1, dtype=np.int64)

    tables: dict[str, dict[str, Column]] = {
        "users": {
            "id": FixedColumn("int8", ids),
            "email": TextColumn.from_strings(emails),
            "username": TextColumn.from_strings(usernames),
            "first_name": TextColumn.from_strings(first),
            "last_name": TextColumn.from_strings(last),
            "bio": TextColumn.from_strings(bios),
            "primary_device": TextColumn.from_categories(DEVICES, primary_device),
            "is_active": FixedColumn("bool", rng.random(users) < 0.95),
            "created_at": FixedColumn("timestamptz", user_created),
        },
        "conversations": {
            "id": FixedColumn("int8", np.arange(1, conversations + 1, dtype=np.int64)),
            "name": TextColumn.from_strings(names),
            "kind": TextColumn.from_categories(("direct", "group"), is_group.astype(np.int64)),
            "created_at": FixedColumn("timestamptz", conv_created),
        },
        "conversation_participants": {
            "conversation_id": FixedColumn("int8", np.repeat(np.arange(1, conversations + 1, dtype=np.int64), sizes)),
            "user_id": FixedColumn("int8", ids[member_user]),
            "joined_at": FixedColumn("timestamptz", joined),
        },
        "messages": {
            "id": FixedColumn("int8", message_ids),
            "conversation_id": FixedColumn("int8", conv_of + 1),
            "sender_id": FixedColumn("int8", ids[sender]),
            "content": TextColumn(data, body_start, body_length),
            "device": TextColumn.from_categories(DEVICES, device),
            "created_at": FixedColumn("timestamptz", created),
        },
    }
    if with_attachments:
        tables["attachments"] = _attachments(rng, message_ids)
    if with_reads:
        tables["message_reads"] = _reads(rng, conv_of, position, sizes, member_offset, member_user, ids, message_ids, created, end_us)
    source = {
        "canaries": tuple(canaries),
        "emails": tuple(emails),
        "usernames": tuple(usernames),
        "names": tuple(f"{f} {l}" for f, l in zip(first, last)),
        "first_message_at": int(created.min()),
        "last_message_at": int(created.max()),
    }
    return tables, source


def _attachments(rng: np.random.Generator, message_ids: np.ndarray) -> dict[str, Column]:
    with_any = np.flatnonzero(rng.random(len(message_ids)) < 0.08)
    per_message = np.clip(np.rint(rng.lognormal(0.05, 0.45, with_any.size)), 1, 10).astype(np.int64)
    message_of = np.repeat(message_ids[with_any], per_message)
    n = message_of.size
    kind = rng.choice(len(ATTACHMENT_KINDS), size=n, p=[0.6, 0.1, 0.1, 0.2])
    mime_labels = tuple(m for k in ATTACHMENT_KINDS for m in MIME_TYPES[k])
    mime_base = np.cumsum([0] + [len(MIME_TYPES[k]) for k in ATTACHMENT_KINDS])[:-1]
    mime_choices = np.array([len(MIME_TYPES[k]) for k in ATTACHMENT_KINDS])
    mime = mime_base[kind] + np.floor(rng.random(n) * mime_choices[kind]).astype(np.int64)
    mu = np.array([ATTACHMENT_SIZE[k][0] for k in ATTACHMENT_KINDS])[kind]
    sigma = np.array([ATTACHMENT_SIZE[k][1] for k in ATTACHMENT_KINDS])[kind]
    size = np.clip(np.rint(np.exp(mu + sigma * rng.standard_normal(n))), 100, 2_000_000_000).astype(np.int64)
    return {
        "id": FixedColumn("int8", np.arange(1, n + 1, dtype=np.int64)),
        "message_id": FixedColumn("int8", message_of),
        "kind": TextColumn.from_categories(ATTACHMENT_KINDS, kind),
        "mime_type": TextColumn.from_categories(mime_labels, mime),
        "size_bytes": FixedColumn("int8", size),
    }


def _reads(rng, conv_of, sender_position, sizes, member_offset, member_user, ids, message_ids, created, end_us) -> dict[str, Column]:
    others = sizes[conv_of] - 1
    readers = np.where(others == 1, rng.random(len(conv_of)) < 0.9, rng.binomial(np.minimum(others, 8), 0.3))
    readers = np.minimum(readers, others).astype(np.int64)
    message_index = np.repeat(np.arange(len(conv_of)), readers)
    first = np.concatenate(([0], np.cumsum(readers)[:-1]))
    step = np.arange(message_index.size) - np.repeat(first, readers) + 1
    conv = conv_of[message_index]
    slot = member_offset[conv] + (sender_position[message_index] + step) % sizes[conv]
    fast = rng.random(message_index.size) < 0.6
    latency = np.where(fast, rng.lognormal(np.log(30.0), 1.0, message_index.size), rng.lognormal(np.log(3600.0), 1.5, message_index.size))
    read_at = created[message_index] + (latency * US).astype(np.int64) + 1
    keep = read_at < end_us
    return {
        "message_id": FixedColumn("int8", message_ids[message_index[keep]]),
        "user_id": FixedColumn("int8", ids[member_user[slot[keep]]]),
        "read_at": FixedColumn("timestamptz", read_at[keep]),
    }


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _existing_tables(conn: psycopg.Connection, schema: str, mapping: Mapping) -> list[str]:
    names = [mapping.tables[t].physical for t in TABLE_ORDER if mapping.tables[t].physical is not None]
    found = conn.execute(
        "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(format('%%I.%%I', %s::text, name)) IS NOT NULL",
        (names, schema),
    ).fetchall()
    return [row[0] for row in found]


def _drop_existing(conn: psycopg.Connection, schema: str, mapping: Mapping) -> None:
    for logical in reversed(TABLE_ORDER):
        if mapping.tables[logical].physical is not None:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(mapping.table(schema, logical)))


def _copy_table(conn: psycopg.Connection, schema: str, mapping: Mapping, logical: str, columns: dict[str, Column]) -> int:
    present = [c.name for c in logical_table(logical).columns if mapping.has_column(logical, c.name)]
    rows = len(columns[present[0]])
    order, chunks = copy_stream({name: columns[name] for name in present}, rows)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary, FREEZE)").format(
        mapping.table(schema, logical), mapping.columns(logical, order)
    )
    with conn.cursor().copy(statement) as copy:
        for chunk in chunks:
            copy.write(chunk)
    return rows


def build_fake_production(dsn: str, *, schema: str = "public", mapping: str | Mapping = "reference",
                          messages: int = 100_000, seed: int = 1, users: int | None = None,
                          conversations: int | None = None, history_days: int = 60, end: datetime = DEFAULT_END,
                          attachments: bool = True, reads: bool = True, device: bool = True,
                          canaries: int = 12, replace: bool = False) -> FakeProductionReport:
    """Create and fill the logical chat schema with FAKE production-like data; see the module doc.

    The mapping's tables must not exist in `schema` unless `replace` is set, which drops them
    first (a guard against pointing this at a real database). Leaving out `attachments`, `reads`
    or `device` builds a source without that optional part (the sampler's absent-part path).
    """
    started = time.monotonic()
    base = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    users = users or max(200, messages // 400)
    conversations = conversations or max(300, messages // 250)
    if messages < 1_000:
        raise SynthError(f"fake production: --messages must be at least 1000 (got {messages})")
    physical = mapping_without(base, attachments=attachments, reads=reads, device=device)
    rows: dict[str, int] = {}
    with connect(dsn, purpose="fake production") as conn:
        existing = _existing_tables(conn, schema, base)
        if existing and not replace:
            raise SynthError(f"schema {schema!r} already has table {existing[0]!r}; refusing to overwrite it "
                             "(pass --replace to drop the chat tables of this mapping first)")
        tables, source = _generate(messages, users, conversations, seed, end, history_days, canaries,
                                   attachments, reads, device)
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        if replace:
            _drop_existing(conn, schema, base)
        create_tables(conn, schema, physical)
        for logical in TABLE_ORDER:
            if logical in tables and physical.has_table(logical):
                rows[logical] = _copy_table(conn, schema, physical, logical, tables[logical])
                log.info("fake production: %s rows of %s", rows[logical], logical)
        for statement in post_load_statements(schema, physical):
            conn.execute(statement)
        conn.commit()
        conn.autocommit = True
        for logical in rows:
            conn.execute(sql.SQL("ANALYZE {}").format(physical.table(schema, logical)))
    as_dt = lambda us: datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)  # noqa: E731
    return FakeProductionReport(
        schema=schema,
        mapping=base.name,
        seed=seed,
        rows=rows,
        parts={"attachments": attachments, "reads": reads, "device": device},
        first_message_at=as_dt(source["first_message_at"]),
        last_message_at=as_dt(source["last_message_at"]),
        canaries=source["canaries"],
        emails=source["emails"],
        usernames=source["usernames"],
        names=source["names"],
        seconds=time.monotonic() - started,
    )
