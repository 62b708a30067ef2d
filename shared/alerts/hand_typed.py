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
    return _unquoted(text, at, error.msg) or _cut_short(text, at, error.msg) or _comma_missing(text, at, error.msg)


# A bare word where JSON takes a quoted key or string: `--message {"command":"pause"}` typed without the single
# quotes around it is sent as {command:pause} (the shell removes the double quotes: bash manual, "Quote Removal").
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_VALUE = re.compile(r"[A-Za-z_][^\s,}\]\"]*")
_JSON_WORDS = ("true", "false", "null")


def _unquoted(text: str, at: int, msg: str) -> str:
    """A key or a string value written without its double quotes, named; "" for anything else."""
    key = msg.startswith("Expecting property name")
    if not (key or msg.startswith("Expecting value")):
        return ""
    word = (_BARE_KEY if key else _BARE_VALUE).match(text, at)
    if word is None or word.group() in _JSON_WORDS:
        return ""
    flag = word.group().lower()
    if not key and len(flag) > 1 and any(w.startswith(flag) or flag == w for w in _JSON_WORDS):
        return (f"{word.group()[:40]!r} at character {at} is no JSON value: JSON's flags are true and false, and its "
                "nothing null, in lower case and without quotes")
    what = "a key" if key else "a value"
    said = (f"{what} without quotes ({word.group()[:40]}) at character {at}: JSON writes keys and strings in double "
            "quotes (\")")
    if '"' not in text:
        said += ("; the body holds no double quote at all: the shell removed them, as it does when the body is not "
                 "in single quotes: send --message '{\"command\": …}'")
    return said


def _cut_short(text: str, at: int, msg: str) -> str:
    """A body that ends before its JSON does (an object or a string left open), said as such; "" otherwise."""
    if msg.startswith("Unterminated string"):
        return (f"the string opened at character {at} never closes: the body was cut short (a paste or a shell line "
                "ended early, or a quote inside it, such as an apostrophe, ended the shell's quoting), or a '\"' "
                "inside the string is not escaped (\\\"); send the whole command again")
    if at < len(text.rstrip()):
        return ""
    opened = text.count("{") - text.count("}")
    missing = f" ({opened} '}}' missing)" if opened > 0 else ""
    return (f"the body ends at character {len(text.rstrip())} before its JSON does{missing}: it was cut short (a "
            "paste or a shell line ended early, or a quote inside it, such as an apostrophe, ended the shell's "
            "quoting); send the whole command again")


def _comma_missing(text: str, at: int, msg: str) -> str:
    """A ',' missing between two members of an object or a list; "" otherwise."""
    if not msg.startswith("Expecting ',' delimiter"):
        return ""
    return f"a comma missing before character {at}: JSON separates the members of an object or a list with ','"


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
