"""Secrets kept in Redis (each workspace's bot and refresh tokens) are sealed with Fernet keys.

`DAILIES_SECRET_KEYS` holds one or more keys, comma separated: the first seals, every one opens, so a key is
rotated by putting a new one first, running `dailies rotate-keys` (every record re-sealed with it), then
dropping the old one. A value sealed here starts with `SEALED_PREFIX`; a value without it was written before
sealing was turned on, is read as it is, and is re-sealed by the reader.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from jobs.infra.errors import ConfigError
from jobs.infra.settings import Settings

SEALED_PREFIX = "sealed:v1:"
HOW_TO_MAKE_A_KEY = "make one with `dailies new-key` and export DAILIES_SECRET_KEYS=<it>"


class SealBroken(Exception):
    """A sealed value that none of the configured keys opens; the message says what to do."""


class Sealer:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError(f"DAILIES_SECRET_KEYS is empty: {HOW_TO_MAKE_A_KEY}")
        fernets: list[Fernet] = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except (ValueError, TypeError):
                raise ConfigError(
                    f"DAILIES_SECRET_KEYS: key {number} of {len(keys)} is not a Fernet key (44 characters of "
                    f"URL-safe base64); {HOW_TO_MAKE_A_KEY}") from None
        self.primary = fernets[0]
        self.all = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer | None:
        if settings.secret_keys is None or not settings.secret_keys.get_secret_value().strip():
            return None
        return cls([k.strip() for k in settings.secret_keys.get_secret_value().split(",") if k.strip()])

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, plain: str) -> str:
        return SEALED_PREFIX + self.primary.encrypt(plain.encode()).decode()

    def open(self, value: str) -> str:
        if not value.startswith(SEALED_PREFIX):
            return value  # written before sealing was turned on
        try:
            return self.all.decrypt(value[len(SEALED_PREFIX):].encode()).decode()
        except InvalidToken:
            raise SealBroken("none of the keys in DAILIES_SECRET_KEYS opens this record: put the key it was "
                             "sealed with back in the list (after the new one)") from None

    def is_current(self, value: str) -> bool:
        """Sealed, and with the first key (so `rotate-keys` and readers leave it as it is)."""
        if not value.startswith(SEALED_PREFIX):
            return False
        try:
            self.primary.decrypt(value[len(SEALED_PREFIX):].encode())
        except InvalidToken:
            return False
        return True
