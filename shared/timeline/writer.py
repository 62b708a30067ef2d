"""The incident timeline: one structured JSON line on stdout per step Runwarden takes.

Cloud Logging reads the special fields (severity, message, logging.googleapis.com/labels), so
every line carries the incident id as a label and the timeline is one filter away:
    labels.runwarden_incident="INCIDENT_ID"
"""
from __future__ import annotations

import json
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
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

# Cloud Logging orders entries by their timestamp (the line's `time`) and "Entries with equal timestamps
# are returned in order of their insert_id values" (ListLogEntriesRequest.order_by, logging v2 API
# reference): the ids it assigns to a container's lines, which say nothing of the order they were
# written in. So every line of one process gets a later `time` than the line it wrote before: two
# steps written within the clock's resolution (or after the clock stepped back a little) stay in the
# order written, for the timeline and the Logs Explorer alike. A clock stepped back by more than
# _STEP_BACK is taken as it is, so that a large correction never holds the times ahead for long.
_TICK = timedelta(microseconds=1)
# This process's lines, told apart from other instances' (`runwarden.writer`): every line of one writer
# was timed by one clock, so the timeline can read them at that clock's offset from Cloud Logging's
# receipt times when it is minutes off (shared/timeline/builder.py, `_on_loggings_clock`). Made at
# import: workers forked after it share it, and they share the machine's clock too.
WRITER = uuid.uuid4().hex[:12]
_STEP_BACK = timedelta(seconds=1)
# The account this process acts as (shared/gcp/identity.py, set once by functions/runtime.py), named on
# every line (`runwarden.principal`): Cloud Audit Logs name who made a change
# (`protoPayload.authenticationInfo.principalEmail`, AuditLog.authentication_info, google/cloud/audit/
# audit_log.proto), and the timeline tells Runwarden's own write from another service account's change
# of the same target in the same minutes by it (shared/timeline/builder.py, `_within_a_write`).
# None when it could not be found: the line then names none.
_principal: str | None = None
_last: datetime | None = None     # the time of the last line this process wrote
_last_lock = threading.Lock()


def set_principal(email: str | None) -> None:
    """Names the account this process's writes are made as on every line it writes from now on."""
    global _principal
    _principal = email or None


def line_time(now: datetime | None = None) -> datetime:
    """The time of the next line this process writes: the clock's, or a microsecond after the last
    line's when the clock has not moved past it (by up to _STEP_BACK)."""
    global _last
    now = now or datetime.now(timezone.utc)
    with _last_lock:
        if _last is not None and _last - _STEP_BACK < now <= _last:
            now = _last + _TICK
        _last = now
        return now


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
            "time": line_time().isoformat(),
            "logging.googleapis.com/labels": labels,
            "runwarden": {"step": step, "incident_id": self.incident_id, "writer": WRITER, **details},
        }
        if _principal:
            line["runwarden"]["principal"] = _principal
        text = _LINE(line)
        if len(text) > MAX_LINE_BYTES:
            text = _LINE(_cut(line, len(text)))
        stream = self._stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()


# Cloud Logging keeps a log entry of at most 256 KB ("Size of a LogEntry: 256 KB", Cloud Logging, "Quotas
# and limits"); what the runtime's agent does with a longer stdout line (drops it, cuts it, or splits it
# into lines that no longer parse as JSON) is UNCONFIRMED, and any of them loses a `notify` line, so a page.
# A line's text is ASCII (non-ASCII escaped), so its length is its size; the budget leaves room for what
# the agent adds (the resource, the labels it sets, the timestamps).
MAX_LINE_BYTES = 200 * 1024
_KEPT_MESSAGE = 16 * 1024    # bytes of the message kept on a line that was too long
_KEPT_DETAILS = 64 * 1024    # bytes of the details, as JSON text, kept on it


def _cut(line: dict[str, Any], size: int) -> dict[str, Any]:
    """`line` within MAX_LINE_BYTES: its severity, time, labels, step, incident and writer whole (the
    timeline's filters read them, and its clock check groups lines by writer), its message and details
    cut, saying so and how long they were. What a line holds that a person needs reaches them whole
    elsewhere (the outcome's `reason` and `received`)."""
    kept = {k: line["runwarden"][k] for k in _KEPT_WHOLE if k in line["runwarden"]}
    details = _LINE({k: v for k, v in line["runwarden"].items() if k not in _KEPT_WHOLE})
    return {**line, "message": _fitted(line["message"], _KEPT_MESSAGE),
            "runwarden": {**kept,
                          "line_cut": f"the line took {size} bytes, over the {MAX_LINE_BYTES} a log entry is kept at",
                          "details": _fitted(details, _KEPT_DETAILS)}}


_KEPT_WHOLE = ("step", "incident_id", "writer", "principal")


def _fitted(text: str, budget: int) -> str:
    """`text`, or its longest prefix that takes at most `budget` bytes on a line (escaped as the line
    escapes it: an emoji takes 12), marked with its whole length."""
    size = lambda part: len(_LINE(part))   # noqa: E731
    if size(text) <= budget:
        return text
    low, high = 0, min(len(text), budget)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if size(text[:middle]) <= budget else (low, middle - 1)
    return f"{text[:low]}... [cut: {len(text)} characters in all]"
