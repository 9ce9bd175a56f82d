"""PII detectors: each fires on its kind of value and stays quiet on near-misses and on every
legitimate key and enum value of a pack or manifest."""

from __future__ import annotations

import json

import pytest

from synth_pipeline.paths import METRICS_PACK_SCHEMA, PACK_MANIFEST_SCHEMA
from synth_pipeline.privacy import detectors as d
from synth_pipeline.privacy.names_data import FIRST_NAMES, SURNAMES
from synth_pipeline.privacy.neutral_words import NEUTRAL_WORDS, WORD_SEPARATOR
from synth_pipeline.privacy.validator import schema_vocabulary
from synth_pipeline_tests.privacy_fixtures import valid_manifest, valid_pack


def fired(text: str) -> set[str]:
    return {det.name for det in d.scan_text(text)}


# (detector, text that must fire it)
POSITIVES = [
    ("email", "jane.doe@example.com"),
    ("email", "contact: J.Doe+chat@mail.example.co.uk, thanks"),
    ("phone", "+14155550132"),
    ("phone", "(415) 555-0132"),
    ("phone", "415-555-0132"),
    ("phone", "1-415-555-0132"),
    ("phone", "4155550132"),
    ("phone", "+44 20 7946 0958"),
    ("phone", "020 7946 0958"),
    ("phone", "call 07700 900123 later"),
    ("phone", "06 12 34 56 78"),
    ("phone", "06.12.34.56.78"),
    ("phone", "+33 (0)6 12 34 56 78"),
    ("phone", "+49 30 123456"),
    ("phone", "030 123456"),
    ("phone", "0049 30 123456"),
    ("payment_card", "4111 1111 1111 1111"),
    ("payment_card", "4111-1111-1111-1111"),
    ("payment_card", "4111111111111111"),
    ("payment_card", "card 5500 0000 0000 0004 exp 12"),
    ("payment_card", "378282246310005"),  # 15-digit Amex
    ("ssn", "123-45-6789"),
    ("ssn", "ssn 078 05 1120"),
    ("ssn", "123456789"),
    ("iban", "DE89 3704 0044 0532 0130 00"),
    ("iban", "GB82WEST12345698765432"),
    ("iban", "iban: FR14 2004 1010 0505 0001 3M02 606."),
    ("iban", "BE68539007547034"),
    ("ipv4", "192.168.1.10"),
    ("ipv4", "from 8.8.8.8."),
    ("ipv4", "1.2.3.4"),  # a four-part version is indistinguishable: fail closed (docs/privacy.md)
    ("ipv6", "2001:db8::1"),
    ("ipv6", "[2001:db8:0:0:0:0:2:1]:443"),
    ("ipv6", "fe80::1%eth0"),
    ("ipv6", "::ffff:192.0.2.1"),
    ("person_name", "John Smith"),
    ("person_name", "Smith, John"),
    ("person_name", "Maria Xyzzy"),
    ("person_name", "Xyzzy Nakamura"),
    ("person_name", "Dr Okafor"),
    ("person_name", "Mr. Xyzzy"),
    ("person_name", "Alice"),
    ("person_name", "Jean-Pierre Dupont"),
    ("person_name", "Zoë Müller"),
    ("person_name", "JOHN SMITH"),
    ("person_name", "john_smith"),
    ("person_name", "john.smith"),
    ("person_name", "johnsmith84"),
    ("free_text", "see you at the station at noon"),
    ("free_text", "x" * (d.FREE_TEXT_MAX_CHARS + 1)),
]

# (detector, near-miss text that must not fire it)
NEAR_MISSES = [
    ("email", "user@localhost"),
    ("email", "@mention"),
    ("email", "a@b"),
    ("email", "synth-pipeline/metrics-pack"),
    ("phone", "2026-11-25T11:00:00Z"),  # ISO timestamp
    ("phone", "2026-11-25"),
    ("phone", "25.11.2026"),
    ("phone", "1764068400"),  # a Unix time: area codes never start with 1
    ("phone", "10.4.1-beta"),
    ("phone", "192.168.1.10"),
    ("phone", "+1.2.3"),
    ("phone", "0123"),
    ("phone", "DE89 3704 0044 0532 0130 00"),  # an IBAN's digit groups are not a 00-prefixed number
    ("payment_card", "4111111111111112"),  # Luhn-invalid 16 digits
    ("payment_card", "4111 1111 1111 1112"),
    ("payment_card", "0f41111111111111"),  # hex token with a long digit run inside
    ("payment_card", "a4111111111111111b"),
    ("payment_card", "411111111111"),  # 12 digits
    ("payment_card", "12345678901234567890123"),  # longer than any card
    ("payment_card", "2026-11-25T11:00:00Z"),
    ("ssn", "000-12-3456"),
    ("ssn", "666-12-3456"),
    ("ssn", "900-12-3456"),
    ("ssn", "123-00-6789"),
    ("ssn", "123-45-0000"),
    ("ssn", "123-45 6789"),  # mixed separators
    ("ssn", "order 123456789 shipped"),  # nine bare digits inside text
    ("ssn", "2026-11-25"),
    ("iban", "DE89370400440532013001"),  # mod-97 fails
    ("iban", "DE8937040044053201300"),  # wrong length for DE
    ("iban", "be68539007547034"),  # lower case: a hex token, not a printed IBAN
    ("iban", "HMAC-SHA256"),
    ("ipv4", "1.2.3"),
    ("ipv4", "10.4.1-beta"),
    ("ipv4", "v1.2.3.4"),
    ("ipv4", "1.2.3.4-beta"),
    ("ipv4", "1.2.3.4.5"),
    ("ipv4", "256.1.1.1"),
    ("ipv4", "0.1.0"),
    ("ipv6", "11:00:00"),
    ("ipv6", "2026-11-25T11:00:00Z"),
    ("ipv6", "std::vector"),
    ("ipv6", "::"),
    ("ipv6", "a:b:c"),
    ("person_name", "Heavy Room 3"),
    ("person_name", "Group 7"),
    ("person_name", "Synthetic test user 12"),
    ("person_name", "HMAC-SHA256"),
    ("person_name", "ANONYMIZATION_SALT"),
    ("person_name", "max"),
    ("person_name", "min_cell_size"),
    ("person_name", "the quick brown fox"),
    ("free_text", "a" * 64),  # a sha256
    ("free_text", "one two three four"),
]


@pytest.mark.parametrize(("detector", "text"), POSITIVES, ids=[f"{n}:{t[:24]}" for n, t in POSITIVES])
def test_detector_fires(detector: str, text: str) -> None:
    assert detector in fired(text)


@pytest.mark.parametrize(("detector", "text"), NEAR_MISSES, ids=[f"{n}:{t[:24]}" for n, t in NEAR_MISSES])
def test_detector_ignores_near_miss(detector: str, text: str) -> None:
    assert detector not in fired(text)


def test_every_detector_has_positive_and_negative_cases() -> None:
    assert {n for n, _ in POSITIVES} == set(d.DETECTOR_NAMES) == {n for n, _ in NEAR_MISSES}


def test_luhn_and_mod97() -> None:
    assert d.luhn_valid("79927398713") and not d.luhn_valid("79927398710")
    assert d.iban_mod97_valid("GB82WEST12345698765432") and not d.iban_mod97_valid("GB82WEST12345698765431")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4111111111111111, {"payment_card"}),
        (4111111111111111.0, {"payment_card"}),
        (14155550132, {"phone"}),  # E.164 without '+'
        (4155550132, {"phone"}),  # bare NANP
        (378282246310005, {"payment_card", "phone"}),  # 15 digits, Luhn-valid (Amex shape)
        (123_456_789, {"ssn"}),  # nine digits with a valid area, group and serial
        (-14155550132, {"phone"}),
        (4111111111111112, set()),  # Luhn-invalid 16 digits: neither card nor phone (E.164 <= 15)
        (300_000_000, set()),  # group 00: not an SSN
        (1764068400, set()),  # a Unix time (area codes never start with 1)
        (10**4000, set()),  # more digits than any identifier
        (0.5, set()),
        (float("nan"), set()),
        (float("inf"), set()),
        (True, set()),
    ],
)
def test_numbers_outside_measure_positions(value, expected: set[str]) -> None:
    """The default (a number where the schema declares no number): every numeric identifier shape."""
    assert {det.name for det in d.scan_number(value)} == expected
    assert {det.name for det in d.scan_number(value, measure=False)} == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (20_000_000_000, set()),  # a perf pack's total messages (11 digits)
        (12e9, set()),  # total reads
        (26_843_545_600.0, set()),  # a 25 GB attachment, as a histogram edge or percentile
        (14155550132, set()),  # phone-shaped, but plausible as a count
        (4155550132, set()),
        (123_456_789, set()),
        (4_294_967_296, set()),  # a 4 GB attachment
        (378282246310005, {"payment_card"}),  # 15-digit Amex: 13+ digits and Luhn-valid, no count is that big
        (4222222222222, {"payment_card"}),  # 13-digit Visa
        (999_999_999_999_999, set()),  # 15 digits, Luhn-invalid
        (999_999_999_999, set()),  # 12 digits: below any card length
        (4111111111111111, {"payment_card"}),  # 16-19 digits and Luhn-valid
        (4111111111111111.0, {"payment_card"}),
        (6011111111111117, {"payment_card"}),
        (4539148803436467, {"payment_card"}),
        (6304000000000000018, {"payment_card"}),  # 19 digits
        (4111111111111112, set()),  # Luhn-invalid
        (10**18, set()),
        (0.5, set()),
        (True, set()),
    ],
)
def test_numbers_at_measure_positions(value, expected: set[str]) -> None:
    """A position the schema declares a count or measure: only what no measure can be."""
    assert {det.name for det in d.scan_number(value, measure=True)} == expected


def _keys_and_strings(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append(key)
            out += _keys_and_strings(value)
    elif isinstance(node, list):
        for value in node:
            out += _keys_and_strings(value)
    elif isinstance(node, str):
        out.append(node)
    return out


def test_no_detector_fires_on_legitimate_keys_or_values() -> None:
    """Every key and string of full valid documents, and every property name and enum/const value
    of both JSON Schemas: zero findings from every detector."""
    texts = set(_keys_and_strings(valid_pack())) | set(_keys_and_strings(valid_manifest()))
    texts |= schema_vocabulary()
    for schema_file in (METRICS_PACK_SCHEMA, PACK_MANIFEST_SCHEMA):
        schema = json.loads(schema_file.read_text())
        texts |= {t for t in _keys_and_strings(schema) if "pattern" not in t}  # titles, enums, descriptions' keys
    texts = {t for t in texts if len(t) <= d.FREE_TEXT_MAX_CHARS and len(t.split()) <= d.FREE_TEXT_MAX_WORDS}
    assert len(texts) > 150
    noisy = {t: sorted(fired(t)) for t in texts if fired(t)}
    assert noisy == {}


def test_name_lists_are_compact_and_clean() -> None:
    assert len(FIRST_NAMES) >= 300 and len(SURNAMES) >= 300
    for name in FIRST_NAMES | SURNAMES:
        assert name.isascii() and name.isalpha() and name.islower(), name
    assert not (FIRST_NAMES | SURNAMES) & set(NEUTRAL_WORDS)
    assert not (FIRST_NAMES | SURNAMES) & schema_vocabulary()


def test_neutral_words_contract() -> None:
    assert 900 <= len(NEUTRAL_WORDS) <= 1200
    assert list(NEUTRAL_WORDS) == sorted(set(NEUTRAL_WORDS)), "sorted and unique: the generator picks by index"
    for word in NEUTRAL_WORDS:
        assert word.isascii() and word.isalpha() and word.islower(), word
    assert WORD_SEPARATOR == " "
    sentence = WORD_SEPARATOR.join(NEUTRAL_WORDS[i] for i in range(0, len(NEUTRAL_WORDS), 97))
    assert not {"email", "phone", "payment_card", "ssn", "iban", "ipv4", "ipv6", "person_name"} & fired(sentence)
