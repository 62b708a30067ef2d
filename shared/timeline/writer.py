"""The incident timeline: one structured JSON line on stdout per step Runwarden takes.

Cloud Logging reads the special fields (severity, message, logging.googleapis.com/labels), so
every line carries the incident id as a label and the timeline is one filter away:
    labels.runwarden_incident="INCIDENT_ID"
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any, Callable, TextIO

INCIDENT_LABEL = "runwarden_incident"
STEP_LABEL = "runwarden_step"


def sorted_json(default: Callable[[Any], Any] | None = None) -> Callable[[Any], str]:
    """`json.dumps(value, default=default, sort_keys=True)`, as a function built once, for the
    acyclic values a timeline line or an outcome holds.

    `JSONEncoder.encode` builds a C encoder (CPython's `json.encoder.c_make_encoder`) for every call,
    with a fresh dict of the containers it is inside, to detect a circular reference. That check
    was about a third of a line's encoding. Without it (`check_circular=False`) the C encoder keeps
    no state between calls, so it is built here once, with exactly the arguments `iterencode`
    passes it, and one serves every thread. The text is json.dumps's (tests/unit/
    test_timeline_json.py); only a value with a cycle, which Runwarden never writes, raises
    RecursionError instead of ValueError."""
    encoder = json.JSONEncoder(default=default, sort_keys=True, check_circular=False)
    if c_make_encoder is None:   # a Python without the _json accelerator
        return encoder.encode
    encode = c_make_encoder(None, encoder.default, encode_basestring_ascii, encoder.indent, encoder.key_separator,
                            encoder.item_separator, encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)
    return lambda value: "".join(encode(value, 0))


# `json.dumps(line, default=str, sort_keys=True)`.
_LINE = sorted_json(default=str)


class Timeline:
    def __init__(self, incident_id: str | None, trigger: str = "alert", stream: TextIO | None = None) -> None:
        self.incident_id = incident_id
        self.trigger = trigger
        self._stream = stream

    def step(self, step: str, message: str, severity: str = "INFO", extra_labels: dict[str, str] | None = None,
             **details: Any) -> None:
        labels = {STEP_LABEL: step, "runwarden_trigger": self.trigger, **(extra_labels or {})}
        if self.incident_id:
            labels[INCIDENT_LABEL] = self.incident_id
        line = {
            "severity": severity,
            "message": message,
            "time": datetime.now(timezone.utc).isoformat(),
            "logging.googleapis.com/labels": labels,
            "runwarden": {"step": step, "incident_id": self.incident_id, **details},
        }
        stream = self._stream or sys.stdout
        stream.write(_LINE(line) + "\n")
        stream.flush()
