"""How the renderers word times, durations and milestones (shared by text, Markdown and HTML; the gate's
answers word a duration with it too), and how much of a value from the logs they show."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from shared.diagnosis.latency_words import duration as _duration
from shared.outcomes import BIDI, C1, INVISIBLE
from shared.timeline.model import IncidentTimeline, Milestone, TimelineEntry


# One value from the logs shows at most this many characters in the text, the Markdown and the
# page: a row's summary is already cut to 240, but a diagnosis, evidence, note or actor name is not,
# and a log entry may hold about 256 KB ("Size of a LogEntry: 256 KB", Cloud Logging "Quotas and
# limits", cloud.google.com/logging/quotas): one in each of them would make an output of megabytes.
# The JSON keeps every character.
MAX_SHOWN = 2000


def cut(text: object, limit: int = MAX_SHOWN) -> str:
    """`text` cut to `limit` characters, saying how many more there were. Cut before any escaping
    (a control character's, HTML's, Markdown's), so the cut never ends inside an escape."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters not shown)"


def duration(seconds: float | None) -> str:
    return "unknown" if seconds is None else _duration(seconds)


def clock(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}Z" if at else "unknown"


def measures(t: IncidentTimeline) -> str:
    d = t.durations
    return f"TTD {duration(d.ttd_seconds)} · TTM {duration(d.ttm_seconds)} · TTR {duration(d.ttr_seconds)}"


def still_open(t: IncidentTimeline) -> str:
    """Words for a timeline built while the incident's alert was still open ("" otherwise): what it shows is
    the incident so far, and its recovery and TTR are not final."""
    if t.open_since is None:
        return ""
    return (f"the incident is still open: its alert opened at {clock(t.open_since)} and no close of it was read by "
            f"{clock(t.built_at)}, when this timeline was built. It shows the incident so far; its recovery and TTR "
            "are not final" + ("; some reads were cut short, so a close may not have been read" if t.cut_short else ""))


def milestone_lines(t: IncidentTimeline) -> list[tuple[str, Milestone | None]]:
    m = t.milestones
    return [("Onset", m.onset), ("Detection", m.detection), ("Decision", m.decision), ("Mitigation", m.mitigation),
            ("Recovery", m.recovery)]


def dated(t: IncidentTimeline) -> bool:
    """The rows fall on more than one UTC day: each time then carries its date (an incident over
    midnight read 23:55 then 00:05, time going backwards; one over a day showed two events at one time)."""
    return spans_days(t.entries, (a.at for a in t.actions))


def spans_days(entries: Iterable[TimelineEntry], more: Iterable[datetime] = ()) -> bool:
    """`dated`'s test on rows (and further times): their times fall on more than one UTC day. The builder asks
    it of every row read, before the rows shown are chosen, for the notes' times (`stamp`)."""
    days = {d for e in entries for d in (e.at.date(), e.last_at.date() if e.last_at else e.at.date())}
    days |= {at.date() for at in more}
    return len(days) > 1


def when(at: datetime, with_date: bool) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}" if with_date else f"{at:%H:%M:%S}"


def stamp(at: datetime, with_date: bool) -> str:
    """A time as a note cites it, as the rows show theirs (`when`), in UTC: with its date when the rows span
    more than one day (`spans_days`). A note on a person's change at 23:58 and a write at 00:03 said times of
    day alone, which the rows, dated, did not show, and which read as the write first."""
    return f"{when(at, with_date)}Z"


def entry_when(e: TimelineEntry, with_date: bool = False) -> str:
    shown = when(e.at, with_date)
    if e.count > 1:
        shown += f" (×{e.count}" + (f", last {when(e.last_at, with_date)})" if e.last_at and e.last_at != e.at
                                    else ")")
    return shown


# Characters a terminal or a page acts on instead of showing (C0 and C1 controls, the bidirectional
# overrides and isolates), and those that show as nothing at all (shared/outcomes.py). Log text is
# input: each is shown as its escape (\x1b, \u202e, \u200b) instead. Tab and line feed are kept.
_UNSHOWN = re.compile(f"[\x00-\x08\x0b-\x1f{C1}{BIDI}{INVISIBLE}]")
_SPACE = re.compile(r"[\t\n\r ]+")


def visible(text: object) -> str:
    """`text` with every control and bidi character shown as its escape; line breaks kept."""
    return _UNSHOWN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def one_line(text: object, limit: int | None = None) -> str:
    """`text` on one line (runs of whitespace as one space), every control character shown; with a
    `limit`, cut to it first."""
    text = str(text) if limit is None else cut(text, limit)
    return visible(_SPACE.sub(" ", text).strip())


# Backslash-escaped, these ASCII punctuation characters are shown as themselves in CommonMark
# ("Backslash escapes", CommonMark spec 0.31, section 2.4) and in GitHub Flavored Markdown, whose
# tables also take `\|` as a pipe inside a cell ("Tables (extension)", GFM spec 0.29). `&` too: it
# begins a character reference ("Entity and numeric character references", section 2.5), so a log
# line's "&lt;" or "&amp;" would read as "<" or "&"; "\&" never begins one.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~#!&])")


# What GitHub may make live in text outside a code span, beyond CommonMark's own syntax:
# - links without `<>`: "extended www autolink" (`www.`), "extended url autolink" (`http://`, `https://`),
#   "extended email autolink" (`a@b.c`) and "extended protocol autolink" (`mailto:`, `xmpp:`), "Autolinks
#   (extension)", GFM spec 0.29-gfm section 6.9; `ftp://` and other schemes too, as some renderers do
#   (UNCONFIRMED on github.com, so every `://` counts);
# - `@user` and `@org/team` mentions, `#123`, `GH-123` and `owner/repo#123` references ("Autolinked
#   references and URLs", docs.github.com), found in the rendered HTML's text nodes after the Markdown is
#   parsed (html-pipeline's MentionFilter and issue filters search `.//text()`, skipping any text inside
#   `pre`, `code`, `a`: gjtorikian/html-pipeline, lib/html/pipeline/mention_filter.rb, IGNORE_PARENTS);
# - maths: `$...$`, `$$...$$` and `` $`...`$ `` ("Writing mathematical expressions", docs.github.com; it
#   says a `$` outside an expression, on its line, is written `<span>$</span>`: raw HTML, which this
#   Markdown never holds);
# - emoji shortcodes, `:rocket:`, `:+1:`, `:100:` ("Using emojis", "Basic writing and formatting syntax",
#   docs.github.com), replaced in the rendered text nodes by a known name between colons, anywhere in a word
#   (html-pipeline's EmojiFilter, lib/html/pipeline/emoji_filter.rb, skips text inside `pre`, `code`, `tt`).
#   Which names GitHub knows changes with its emoji list, so any name holding a letter counts, and the only
#   names of digits and signs it lists (`+1`, `-1`, `100`, `1234`); a time's `:30:` is not one;
# - commit SHAs: a word of 7 to 40 hex digits links to that commit of the repository the draft is pasted in
#   ("Commit SHAs", "Autolinked references and URLs", docs.github.com), when it is one: which words GitHub
#   tries (case, digits only) is UNCONFIRMED, so every such word counts (`backend-00042-abc` has none; a
#   longer hex run, a sha256 digest, is no SHA).
# Whether a backslash escape stops them is not settled: the spec's autolinks are found while parsing,
# where `\@` or `www\.` breaks the match, but github.com also links at transform time, on the text
# after escapes are undone ("GitHub employs different algorithms to autolink: one at parse time and one
# at transform time (similar to how @mentions are done at transform time) ... character references and
# escapes are handled differently", micromark-extension-gfm-autolink-literal's README). UNCONFIRMED
# either way, so a word holding any of these is put in a code span instead, which neither reading
# touches: a code span's content is literal (CommonMark "Code spans"; no autolink, emphasis or maths
# is parsed inside it) and the transform-time filters skip `code`. `$` is always inside the span, never
# beside it, so no `$`...`$` pair forms around one.
_LIVE = re.compile(r"://|www\.|mailto:|xmpp:|@|\$|#\d|gh-\d"
                   r"|:(?:[+-]1|100|1234|(?=[0-9_+-]*[a-z])[a-z0-9_+-]+):|\b[0-9a-f]{7,40}\b", re.IGNORECASE)
# (The shortcode's "holds a letter" is a lookahead over the non-letters before its first letter: written as
# `[a-z0-9_+-]*[a-z][a-z0-9_+-]*`, a 2,000-character word of letters with no closing colon took 27 ms, each
# split of the run tried in turn.)
# A word's wrapping punctuation stays outside its code span, so "(alice@example.com)," reads naturally.
_WRAPPING = re.compile(r"^([(\[{\"'<]*)(.*?)([)\]}\"'>.,;:!?]*)$", re.DOTALL)


def markdown_text(text: object, limit: int = MAX_SHOWN) -> str:
    """Log text as inline Markdown that reads as written: one line, no link, image, raw HTML,
    code span or emphasis it did not mean, no `|` that would end a table cell, and no autolink,
    mention, issue reference or maths GitHub would make of it (each word that could become one is
    shown as a code span: _LIVE); cut to `limit`. Words are split at spaces and pipes, so a pipe is
    never inside a code span (GFM splits a table row at one even there, "Tables (extension)")."""
    return "".join(_inert_word(word) for word in re.split(r"([ |])", one_line(text, limit)))


def _inert_word(word: str) -> str:
    if word == "|":
        return "\\|"
    if not _LIVE.search(word):
        return _MARKDOWN.sub(r"\\\1", word)
    before, core, after = _WRAPPING.fullmatch(word).groups()
    # What made it live may end in its trailing punctuation (`mailto:`, `:fire:,`): the span takes as little
    # of it as it needs, and all of the word when that is not enough.
    if not _LIVE.search(core):
        taken = next((k for k in range(1, len(after) + 1) if _LIVE.search(core + after[:k])), None)
        before, core, after = (before, core + after[:taken], after[taken:]) if taken else ("", word, "")
    # The line is already cut (markdown_text's limit): the word is not cut again.
    return _MARKDOWN.sub(r"\\\1", before) + markdown_code(core, len(core)) + _MARKDOWN.sub(r"\\\1", after)


def markdown_code(text: object, limit: int = MAX_SHOWN) -> str:
    """`text` as one inline code span, whatever backticks it holds: the fence is one backtick longer
    than its longest run (CommonMark, "Code spans"), padded with a space when it starts or ends
    with one. Backslashes are not escapes inside a code span, so nothing else is escaped. Cut to
    `limit`."""
    line = one_line(text, limit)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def none_found(t: IncidentTimeline, read: str, what: str) -> str:
    """How to say nothing was found: "none", or, when the read that would have found it stopped
    before its end, that none was found in the part read."""
    if any(r.cut_short and (r.name == read or r.name.startswith(read + " ")) for r in t.reads):
        return f"none found in the entries read ({read} was cut short: later {what} may not be shown)"
    return "none"
