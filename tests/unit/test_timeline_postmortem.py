"""The postmortem draft (Markdown) and the page state the milestones with their evidence: each milestone
shown links to the log entry (or the request-log query) it was read from, as the timeline's row of it
does. And a timeline built while the incident's alert is still open says so plainly, in every format:
its recovery and TTR are not final. The lines are written by the product's own writers
(tests/unit/test_timeline_verdict_keys.py); the builder reads them from an in-memory answer."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.timeline.builder import build_timeline
from shared.timeline.render import render
from shared.timeline.words import milestone_lines
from shared.timeline.writer import Timeline

from tests.unit.test_timeline_verdict_keys import (INCIDENT, KEY_R, OPENED, PROJECT, RESOURCE, ROLLBACK, T0, Line,
                                                   Pages, alert_write, entries, verdict)


def notification(minute: float, state: str, started: float = 0, ended: float | None = None) -> Line:
    """A notification Runwarden received, as the alert path writes it (`received`, its state and times)."""
    times = {"started_at": int((T0 + timedelta(minutes=started)).timestamp())}
    if ended is not None:
        times["ended_at"] = int((T0 + timedelta(minutes=ended)).timestamp())
    return (minute, "on_alert", lambda: Timeline(INCIDENT, "alert").step(
        "received", f"alert {INCIDENT} ({state})", resource=RESOURCE, state=state, **times))


def built(spec: list[Line]):
    return build_timeline(INCIDENT, PROJECT, Pages(INCIDENT, entries(spec)), T0 + timedelta(hours=1))


WRITTEN = alert_write(2, ROLLBACK) + [verdict(9, "verified", KEY_R, "rollback_traffic")]
CLOSED = notification(12, "closed", ended=11)


# The row each milestone is read from: (milestone, the row's kind).
EVIDENCE = {"Onset": "alert_opened", "Detection": "alert_opened", "Decision": "applied", "Mitigation": "applied",
            "Recovery": "verified"}


def test_every_milestone_links_to_the_row_it_was_read_from():
    timeline = built(OPENED + WRITTEN + [CLOSED])
    rows = {r.kind: r for r in timeline.entries}
    markdown, page = render(timeline, "markdown"), render(timeline, "html")

    for name, milestone in milestone_lines(timeline):
        assert milestone is not None, name
        link = rows[EVIDENCE[name]].link
        assert link and milestone.link == link, (name, milestone)
        [line] = [x for x in markdown.splitlines() if x.startswith(f"| {name} |")]
        assert f"[entry]({link})" in line, (name, line)
        assert page.count(f'href="{link}"') >= 2, name       # in the milestones, as in the table


@pytest.mark.parametrize("name, spec, open_since", [
    ("open, nothing done yet", OPENED, 0),
    ("open, a write verified", OPENED + WRITTEN, 0),
    # Closed, then opened again under the same id (a re-opened incident), not closed since: open from then.
    ("re-opened", OPENED + [notification(5, "closed", ended=4), notification(20, "open", started=19)], 19),
    ("closed", OPENED + WRITTEN + [CLOSED], None),
    ("closed, then a late redelivery of the opening", OPENED + WRITTEN + [CLOSED, notification(13, "open")], None),
])
def test_a_timeline_of_an_incident_still_open_says_so(name, spec, open_since):
    timeline = built(spec)

    expected = None if open_since is None else T0 + timedelta(minutes=open_since)
    assert timeline.open_since == expected, (name, timeline.open_since)
    for fmt in ("text", "markdown", "html"):
        said = "still open" in render(timeline, fmt)
        assert said is (open_since is not None), (name, fmt)
    assert ("open_since" in timeline.to_json_dict()), name
