"""restore_traffic's desired split and its check of what serves afterwards: pure, no I/O."""
from __future__ import annotations

import pytest

from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
from shared.errors import PermanentError
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
    else:
        with pytest.raises(PermanentError, match="restore finished but"):
            RestoreTraffic().apply(params, Adapters(run))
    assert run.written == list(recorded)


def test_an_empty_recorded_split_is_the_apis_default_all_to_latest():
    # TrafficTarget list empty: "defaults to 100% traffic to the latest Ready Revision"
    # (Service.traffic, google/cloud/run/v2/service.proto).
    params = RestoreTrafficParams(target=SERVICE, traffic=(), undoes="k", keep_tags=(t(REV, 0, NEW, "canary"),))
    assert params.desired() == [t(LATEST, 100), t(REV, 0, NEW, "canary")]
