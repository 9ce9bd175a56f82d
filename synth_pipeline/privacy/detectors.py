"""PII detectors: defence in depth behind the schema allowlist (DESIGN.md section 7).

Each detector answers one question about one string: could this be (or contain) an email
address, a phone number, a payment card number, a US social security number, an IBAN, an IP
address, a person's name, or free text? They run on every key and every string value of a
document; `scan_number` covers numbers shaped like identifiers, judged by their position (see
below). Detectors return names, never the matched text, so nothing downstream can print a value
by accident.

Decisions that are not obvious (documented in docs/privacy.md):
- Digit-based detectors need a boundary that is neither a letter nor a digit on both sides, so a
  run of digits inside a 16-hex token ("0f41111111111111") is not a card number; a token made of
  digits only is checked like any other string (fail closed).
- IPv4: a dotted quad whose four parts are 0-255 is an address even when someone meant a
  four-part version ("1.2.3.4"): the two cannot be told apart, and the gate fails closed. A
  quad glued to a letter ("v1.2.3.4") or followed by a suffix ("1.2.3.4-beta") is a version.
  Three-part versions ("1.2.3", "10.4.1-beta") never match.
- IBANs are matched in upper case (their printed form): lower-case hex tokens never match.
- Person names: the bundled lists (names_data.py) plus capitalised First Last pairs in which one
  word is a listed name, a form of address before a capitalised word ("Dr Okafor"), and
  lower-case joins of a listed given name and surname ("john_smith", "johnsmith").
- Numbers are judged by where they stand (`scan_number(value, measure=...)`). At a position the
  schema declares numeric (every such field is a count or a measure) only what no count or
  measure can be is flagged: a Luhn-valid integer of 13-19 digits (a card; a count or size of
  10^12 or more is implausible in a 30-day window). Anywhere else (unknown keys, a number where a string belongs) the full
  numeric rule applies: phone (phone-shaped digits, or 11-15 digits: E.164 without '+'), card
  (13-19 digits, Luhn), SSN (nine digits, valid area/group/serial). A perf pack legitimately
  counts 20,000,000,000 messages and 25 GB attachments.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from synth_pipeline.privacy.names_data import FIRST_NAMES, HONORIFICS, SURNAMES

# --- limits -----------------------------------------------------------------------------------

# The longest legitimate string in a pack or manifest is a 64-hex sha256; no legitimate string
# has a space. Free text is anything longer, or of several words.
FREE_TEXT_MAX_CHARS = 80
FREE_TEXT_MAX_WORDS = 4

# --- helpers ----------------------------------------------------------------------------------

# Boundaries for digit runs: no letter or digit may touch them. A single trailing '.', ':' or '-'
# is allowed when nothing word-like follows (end of a sentence), so "call 020 7946 0958." counts.
_START = r"(?<![0-9A-Za-z])"
_END = r"(?![0-9A-Za-z]|[.:/-][0-9A-Za-z])"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def luhn_valid(number: str) -> bool:
    """The Luhn checksum over a string of decimal digits."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# --- email ------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![\w-])"
)


def is_email(text: str) -> bool:
    return "@" in text and _EMAIL.search(text) is not None


# --- phone ------------------------------------------------------------------------------------

_SEP = r"[ .-]"
# A phone number does not start in the middle of a run of digit groups ("DE89 3704 0044 ...").
_PSTART = _START + r"(?<![0-9][ .-])"
_PHONE_PATTERNS = (
    # International: +CC then groups, e.g. +14155550132, +44 20 7946 0958, +49 30 123456,
    # +33 (0)6 12 34 56 78. The digit count is checked afterwards (E.164: at most 15).
    re.compile(r"(?<![\w+])(?<![0-9][ .-])\+[1-9]\d{0,3}(?:" + _SEP + r"?(?:\(\d{1,4}\)|\d{1,5})){1,6}" + _END),
    # International with a 00 prefix and separators: 0049 30 123456.
    re.compile(_PSTART + r"00[1-9]\d{0,3}(?:" + _SEP + r"\d{1,8}){2,6}" + _END),
    # North American: (415) 555-0132, 415-555-0132, 415.555.0132, 1-415-555-0132, 4155550132.
    re.compile(_PSTART + r"(?:1" + _SEP + r"?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}" + _SEP + r")[2-9]\d{2}" + _SEP + r"\d{4}" + _END),
    re.compile(_PSTART + r"[2-9]\d{2}[2-9]\d{6}" + _END),
    # UK: 020 7946 0958, 07700 900123, 0161 496 0000, 02079460958.
    re.compile(_PSTART + r"0[1-9]\d{1,3}(?: ?\d{3,4}){1,2} ?\d{3,4}" + _END),
    # France: 06 12 34 56 78, 06.12.34.56.78, 0612345678.
    re.compile(_PSTART + r"0[1-9](?:[ .-]?\d{2}){4}" + _END),
    # Germany: 030 123456, 030/123456, 089-1234567 (area code, then a separator).
    re.compile(_PSTART + r"0[1-9]\d{1,4}[ /-]\d{3,8}" + _END),
)
# Allowed digit counts per pattern above (the 00 prefix counts; E.164 allows at most 15 after it).
_PHONE_DIGITS = ((8, 15), (10, 17), (10, 11), (10, 10), (10, 11), (10, 10), (9, 12))


def is_phone(text: str) -> bool:
    if sum(c.isdigit() for c in text) < 8:
        return False
    for index, pattern in enumerate(_PHONE_PATTERNS):
        low, high = _PHONE_DIGITS[index]
        for match in pattern.finditer(text):
            digits = _digits(match.group())
            if low <= len(digits) <= high:
                return True
    return False


# --- payment card -----------------------------------------------------------------------------

# 13-19 digits, optionally grouped by single spaces or dashes (4111 1111 1111 1111).
_CARD = re.compile(_START + r"\d(?:[ -]?\d){12,18}" + _END)


def is_card(text: str) -> bool:
    for match in _CARD.finditer(text):
        # The match is greedy ("4111 1111 1111 1111 22"): try every run of whole groups in it.
        groups = re.split(r"[ -]", match.group())
        for i in range(len(groups)):
            for j in range(i + 1, len(groups) + 1):
                digits = "".join(groups[i:j])
                if 13 <= len(digits) <= 19 and luhn_valid(digits):
                    return True
    return False


# --- US social security number ----------------------------------------------------------------

_SSN_GROUPED = re.compile(_START + r"(\d{3})([- ])(\d{2})\2(\d{4})" + _END)
_SSN_BARE = re.compile(r"\s*(\d{3})(\d{2})(\d{4})\s*")


def ssn_parts_valid(area: str, group: str, serial: str) -> bool:
    """SSA rules: area 000, 666 and 900-999 were never issued; group 00 and serial 0000 neither."""
    return area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000"


def is_ssn(text: str) -> bool:
    for match in _SSN_GROUPED.finditer(text):
        if ssn_parts_valid(match.group(1), match.group(3), match.group(4)):
            return True
    # Nine bare digits are an SSN only when they are the whole string: inside text they are
    # far more often a count or an order number.
    bare = _SSN_BARE.fullmatch(text)
    return bare is not None and ssn_parts_valid(*bare.groups())


# --- IBAN -------------------------------------------------------------------------------------

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}
_IBAN_START = re.compile(r"(?<![0-9A-Za-z])[A-Z]{2}\d{2}")


def iban_mod97_valid(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters -> 10..35, mod 97 == 1."""
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _iban_candidates(text: str, start: int) -> list[str]:
    """Compact candidates starting at `start`: upper-case letters and digits, single spaces
    allowed between them, each ending at a boundary."""
    out: list[str] = []
    compact = ""
    i = start
    while i < len(text) and len(compact) < 34:
        char = text[i]
        if char == " " and compact and i + 1 < len(text) and (text[i + 1].isdigit() or text[i + 1].isupper()):
            i += 1
            continue
        if not (char.isdigit() or ("A" <= char <= "Z")):
            break
        compact += char
        i += 1
        following = text[i] if i < len(text) else " "
        if len(compact) >= 15 and not following.isalnum():
            out.append(compact)
    return out


def is_iban(text: str) -> bool:
    for match in _IBAN_START.finditer(text):
        for candidate in _iban_candidates(text, match.start()):
            expected = IBAN_LENGTHS.get(candidate[:2])
            if expected is not None and len(candidate) != expected:
                continue
            if iban_mod97_valid(candidate):
                return True
    return False


# --- IP addresses -----------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w]|\.\d|-\w)")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?:%[\w.]+)?(?![\w:])")


def is_ipv4(text: str) -> bool:
    for match in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(match.group(1))
        except ValueError:  # 256.1.1.1, leading zeros
            continue
        return True
    return False


def is_ipv6(text: str) -> bool:
    if text.count(":") < 2:
        return False
    for match in _IPV6_CANDIDATE.finditer(text):
        candidate = match.group().rstrip(".").split("%", 1)[0]
        if not any(c in "0123456789abcdefABCDEF" for c in candidate):
            continue  # "::" alone is not worth a finding
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        return True
    return False


# --- person names -----------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # letters; O'Brien is one word
_LOWER_JOINED = re.compile(r"[a-z]+")
_ANY_NAME = FIRST_NAMES | SURNAMES


def _capitalised(word: str) -> bool:
    letters = word.replace("'", "").replace("’", "")
    return len(letters) >= 2 and letters[0].isupper() and letters[1:].islower()


def _fold(word: str) -> str:
    """Lower case without diacritics: Müller -> muller, Zoë -> zoe."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _is_name(word: str) -> bool:
    return _fold(word) in _ANY_NAME


def _name_pair(first: str, second: str) -> bool:
    a, b = _fold(first), _fold(second)
    if a in FIRST_NAMES and (b in SURNAMES or b in FIRST_NAMES):
        return True  # John Smith, Anna Maria, john.smith
    if a in SURNAMES and b in FIRST_NAMES:
        return True  # Smith, John
    if _capitalised(first) and _capitalised(second) and (_is_name(first) or _is_name(second) or a.rstrip(".") in HONORIFICS):
        return True  # Maria Xyzzy, Xyzzy Nakamura, Dr Okafor
    return False


def _joined_name(word: str) -> bool:
    """'johnsmith' or 'johnsmith84': a listed given name directly followed by a surname."""
    word = word.rstrip("0123456789")
    for cut in range(3, len(word) - 2):
        if word[:cut] in FIRST_NAMES and word[cut:] in SURNAMES:
            return True
    return False


def is_person_name(text: str) -> bool:
    words = list(_WORD.finditer(text))
    if len(words) == 1 and words[0].group() == text.strip():
        word = words[0].group()
        if _capitalised(word) and _is_name(word):
            return True  # a whole value that is just "Alice" or "Nakamura"
    for left, right in zip(words, words[1:]):
        gap = text[left.end():right.start()]
        if gap in (" ", ".", "_", "-", ", ", ". ") and _name_pair(left.group(), right.group()):
            return True
    return any(_joined_name(m.group()) for m in _LOWER_JOINED.finditer(text) if len(m.group()) >= 6)


# --- free text --------------------------------------------------------------------------------

def is_free_text(text: str) -> bool:
    if len(text) > FREE_TEXT_MAX_CHARS:
        return True
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    return len(words) > FREE_TEXT_MAX_WORDS


# --- registry ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Detector:
    name: str
    what: str  # completes "value looks like ..." in a finding's message
    matches: Callable[[str], bool]


STRING_DETECTORS: tuple[Detector, ...] = (
    Detector("email", "an email address", is_email),
    Detector("phone", "a phone number", is_phone),
    Detector("payment_card", "a payment card number (Luhn-valid)", is_card),
    Detector("ssn", "a US social security number", is_ssn),
    Detector("iban", "an IBAN (mod-97 valid)", is_iban),
    Detector("ipv4", "an IPv4 address", is_ipv4),
    Detector("ipv6", "an IPv6 address", is_ipv6),
    Detector("person_name", "a person's name", is_person_name),
    Detector("free_text", f"free text (over {FREE_TEXT_MAX_CHARS} characters or {FREE_TEXT_MAX_WORDS} words)", is_free_text),
)
DETECTOR_NAMES = tuple(d.name for d in STRING_DETECTORS)


def scan_text(text: str) -> list[Detector]:
    """The detectors that fire on `text` (in registry order)."""
    return [d for d in STRING_DETECTORS if d.matches(text)]


# A number of 10^19 or more has more digits than any card (19), phone (15) or SSN (9).
_NUMBER_DIGITS_LIMIT = 10**19
# At a measure position a card needs at least this many digits (the shortest card numbers, Visa's
# old 13-digit and Amex's 15-digit, included): 13+ digits is a count of a trillion or a size of a
# terabyte, which no 30-day window of a chat product reaches, so a Luhn-valid one is flagged (fail
# closed: a false positive blocks the pack with a finding; a miss would leak a card number).
MEASURE_CARD_MIN_DIGITS = 13


def scan_number(value: float | int, *, measure: bool = False) -> list[Detector]:
    """The detectors an identifier-shaped number fires (booleans and fractions never do).

    `measure=True`: the schema declares the position a count or measure; only a Luhn-valid
    integer of 13-19 digits (a card) is flagged. `measure=False` (the default, fail closed):
    phone (phone-shaped, or 11-15 digits), card (13-19 digits, Luhn) and SSN (nine digits).
    """
    if isinstance(value, bool):
        return []
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= _NUMBER_DIGITS_LIMIT:  # also NaN and infinities
            return []
        value = int(value)
    if abs(value) >= _NUMBER_DIGITS_LIMIT:
        return []
    digits = str(abs(value))
    if measure:
        if MEASURE_CARD_MIN_DIGITS <= len(digits) and luhn_valid(digits):
            return [_BY_NAME["payment_card"]]
        return []
    found = []
    if is_phone(digits) or 11 <= len(digits) <= 15:
        found.append(_BY_NAME["phone"])
    if is_card(digits):
        found.append(_BY_NAME["payment_card"])
    if is_ssn(digits):
        found.append(_BY_NAME["ssn"])
    return found


_BY_NAME = {d.name: d for d in STRING_DETECTORS}
