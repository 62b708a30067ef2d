"""`sorted_json` writes what `json.dumps(value, default=..., sort_keys=True)` writes, character for
character, for the values timeline lines and outcomes hold (and a few they might): its one
difference, no check for circular references, is shown apart."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from enum import Enum

import pytest

from shared.timeline.writer import sorted_json


class _Status(str, Enum):
    SKIPPED = "skipped"


class _Opaque:
    def __str__(self) -> str:
        return "opaque <value>"


VALUES = {
    "a line": {"severity": "INFO", "message": "alert 0.ab (open) from policy 'p \u2192 q'",
               "time": "2026-11-26T12:00:00.000001+00:00",
               "logging.googleapis.com/labels": {"runwarden_step": "received", "runwarden_incident": "0.ab"},
               "runwarden": {"step": "received", "incident_id": None, "started_at": 1795694400,
                             "resource": {"service_name": "backend", "location": "us-central1"},
                             "evidence": [{"value": 0.1 + 0.2, "ok": True}, [], {}], "ended_at": None}},
    "numbers": {"z": [1, -0.0, 1e300, 1.5e-7, 2 ** 70, math.inf, -math.inf, math.nan], "a": False},
    "escapes": {"\u00e9\u4e2d\U0001f600": "tab\tnewline\n quote\" backslash\\ nul\x00", "": ""},
    "keys of other types": {3: "int", 2.5: "float", False: "bool"},
    "a None key": {None: "none"},
    "nested": {"b": {"d": {"f": [{"h": 1, "g": 2}]}, "c": ()}, "a": [1, [2, [3]]]},
    "a str enum": {"status": _Status.SKIPPED, _Status.SKIPPED: 1},
    "a bare string": "only \u2603",
    "a bare list": [3, 2, 1],
}
DEFAULTED = {"a datetime": {"at": datetime(2026, 11, 26, 12, 0, 0, 5, tzinfo=timezone.utc)},
             "an object": {"value": _Opaque(), "set": {1}}}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_the_text_is_json_dumps_with_sorted_keys(value) -> None:
    assert sorted_json()(value) == json.dumps(value, sort_keys=True)
    assert sorted_json(default=str)(value) == json.dumps(value, default=str, sort_keys=True)


@pytest.mark.parametrize("value", DEFAULTED.values(), ids=DEFAULTED.keys())
def test_what_json_cannot_encode_goes_through_default_or_fails_alike(value) -> None:
    assert sorted_json(default=str)(value) == json.dumps(value, default=str, sort_keys=True)
    with pytest.raises(TypeError):
        json.dumps(value, sort_keys=True)
    with pytest.raises(TypeError):
        sorted_json()(value)


def test_keys_that_cannot_be_sorted_fail_alike() -> None:
    with pytest.raises(TypeError):
        json.dumps({1: 1, "a": 2}, sort_keys=True)
    with pytest.raises(TypeError):
        sorted_json()({1: 1, "a": 2})


def test_one_encoder_serves_call_after_call_even_after_a_failure() -> None:
    encode = sorted_json(default=str)
    with pytest.raises(TypeError):
        encode({1: 1, "a": 2})
    shared = {"k": [1, 2]}
    assert encode({"x": shared, "y": shared}) == json.dumps({"x": shared, "y": shared}, sort_keys=True)
    assert encode(shared) == '{"k": [1, 2]}'


def test_a_cycle_is_the_one_difference() -> None:
    cycle: dict = {}
    cycle["self"] = cycle
    with pytest.raises(ValueError, match="Circular reference"):
        json.dumps(cycle, sort_keys=True)
    with pytest.raises(RecursionError):
        sorted_json()(cycle)
