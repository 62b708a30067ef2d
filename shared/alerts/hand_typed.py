"""The mistakes a person makes typing a command's JSON by hand, named (`json_mistake`), and the body as its
sender meant it (`as_meant`), read only for the ids its rejection is answered under: never run.

A command is often typed into `gcloud pubsub topics publish TOPIC --message '…'` ("The body of the message
to publish", gcloud reference, `gcloud pubsub topics publish`), where the shell's quoting decides what is
sent, or pasted from a document or a chat. Python's json names only the position
("Expecting property name enclosed in double quotes: line 1 column 65 (char 64)"), and a body that is
not JSON gave no `command_id` to answer under, so its sender, waiting on that id, timed out. JSON itself
(RFC 8259) allows no comma after the last member (§4: members are separated by commas), takes strings in
double quotes only (§7: "A string begins and ends with quotation marks"), and no unescaped control
character in a string (§7: "the control characters (U+0000 through U+001F)" must be escaped).
"""
from __future__ import annotations

import json
import re

# Typographic quotes an editor or a chat puts in place of '"' (left and right double, low double, and the
# single ones).
_CURLY = "\u201c\u201d\u201e\u2018\u2019"
_STRAIGHT = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
# A key or a string in single quotes, holding no quote of either kind: it never spans a double-quoted string.
_SINGLE_QUOTED = re.compile(r"'([^'\"\\]*)'")
_CONTROL = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}


def json_mistake(text: str, error: json.JSONDecodeError) -> str:
    """The hand-typing mistake at `error`'s position in `text`, in words with what to write instead ("" when
    it is none of those named)."""
    wrapped = wrapping_quote(text)
    if wrapped:
        return wrapped_said(wrapped)
    at, found = error.pos, text[error.pos:error.pos + 1]
    if error.msg.startswith("Extra data"):
        return (f"more after the command's closing '}}' (character {at}, {found!r}): one command per message, "
                "a JSON object alone")
    if found == "'":
        return (f"a single quote (') at character {at}: JSON takes keys and strings in double quotes (\") only; "
                "in a shell, put the whole body in single quotes and the JSON's own in double quotes")
    if found and found in _CURLY:
        return (f"a typographic quote ({found!r}) at character {at}, where JSON takes a straight double quote (\"): "
                "a body pasted from a document or a chat; type the quotes again")
    if found in _CONTROL and error.msg.startswith("Invalid control character"):
        return f"{_CONTROL[found]} inside a string at character {at}: JSON writes it escaped (\\n, \\r, \\t)"
    if found in ("}", "]") and text[:at].rstrip().endswith(","):
        comma = len(text[:at].rstrip()) - 1
        return (f"a comma before {found!r} at character {comma}: JSON allows no comma after the last member of an "
                "object or a list")
    return ""


def wrapped_said(quote: str) -> str:
    return (f"the whole body is wrapped in quotes ({quote}): the shell's quoting was sent as part of the "
            "message; send the object alone, as in --message '{\"command\": …}'")


def wrapping_quote(text: str) -> str:
    """The quote the whole body is wrapped in ('…' or "…" around an object), or ""."""
    stripped = text.strip()
    if len(stripped) > 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"" and \
            stripped[1:-1].strip().startswith("{"):
        return stripped[0]
    return ""


def as_meant(text: str) -> str | None:
    """`text` with the mistakes `json_mistake` names undone, when that makes it JSON as Python's json reads it
    with `strict=False` (a raw line break in a string allowed): read only for the ids a rejection is answered
    under, never run (the command is refused as sent). None when it is still not JSON."""
    meant = text.strip()
    quote = wrapping_quote(meant)
    if quote == '"':
        try:
            meant = json.loads(meant)     # a JSON string holding the command: its escapes undone
        except ValueError:
            meant = meant[1:-1]
    elif quote:
        meant = meant[1:-1]
    meant = _SINGLE_QUOTED.sub(r'"\1"', meant.translate(_STRAIGHT))
    meant = _TRAILING_COMMA.sub(r"\1", meant)
    try:
        # strict=False: a raw line break in a string is read; raw_decode: the first object, where more follows.
        _, end = json.JSONDecoder(strict=False).raw_decode(meant)
    except (ValueError, RecursionError):
        return None
    return meant[:end]
