"""shared/outcomes.py (`redacted`, `SHAPES`): every credential shape redacted, what names it kept, prose left alone. Pure."""
from __future__ import annotations

import pytest

from shared.outcomes import REDACTED, SHAPES, redacted

# (text, what must be gone, what must remain); each shape in more than one wording.
ROWS = [
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", "dXNlcjpwYXNz", f"Authorization: Basic {REDACTED}' x"),
    ("AUTHORIZATION:BEARER abcd1234efgh", "abcd1234efgh", f"AUTHORIZATION:BEARER {REDACTED}"),
    ("authorization: bearer tok.en-value", "tok.en-value", f"authorization: bearer {REDACTED}"),
    ("AuThOrIzAtIoN: bAsIc Zm9vOmJhcg==", "Zm9vOmJhcg", f"AuThOrIzAtIoN: bAsIc {REDACTED}"),
    ("token ya29.A0ARrdaM-abc_DEF", "ya29.A0ARrdaM", f"token {REDACTED}"),
    ("Bearer 0123456789abcdef0123", "0123456789abcdef0123", f"Bearer {REDACTED}"),
    ("key=AIzaSyD-0123456789abcdefghijklmnopqrstu&x=1", "AIzaSyD", f"key={REDACTED}&x=1"),
    ("postgresql://app:PW-9x@10.0.0.3/orders", "PW-9x", f"postgresql://app:{REDACTED}@10.0.0.3/orders"),
    ('dsn "mysql+pymysql://root:t0p@db:3306/x" refused', "t0p", f'mysql+pymysql://root:{REDACTED}@db:3306/x"'),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after", "MIIEow", f"{REDACTED} after"),
]
# A bearer token outside any header, after the word "bearer" in any case (RFC 6750 section 2.1: the
# scheme's name is case-insensitive, RFC 9110 section 11.1): whatever the word's case, whitespace or what
# the token is made of, at least 20 characters of a token (RFC 6750's b64token) with no space.
BEARER_ROWS = [
    ("bEaReR AbCdEf0123456789ghij sent", "AbCdEf0123456789ghij", f"bEaReR {REDACTED} sent"),
    ("BEARER 1/fFAGRNJru1FTz70BzhT3Zg_x-y.z", "1/fFAGRNJru1FTz70BzhT3Zg", f"BEARER {REDACTED}"),
    ("token_type=bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJhbGciOiJSUzI1NiJ9",
     f"token_type=bearer {REDACTED}"),
    ("bearer\tabcdefghijklmnopqrstuvwxyz0== then", "abcdefghijklmnopqrstuvwxyz0", f"bearer {REDACTED} then"),
    ('{"header": "x-bearer Zm9vYmFyYmF6cXV4cXV1eDEyMzQ="}', "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ", f"x-bearer {REDACTED}\""),
]
ROWS += BEARER_ROWS
# Prose and look-alikes that hold no credential: left exactly as they are.
KEPT = ["the token is a bearer instrument", "basic checks passed; Bearer owner", "https://example.com/a:b/c",
        "postgresql://app@10.0.0.3/orders", "connection to server at \"10.0.0.3\", port 5432 failed",
        "AIza too short", "no authorization header",
        # "bearer" in prose, or before a word shorter than a token, or inside a longer word: kept.
        "the bearer of bad news", "BEARER credentials expired at noon", "bEaReR 0123456789abcdefghi",
        "the flag bearer went first", "Bearer authentication failed", "cardbearer AbCdEf0123456789ghijklmn", "Bearer-token refused"]


@pytest.mark.parametrize("text, gone, kept", ROWS)
def test_each_shape_is_redacted_and_what_names_it_kept(text, gone, kept):
    out = redacted(text)
    assert gone not in out
    assert kept in out


@pytest.mark.parametrize("text", KEPT)
def test_text_without_a_credential_is_left_as_it_is(text):
    assert redacted(text) == text


def test_every_shape_has_a_row():
    # A shape added to SHAPES without a row here fails: each is tested by what it matches.
    import re
    named = {name for name, pattern in SHAPES for text, _, _ in ROWS if re.search(pattern, text, re.DOTALL)}
    assert named == {name for name, _ in SHAPES}
