"""Identifier tokens: HMAC-SHA256(salt, value) truncated to 16 hex characters (DESIGN.md section 7).

The salt comes from the ANONYMIZATION_SALT environment variable and never appears in any output;
the manifest records only its fingerprint, HMAC-SHA256(salt, "synth-pipeline/salt-fingerprint").

Heavy-room tokens are computed *on the server* so that conversation ids never leave it. The core
server has sha256() but no hmac() (that is pgcrypto, a contrib module), so the sampler sends the
two HMAC pad keys (K xor ipad, K xor opad) as bind parameters and the SQL evaluates
sha256(opad_key || sha256(ipad_key || value)), which is exactly HMAC-SHA256 (RFC 2104).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from synth_pipeline.errors import SynthError

SALT_ENV = "ANONYMIZATION_SALT"
MIN_SALT_BYTES = 16
TOKEN_HEX_CHARS = 16
FINGERPRINT_MESSAGE = b"synth-pipeline/salt-fingerprint"
_BLOCK_SIZE = 64  # SHA-256 block size in bytes


@dataclass(frozen=True)
class Salt:
    value: bytes

    def __repr__(self) -> str:  # never print the salt, not even by accident
        return "Salt(***)"

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.value, FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:TOKEN_HEX_CHARS]

    def token(self, value: object) -> str:
        """The token of one identifier, computed in Python (tests compare it with the SQL one)."""
        return hmac.new(self.value, str(value).encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX_CHARS]

    def pad_keys(self) -> tuple[bytes, bytes]:
        """(K xor ipad, K xor opad): the two keys the server-side HMAC needs."""
        key = hashlib.sha256(self.value).digest() if len(self.value) > _BLOCK_SIZE else self.value
        key = key.ljust(_BLOCK_SIZE, b"\x00")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)

    def derive(self, label: bytes) -> bytes:
        """A keyed digest for internal uses (the noise seed), separate from identifier tokens."""
        return hmac.new(self.value, label, hashlib.sha256).digest()


def salt_from_env(environ: dict[str, str] | None = None) -> Salt:
    """The salt from ANONYMIZATION_SALT; missing or shorter than 16 bytes is a fatal input error."""
    environ = os.environ if environ is None else environ
    raw = environ.get(SALT_ENV)
    if not raw:
        raise SynthError(f"{SALT_ENV} is not set; export a secret of at least {MIN_SALT_BYTES} bytes (e.g. `openssl rand -hex 32`)")
    value = raw.encode()
    if len(value) < MIN_SALT_BYTES:
        raise SynthError(f"{SALT_ENV} is shorter than {MIN_SALT_BYTES} bytes; use a longer secret (e.g. `openssl rand -hex 32`)")
    return Salt(value)
