"""A Firestore read meets a transient fault: tried again, at most three times, 0.2 s then 0.4 s
apart, the last fault raised; a permanent fault is raised at once (shared/gcp/firestore.py
`_retry_transient`, what tenacity's Retrying did before). Pure: nothing is sent."""
from __future__ import annotations

import pytest

from shared.errors import PermanentError, TransientError
from shared.gcp import firestore


@pytest.fixture
def waits(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(firestore.time, "sleep", slept.append)
    return slept


def _failing(*faults: Exception, answer: str = "read"):
    calls = []

    def read() -> str:
        calls.append(len(calls))
        if len(calls) <= len(faults):
            raise faults[len(calls) - 1]
        return answer

    return read, calls


def test_an_answer_at_once_waits_for_nothing(waits):
    read, calls = _failing()
    assert firestore._retry_transient(read) == "read" and calls == [0] and waits == []


def test_transient_faults_are_tried_again_with_a_growing_wait(waits):
    read, calls = _failing(TransientError("unavailable"), TransientError("unavailable"))
    assert firestore._retry_transient(read) == "read" and len(calls) == 3 and waits == [0.2, 0.4]


def test_the_third_transient_fault_is_raised(waits):
    last = TransientError("third")
    read, calls = _failing(TransientError("first"), TransientError("second"), last)
    with pytest.raises(TransientError) as raised:
        firestore._retry_transient(read)
    assert raised.value is last and len(calls) == 3 and waits == [0.2, 0.4]


def test_a_permanent_fault_is_not_tried_again(waits):
    read, calls = _failing(PermanentError("denied", code="PERMISSION_DENIED"))
    with pytest.raises(PermanentError):
        firestore._retry_transient(read)
    assert calls == [0] and waits == []


def test_the_wait_is_capped(monkeypatch, waits):
    monkeypatch.setattr(firestore, "READ_ATTEMPTS", 6)
    read, _ = _failing(*[TransientError("unavailable")] * 5)
    assert firestore._retry_transient(read) == "read" and waits == [0.2, 0.4, 0.8, 1.0, 1.0]


# --- document ids: the ASCII keys' quoting is urllib.parse.quote's ---------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _quoted(key: str) -> str:
    """What `document_id` made before it translated ASCII keys: quote, then the same escapes."""
    import hashlib
    import urllib.parse

    encoded = urllib.parse.quote(key, safe="")
    if firestore._RESERVED_ID.match(encoded):
        encoded = f"%{ord(encoded[0]):02X}{encoded[1:]}"
    if len(encoded) > firestore.MAX_ID_BYTES:
        encoded = f"{encoded[:firestore.HASHED_ID_PREFIX]}%~{hashlib.sha256(key.encode()).hexdigest()}"
    return encoded


@settings(max_examples=500, deadline=None)
@given(key=st.one_of(st.text(alphabet=st.characters(max_codepoint=127), max_size=80),
                     st.text(max_size=40),
                     st.sampled_from([".", "..", "__x__", "a" * 1600, "é" * 600,
                                      "0.abc|projects/p/locations/l/services/s|rollback_traffic"])))
def test_document_ids_are_quote_s(key):
    firestore.document_id.cache_clear()
    assert firestore.document_id(key) == _quoted(key)


def test_every_ascii_character_is_quoted_as_quote_quotes_it():
    import urllib.parse

    firestore.document_id.cache_clear()
    for code in range(128):
        key = f"a{chr(code)}b"
        assert firestore.document_id(key) == urllib.parse.quote(key, safe="")
