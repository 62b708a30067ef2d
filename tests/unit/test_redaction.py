"""shared/redaction.py (`redacted`, `SHAPES`, also named in shared/outcomes.py): every credential shape redacted, what names it kept, prose left alone. Pure."""
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
    ('could not translate host name "wX9k@10.40.0.3" to address', "wX9k", f'host name "{REDACTED}@10.40.0.3"'),
    ("dial tcp: lookup Zk3@db.internal on 169.254.169.254:53: no such host", "Zk3", f"lookup {REDACTED}@db.internal"),
    ('{"doc": "could not translate host name \\"pQ7@db.internal\\" to address"}', "pQ7",
     f'host name \\"{REDACTED}@db.internal'),
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


# A Google API's error message quoting what it was sent (a field's value, a URL, a header), in each form a
# failure takes on its way to a reason: classified from google.api_core's exception (gRPC or HTTP code),
# raised by an adapter quoting it, or an error no adapter classified.
SENT = [("Authorization: Bearer", "c2VjcmV0LXdlYmhvb2stdG9rZW4"), ("token", "ya29.a0AfB_byC3xq-9Zt0Lk"),
        ("postgresql://app:", "pw-3c9e2f0a41"), ("key=", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
        ("bearer", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0")]


def _google_errors(text):
    from google.api_core import exceptions

    return [exceptions.InvalidArgument(text), exceptions.PermissionDenied(text), exceptions.ServiceUnavailable(text),
            exceptions.from_http_status(400, text), exceptions.RetryError(text, exceptions.NotFound(text))]


@pytest.mark.parametrize("said, secret", SENT)
def test_a_google_errors_message_is_redacted_in_every_failure_made_of_it(said, secret):
    from shared.errors import OutcomeUnknownError, PermanentError, TransientError, WriteInFlight, classify, described

    text = f"Invalid value in field 'env': {said}{secret}@db.internal:5432/app" if said.endswith(":") else \
        f"Invalid value in field 'env': {said} {secret} (request echo)"
    made = [classify(exc) for exc in _google_errors(text)]
    made += [PermanentError(f"UpdateService s: refused ({text})", code="INVALID_ARGUMENT"),
             TransientError(f"read: {text}"), OutcomeUnknownError(text, "more"), WriteInFlight(text)]
    for error in made:
        assert secret not in str(error) and REDACTED in str(error), (type(error).__name__, str(error))
    assert secret not in made[-1].busy
    assert secret not in described(ValueError(text)) and REDACTED in described(ValueError(text))
    assert "Invalid value in field 'env'" in str(made[0])   # what the error says is kept
