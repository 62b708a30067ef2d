"""restore_traffic's desired split and its check of what serves afterwards: pure, no I/O."""
from __future__ import annotations

import pytest

from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
from shared.errors import OutcomeUnknownError, PermanentError
from shared.remediation.actions.restore_traffic import RestoreTraffic, RestoreTrafficParams
from tests.unit.fakes import Adapters

SERVICE = "projects/p/locations/l/services/backend"
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
LATEST = TrafficType.LATEST
REV = TrafficType.REVISION


def t(kind: TrafficType, percent: int, revision: str | None = None, tag: str = "") -> TrafficTarget:
    return TrafficTarget(type=kind, revision=revision, percent=percent, tag=tag)


class _Run:
    """A RunPort whose write answers with the service given (the traffic as it then serves)."""

    def __init__(self, statuses: tuple[TrafficTarget, ...]) -> None:
        self.statuses = statuses
        self.written: list[TrafficTarget] = []

    def set_traffic(self, name, traffic, etag):
        self.written = list(traffic)
        return Service(name=name, generation=3, traffic=tuple(traffic), traffic_statuses=self.statuses)


# (recorded split, what serves after the write, the restore stands)
CASES = {
    "a revision named twice: through LATEST and by its tag": (
        (t(LATEST, 100), t(REV, 0, NEW, "canary")),
        (t(LATEST, 100, NEW), t(REV, 0, NEW, "canary")), True),
    "a revision with a share and a second tag": (
        (t(REV, 100, NEW), t(REV, 0, NEW, "v2"), t(REV, 0, OLD, "v1")),
        (t(REV, 100, NEW), t(REV, 0, NEW, "v2"), t(REV, 0, OLD, "v1")), True),
    "a split": (
        (t(REV, 90, OLD), t(REV, 10, NEW, "canary")),
        (t(REV, 90, OLD), t(REV, 10, NEW, "canary")), True),
    "serving is not the split written": (
        (t(REV, 90, OLD), t(REV, 10, NEW)),
        (t(REV, 100, OLD),), False),
    "LATEST written, a pinned revision serves": (
        (t(LATEST, 100),),
        (t(REV, 100, OLD),), False),
}


@pytest.mark.parametrize("name", CASES)
def test_what_serves_is_judged_per_revision_and_for_latest(name):
    recorded, serving, stands = CASES[name]
    params = RestoreTrafficParams(target=SERVICE, traffic=recorded, undoes="k")
    run = _Run(serving)
    if stands:
        RestoreTraffic().apply(params, Adapters(run))
    else:   # the write was answered: in doubt (recorded and escalated by the gate), never given back as failed
        with pytest.raises(OutcomeUnknownError, match="restore finished but") as caught:
            RestoreTraffic().apply(params, Adapters(run))
        assert not isinstance(caught.value, PermanentError)
    assert run.written == list(recorded)


def test_an_empty_recorded_split_is_the_apis_default_all_to_latest():
    # TrafficTarget list empty: "defaults to 100% traffic to the latest Ready Revision"
    # (Service.traffic, google/cloud/run/v2/service.proto).
    params = RestoreTrafficParams(target=SERVICE, traffic=(), undoes="k", keep_tags=(t(REV, 0, NEW, "canary"),))
    assert params.desired() == [t(LATEST, 100), t(REV, 0, NEW, "canary")]


def _revision(name: str, ready: bool = True):
    from datetime import datetime, timezone

    from shared.diagnosis.evidence import Condition, Revision
    state = "CONDITION_SUCCEEDED" if ready else "CONDITION_FAILED"
    return Revision(name=f"{SERVICE}/revisions/{name}", service=SERVICE, create_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
                    conditions=(Condition(type="Ready", state=state),))


SERVABLE = {   # name: (recorded split, revisions now, why it cannot be put back: "" if it can)
    "every revision there and Ready": ((t(REV, 90, NEW), t(REV, 10, OLD)), (_revision(OLD), _revision(NEW)), ""),
    "all to LATEST names no revision": ((t(LATEST, 100),), (), ""),
    "a revision deleted since": ((t(REV, 100, NEW),), (_revision(OLD),), f"{NEW} no longer exists"),
    "a revision with a share no longer Ready": ((t(REV, 100, NEW),), (_revision(OLD), _revision(NEW, ready=False)),
                                                f"{NEW} is not Ready"),
    # A tag at 0% serves only its own URL: not Ready or deleted, it is left out of the restore and named
    # (servable_restore, tests/unit/test_restore_tags.py), no failure of the split.
    "a tagged revision at 0% not Ready": ((t(LATEST, 100), t(REV, 0, NEW, "canary")),
                                          (_revision(OLD), _revision(NEW, ready=False)), ""),
    "a tagged revision at 0% deleted": ((t(LATEST, 100), t(REV, 0, NEW, "canary")), (_revision(OLD),), ""),
    "both, each named": ((t(REV, 50, NEW), t(REV, 50, OLD)), (_revision(OLD, ready=False),),
                         f"{NEW} no longer exists; {OLD} is not Ready"),
}


@pytest.mark.parametrize("name", SERVABLE)
def test_a_recorded_split_is_put_back_only_onto_revisions_that_can_serve_it(name):
    from shared.remediation.actions.restore_traffic import cannot_serve
    recorded, revisions, why = SERVABLE[name]
    assert cannot_serve(recorded, revisions) == why


def test_a_restores_note_stored_as_text_by_an_earlier_version_reads_as_the_same_instant():
    """RestoreMark.at is a timestamp now (RestoreMark.stored); notes stored before held ISO text."""
    from datetime import datetime, timezone

    from shared.remediation.records import PinRecord

    pin = PinRecord.model_validate({
        "service": "projects/p/locations/r/services/s", "revision": "s-00001-abc", "action_id": "a",
        "pinned_at": datetime(2026, 11, 26, 12, tzinfo=timezone.utc),
        "restoring": {"command_id": "rs-1", "requested_by": "alice@example.com", "at": "2026-11-26T12:02:00Z",
                      "traffic": [{"type": "LATEST", "revision": None, "percent": 100, "tag": ""}]}})
    assert pin.restoring.at == datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc)
    assert pin.restoring.stored()["at"] == pin.restoring.at
