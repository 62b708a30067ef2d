"""What a person is told to do about each evidence read that did not finish (EvidenceBundle.incomplete_reads).

Three kinds, told apart by how collection and the adapters word them, each asking something else of a person:
  - cut short: a search or a metric read still paging when its 30 s ran out (shared/gcp/logging.py
    `unfinished_search`, shared/gcp/monitoring.py `unfinished_answer`). The API was answering: the same range
    at once would take as long, so it is read a few minutes at a time;
  - never answered: no first page by the alert's last delivery (shared/diagnosis/collection.py `unanswered`).
    Nothing says the read is slow: the API was failing (UNAVAILABLE, a deadline, a quota), so it is run again
    once the API answers, and its status looked at;
  - execution errors: a ListTimeSeries answer that "may have caused the time series data returned to be
    incomplete" (ListTimeSeriesResponse.execution_errors, google/monitoring/v3/metric_service.proto): read
    again, a person checks that every series expected is there.
Each is followed by where to read it by hand over the minutes the read asked for (EvidenceBundle.by_hand).
"""
from __future__ import annotations

from typing import Sequence

from shared.errors import UNANSWERED

# The words each kind's read carries (see the module's docstring), and what a person does about it.
_CUT_SHORT = ("the search had not finished when", "the read had not finished when")
_EXECUTION_ERRORS = "the answer may be incomplete"
# Where an unfinished read's name ends: the failure a gap quotes after `what: ` (collection's `_Reads.run`).
_NAME_ENDS = (f": {UNANSWERED}", ": ListLogEntries ", ": ListTimeSeries ")
_SOURCES = ("logging", "monitoring")


def what_to_do(reads: Sequence[str], by_hand: Sequence[str]) -> str:
    """One clause per read that did not finish: its name, what to do about its kind, and where to read it by hand
    (`by_hand[i]` for `reads[i]`, "" or missing when not known)."""
    hints = list(by_hand) + [""] * (len(reads) - len(by_hand))
    return "; ".join(_one(read, hint) for read, hint in zip(reads, hints))


def _one(read: str, hint: str) -> str:
    return f"{read_name(read)}: {_advice(read)}" + (f", {hint}" if hint else "")


def read_name(read: str) -> str:
    """The read a gap names ("logging: audit log"), without its failure."""
    for end in _NAME_ENDS:
        if end in read:
            return read.split(end, 1)[0]
    parts = read.split(": ")
    # A Logging or Monitoring read is named by its source and what it reads ("monitoring: connector/instances").
    return ": ".join(parts[:2] if parts[0] in _SOURCES else parts[:1])


def _advice(read: str) -> str:
    if UNANSWERED in read:
        return ("it never answered by the alert's last delivery (the API failing, not slow: UNAVAILABLE, a deadline "
                "before any page, a quota): run it again once the API answers")
    if any(words in read for words in _CUT_SHORT):
        return "it was still answering when its time ran out: run it again a few minutes at a time, the newest first"
    if _EXECUTION_ERRORS in read:
        return ("Monitoring answered it with execution errors, so a series may be missing: run it again and check "
                "that each revision's (or instance's) series is there")
    return "run it again"
