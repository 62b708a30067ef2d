"""A passphrase under a password's name is redacted whatever word it starts with; a Secret Manager version is kept only
after a secret's name; Rails' encryption keys, a YAML block's line and a URL-encoded pair are redacted
(shared/redaction.py `_SENTENCE`, `_STRICT_PROSE`, `_VERSION`, `_RAILS_KEYS`, `secret_field`)."""
from __future__ import annotations

import pytest

from shared.redaction import REDACTED, redacted

S = "Zq8s3cretW"
SECRETS = {
    "passphrase starting with never": ("password: never gonna give you up", "gonna give you up"),
    "passphrase starting with no": ("password: no pain no gain", "pain no gain"),
    "passphrase starting with may": ("password: may the force be with you", "force be with you"),
    "passphrase starting with do": ("DB_PASSWORD: do not disturb", "not disturb"),
    "passphrase's last words": ("password: may the force be with you", "be with you"),
    "a word first, then the secret": (f"password: Never {S}", S),
    "a verdict word first": ("password: rejected flowers bloom", "flowers bloom"),
    "digits after a password's name": ("password:123456", "123456"),
    "digits after PGPASSWORD": ("PGPASSWORD:424242", "424242"),
    "latest after a password's name": ("password:latest", "latest"),
    "Rails primary key": (f"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY={S}", S),
    "Rails deterministic key": (f"active_record_encryption.deterministic_key: {S}", S),
    "Rails key derivation salt": (f"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT={S}", S),
    "Rails key in a Cloud Run env entry": (f'{{"name": "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", "value": "{S}"}}', S),
    "a list of encryption keys": (f"ENCRYPTION_KEYS={S}", S),
    "YAML block scalar": (f"password: |\n  {S}\n", S),
    "YAML folded block, two lines": (f"db:\n  password: >-\n    {S}\n    second{S}\n  host: x", S),
    "URL-encoded pair": (f"login?user=app&password%3D{S}", S),
    # a verdict's auxiliary first is no driver's form: no driver writes one without its subject
    "passphrase opening as a verdict": ("password: must be changed", "must be changed"),
    "passphrase opening with does not": ("password: does not match", "does not match"),
    "passphrase opening with is": ("password: is too short", "is too short"),
    "passphrase opening with cannot": ("password: cannot be empty", "cannot be empty"),
    "passphrase opening with has": ("password: has expired", "has expired"),
}
# What says no password is there, a secret's version, a driver's sentence: kept as written.
KEPT = [
    "Access denied for user 'app'@'10.8.0.3' (using password: YES)", "password: none", "password: no",
    "password: not set", "password: never set", "password: too short", "password: changed by admin",
    "db-pass:latest", "app_db_password:3", "primary_key: id", "password=no host=10.0.0.3", "password: none (x)",
    "password: true # from the environment",
]


@pytest.mark.parametrize("text, secret", SECRETS.values(), ids=SECRETS.keys())
def test_the_secret_is_redacted(text, secret):
    assert secret not in redacted(text) and REDACTED in redacted(text), redacted(text)


@pytest.mark.parametrize("text", KEPT)
def test_what_is_no_secret_is_kept(text):
    assert redacted(text) == text


def test_a_yaml_block_keeps_the_next_key():
    assert redacted(f"password: |\n  {S}\nhost: 10.0.0.3\n") == f"password: |\n  {REDACTED}\nhost: 10.0.0.3\n"
