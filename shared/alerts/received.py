"""A message Runwarden rejects, kept as it arrived.

A rejected alert or command is acknowledged (answered 2xx), so Pub/Sub never delivers it again: what
it said must travel with the rejection, or it is lost. `received` reads the messagePublished data
as leniently as it can (the very reason it was rejected may be its shape) and never raises. Pure:
no I/O.

Credentials are not carried: every shape of shared/outcomes.py (an OAuth access token, an
Authorization header's Bearer or Basic credentials, a Google API key, a URL's password, a private key) in
what was sent (a policy's documentation holding a runbook's `curl -H "Authorization: Bearer ..."`, a relay's
attribute) is replaced by `[redacted credential]`, wherever the message is kept (the outcome, the
`rejected`, `notify` and `failed` lines). Cloud Monitoring warns that "the data sent to channel
recipients may contain sensitive information" ("Create and manage notification channels"), and
Runwarden writes no credential (tests/e2e/test_no_secrets.py); the person paged needs what the
message said, not the secret.

The whole is carried up to `MAX_KEPT_BYTES` on the outcome (JSON, non-ASCII escaped), far under Pub/Sub's 10 MB
message limit (cloud.google.com/pubsub/quotas#resource_limits; UNCONFIRMED against the page's text). A notification is
at most 256 KiB and a command 64 KiB before it is refused (shared/alerts/incidents.py, shared/alerts/commands.py), but
a relay's wrappings around a notification are read up to 4.6 MiB (shared/alerts/relayed.py MAX_WRAPPED_TEXT_BYTES),
and the push envelope Runwarden accepts is bounded by the push request itself: a larger data is cut, and the cut said
(`cut_words`) wherever the message is kept.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.alerts.incidents import quoted
from shared.alerts.relayed import (MAX_WRAPPED_TEXT_BYTES, MAX_WRAPPINGS, Reached, Relayed, WrappedTooDeep, read_through, shown,
                                   message_id_written, shown_attributes, text_of)
from shared.gcp.identifiers import (COMMAND_INCIDENT_PREFIX, IncidentIdCharacter, folded_incident_id,
                                    stripped_incident_id)
from shared.outcomes import Received
from shared.redaction import redacted, redactions
from shared.timeline.queries import is_incident_id

# Beyond any notification or command Runwarden reads whole (256 KiB, 64 KiB), not beyond a relay's wrappings (up to
# 4.6 MiB: a rejected one is kept cut, saying so), and far under Pub/Sub's 10 MB limit for the outcome that carries it.
MAX_KEPT_BYTES = 1024 * 1024

# Pub/Sub's own bounds on a message's attributes: at most 100, each value at most 1024 bytes (Pub/Sub, "Quotas and
# limits", Resource limits, cloud.google.com/pubsub/quotas#resource_limits, as the IngestionFailureEvent
# .ApiViolationReason docstring of google-cloud-pubsub quotes it for the count and 10 MB; the value's 1024 as
# Pub/Sub's own refusal states it, googleapis/google-cloud-python#7906). A message that came through a topic keeps
# every attribute whole; one past them (no Pub/Sub message) is cut there, saying so, by the one rule
# (shared/alerts/relayed.py `shown_attributes`). A publish time is cut at the same length; a message id is written as
# every line writes it (shared/alerts/relayed.py `message_id_written`).
PUBSUB_MAX_ATTRIBUTES = 100
PUBSUB_MAX_ATTRIBUTE_CHARACTERS = 1024


def received(event_data: Any) -> Received:
    """The message of a messagePublished event's data, as far as it can be read."""
    message = event_data.get("message") if isinstance(event_data, Mapping) else None
    if not isinstance(message, Mapping):
        return _event(event_data)
    return Received(message_id=message_id_written(message.get("messageId", message.get("message_id"))),
                    publish_time=_kept_value(message.get("publishTime", message.get("publish_time"))),
                    attributes=shown_attributes(message.get("attributes"), PUBSUB_MAX_ATTRIBUTES,
                                                PUBSUB_MAX_ATTRIBUTE_CHARACTERS),
                    **_data(message.get("data")))


def _kept_value(value: Any) -> str | None:
    return shown(value, PUBSUB_MAX_ATTRIBUTE_CHARACTERS)


def _data(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        return {"data_form": "none"}
    if not isinstance(raw, str):
        return _kept("base64", text_of(raw) or "")
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):   # not base64: kept as it came, read as any text
        return _kept("base64", raw)
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:   # binary data, kept in its base64 form
        return _kept("base64", raw, pem_line=_der_sequence(decoded))
    return _kept("text", text, len(decoded))


def _der_sequence(data: bytes) -> bool:
    """Whether binary data is one whole DER SEQUENCE (X.690 section 8.9: tag 0x30, then its length, short or long
    form), as a private key's DER is. Binary data's base64 form is this service's own writing, no line a program
    printed: 48 bytes of it make 64 base64 characters, which `redactions` would read as a PEM body's line alone and hide
    whole (a binary message a person reads). Only DER is read so: an Ed25519 private key's PKCS#8 is 48 bytes, its
    base64 one 64-character line (RFC 8410 section 7, "MC4CAQAwBQYDK2VwBCIEI..."), a key published raw. A PEM line
    sent as text is decoded as UTF-8, and read as the text it is."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    if data[1] < 0x80:
        return data[1] == len(data) - 2
    octets = data[1] & 0x7F
    return 0 < octets <= 4 and int.from_bytes(data[2:2 + octets], "big") == len(data) - 2 - octets


def _event(event_data: Any) -> Received:
    try:
        shown = json.dumps(event_data, default=str, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        shown = repr(event_data)
    return Received(**_kept("event", shown))


def _whole_text(event_data: Any) -> str | None:
    """The message's data whole, past what an outcome keeps: read for what names it, never published. None when the
    event holds no message's text."""
    message = event_data.get("message") if isinstance(event_data, Mapping) else None
    raw = message.get("data") if isinstance(message, Mapping) else None
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8") if isinstance(raw, str) else None
    except (binascii.Error, ValueError):
        return None


# What names an incident in a text too large to parse: `"incident_id": "..."` and `"policy_name": "..."`, as a
# notification gives them (schema 1.2), also inside a relay's JSON string (its quotes escaped). An id is at most 128
# characters of its shape (is_incident_id); a policy's display name at most 512 (alert.proto); each escaped up to 6
# bytes a character (`\u0061`): an id spelled with JSON's escapes is found, and read as the id it spells. A key whose
# value is no such string (null, a number, an object, one past the bound) is found too, its value None: it may be the
# notification's own, so it reads as a value of no id's shape, never skipped. A value runs to its own closing quote
# (RFC 8259 section 7: `\"` is a quote inside the string, `\\` a backslash): in the notification's JSON, each `\x` is
# one escape; inside a relay's JSON string, whose every quote and backslash is escaped once more, the value's close is
# `\"`, and an escape of the value's own is an escaped backslash and what it escapes (`\\\"`, a quote of the value).
def _scanned_key(key: str, bound: int) -> re.Pattern[str]:
    """`"key": "value"` in the notification's JSON (group `plain`) or inside a relay's JSON string (group `relayed`)."""
    plain = rf'"{key}"\s*:\s*(?:"(?P<plain>(?:[^"\\]|\\.){{1,{bound}}})")?'
    relayed = rf'\\"{key}\\"\s*:\s*(?:\\"(?P<relayed>(?:[^"\\]|\\[^"\\]|\\\\(?:\\.|[^"\\])){{1,{bound}}})\\")?'
    return re.compile(f"{plain}|{relayed}", re.DOTALL)


def _found(match: re.Match[str]) -> str | None:
    """The value a `_scanned_key` match holds, as the notification's JSON writes it: a relay's escaping taken off."""
    if match.group("relayed") is not None:
        return _unescaped(match.group("relayed"))
    return match.group("plain")


_SCANNED_ID = _scanned_key("incident_id", 768)
# A relay's wrapping's base64 `data` (shared/alerts/relayed.py), in one piece.
_SCANNED_DATA = re.compile(r'"data"\s*:\s*"([A-Za-z0-9+/]{16,}={0,2})"')
_SCANNED_POLICY = _scanned_key("policy_name", 3072)


# At most this many different ids (or policy names) are kept from a scan, and at most _SCANNED_READ different values of
# a key, as found, are read (a text of megabytes may quote ids without end, and reading one takes some 20 us): past
# either, the scan of that key stops, and the count is said as at least the ids kept.
_SCANNED_MAX = 100
_SCANNED_READ = 1_000


@dataclass(frozen=True)
class _Ids:
    """The ids of an incident's shape a scan found, different ones as Runwarden keys them, in the order found
    (`found`); `more`: the scan stopped at its bound (_SCANNED_MAX ids, _SCANNED_READ values), so the text may quote
    more than these."""

    found: tuple[str, ...] = ()
    more: bool = False


@dataclass
class _Values:
    """What a scan found of one key: each different value as found (`read`; None: the key with no value the scan
    reads), and what it reads as (`read_as`: None for a value the words may not show); the different values read
    (`values`), in the order found; `unread`: a value read as None was found; `more`: the scan stopped at its bound,
    so more may follow."""

    read_as: Callable[[str], str | None]
    read: dict[str | None, str | None] = field(default_factory=dict)
    values: dict[str, None] = field(default_factory=dict)
    unread: bool = False
    more: bool = False

    def add(self, found: Iterable[str | None]) -> None:
        """Read each value in `found` not read before, until the scan's bound."""
        for value in found:
            if self.more:
                return
            if value not in self.read:
                self._take(value)

    def _take(self, value: str | None) -> None:
        if len(self.read) >= _SCANNED_READ:
            self.more = True
            return
        read = self.read[value] = None if value is None else self.read_as(value)
        if read is None:
            self.unread = True
        elif read not in self.values:
            self.more = len(self.values) >= _SCANNED_MAX
            if not self.more:
                self.values[read] = None

    @property
    def one(self) -> str | None:
        """The value the text gives, when every value found reads as that one, and the text was searched to its end."""
        if len(self.values) != 1 or self.unread or self.more:
            return None
        return next(iter(self.values))


def _scanned(text: str) -> tuple[Mapping[str, Any], _Ids]:
    """The incident's id and policy name in `text` past what the pipeline parses (MAX_WRAPPED_TEXT_BYTES), found by a
    search of the text, not a parse of it: a parse of megabytes of small objects took 120 MiB more of a function's
    256 MiB and a second of CPU (bench/rejected_naming.py). A relay's base64 `data` is decoded and searched the same
    way, up to MAX_WRAPPINGS deep. Each value is read as it is shown: unescaped, its credentials redacted, an id as
    Runwarden keys it (`_readable_id`: "0.ABC" and "0.abc" are one id; a credential, once redacted, is of no id's
    shape and never shown). Each key is taken only when every value found reads as one: of two ids (one quoted in a
    summary, say), or an id and a value of no id's shape, the notification's own cannot be told from the quote, so
    none names the incident; the ids found are given beside (`_Ids`), for the words to name them. The text is never
    redacted whole here."""
    ids = _Values(lambda value: _readable_id(redacted(_unescaped(value))))
    policies = _Values(lambda value: redacted(_unescaped(value)))
    _search(text, ids, policies, MAX_WRAPPINGS)
    named = {key: values.one for key, values in (("incident_id", ids), ("policy_name", policies))
             if values.one is not None}
    return named, _Ids(tuple(ids.values), ids.more)


def _search(text: str, ids: _Values, policies: _Values, depth: int) -> None:
    """Add each key's values in `text` to `ids` and `policies`, then those in each relay's base64 `data` in it, down to
    `depth` wrappings."""
    ids.add(_found(match) for match in _SCANNED_ID.finditer(text))
    policies.add(_found(match) for match in _SCANNED_POLICY.finditer(text))
    for match in _SCANNED_DATA.finditer(text) if depth else ():
        try:
            inner = base64.b64decode(match.group(1), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        _search(inner, ids, policies, depth - 1)


def _unescaped(value: str) -> str:
    """A JSON string's content as its text; as found when it is none (a relay's escaping of its own)."""
    try:
        text = json.loads(f'"{value}"')
    except ValueError:
        return value
    return text if isinstance(text, str) else value


def _kept(form: str, text: str, size: int | None = None, *, pem_line: bool = True) -> dict[str, Any]:
    """`pem_line`: whether a text that is a PEM body's line alone is hidden as one (shared/redaction.py `redactions`)."""
    size = len(text.encode("utf-8", "surrogatepass")) if size is None else size
    head = _redacted_head(text, pem_line=pem_line)
    if head.end == len(text):
        return {"data_form": form, "data": head.text, "data_bytes": size}
    # Cut where a credential cannot be split: `head` is the start of the redacted text, ending in text left as it
    # came or before a credential's replacement, never inside one (shared/redaction.py `redactions`). So the cut is
    # of the bytes as received, counted truly: the tail is never redacted, never kept.
    kept_bytes = len(head.text.encode("utf-8", "surrogatepass"))
    cut = size - len(text[:head.end].encode("utf-8", "surrogatepass"))
    return {"data_form": form, "data_bytes": size, "data_kept_bytes": kept_bytes, "data_cut_bytes": cut,
            "data": head.text + (f"... [cut: {size} bytes as received: the first {size - cut} kept, with credentials "
                                 f"redacted ({kept_bytes} bytes here), the last {cut} not kept]")}


@dataclass(frozen=True)
class _Head:
    """The longest start of a text's redaction that the outcome keeps (`text`, at most MAX_KEPT_BYTES on it), and
    where in the text as received it ends (`end`, in characters: the text's length when it is whole)."""

    text: str
    end: int


def _redacted_head(text: str, *, pem_line: bool = True) -> _Head:
    """The start of `redacted(text)` the outcome keeps, the text redacted only as far as that: pieces of the text as
    it came and each credential's replacement, in order, read until they pass what an outcome holds. Redacting the
    whole first, as before, took 214 MiB for a 7 MB message of credentials (bench/rejected_naming.py)."""
    pieces: list[_Piece] = []
    size, position = 0, 0
    for start, end, replacement in redactions(text, pem_line=pem_line):
        if size + start - position > MAX_KEPT_BYTES:
            break
        pieces += [_Piece(text[position:start], position, start), _Piece(replacement, start, end, replaced=True)]
        size, position = size + start - position + len(replacement), end
        if size > MAX_KEPT_BYTES:
            break
    if size <= MAX_KEPT_BYTES:   # one character past the bound, when the text has it: the cut is then said
        plain = text[position:position + MAX_KEPT_BYTES + 1 - size]
        pieces.append(_Piece(plain, position, position + len(plain)))
    return _fitted(pieces, len(text))


@dataclass(frozen=True)
class _Piece:
    """A piece of a text's redaction: the text from `start` to `end` as it came, or its credential's replacement."""

    text: str
    start: int
    end: int
    replaced: bool = False


def _fitted(pieces: list[_Piece], whole: int) -> _Head:
    """The longest start of `pieces` that takes at most MAX_KEPT_BYTES on the outcome, cut in a piece of the text
    as it came or before a replacement, never inside one; and where it ends in the text of `whole` characters."""
    joined = "".join(piece.text for piece in pieces)
    fit = _fitting(joined)
    if fit == len(joined) and _on_outcome(joined) <= MAX_KEPT_BYTES and pieces[-1].end == whole:
        return _Head(joined, whole)
    taken = 0
    for piece in pieces:
        if taken + len(piece.text) > fit:
            if piece.replaced:
                return _Head(joined[:taken], piece.start)
            return _Head(joined[:fit], piece.start + fit - taken)
        taken += len(piece.text)
    return _Head(joined, pieces[-1].end)


def cut_words(content: Received) -> str:
    """What a rejection's reason says of a message whose data the outcome holds only in part: how much it holds and
    how much was cut, so that nobody reads the outcome's `received` as the whole message. "" when it is whole."""
    if not content.data_cut_bytes:
        return ""
    return (f"; the message's data is {content.data_bytes} bytes as received, and the outcome holds it only in part "
            f"(`received`): its first {content.data_bytes - content.data_cut_bytes} bytes are kept, with credentials "
            f"redacted ({content.data_kept_bytes} bytes there), and the last {content.data_cut_bytes} are cut, past "
            f"the {MAX_KEPT_BYTES}-byte bound an outcome keeps under Pub/Sub's 10 MB message; the whole is only where it "
            "was published from (the relay's own copy)")


def _on_outcome(text: str) -> int:
    """The bytes `text` takes on the outcome, which is JSON with every non-ASCII and control character
    escaped (shared/outcomes.py, json.dumps's ensure_ascii): an emoji received as 4 bytes takes 12
    (`\\ud83d\\ude00`), a control character 6. Bounded in characters, a message of emoji cut at
    MAX_KEPT_BYTES characters made a 12 MB outcome, past Pub/Sub's 10 MB: never published."""
    return len(json.dumps(text))


def _fitting(text: str) -> int:
    """The longest prefix of `text`, in characters, that takes at most MAX_KEPT_BYTES on the outcome."""
    low, high = 0, min(len(text), MAX_KEPT_BYTES)
    while low < high:
        middle = (low + high + 1) // 2
        if _on_outcome(text[:middle]) <= MAX_KEPT_BYTES:
            low = middle
        else:
            high = middle - 1
    return low


# --- what names a rejected alert ---------------------------------------------------------------------

# A policy's display name is the user's ("displayName", up to 512 Unicode characters: AlertPolicy,
# google/monitoring/v3/alert.proto): cut where it is named, the whole being in `received`.
_POLICY_SHOWN = 120


@dataclass(frozen=True)
class Named:
    """What identifies a rejected alert to the person it pages. `incident_id`: the incident's id, read as
    every entry point reads it (stripped, case-folded, of an incident id's shape), when the message gives
    one that is; the outcome and its lines are then labelled with it, as any alert's. `words`: what the
    reason adds, the id when read; else that it could not be, and what can find the message instead. `relayed`: the
    wrappings a relay put around the notification, outermost first, as the parser reads them (the path it took, for
    the outcome); () when the data is no wrapping of a JSON object."""

    incident_id: str | None
    words: str
    relayed: tuple[Relayed, ...] = ()


def named(content: Received, field: str, event_data: Any = None) -> Named:
    """What identifies the rejected alert `content` (`field`: the field it was rejected for). Never raises:
    the message may be anything. Monitoring's notification gives `incident.incident_id` and
    `incident.policy_name` (cloud.google.com/monitoring/support/notification-options, schema 1.2); Pub/Sub's
    push envelope the `messageId` and `publishTime` (PubsubMessage, google/pubsub/v1/pubsub.proto). `event_data`:
    the event `content` was read from, whose whole data is read when the outcome holds it cut, so that the cut
    never costs the page its incident."""
    incident, relayed, ids = _named_by(content, event_data)
    policy = incident.get("policy_name")
    policy_words = f"policy {quoted(policy, _POLICY_SHOWN)}" if isinstance(policy, str) and policy.strip() else ""
    incident_id = None if field.startswith("incident.incident_id") else _readable_id(incident.get("incident_id"))
    if incident_id is not None:
        return Named(incident_id, f"; incident {incident_id}" + (f", {policy_words}" if policy_words else "")
                     + cut_words(content), relayed)
    found = [f"Pub/Sub message id {quoted(content.message_id)}" if content.message_id else "",
             f"published {quoted(content.publish_time)}" if content.publish_time else "", policy_words]
    found = [words for words in found if words]
    held = "the message as far as the outcome holds it" if content.data_cut_bytes else "the whole message"
    ids = _Ids() if field.startswith("incident.incident_id") else ids
    return Named(None, ("; its incident id could not be read, so no incident is named: " if len(ids.found) < 2 else
                        f"; its incident id could not be told, so no incident is named: {_quoted_ids(ids)}; ")
                 + (f"find it by its {', '.join(found)}" if found else "nothing else in it identifies it either")
                 + f" ({held} is on the outcome, `received`)" + cut_words(content), relayed)


def _quoted_ids(ids: _Ids) -> str:
    """The ids of an incident's shape a message past the pipeline's bound quotes (two or more), as a person reads
    them: both, or the first and how many ("at least" that many when the scan stopped at its bound: it keeps at most
    _SCANNED_MAX). Searched, not parsed, the text cannot tell the notification's own from one quoted in it (a summary
    naming another incident)."""
    why = f"searched past the {MAX_WRAPPED_TEXT_BYTES} bytes a relay's message is parsed to, it cannot tell its own"
    first, count = ids.found[0], len(ids.found)
    if count == 2 and not ids.more:
        return f"it quotes two incident ids, {first} and {ids.found[1]} ({why})"
    return f"it quotes {'at least ' if ids.more else ''}{count} incident ids, the first {first} ({why})"


def _named_by(content: Received, event_data: Any) -> tuple[Mapping[str, Any], tuple[Relayed, ...], _Ids]:
    """The notification's `incident` object, the wrappings read to it and the incident ids a search found (past the
    bound: two or more when it cannot tell the notification's own; else none): from the whole message when the outcome
    holds it cut, parsed up to the pipeline's own bound on a relay's text (MAX_WRAPPED_TEXT_BYTES) and searched past it
    (`_scanned`); else from what the outcome holds."""
    whole = _whole_text(event_data) if content.data_cut_bytes and event_data is not None else None
    if whole is not None and len(whole.encode("utf-8", "surrogatepass")) > MAX_WRAPPED_TEXT_BYTES:
        incident, ids = _scanned(whole)
        return incident, (), ids
    reached = _reached(Received(data_form="text", data=redacted(whole)) if whole is not None else content)
    return _incident_of(reached), reached.relayed if reached else (), _Ids()


def _incident_of(reached: Reached | None) -> Mapping[str, Any]:
    """The notification's `incident` object, as far as the data reached reads as one; {} otherwise."""
    incident = reached.doc.get("incident") if reached else None
    return incident if isinstance(incident, Mapping) else {}


def _reached(content: Received) -> Reached | None:
    """The JSON object the data reads as, through a relay's wrappings by the parser's one rule (shared/alerts/relayed.py
    `read_through`), read once for the incident and the path; None when it is none. The data is at most what the
    outcome keeps (MAX_KEPT_BYTES), and at most MAX_WRAPPINGS wrappings are read: past them, the path read so far."""
    if content.data_form != "text":
        return None
    try:
        return read_through(content.data.encode("utf-8", "surrogatepass"), _json_object)
    except WrappedTooDeep as deep:
        return Reached({}, deep.relayed, deeper=True)
    except ValueError:
        return None


def _json_object(text: bytes) -> Mapping[str, Any]:
    """`text`'s JSON object; ValueError for any other text (not JSON, a key twice, a number past 4,300 digits,
    nested too deep, no object)."""
    try:
        parsed = json.loads(text, object_pairs_hook=_once_each)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(parsed, Mapping):
        raise ValueError("no JSON object")
    return parsed


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are each given once; ValueError otherwise: of two `incident`s or two
    `incident_id`s, which one is meant cannot be told (the parser rejects them too)."""
    kept = dict(pairs)
    if len(kept) != len(pairs):
        raise ValueError("a key given twice")
    return kept


def _readable_id(value: Any) -> str | None:
    """`value` as Runwarden keys an incident (shared/alerts/incidents.py reads it the same way), or None
    when it is no id a notification may carry: a label only ever holds an id's shape (is_incident_id)."""
    if not isinstance(value, str):
        return None
    try:
        stripped = stripped_incident_id(value)
    except IncidentIdCharacter:
        return None
    folded = folded_incident_id(stripped)
    # An id's shape is at most 128 ASCII characters: within MAX_INCIDENT_ID_BYTES, as a parsed one is.
    return folded if is_incident_id(folded) and not folded.startswith(COMMAND_INCIDENT_PREFIX) else None
