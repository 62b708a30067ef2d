"""An incident open since an earlier day is cited with its date: "open since 12:00:00" read as today's.

Cloud Monitoring re-notifies an incident still open with its first started_at (renotifyInterval); the
evidence is then judged from the last minutes (collection.judged_since), and the narrative says since
when the incident is open. Before, it gave the time of day alone: an incident open two days read
"open since 12:00:00", today's noon to the person paged."""
from __future__ import annotations

from datetime import timedelta

from shared.config import DiagnosisSettings
from shared.diagnosis.facts import Facts
from shared.diagnosis.narrative import what_was_seen

from tests.unit.builders import T0, Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()


def seen(started_before_collection: timedelta) -> str:
    e = Evidence(read_after=0)
    e.now = 3
    e.revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -90, 3, 40)
    bundle = e.bundle()
    started = bundle.collected_at - started_before_collection
    bundle = bundle.model_copy(update={"incident_started_at": started,
                                       "judged_from": bundle.collected_at - timedelta(minutes=30)})
    return what_was_seen(Facts(bundle, S))


def test_an_incident_open_since_an_earlier_day_is_cited_with_its_date():
    text = seen(timedelta(days=2))
    start = T0 + timedelta(minutes=3) - timedelta(days=2)
    assert f"the incident is open since {start:%Y-%m-%d %H:%M:%S}; only its last 30 min" in text, text


def test_an_incident_open_since_earlier_today_is_cited_by_its_time():
    text = seen(timedelta(hours=3))
    assert "the incident is open since 09:03:00; only its last 30 min" in text, text
