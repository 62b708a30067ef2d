"""One failure logged over several entries, read as one.

A container's plain stdout or stderr line becomes its own LogEntry: Cloud Run's logging agent stores
"a single line" of text as textPayload, and only a line that is a JSON object becomes one structured
entry, exception and all (Cloud Run, "Logging and viewing logs", "Writing container logs": "Simple
text (and multi-line text)" vs. "Structured logs"). Whether the agent ever joins the lines of a Java
or Python stack trace written as plain text into one entry is not settled by that page (UNCONFIRMED):
field reports show both, and the product is read correctly under both readings. Joined by the agent,
an entry's text already holds its cause lines and nothing here touches it; split, the head line
("...CommunicationsException: Communications link failure", pgjdbc's "The connection attempt
failed.", Npgsql's "Failed to connect to A:P") is read alone and its cause ("Caused by:
java.net.SocketTimeoutException: Read timed out", " ---> System.TimeoutException: Timeout during
connection attempt") is lost, though the cause is what tells a read on an open connection (the
database slow) from a dial (the path).

`joined` puts such entries back together: an entry whose text has a continuation shape
(CONTINUATION_STARTS: "Caused by:", a stack frame's indentation, "... N more", a message's second line
in the client's own words), written by the container (stdout or stderr), is added to the entry before it
from the same instance (LogEntry.labels.instanceId, "the instance ID", Cloud Run "Logging and viewing
logs"; without it, the revision's resource labels), the same log, at most JOIN_GAP after the group's
first line, and not repeating that line's text. A Python traceback's last line (the exception, not
indented) ends a group its "Traceback" line began. Entries are taken oldest first whatever order the
read gave (the service log is read newest first, shared/gcp/logging.py), and the lines of one timestamp
in their insertId order where they hold one failure and it reads as a trace is written, else by their shape where
they hold one failure or several alike, else their continuations each alone (`_as_written`). Nothing is joined across
instances, logs or revisions, and a read with no continuation text (nearly every read) is returned as it
came, after one test of each distinct text (`has_continuation`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import timedelta
from itertools import groupby
from typing import Iterable, Iterator

import ahocorasick_rs

from shared.diagnosis.evidence import LogRecord
from shared.gcp.run_logs import APP_LOGS

# The lines of one write reach the agent together; the entries' timestamps are the agent's reading
# time (UNCONFIRMED how close for a long trace), so a second bounds one write's lines without
# reaching the next request's failure on a busy instance as a rule.
JOIN_GAP = timedelta(seconds=1)

# A line that only continues the one before it, as the runtimes print an exception:
# - Java's Throwable.printStackTrace: "\tat frame", "Caused by: ...", "Suppressed: ...", "\t... N more"
#   (java.lang.Throwable, printStackTrace's documented output); logback and log4j print the same.
# - .NET's Exception.ToString: the inner exception as " ---> Type: message", frames as "   at ...",
#   "   --- End of inner exception stack trace ---" (System.Exception.ToString docs).
# - Python's traceback: '  File "...", line N, in f' indented under "Traceback (most recent call
#   last):", and "During handling of the above exception, another exception occurred:" / "The above
#   exception was the direct cause of the following exception:" between chained tracebacks
#   (Python docs, traceback module and "Exception context").
# - A client's message spread over lines: MySQL Connector/J's "Communications link failure" followed,
#   after a blank line, by "The last packet successfully received from the server was N milliseconds
#   ago." or "The driver has not received any packets from the server." (mysql/mysql-connector-j
#   LocalizedErrorMessages.properties, CommunicationsException.*), libpq's tab-indented hint lines.
CONTINUATION_STARTS = ("Caused by:", "Suppressed:", "... ", "---> ", "--- End of", "The last packet ",
                       "The driver has not received any packets", "During handling of the above exception",
                       "The above exception was the direct cause")
_INDENTS = (" ", "\t")
_TRACEBACK = "Traceback (most recent call last):"


def continues(text: str) -> bool:
    """Whether `text` is a line that only continues the entry before it (CONTINUATION_STARTS, or
    indented). A blank text is none: a request log entry has no text, and whether the agent stores a
    blank line at all is UNCONFIRMED."""
    return text[:1] in _INDENTS and text.strip() != "" or text.startswith(CONTINUATION_STARTS)


# `continues` of every distinct text in one regex pass over them all, each text after a NUL: a read of
# 1,000 entries may hold hundreds of distinct texts, and a Python call each cost the LARGE diagnosis
# about 1.4 million instructions (bench/diagnosis_instructions.py). A NUL inside a text can only
# start a needless exact pass (`joined`), never miss a continuation.
_AT_A_START = re.compile("\x00(?:[ \t]+\\S|" + "|".join(map(re.escape, CONTINUATION_STARTS)) + ")")
# Every place `_AT_A_START` can match begins with one of these bytes (a NUL, then an indent's first
# character or a whole start), found first in the texts' UTF-8 bytes: `re` tries each character of the
# 66,000 of LARGE's texts in turn (0.72 million instructions a cold LARGE diagnosis, 2.3 %), ahocorasick_rs
# (the Rust aho-corasick crate, as log_signals' one search) skips from NUL to NUL (0.26 million with the
# join and the bytes; docs/performance.md, "diagnose() alone: the continuation test"). Each needle is
# ASCII, and UTF-8 encodes an ASCII character as that one byte and never uses such a byte inside another
# character's encoding (RFC 3629, section 3), so every match of the regex is a hit here: no hit, no match.
_AT_A_START_BYTES = ahocorasick_rs.BytesAhoCorasick(
    [b"\x00" + start.encode("ascii") for start in (" ", "\t", *CONTINUATION_STARTS)],
    matchkind=ahocorasick_rs.MatchKind.LeftmostFirst)


def has_continuation(texts: Iterable[str]) -> bool:
    """Whether any of `texts` (a read's distinct texts) may continue another: the one test a read with
    none pays, one search for the bytes a continuation starts with over all of them; the regex runs
    only where one is found."""
    together = "\x00".join(("", *texts))
    # "surrogatepass": a lone surrogate (a JSON escape may carry one) encodes to non-ASCII bytes only.
    if not _AT_A_START_BYTES.find_matches_as_indexes(together.encode("utf-8", "surrogatepass")):
        return False
    return _AT_A_START.search(together) is not None


def _key(record: LogRecord) -> tuple[str, str, str]:
    labels = record.resource_labels
    return (record.log_id, labels.get("revision_name", ""), record.instance)


def joined(entries: tuple[LogRecord, ...]) -> tuple[LogRecord, ...]:
    """`entries` with each continuation entry added to the text of the entry it continues (module
    docstring), in the read's order (the head keeps its place); a continuation with nothing before
    it to continue heads its own group."""
    heads: dict[tuple[str, str, str], int] = {}      # the open group's head per instance
    awaiting: set[int] = set()                       # tracebacks still waiting for their exception line
    parts: dict[int, list[str]] = {}
    dropped: set[int] = set()
    for tie in _ties(entries, _oldest_first(entries)):
        tracing = {key for key, head in heads.items() if head in awaiting}
        read = _as_written(entries, tie, tracing, set(heads))
        for i in read.order:
            record, key = entries[i], _key(entries[i])
            if record.log_id not in APP_LOGS:
                continue          # the request log, the system log, audit entries: never a trace's line
            if i in read.alone:
                continue          # a frame or cause whose failure is not known: read alone, joined to none

            head = heads.get(key)
            # Within JOIN_GAP of the group's head (not of its last line: a run of lines never chains on
            # for ever), and never the head's own text again: a line repeated is the next failure's (a
            # trace does not print its first line twice), so twenty lone cause lines stay twenty failures.
            # A chain's own lines (`read.inner`) are its one failure's, whatever they repeat.
            near = (head is not None and record.timestamp - entries[head].timestamp <= JOIN_GAP
                    and (record.text != entries[head].text or i in read.inner))
            if near and (continues(record.text) or head in awaiting or i in read.inner):
                parts.setdefault(head, [entries[head].text]).append(record.text)
                dropped.add(i)
                if head in awaiting and not continues(record.text) and i not in read.inner:
                    awaiting.discard(head)
                    del heads[key]    # the exception line ends a traceback
                continue
            # A new group: a head line, or a continuation whose head the read did not return (the service
            # log asks stdout for some texts only, log_signals.stdout_text_filter), which heads its own.
            heads[key] = i
            if record.text.startswith(_TRACEBACK):
                awaiting.add(i)
    if not parts:
        return entries
    return tuple(e.model_copy(update={"text": "\n".join(parts[i])}) if i in parts else e
                 for i, e in enumerate(entries) if i not in dropped)


def _oldest_first(entries: tuple[LogRecord, ...]) -> list[int]:
    """The entries' indices oldest first; entries with one timestamp in their insertId's order, then in the
    read's own order taken back to oldest first. Logging returns "entries with equal timestamps ... in order of
    their insert_id values" (ListLogEntriesRequest.order_by, google/logging/v2/logging.proto; "In queries, the
    insert_id is also used to order log entries that have the same log_name and timestamp values",
    LogEntry.insert_id, google/logging/v2/log_entry.proto); whether that order is reversed under "timestamp
    desc" is not said, so it is asked of the insertIds themselves. Whether the insertIds Cloud Run's logging
    agent assigns follow the order the lines were written in is UNCONFIRMED: `_as_written` takes that order where
    it reads as a trace is written, and never joins lines it cannot place."""
    step = -1 if _newest_first(entries) else 1
    return sorted(range(len(entries)), key=lambda i: (entries[i].timestamp, entries[i].insert_id, i * step))


def _ties(entries: tuple[LogRecord, ...], order: list[int]) -> Iterator[list[int]]:
    """`order` cut into runs of entries with one timestamp."""
    for _, run in groupby(order, key=lambda i: entries[i].timestamp):
        yield list(run)


# What continues one exception into the next, in Python's chained traceback (CONTINUATION_STARTS): "The above
# exception was the direct cause of the following exception:" when the later was raised from the earlier (`raise ...
# from`, as SQLAlchemy wraps every DBAPI error), "During handling of the above exception, another exception occurred:"
# when the later was raised while handling it (Python docs, "Exception context").
_DIRECT_CAUSE = "The above exception was the direct cause"
_CHAINED = ("During handling of the above exception", _DIRECT_CAUSE)
# A traceback's frame ('  File "/app/db.py", line 4, in connect'): never after its exception line, where only the
# message's own further lines come (libpq's tab-indented hint).
_FRAME = '  File "'
# A Python exception line as the traceback module ends a traceback with it: the exception's (dotted) class name, then
# ": " and its message, or nothing ("ssl.SSLCertVerificationError: ...", "TimeoutError"); a class name has a lower-
# case letter, a logger's level ("ERROR:    Exception in ASGI application", "ERROR:app.db:...") has none.
_EXCEPTION_LINE = re.compile(r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]*[a-z]\w*(?::\s|$)")


@lru_cache(maxsize=4096)
def _shaped_as_exception(text: str) -> bool:
    """Whether `text` is shaped as a Python exception line (`_EXCEPTION_LINE`), asked once per distinct text: one
    failure repeats its lines on every request, and a read at its ceiling may hold hundreds of them at one
    timestamp, so a match per line would cost a diagnosis a regex call per line (log_signals.per_text)."""
    return _EXCEPTION_LINE.match(text) is not None


@dataclass(frozen=True)
class _Reading:
    """The lines of one timestamp in the order they are joined (`order`), the lines of a chain joined into its one
    failure whatever their shape (`inner`), and the continuations read alone (`alone`): their failure is not known."""
    order: list[int]
    inner: frozenset[int] = frozenset()
    alone: frozenset[int] = frozenset()


def _as_written(entries: tuple[LogRecord, ...], tie: list[int], tracing: set[tuple[str, str, str]],
                open_groups: set[tuple[str, str, str]]) -> _Reading:
    """The entries of one timestamp (`tie`, in insertId order) in the order they were written, per instance. Where
    they hold one failure, the insertId order is the written order whenever it reads as traces are written
    (`_reads_as_written`): Logging
    returns equal timestamps in insertId order, and the agent's insertIds are taken to follow the lines it read
    (UNCONFIRMED). When they do not, the lines are put in a trace's order by their shape where they hold one failure
    (`_by_shape`), or several failures alike
    (`_copies`); otherwise their head and exception lines are joined in insertId order and their continuations
    (frames, causes) are read alone: which frame belongs to which of two failures is then not known, and joining
    them could read a verdict out of one failure's frame and another's exception line."""
    if len(tie) == 1:
        return _Reading(tie)      # nearly every timestamp of a read: nothing to order
    lines: dict[tuple[str, str, str], list[int]] = {}
    for i in tie:
        lines.setdefault(_key(entries[i]), []).append(i)
    order: list[int] = []
    inner: set[int] = set()
    alone: set[int] = set()
    for key, ids in lines.items():
        # Several failures in one instance's tie (`_by_shape` None): an insertId order that reads as written
        # may still be two traces interleaved (one id out of place puts one failure's frame or cause under the
        # other's head), so their continuations are read alone whatever the order.
        shaped = _by_shape(entries, ids, key in tracing) or _copies(entries, ids, key in tracing)
        if shaped is None:
            order += ids
            alone.update(i for i in ids if continues(entries[i].text))
        elif _reads_as_written([entries[i].text for i in ids], key in tracing, key in open_groups):
            order += ids
        else:
            order += shaped.order
            inner |= shaped.inner
    return _Reading(order, frozenset(inner), frozenset(alone))


def _reads_as_written(texts: list[str], tracing: bool, open_group: bool) -> bool:
    """Whether one instance's lines of one timestamp, in their insertId order, read as runtimes write traces: a
    "Traceback" line, at least one frame, the exception line, and a chain's line only between an exception line and
    the next "Traceback" (Python's traceback module), the exception line shaped as one (`_EXCEPTION_LINE`); a head
    line before its continuations (Java, .NET, a client's message spread over lines). A continuation before a head
    of its timestamp, with no group open before it, is out of order; so are a frame after the exception line and a
    traceback left open after a line shaped as its exception line."""
    state = "traceback" if tracing else "head" if open_group else "none"
    shaped_head = False
    for n, text in enumerate(texts):
        if text.startswith(_TRACEBACK):
            if state in ("frames", "traceback"):
                return False
            state = "frames"
        elif text.startswith(_CHAINED):
            if state in ("frames", "traceback", "chained"):
                return False
            state = "chained"
        elif continues(text):
            if (state == "chained" or state == "none" and not all(continues(t) for t in texts[n:])
                    or state == "ended" and text.startswith(_FRAME)):
                return False
            state = "traceback" if state == "frames" else "head" if state in ("none", "ended") else state
        else:
            if state in ("frames", "chained") or state == "traceback" and not _shaped_as_exception(text):
                return False      # a traceback ends at its exception line, not at a logger's message
            shaped_head |= state != "traceback" and _shaped_as_exception(text)
            state = "ended" if state == "traceback" else "head"
    return state != "frames" and not (state == "traceback" and shaped_head)


def _by_shape(entries: tuple[LogRecord, ...], ids: list[int], tracing: bool) -> _Reading | None:
    """One instance's lines of one timestamp put in a trace's order by their shape, when they hold one failure:
    a head line and its continuations; one Python traceback (the lines before it, its "Traceback" line, its frames,
    its exception line last); or one chain of tracebacks each raised from the one before ("The above exception was
    the direct cause", one failure: its lines are joined into one text, its frames before its exception lines, so
    a verdict its frames qualify is read in it). None when they may hold more than one failure."""
    def kind(i: int) -> str:
        text = entries[i].text
        return ("traceback" if text.startswith(_TRACEBACK) else "chain" if text.startswith(_CHAINED)
                else "frame" if continues(text) else "exception" if _shaped_as_exception(text) else "message")
    by: dict[str, list[int]] = {"traceback": [], "chain": [], "frame": [], "exception": [], "message": []}
    for i in ids:
        by[kind(i)].append(i)
    tracebacks, chain, frames, raised, said = (by[k] for k in ("traceback", "chain", "frame", "exception", "message"))
    started = len(tracebacks) + tracing
    if not started:
        heads = raised + said
        return _Reading(heads + frames) if len(heads) <= 1 and not chain else None
    if started == 1 and not chain and len(raised) <= 1:
        return _Reading(frames + raised + said if tracing and not tracebacks else said + tracebacks + frames + raised)
    if (started == len(chain) + 1 == len(raised) and not said
            and all(entries[i].text.startswith(_DIRECT_CAUSE) for i in chain)):
        first, rest = ([], tracebacks) if tracing else (tracebacks[:1], tracebacks[1:])
        return _Reading(first + frames + chain + rest + raised, frozenset(chain + rest + raised[:-1]))
    return None


def _copies(entries: tuple[LogRecord, ...], ids: list[int], tracing: bool) -> _Reading | None:
    """One instance's lines of one timestamp read as k failures alike (a pool's dials refused by one rotated server CA),
    when every text is in them exactly as often as the failure's first line ("Traceback", or the one head): then each
    failure holds each text once, so whichever line of a text goes to whichever failure, the k joined texts are the
    ones written. One failure's lines in a trace's order by shape (`_by_shape`), taken k times. None otherwise."""
    if tracing:
        return None
    by_text: dict[str, list[int]] = {}
    for i in ids:
        by_text.setdefault(entries[i].text, []).append(i)
    heads = [text for text in by_text if not continues(text)]
    starts = [text for text in heads if text.startswith(_TRACEBACK)] or heads
    k = len(by_text[starts[0]]) if len(starts) == 1 else 0
    if k < 2 or any(len(same) != k for same in by_text.values()):
        return None
    one = _by_shape(entries, [same[0] for same in by_text.values()], False)
    if one is None or one.inner:
        return None
    template = [entries[i].text for i in one.order]
    return _Reading([by_text[text][n] for n in range(k) for text in template])


def _newest_first(entries: tuple[LogRecord, ...]) -> bool:
    return len(entries) > 1 and entries[0].timestamp > entries[-1].timestamp
