"""The postmortem draft on GitHub: text from the logs and the alert (a policy's documentation, a log line, a
command's sender: anyone's words) never becomes a live link, a mention, an issue reference or maths there.

GitHub makes these of plain text in two ways (shared/timeline/words.py, _LIVE, cites each): while parsing
(GFM's "Autolinks (extension)": `www.`, `http://`, emails, `mailto:`), and afterwards on the rendered
HTML's text nodes (`@user`, `#123`, and email links again), where a backslash escape has already been
undone. Which of the two sees a given escape is UNCONFIRMED; neither looks inside a code span. So the
check here is the stricter reading: render the draft (markdown-it, CommonMark and GFM tables), drop every
`<code>` element, and look for any trigger in the text that is left, as a transform-time filter would.
And the renderers read the rows' days once, whatever the rows. Pure: no I/O."""
from __future__ import annotations

import re
from html import unescape

import pytest

from shared.timeline.model import ActionRow, Actor, ActorKind, EvidenceRow, Source
from shared.timeline.render import to_markdown
from shared.timeline.words import markdown_text
from tests.unit.test_timeline import T, _row, sample

# What a renderer could make live in text outside a code span: a URL's scheme, `www.`, `mailto:`/`xmpp:`,
# an email or a mention (`@`), an issue reference (`#1`, `GH-1`), a maths delimiter (`$`), an emoji shortcode
# (`:rocket:`, `:+1:`, `:100:`) and a bare commit SHA (7 to 40 hex digits, a word of its own).
TRIGGERS = re.compile(r"://|www\.|mailto:|xmpp:|@|\$|#\d|gh-\d|:(?:[+-]1|100|1234|[a-z0-9_+-]*[a-z][a-z0-9_+-]*):"
                      r"|\b[0-9a-f]{7,40}\b", re.IGNORECASE)

LIVE = ["see https://evil.example/login now", "www.evil.example/reset", "HTTP://EVIL.EXAMPLE", "ftp://files.example",
        "mail alice@example.com today", "mailto:alice@example.com", "xmpp:ops@chat.example", "@octocat please look",
        "cc @acme/oncall", "fixed by #123", "see GH-42 and acme/api#7", "costs $5 or $x^2$ and $$y$$",
        "$`\\sqrt{2}`$", "(https://evil.example/x),", "a|www.evil.example|b", "<https://evil.example>",
        "[x](https://evil.example) @x", "`www.evil.example`", "``@a`b``", "**@bold** _#9_",
        # An emoji shortcode becomes a picture and a bare SHA a link to a commit of the repository the draft is
        # pasted in ("Autolinked references and URLs", "Basic writing and formatting syntax", GitHub docs)
        ":rotating_light: paged :+1:", "score :100: now", "reverted to a5c3785 (bad)",
        "image @sha256 deadbeefcafe1234deadbeefcafe1234deadbeef,", "key:value:other", "BADC0FFEE0DDF00D"]


def _outside_code(html: str) -> str:
    return unescape(re.sub(r"<[^>]*>", "", re.sub(r"<code>.*?</code>", "", html, flags=re.S)))


def _live_everywhere():
    entries = []
    for i, text in enumerate(LIVE):
        row = _row(T, Source.AUDIT, text, ActorKind.PERSON)
        row.summary, row.actor = text, Actor(kind=ActorKind.PERSON, name=text)
        entries.append(row)
    return sample(entries=entries, service=f"projects/p/locations/l/services/{LIVE[0]}", signature=LIVE[7],
                  diagnosis=LIVE[11], follow_ups=LIVE[4:6], notes=LIVE[9:11], people=LIVE[:2],
                  evidence=[EvidenceRow(source=t, query="q", observed=t, threshold=t) for t in LIVE],
                  actions=[ActionRow(at=T, name="rollback_traffic", status=LIVE[8], summary=LIVE[3])])


def test_no_text_from_the_logs_is_live_outside_a_code_span():
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(to_markdown(_live_everywhere()))

    assert not TRIGGERS.search(_outside_code(html)), TRIGGERS.findall(_outside_code(html))
    assert all(href.startswith("https://console.cloud.google.com/") for href in re.findall(r'href="([^"]*)"', html))
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<h2>Timeline</h2>")[1].split("<h2>")[0].split("<tbody>")[1], re.S)
    assert len(rows) == len(LIVE) and all(row.count("<td") == 6 for row in rows)   # no pipe split a row


@pytest.mark.parametrize("text", LIVE)
def test_a_live_word_reads_as_written(text):
    """Inert, and still the log's words: the cell's text, tags dropped, is the text as the log wrote it."""
    from markdown_it import MarkdownIt

    row = _row(T, Source.AUDIT, "deploy", ActorKind.PERSON)
    row.summary = text
    html = MarkdownIt("commonmark").enable("table").render(to_markdown(sample(entries=[row])))
    cells = re.findall(r"<td>(.*?)</td>", html.split("<h2>Timeline</h2>")[1].split("<h2>")[0], re.S)

    assert len(cells) == 6 and unescape(re.sub(r"<[^>]*>", "", cells[4])) == text
    assert not TRIGGERS.search(_outside_code(cells[4]))


@pytest.mark.parametrize("text, shown", [
    ("plain words stay plain", "plain words stay plain"),
    ("see https://evil.example/x now", "see `https://evil.example/x` now"),
    ("(alice@example.com),", "(`alice@example.com`),"),
    ("@octocat and #12", "`@octocat` and `#12`"),
    ("GH-7 a/b#9", "`GH-7` `a/b#9`"),
    ("$5 $x$", "`$5` `$x$`"),
    ("mailto: x", "`mailto:` x"),
    ("www.", "`www.`"),
    ("a|b@c|d", "a\\|`b@c`\\|d"),          # a pipe never inside a code span: GFM splits a row at it even there
    ("``x@y`", "``` ``x@y` ```"),          # the fence longer than any run of backticks, padded at a backtick
    ("*x* #a", "\\*x\\* \\#a"),             # CommonMark's own syntax escaped as before
    (":fire: down", "`:fire:` down"),
    ("ok :+1:, :-1: and :100:", "ok `:+1:`, `:-1:` and `:100:`"),
    ("rolled back from a5c3785ed8d6a35868bc169f07e40e889087fd2e.", "rolled back from "
     "`a5c3785ed8d6a35868bc169f07e40e889087fd2e`."),
    ("(DEADBEEF1)", "(`DEADBEEF1`)"),
    ("sha=a5c3785", "`sha=a5c3785`"),
    # Not triggers: a time's digits between colons, a 6-digit hex word, a hex run inside a longer word, a
    # revision's name, a 41-digit run (no SHA is longer than 40), an image tag
    ("at 12:30:45 and 1:05:", "at 12:30:45 and 1:05:"),
    ("abc123 backend-00042-xyz standin000000000012", "abc123 backend-00042-xyz standin000000000012"),
    ("a" * 41, "a" * 41),
    ("gcr.io/demo/backend:v2", "gcr.io/demo/backend:v2"),
    (":" + "z" * 60 + " ::12:", ":" + "z" * 60 + " ::12:"),     # no closing colon; no letter
])
def test_markdown_text(text, shown):
    assert markdown_text(text) == shown


def test_an_operators_command_id_with_an_at_sign_is_not_a_mention_in_the_title():
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(to_markdown(sample(incident_id="command:a@octocat")))
    title = re.search(r"<h1>(.*?)</h1>", html).group(1)

    assert not TRIGGERS.search(_outside_code(title)) and unescape(re.sub(r"<[^>]*>", "", title)).endswith(
        "incident command:a@octocat on backend")


@pytest.mark.parametrize("fmt, module", [("markdown", "shared.timeline.render"), ("html", "shared.timeline.html")])
def test_a_renderer_reads_the_rows_days_once(fmt, module, monkeypatch):
    """`dated` reads every row. Called once per row (the draft's timeline table, its actions and people's
    changes; the page's chart markers), a storm's 1,500 rows (Limits.max_rows) made the draft quadratic:
    0.45 s of CPU for the draft of a 10,000-line incident, against 0.02 s for the page."""
    import importlib

    from shared.timeline import words
    from shared.timeline.render import render

    calls = []
    monkeypatch.setattr(importlib.import_module(module), "dated", lambda t: calls.append(1) or words.dated(t))
    rows = []
    for i in range(200):
        row = _row(T, Source.AUDIT, "deploy", ActorKind.PERSON)
        row.marker = "change"
        rows.append(row)
    render(sample(entries=rows, actions=[ActionRow(at=T, name="rollback_traffic", status="applied", summary="s")] * 50,
                  window_start=T, window_end=T), fmt)

    assert len(calls) <= 2, len(calls)


def test_a_live_word_is_cut_once_by_the_lines_limit():
    word = "@" + "x" * 2500
    assert markdown_text(word, 3000) == f"`{word}`"
    assert markdown_text(word, 100) == f"`{word[:100]}…` (2,401 more characters not shown)"
