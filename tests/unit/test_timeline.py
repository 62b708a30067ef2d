"""The timeline's pure parts: derivations, classification of audit entries, the renderers."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from shared.timeline import derive
from shared.timeline.classify import Related, Step, change_of
from shared.timeline.entries import AuditInfo, LoggedEntry
from shared.timeline.model import (ActionRow, Actor, ActorKind, Durations, ErrorMinute, ErrorSeries, EvidenceRow,
                                   IncidentTimeline, Milestone, Milestones, ReadReport, Source, TimelineEntry)
from shared.timeline.queries import BadInput, check_incident_id, quote
from shared.timeline.render import render, to_markdown

T = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def minutes(*counts: int, start: datetime = T) -> list[ErrorMinute]:
    return [ErrorMinute(minute=start + timedelta(minutes=i), errors=c) for i, c in enumerate(counts)]


# --- derivations -------------------------------------------------------------------------------------


def test_onset_walks_back_through_short_gaps_but_not_long_ones():
    series = minutes(5, 0, 0, 0, 0, 3, 0, 4, 9, 9)       # an old blip, then errors with a one-minute gap
    assert derive.onset(series, T + timedelta(minutes=9)).at == T + timedelta(minutes=5)


def test_no_errors_no_onset():
    assert derive.onset(minutes(0, 0, 0), T) is None


def test_a_healthy_window_needs_its_data_to_have_arrived():
    series = minutes(9, 9, 0, 0, 0, 0)
    built = T + timedelta(minutes=6)                      # minutes 2-4 are within the ingest lag
    assert derive.healthy_window(series, T, built) is None
    assert derive.healthy_window(series, T, built + timedelta(minutes=3)).at == T + timedelta(minutes=2)


def _row(at: datetime, source: Source, kind: str, actor: ActorKind = ActorKind.RUNWARDEN) -> TimelineEntry:
    return TimelineEntry(at=at, source=source, actor=Actor(kind=actor, name=actor.value), kind=kind, summary=kind)


def test_people_acted_first_only_after_onset_and_before_the_decision():
    onset = Milestone(at=T, what="x")
    m = Milestones(onset=onset, decision=Milestone(at=T + timedelta(minutes=5), what="d"))
    before_onset = _row(T - timedelta(minutes=1), Source.AUDIT, "deploy", ActorKind.PERSON)
    during = _row(T + timedelta(minutes=2), Source.AUDIT, "traffic_change", ActorKind.PERSON)
    after = _row(T + timedelta(minutes=6), Source.AUDIT, "traffic_change", ActorKind.PERSON)
    assert not derive.people_acted_first([before_onset, after], m)
    assert derive.people_acted_first([before_onset, during, after], m)


def test_durations_are_measured_from_onset():
    m = Milestones(onset=Milestone(at=T, what=""), detection=Milestone(at=T + timedelta(seconds=90), what=""),
                   recovery=Milestone(at=T + timedelta(minutes=10), what=""))
    assert derive.durations(m) == Durations(ttd_seconds=90, ttm_seconds=None, ttr_seconds=600)


# --- audit entries ------------------------------------------------------------------------------------


def _audit(method: str, resource: str, request: dict | None = None, status: int = 0) -> LoggedEntry:
    return LoggedEntry(timestamp=T, log_id="cloudaudit.googleapis.com/activity", insert_id="i",
                       audit=AuditInfo(method_name=method, resource_name=resource, principal="p@example.com",
                                       request=request, status_code=status))


RELATED = Related(project="demo-project", service="backend", location="us-central1", connectors={"backend-conn"},
                  sql_instances={"main-db"}, secrets={"db-password"})


@pytest.mark.parametrize("method, resource, request_, kind", [
    ("google.cloud.run.v1.Services.ReplaceService", "namespaces/demo-project/services/backend",
     {"service": {"spec": {"template": {"spec": {"containers": [{"image": "img:2"}]}}}}}, "deploy"),
    # gcloud's `run services update-traffic` and `run deploy` alike send the whole service (v1 ReplaceService):
    # a template and a traffic block is either, and is said as either, never a deploy alone
    ("google.cloud.run.v1.Services.ReplaceService", "namespaces/demo-project/services/backend",
     {"service": {"spec": {"template": {"spec": {"containers": [{"image": "img:2"}]}},
                           "traffic": [{"latestRevision": True, "percent": 100}]}}}, "service_change"),
    # v2 UpdateService with a new image and no mask: a deploy
    ("google.cloud.run.v2.Services.UpdateService", "projects/demo-project/locations/us-central1/services/backend",
     {"service": {"template": {"containers": [{"image": "img:3"}]}}}, "deploy"),
    ("google.cloud.run.v2.Services.UpdateService", "projects/demo-project/locations/us-central1/services/backend",
     {"service": {"traffic": [{"revision": "r1", "percent": 100}]}, "updateMask": "traffic"}, "traffic_change"),
    ("google.cloud.run.v2.Services.UpdateService", "projects/demo-project/locations/us-central1/services/backend",
     None, "service_change"),
    ("google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector",
     "projects/demo-project/locations/us-central1/connectors/backend-conn", None, "connector_change"),
    # the connector PATCH under its other readings (UNCONFIRMED which one a real entry carries)
    ("google.cloud.vpcaccess.v1.Connectors.PatchConnector",
     "projects/demo-project/locations/us-central1/connectors/backend-conn", None, "connector_change"),
    ("google.cloud.vpcaccess.v1.VpcAccessService.PatchConnector",
     "projects/demo-project/locations/us-central1/connectors/backend-conn", None, "connector_change"),
    ("cloudsql.instances.restart", "instances/main-db", None, "sql_operation"),
    ("google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion", "projects/demo-project/secrets/db-password",
     None, "secret_version"),
    ("google.cloud.secretmanager.v1.SecretManagerService.DisableSecretVersion",
     "projects/demo-project/secrets/db-password/versions/3", None, "secret_version"),
])
def test_changes_the_timeline_keeps(method, resource, request_, kind):
    assert change_of(_audit(method, resource, request_), RELATED).kind == kind


@pytest.mark.parametrize("method, resource, status", [
    ("google.cloud.run.v2.Services.UpdateService", "projects/demo-project/locations/us-central1/services/backend-2", 0),
    ("google.cloud.run.v2.Services.UpdateService", "projects/demo-project/locations/europe-west1/services/backend", 0),
    ("google.cloud.run.v2.Services.UpdateService", "projects/demo-project/locations/us-central1/services/backend", 7),
    ("cloudsql.instances.connect", "instances/main-db", 0),
    ("cloudsql.instances.restart", "instances/other-db", 0),
    ("google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion", "projects/demo-project/secrets/other", 0),
    ("google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector",
     "projects/demo-project/locations/us-central1/connectors/other-conn", 0),
])
def test_changes_the_timeline_leaves_out(method, resource, status):
    assert change_of(_audit(method, resource, status=status), RELATED) is None


# --- input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["0.nrwotmyokd9n", "12345", "0.a-b_c", "command:rb-inc42", "command:cli-1f0c2a",
                                  "command:a@b.c:1"])
def test_incident_ids_of_the_right_shape(good):
    assert check_incident_id(good) == good


@pytest.mark.parametrize("bad", ['0."x"', "0.x\\y", "a b", "a\tb", "(x)", "x:*", "-x", ".x", "0.\u200bx", None, 5,
                                 "command:", "command:*", "command:a b", 'command:a"b', "command:-x", "other:x"])
def test_incident_ids_of_the_wrong_shape(bad):
    with pytest.raises(BadInput) as caught:
        check_incident_id(bad)
    assert caught.value.field == "incident_id"


@pytest.mark.parametrize("raw, quoted", [('a"b', r'"a\"b"'), ("a\\b", r'"a\\b"'), ('\\"', r'"\\\""')])
def test_quote_escapes_backslashes_then_quotes(raw, quoted):
    assert quote(raw) == quoted


# --- renderers ----------------------------------------------------------------------------------------


def sample(**overrides) -> IncidentTimeline:
    entries = [_row(T + timedelta(minutes=i), source, kind) for i, (source, kind) in enumerate(
        [(Source.ALERT, "alert_opened"), (Source.RUNWARDEN, "diagnosed"), (Source.RUNWARDEN, "applied")])]
    entries[0].summary = "pipe | in <b>it</b>\nand a newline"
    data = dict(incident_id="0.abc", project="demo-project", service="projects/p/locations/l/services/backend",
                built_at=T + timedelta(hours=1), window_start=T - timedelta(minutes=30),
                window_end=T + timedelta(minutes=30), entries=entries,
                errors=ErrorSeries(source="q", minutes=minutes(0, 4, 8, 0)),
                milestones=Milestones(onset=Milestone(at=T, what="first"), detection=Milestone(at=T, what="alert")),
                durations=Durations(ttd_seconds=65, ttm_seconds=3700, ttr_seconds=None))
    data.update(overrides)
    return IncidentTimeline(**data)


def test_markdown_is_a_postmortem_draft():
    text = to_markdown(sample())
    headings = re.findall(r"^## (.+)$", text, re.M)

    assert text.startswith("# Postmortem (draft): incident 0.abc on backend")
    assert headings == ["Summary", "Impact", "Timeline", "Root cause and evidence", "Actions and their verification",
                        "What people did", "Open follow-ups", "Lessons learned", "Sources"]
    assert "- TTD 1 min 05 s · TTM 1 h 01 min · TTR unknown" in text
    table = text.split("## Timeline")[1].split("##")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| time")]
    assert len(rows) == 3 and all(row.count(" | ") == 5 for row in rows)   # pipes and newlines cannot split a row


def test_markdown_says_when_the_timeline_is_incomplete():
    cut = sample(reads=[ReadReport(name="audit", filter="f", pages=10, cut_short=True, why="stopped after 10 pages")])
    assert "> **Incomplete:** audit stopped after 10 pages" in to_markdown(cut)


def test_html_escapes_what_the_logs_say():
    page = render(sample(), "html")
    assert "<b>it</b>" not in page and "&lt;b&gt;it&lt;/b&gt;" in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_unknown_format():
    with pytest.raises(ValueError, match="format"):
        render(sample(), "pdf")


def test_the_text_sparkline_stays_short_for_a_long_window():
    long = sample(errors=ErrorSeries(source="q", minutes=minutes(*([0] * 600 + [5] * 600))))
    line = next(line for line in render(long, "text").splitlines() if line.startswith("Errors per minute"))
    assert len(line) < 140 and "(14 min per mark)" in line


def test_notes_reach_every_format():
    noted = sample(notes=["the service's revisions could not be read"])
    assert "## Notes on this draft" in render(noted, "markdown")
    assert "Note: the service's revisions could not be read" in render(noted, "text")
    assert '<ul id="notes"><li>the service&#x27;s revisions could not be read</li>' in render(noted, "html")


# --- hostile log text: what the logs say is shown, never acted on --------------------------------------

HOSTILE = ["pipe | and\na newline", "[click](javascript:alert(1)) ![beacon](https://evil.example/x.png)",
           "<script>alert(1)</script><img src=x onerror=alert(1)>", "`code` and ``two``", "# heading\n> quote",
           "**bold** _em_ ~~strike~~ back\\slash", "\x1b]0;retitled\x07\x1b[31mred\x1b[0m", "rtl \u202eevil\u202c end",
           "ü—中文 " + "long " * 80]


def hostile() -> IncidentTimeline:
    entries = []
    for i, text in enumerate(HOSTILE):
        row = _row(T + timedelta(minutes=i), Source.AUDIT, text, ActorKind.PERSON)
        row.summary, row.actor = text, Actor(kind=ActorKind.PERSON, name=text)
        entries.append(row)
    return sample(entries=entries, service=f"projects/p/locations/l/services/{HOSTILE[2]}", signature=HOSTILE[0],
                  diagnosis=HOSTILE[1], follow_ups=HOSTILE[3:5], notes=HOSTILE[5:7], people=HOSTILE[:2],
                  evidence=[EvidenceRow(source=t, query="q", observed=t, threshold=t) for t in HOSTILE],
                  actions=[ActionRow(at=T, name=HOSTILE[3], status="applied", summary=HOSTILE[2])],
                  reads=[ReadReport(name="audit", filter='x="a|b`c"', cut_short=True, why=HOSTILE[1])])


def test_markdown_shows_hostile_text_without_rendering_it():
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(to_markdown(hostile()))

    assert "<script" not in html and "<img" not in html and "<em>em</em>" not in html
    assert html.count("<blockquote>") == 1 and html.count("<h1>") == 1    # the banner's and the title's only and "<strong>bold</strong>" not in html and "<del>" not in html
    assert all(href.startswith("https://console.cloud.google.com/") for href in re.findall(r'href="([^"]*)"', html))
    assert "[click](javascript:alert(1))" in html and "&lt;script&gt;" in html and "`code`" in html
    timeline = html.split("<h2>Timeline</h2>")[1].split("<h2>")[0]
    evidence = html.split("<h2>Root cause and evidence</h2>")[1].split("<h2>")[0]
    for table, cells in ((timeline, 6), (evidence, 4)):
        rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
        assert len(rows) == len(HOSTILE) and all(row.count("<td") == cells for row in rows)
    assert "\x1b" not in html and "\u202e" not in html


# Character references ("Entity and numeric character references", CommonMark spec 0.31, section 2.5)
# are decoded by every Markdown renderer: a log line's "&lt;script&gt;" read as "<script>" and "AT&amp;T"
# as "AT&T" in the postmortem. (A numeric one, "&#x202E;", is already broken by its escaped "#".)
REFERENCES = ["&lt;script&gt;alert(1)&lt;/script&gt;", "rtl &#x202E;evil&#x202C; end", "zero&#8203;width",
              "AT&amp;T &copy; &#124; not a pipe", "&#96;tick&#96; &#42;star&#42; &#x5B;x&#x5D;(javascript:alert(1))"]


@pytest.mark.parametrize("text", REFERENCES)
def test_markdown_shows_a_character_reference_as_written(text):
    from html import unescape

    from markdown_it import MarkdownIt

    row = _row(T, Source.AUDIT, "deploy", ActorKind.PERSON)
    row.summary = text
    html = MarkdownIt("commonmark").enable("table").render(to_markdown(sample(entries=[row])))
    cells = re.findall(r"<td>(.*?)</td>", html.split("<h2>Timeline</h2>")[1].split("<h2>")[0], re.S)

    assert len(cells) == 6 and unescape(re.sub(r"<[^>]*>", "", cells[4])) == text
    assert "\u202e" not in html and "\u200b" not in html


@pytest.mark.parametrize("incident_id", ["command:rb.__1__", "0.__init__", "0._x_", "command:rb-1_x_"])
def test_the_postmortems_title_shows_the_incident_id_as_written(incident_id):
    """An operator's command id is the operator's own (`[A-Za-z0-9._:@-]`): its underscores are not emphasis."""
    from html import unescape

    from markdown_it import MarkdownIt

    assert check_incident_id(incident_id) == incident_id        # an id the timeline accepts as it is
    html = MarkdownIt("commonmark").enable("table").render(to_markdown(sample(incident_id=incident_id)))
    title = re.search(r"<h1>(.*?)</h1>", html).group(1)

    assert unescape(title) == f"Postmortem (draft): incident {incident_id} on backend"


def test_text_is_one_line_per_row_and_sends_no_control_character_to_the_terminal():
    text = render(hostile(), "text")

    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    assert "\\x1b]0;retitled\\x07" in text and "\\u202e" in text
    rows = [line for line in text.splitlines() if re.match(r"\d\d:\d\d:\d\d  ", line)]
    assert len(rows) == len(HOSTILE)


def test_html_shows_control_and_bidi_characters_as_escapes():
    page = render(hostile(), "html")

    assert "\x1b" not in page and "\u202e" not in page and "\\u202e" in page
    assert "<script" not in page and "&lt;script&gt;" in page


# Characters that show as nothing: a zero-width space, joiner and non-joiner, a word joiner, the
# byte-order mark, a soft hyphen, the line separator, a Hangul filler and the invisible tag characters.
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2028", "\u3164", "\U000e0041"]


@pytest.mark.parametrize("fmt", ["html", "text", "markdown"])
@pytest.mark.parametrize("char", INVISIBLE)
def test_an_invisible_character_is_shown_as_its_escape(fmt, char):
    # "alice<U+200B>@example.com" would read as alice@example.com in "who acted".
    name = f"alice{char}@example.com"
    entries = sample().entries
    entries[0].actor, entries[0].summary = Actor(kind=ActorKind.PERSON, name=name), f"by {name}"
    out = render(sample(entries=entries, people=[name], diagnosis=name), fmt)

    assert char not in out
    assert char.encode("unicode_escape").decode("ascii") in out


def test_names_in_running_text_are_each_isolated():
    # Two right-to-left names (no override character at all): without an isolate each, the
    # browser's bidi algorithm shows "A, B" as "B, A" and the comma between them moves.
    page = render(sample(people=["\u05d0\u05d1", "\u05d2\u05d3", "bob@example.com"], signature="\u05d4",
                         diagnosis="\u05d5 <b>"), "html")

    assert ("People who acted: <bdi>\u05d0\u05d1</bdi>, <bdi>\u05d2\u05d3</bdi>, <bdi>bob@example.com</bdi>"
            in page)
    assert "Diagnosis: <strong><bdi>\u05d4</bdi></strong> — <bdi>\u05d5 &lt;b&gt;</bdi>" in page


def test_a_huge_value_from_the_logs_is_cut_on_the_page():
    # Only a row's summary was cut (240); a 300,000-character diagnosis, evidence, note or actor
    # name made a page of megabytes. Each is shown up to MAX_SHOWN, saying how much more there was.
    from shared.timeline.html import MAX_SHOWN

    huge = "y" * 300_000
    entries = sample().entries
    entries[0].actor = Actor(kind=ActorKind.PERSON, name=huge)
    page = render(sample(entries=entries, signature="s", diagnosis=huge, notes=[huge], people=[huge],
                         evidence=[EvidenceRow(source=huge, query="q", observed=huge, threshold=huge)]), "html")

    assert len(page) < 20 * MAX_SHOWN + 40_000
    assert "y" * MAX_SHOWN + "… (298,000 more characters not shown)" in page
    assert "y" * (MAX_SHOWN + 1) not in page
    assert len(render(sample(diagnosis=huge, signature="s"), "json")) > 300_000      # machines get it all


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_huge_value_from_the_logs_is_cut_in_the_text_and_the_markdown_as_on_the_page(fmt):
    # The page cut a value at MAX_SHOWN; the text and the Markdown showed all 300,000 characters.
    from shared.timeline.words import MAX_SHOWN

    huge = "y" * 300_000
    out = render(sample(signature="s", diagnosis=huge, notes=[huge]), fmt)

    assert "y" * MAX_SHOWN + "… (298,000 more characters not shown)" in out
    assert "y" * (MAX_SHOWN + 1) not in out
    assert len(out) < 3 * MAX_SHOWN + 10_000


# A value whose 2,000th character is one each output escapes: HTML's `&` (&amp;), Markdown's `|`
# (\|), and an ESC, which every output shows as `\x1b`. The cut comes before any escaping, so each
# is shown whole and the count is of the value's own characters.
CUT_AT_AN_ESCAPE = [
    ("html", "&", "&amp;"),
    ("markdown", "|", "\\|"),
    ("html", "\x1b", "\\x1b"),
    ("markdown", "\x1b", "\\\\x1b"),          # the escape, its backslash escaped in turn
    ("text", "\x1b", "\\x1b"),
]


@pytest.mark.parametrize("fmt, char, shown", CUT_AT_AN_ESCAPE)
def test_a_value_cut_at_max_shown_never_ends_inside_an_escape(fmt, char, shown):
    from shared.timeline.words import MAX_SHOWN

    value = "y" * (MAX_SHOWN - 1) + char + "z" * 10
    out = render(sample(signature="s", diagnosis=value), fmt)

    assert "y" * (MAX_SHOWN - 1) + shown + "… (10 more characters not shown)" in out, out[-4000:]


def test_the_page_carries_its_own_policy_and_its_style_is_the_one_it_hashes():
    import base64
    import hashlib

    page = render(hostile(), "html")
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)

    assert page.index("Content-Security-Policy") < page.index("<style>")      # before anything it governs
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "script-src" not in policy
    assert f"style-src 'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'" in policy
    assert "style=" not in page and page.count("<style") == 1                  # nothing else the policy must allow
    assert '<meta name="referrer" content="no-referrer">' in page


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                 "https://evil.example/https://console.cloud.google.com/",
                                 "https://console.cloud.google.com.evil.example/", "//evil.example/",
                                 "https://console.cloud.google.com/a b", "https://console.cloud.google.com/\u202etxt.exe",
                                 "https://console.cloud.google.com/\n"])
def test_only_a_logs_explorer_link_is_a_link(url):
    entries = sample().entries
    entries[0].link = url
    page = render(sample(entries=entries), "html")

    assert "<a " not in page.split("<h2>Timeline</h2>")[1]
    entries[0].link = "https://console.cloud.google.com/logs/query;query=x"
    assert '<a href="https://console.cloud.google.com/logs/query;query=x"' in render(sample(entries=entries), "html")


def test_a_read_cut_short_never_reads_as_nothing_happened():
    # Runwarden's lines and the audit log were read only in part: "took no action", "no change by
    # a person" and "people who acted: none" would be claims the entries read cannot make.
    cut = sample(reads=[ReadReport(name="runwarden", filter="f", pages=10, cut_short=True, why="stopped"),
                        ReadReport(name="audit other-project", filter="f", pages=10, cut_short=True, why="stopped")])
    whole = sample(reads=[ReadReport(name="runwarden", filter="f", pages=1), ReadReport(name="audit", filter="f")])

    markdown, text, page = to_markdown(cut), render(cut, "text"), render(cut, "html")
    assert "Runwarden took no action" not in markdown and "No action found in the entries read" in markdown
    assert "No change by a person was recorded" not in markdown and "No change found in the entries read" in markdown
    assert "Runwarden made no diagnosis" not in markdown
    assert "People who acted: none found in the entries read (audit was cut short" in text
    assert "People who acted: none found in the entries read" in page
    assert "Runwarden took no action" in to_markdown(whole) and "People who acted: none\n" in render(whole, "text")


def _rows(*spec: tuple[float, str]) -> list[TimelineEntry]:
    """Rows from (minute, kind): `alert_*` from the alert, `person:*` a person's audit entry, the rest Runwarden's.
    Each `applied` makes an action record of its own; a `verified`, `undone` or `escalated` after it is the
    sweep's verdict on the latest, as the builder matches them (`action_key`, `verdict_on`), and `notice:KIND`
    a line of that kind that judged nothing (an escalation that keeps the record pending)."""
    out: list[TimelineEntry] = []
    key = ""
    for minute, kind in spec:
        at = T + timedelta(minutes=minute)
        if kind.startswith("alert_"):
            out.append(_row(at, Source.ALERT, kind, ActorKind.MONITORING))
        elif kind.startswith("person:"):
            out.append(_row(at, Source.AUDIT, kind.removeprefix("person:"), ActorKind.PERSON))
        elif kind.startswith("notice:"):
            out.append(_row(at, Source.RUNWARDEN, kind.removeprefix("notice:")))
        else:
            out.append(row := _row(at, Source.RUNWARDEN, kind))
            if kind == "applied":
                key = row.action_key = f"0.x|target-{len(out)}|rollback_traffic"
            elif kind in ("verified", "undone", "escalated"):
                row.verdict_on = key
    return out


@pytest.mark.parametrize("spec, mitigated_at", [
    # the sweep verified the write: it mitigated, at the write
    ([(2, "applied"), (9, "verified")], 2),
    # the sweep undid it (not healthy by its deadline): a person's change after it is the mitigation
    ([(2, "applied"), (12, "undone"), (15, "person:traffic_change")], 15),
    # undone, then a second write the sweep verified
    ([(2, "applied"), (12, "undone"), (20, "applied"), (27, "verified")], 20),
    # not healthy by the deadline and not reversible: the sweep escalated, never verified
    ([(2, "applied"), (12, "escalated")], None),
    # no verdict yet (the timeline built while the write settles): not shown as mitigated
    ([(2, "applied")], None),
    # the evidence unreadable at first (escalated, state kept), verified by a later sweep
    ([(2, "applied"), (12, "notice:escalated"), (14, "verified")], 2),
    # a verification belongs to the write before it, not to an earlier one
    ([(2, "applied"), (12, "undone"), (20, "applied")], None),
])
def test_only_a_write_the_sweep_verified_is_the_mitigation(spec, mitigated_at):
    failing_until_16 = minutes(*([9] * 16 + [0] * 20))
    m = derive.milestones(_rows(*spec), [], failing_until_16, T + timedelta(hours=1))
    assert (m.mitigation.at if m.mitigation else None) == (
        T + timedelta(minutes=mitigated_at) if mitigated_at is not None else None), m.mitigation


@pytest.mark.parametrize("counts, spec, mitigated_at", [
    # errors stop a minute after a person's rollback: it is the mitigation
    ([9] * 11 + [0] * 20, [(0.5, "alert_opened"), (10, "person:traffic_change")], 10),
    # a person's deploy at minute 5 did not help (errors went on to minute 30): not the mitigation
    ([9] * 31 + [0] * 20, [(0.5, "alert_opened"), (5, "person:deploy")], None),
    # ... nor when the errors stopped on their own 40 minutes after it
    ([9] * 45 + [0] * 20, [(0.5, "alert_opened"), (5, "person:deploy")], None),
    # a deploy that did not help, then a traffic move after which the errors stopped: the traffic move
    ([9] * 21 + [0] * 20, [(0.5, "alert_opened"), (5, "person:deploy"), (20, "person:traffic_change")], 20),
    # a person's change after the errors had already stopped: nothing to mitigate
    ([9] * 5 + [0] * 40, [(0.5, "alert_opened"), (20, "person:service_change")], None),
    # no error series read: nothing shows that it helped
    ([], [(0.5, "alert_opened"), (10, "person:traffic_change")], None),
    # a person's change before Runwarden's verified write, errors stopping only after the write: the write
    ([9] * 13 + [0] * 20, [(0.5, "alert_opened"), (4, "person:deploy"), (12, "applied"), (15, "verified")], 12),
    # Runwarden's rollback at 2 did not stop the errors; a person's update-traffic at 8 did, and the sweep
    # then found the service healthy and verified the write: the person's change is the mitigation
    ([9] * 9 + [0] * 20, [(0.5, "alert_opened"), (2, "applied"), (8, "person:service_change"), (12, "verified")], 8),
    # a person's change in the write's own minute: the write keeps its credit
    ([9] * 3 + [0] * 20, [(0.5, "alert_opened"), (2, "applied"), (2.5, "person:traffic_change"), (6, "verified")], 2),
    # the errors stopped after the write; a person's change later is not the mitigation
    ([9] * 3 + [0] * 20, [(0.5, "alert_opened"), (2, "applied"), (9, "person:deploy"), (12, "verified")], 2),
])
def test_a_persons_change_is_the_mitigation_only_when_the_errors_stopped_after_it(counts, spec, mitigated_at):
    m = derive.milestones(_rows(*spec), [], minutes(*counts), T + timedelta(hours=2))
    assert (m.mitigation.at if m.mitigation else None) == (
        T + timedelta(minutes=mitigated_at) if mitigated_at is not None else None), m.mitigation
    notes = derive.unhelped_changes(_rows(*spec), m)
    unhelped = [minute for minute, kind in spec if kind.startswith("person:") and minute != mitigated_at
                and (mitigated_at is None or minute < mitigated_at)]
    assert bool(notes) is bool(unhelped) and all("not counted as the mitigation" in n for n in notes), notes



def test_a_persons_change_with_no_failed_request_read_says_why_it_is_not_the_mitigation():
    """A latency policy's incident: no 5xx at all, a person's rollback. Nothing read shows it helped, and the
    note says that the series counts failed requests, not that the errors went on."""
    rows = _rows((0.5, "alert_opened"), (10, "person:traffic_change"))
    quiet = minutes(*([0] * 40))
    m = derive.milestones(rows, [], quiet, T + timedelta(hours=2))
    [note] = derive.unhelped_changes(rows, m, T + timedelta(hours=2), quiet)
    assert m.mitigation is None and "no failed request (5xx) was read" in note and "latency" in note, note


def test_a_persons_change_too_recent_to_judge_says_so():
    """Built two minutes after a person's rollback: the errors that would show it helped have not arrived."""
    rows = _rows((0.5, "alert_opened"), (10, "person:traffic_change"))
    built = T + timedelta(minutes=12)
    m = derive.milestones(rows, [], minutes(*([9] * 11 + [0])), built)
    [note] = derive.unhelped_changes(rows, m, built)
    assert m.mitigation is None and "too recent to judge" in note, note


def test_a_persons_update_traffic_after_runwardens_rollback_says_the_pin_may_be_released():
    """Runwarden rolled `backend` back (traffic pinned to backend-00001-abc); it escalated, and a person then
    ran `gcloud run services update-traffic backend --to-latest`: a v1 ReplaceService whose logged request
    carries the whole service, its template's image too. Read as a deploy, which does not move a pinned
    split, the follow-up still said the traffic is pinned and new deploys get no traffic."""
    entry = _audit("google.cloud.run.v1.Services.ReplaceService", "namespaces/demo-project/services/backend",
                   {"service": {"spec": {"template": {"spec": {"containers": [{"image": "gcr.io/demo/backend:v2"}]}},
                                         "traffic": [{"latestRevision": True, "percent": 100}]}}})
    change = change_of(entry, RELATED)
    row = TimelineEntry(at=T + timedelta(minutes=20), source=Source.AUDIT, kind=change.kind, summary=change.summary,
                        actor=Actor(kind=ActorKind.PERSON, name="dana@example.com"))
    planned = Step(at=T + timedelta(minutes=2), step="planned", trigger="alert", message="roll back", severity="INFO",
                   details={"action": "rollback_traffic",
                            "params": {"target": "backend", "to_revision": "backend-00001-abc"}},
                   function="on_alert", insert_id="p")
    applied = Step(at=T + timedelta(minutes=3), step="applied", trigger="alert", message="applied",
                   severity="INFO", details={"status": "applied"}, function="on_alert", insert_id="a")

    [pin] = [f for f in derive.follow_ups([planned, applied], [row]) if "backend-00001-abc" in f.text]
    assert "may have released it" in pin.text and "dana@example.com" in pin.text, pin.text


def test_a_write_with_no_verification_says_why_it_is_not_the_mitigation():
    [note] = derive.unverified_writes(_rows((2, "applied"), (12, "escalated")))
    assert "12:02:00Z" in note and "not counted as the mitigation" in note
    assert not derive.unverified_writes(_rows((2, "applied"), (9, "verified")))


@pytest.mark.parametrize("counts, spec, recovered_at", [
    # re-opened under the same id: the first close was not the recovery; errors stop at minute 20
    ([9] * 5 + [0] * 10 + [9] * 5 + [0] * 10,
     [(0.5, "alert_opened"), (5.2, "alert_closed"), (15.5, "alert_opened"), (21, "alert_closed")], 20),
    # the same, with the errors series not read: the last close
    ([], [(0.5, "alert_opened"), (5.2, "alert_closed"), (15.5, "alert_opened"), (21, "alert_closed")], 21),
    # re-opened and still open, errors still coming: no recovery
    ([9] * 5 + [0] * 10 + [9] * 15,
     [(0.5, "alert_opened"), (5.2, "alert_closed"), (15.5, "alert_opened")], None),
    # errors paused for 5 minutes while the alert stayed open, then came back: recovered when they stopped
    ([9] * 5 + [0] * 5 + [9] * 5 + [0] * 15, [(0.5, "alert_opened"), (16.5, "alert_closed")], 15),
    # verified, but the service failed again before the alert closed: recovered when errors stopped
    ([9] * 3 + [0] * 4 + [9] * 5 + [0] * 15,
     [(0.5, "alert_opened"), (1, "applied"), (3.5, "verified"), (13.5, "alert_closed")], 12),
    # a clean recovery: errors at zero from minute 3
    ([9] * 3 + [0] * 25, [(0.5, "alert_opened"), (1, "applied"), (3.5, "verified"), (8, "alert_closed")], 3),
])
def test_a_recovery_is_one_that_held(counts, spec, recovered_at):
    m = derive.milestones(_rows(*spec), [], minutes(*counts), T + timedelta(hours=2))
    assert (m.recovery.at if m.recovery else None) == (
        T + timedelta(minutes=recovered_at) if recovered_at is not None else None), m.recovery


def test_times_from_other_zones_are_shown_and_ordered_in_utc():
    ist = timezone(timedelta(hours=5, minutes=30))
    early = _row(datetime(2026, 11, 26, 17, 31, tzinfo=ist), Source.ALERT, "alert_opened")   # 12:01Z
    naive = _row(datetime(2026, 11, 26, 12, 2), Source.RUNWARDEN, "diagnosed")              # taken as UTC
    timeline = sample(entries=[early, naive], milestones=Milestones(detection=Milestone(at=early.at, what="alert")))

    text = render(timeline, "text")
    assert "12:01:00  alert" in text and "12:02:00  runwarden" in text and "17:31" not in text
    assert "Detection  2026-11-26 12:01:00Z" in text
    assert all(e.at.utcoffset() == timedelta(0) for e in timeline.entries)


def _step(minute: float, name: str, message: str = "") -> "Step":
    from shared.timeline.classify import Step

    return Step(at=T + timedelta(minutes=minute), step=name, trigger="alert", message=message or name,
                severity="INFO", details={}, function="runwarden-on-alert", insert_id=f"i{minute}")


def test_an_attempt_with_no_outcome_is_an_open_follow_up():
    stopped = [_step(0, "received"), _step(1, "diagnosed"), _step(1.1, "planned", "roll back to backend-00001"),
               _step(1.2, "claimed", "claimed 0.abc/backend/rollback_traffic")]
    [note] = derive.follow_ups(stopped, [])
    assert "No outcome follows Runwarden's claimed line of 12:01:12Z" in note.text and "rollback_traffic" in note.text

    finished = stopped + [_step(1.3, "applied")]
    assert not derive.follow_ups(finished, [])
    retried = finished + [_step(5, "planned", "again"), _step(5.1, "skipped", "duplicate")]
    assert not derive.follow_ups(retried, [])


def test_an_alert_that_closed_while_requests_still_failed_is_not_the_recovery():
    # The ratio dropped under the policy's threshold and the alert closed at minute 4, while the
    # service still failed requests until minute 9; quiet from minute 10.
    series = minutes(30, 30, 30, 30, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0)
    opened = _row(T + timedelta(seconds=30), Source.ALERT, "alert_opened")
    closed = _row(T + timedelta(minutes=4, seconds=10), Source.ALERT, "alert_closed")

    m = derive.milestones([opened, closed], [], series, T + timedelta(hours=1))
    assert m.recovery.at == T + timedelta(minutes=10) and "zero" in m.recovery.what

    quiet = minutes(30, 30, 30, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    closed_on_time = _row(T + timedelta(minutes=3, seconds=50), Source.ALERT, "alert_closed")
    assert derive.milestones([opened, closed_on_time], [], quiet, T + timedelta(hours=1)).recovery.at == closed_on_time.at


def test_lines_written_at_one_clock_instant_keep_the_order_they_were_written_in(monkeypatch):
    """Cloud Logging returns entries of equal timestamps in insert_id order, not as written: before, three
    steps written within the clock's resolution carried one `time` and could come back in any order."""
    import io
    import json

    from shared.timeline import writer

    instant = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    class Stopped(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant

    monkeypatch.setattr(writer, "datetime", Stopped)
    stream = io.StringIO()
    for step in ("claimed", "applied", "outcome_published"):
        writer.Timeline("inc", stream=stream).step(step, step)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    times = [datetime.fromisoformat(line["time"]) for line in lines]
    assert [line["runwarden"]["step"] for line in sorted(lines, key=lambda line: line["time"])] == \
        ["claimed", "applied", "outcome_published"]
    assert times[0] >= instant and times[0] < times[1] < times[2] < instant + timedelta(milliseconds=1)


@pytest.mark.parametrize("clock, expected", [
    (timedelta(0), timedelta(microseconds=1)),                   # the same instant: a microsecond later
    (timedelta(milliseconds=-300), timedelta(microseconds=1)),   # stepped back a little: still after
    (timedelta(seconds=-5), timedelta(seconds=-5)),              # stepped back a lot: the clock, as it is
    (timedelta(seconds=2), timedelta(seconds=2)),                # moved on: the clock
])
def test_a_lines_time_follows_the_line_before(clock, expected):
    from shared.timeline.writer import line_time

    before = line_time(datetime(2032, 5, 6, 7, 8, 9, tzinfo=timezone.utc))
    assert line_time(before + clock) == before + expected


def test_the_follow_ups_commands_render_as_code_and_the_logs_backticks_stay_text():
    """Before, the pin's follow-up put its commands in backticks inside the words, and the Markdown
    escaped them with everything else from the logs: the draft showed literal backticks, no code."""
    from markdown_it import MarkdownIt

    from shared.timeline.classify import Step

    service = "projects/demo-project/locations/us-central1/services/backend"
    planned = Step(at=T, step="planned", trigger="alert", message="roll back", severity="INFO", function="f",
                   insert_id="i1", details={"action": "rollback_traffic",
                                            "params": {"to_revision": "backend-00001-abc", "target": service}})
    steps = [planned, _step(1, "applied"), _step(2, "escalated", "check `rm -rf /` <b>now</b>")]
    follow_ups = derive.follow_ups(steps, [])
    html = MarkdownIt("commonmark").render(to_markdown(sample(follow_ups=follow_ups)))
    items = html.split("<h2>Open follow-ups</h2>")[1].split("<h2>")[0]

    gcloud = "gcloud run services update-traffic backend --to-latest --region=us-central1 --project=demo-project"
    assert f"<code>{gcloud}</code>" in items and "<code>runwarden command restore_traffic --target " + service in items
    assert "`" not in items.split("Escalated to a person")[0]      # no backtick shown around the commands
    assert "`rm -rf /`" in items and "<code>rm" not in items and "&lt;b&gt;now&lt;/b&gt;" in items
    text = render(sample(follow_ups=follow_ups), "text")
    assert f"  {gcloud}" in text and "`" not in text.split("Escalated to a person")[0]
    page = render(sample(follow_ups=follow_ups), "html")
    assert f"<code>{gcloud}</code>" in page and "`gcloud" not in page
    assert render(sample(follow_ups=follow_ups), "json").count('"commands"') == 2


def test_rows_bounded_with_more_decisions_than_fit_keep_the_last_decision_and_say_so():
    """An incident whose notifications kept coming (each a message of its own: a `skipped` row each)
    can hold more decision rows than `max_rows`. Only the first ones were kept, so the last decision
    (the write that ended it) was left out, while the words said "Runwarden's decisions and writes …
    are" shown. The earliest and the latest are kept, and the words say decisions were left out."""
    from shared.timeline.builder import _bounded

    t = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
    rows = [_row(t + timedelta(minutes=i), Source.RUNWARDEN, "skipped") for i in range(20)]
    rows.append(_row(t + timedelta(minutes=30), Source.RUNWARDEN, "applied"))

    kept, words = _bounded(rows, 10)

    assert len(kept) == 10 and kept[-1].kind == "applied" and kept[0].at == t
    assert "decisions" in words and "not all of Runwarden's decisions" in words, words


@pytest.mark.parametrize("counts, detection_minute, onset_minute", [
    ([0, 0, 0, 0, 0, 9, 9, 9], 6, 5),          # quiet, then errors: the onset is known
    ([9, 9, 9, 9, 0, 0], 2, None),             # failing from the series' first minute: it began earlier
    ([0, 9, 9, 9, 0, 0], 2, None),             # within a gap of it: a quiet minute does not end a run
    ([0, 0, 0, 0, 9, 9, 9], 5, 4),             # a quiet stretch longer than a gap before it
])
def test_errors_already_failing_where_the_series_begins_have_no_known_onset(counts, detection_minute, onset_minute):
    opened = _row(T + timedelta(minutes=detection_minute), Source.ALERT, "alert_opened", ActorKind.MONITORING)
    m = derive.milestones([opened], [], minutes(*counts), T + timedelta(hours=1))
    assert (m.onset.at if m.onset else None) == (
        T + timedelta(minutes=onset_minute) if onset_minute is not None else None), m.onset
    if onset_minute is None:
        assert derive.durations(m) == Durations()
        assert "already failing" in derive.onset_note(minutes(*counts), m)


def _over_midnight() -> IncidentTimeline:
    """An incident from 23:50 to 00:20 the next day (UTC), and a close a day later."""
    late = datetime(2026, 11, 26, 23, 50, tzinfo=timezone.utc)
    rows = [_row(late, Source.ALERT, "alert_opened", ActorKind.MONITORING),
            _row(late + timedelta(minutes=5), Source.RUNWARDEN, "applied"),
            _row(late + timedelta(minutes=15), Source.AUDIT, "traffic_change", ActorKind.PERSON),
            _row(late + timedelta(days=1, minutes=5), Source.ALERT, "alert_closed", ActorKind.MONITORING)]
    rows[1].marker, rows[3].marker = "action", "alert_close"
    return sample(entries=rows, window_start=late - timedelta(minutes=30), window_end=late + timedelta(hours=24),
                  actions=[ActionRow(at=rows[1].at, name="rollback_traffic", status="applied", summary="x")])


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_rows_on_more_than_one_day_carry_their_date(fmt):
    # 23:55 then 00:05 read as time going backwards, and a close a day later as 23:55 again.
    out = render(_over_midnight(), fmt)
    assert "2026-11-26 23:55:00" in out and "2026-11-27 00:05:00" in out and "2026-11-27 23:55:00" in out, out
    assert "2026-11-26 12:01:00" not in render(sample(), fmt)      # rows of one day: the time alone


def test_a_marker_outside_the_charts_window_is_not_drawn_at_its_edge():
    page = render(_over_midnight(), "html")
    chart = page.split('<svg class="chart"')[1].split("</svg>")[0]
    assert chart.count('class="marker marker-action"') == 1 and "marker-alert_close" not in chart, chart


def test_people_acted_first_while_requests_were_already_failing_where_the_series_begins():
    # No known onset (errors from the first minute read): a person's change during the impact, before
    # Runwarden decided, is still people acting first; one before the minutes read is not.
    series = minutes(9, 9, 9, 9, 9, 9, 0, 0)
    rows = _rows((2, "alert_opened"), (3, "person:traffic_change"), (5, "applied"), (9, "verified"))
    before = _rows((-10, "person:deploy"), (2, "alert_opened"), (5, "applied"))
    steps = [_step(5, "applied")]
    m = derive.milestones(rows, steps, series, T + timedelta(hours=1))
    assert m.onset is None
    assert derive.people_acted_first(rows, m, since=derive.earlier_onset(series, m.detection.at))
    m = derive.milestones(before, steps, series, T + timedelta(hours=1))
    assert not derive.people_acted_first(before, m, since=derive.earlier_onset(series, m.detection.at))


@pytest.mark.parametrize("counts, spec, again_at", [
    # errors stop at 5, the alert closes at 6, and come back at 18 (the policy fired again): said
    ([9] * 5 + [0] * 13 + [9] * 5 + [0] * 10, [(0.5, "alert_opened"), (6, "alert_closed")], 18),
    # errors stop for good: nothing to say
    ([9] * 5 + [0] * 30, [(0.5, "alert_opened"), (6, "alert_closed")], None),
    # no recovery shown: nothing to qualify
    ([9] * 30, [(0.5, "alert_opened")], None),
])
def test_requests_failing_again_after_the_recovery_shown_are_said(counts, spec, again_at):
    m = derive.milestones(_rows(*spec), [], minutes(*counts), T + timedelta(hours=2))
    note = derive.failed_again(minutes(*counts), m)
    assert bool(note) is (again_at is not None), note
    if again_at is not None:
        assert f"{T + timedelta(minutes=again_at):%H:%M}Z" in note and "after the recovery shown" in note
