"""database_unreachable judges the path of the revision that carries the failing traffic, as
connector_saturation does (connector_signs.failing_revision): in a split where one revision routes
through a connector and the other takes Direct VPC egress, the newest revision's path says nothing of
the failing one's. The summary names the failing revision's path, its confidence is that path's (0.8
when the path is read healthy or has no connector, 0.6 when its connector's health is unknown), and
the recommendation names that path."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
DIRECT = ("projects/demo-project/global/networks/default/subnetworks/run-direct",)
GO = "dial tcp 10.20.0.3:5432: i/o timeout"
NODE = "Error: connect ETIMEDOUT 10.20.0.3:5432"
PGJDBC = ("org.postgresql.util.PSQLException: Connection to 10.20.0.3:5432 refused. Check that the hostname and port "
          "are correct and that the postmaster is accepting TCP/IP connections.")
ON_CONNECTOR = {}
ON_DIRECT = {"connector": None, "network_interfaces": DIRECT}
OVER_CONNECTOR = ("connector backend-conn", "is READY and shows no saturation")
OVER_DIRECT = ("over Direct VPC egress", "run-direct")
UNKNOWN = ("health of connector backend-conn", "is unknown")


def split(old: dict, new: dict, *, failing: str = OLD, share: tuple[int, int] = (80, 20), line: str = GO,
          connector_read: bool = True) -> Evidence:
    """OLD (2 days old) and NEW (2 hours old) split the traffic `share`; `failing` answers a third of
    its requests 500 from -8m and logs `line` 20 times; the other serves cleanly; Cloud SQL up."""
    clean = NEW if failing == OLD else OLD
    e = (Evidence().revision(OLD, -2880, sql=(SQL,), **old).revision(NEW, -120, sql=(SQL,), **new)
         .traffic(**{OLD: share[0], NEW: share[1]})
         .requests(failing, -90, 5, 40).requests(failing, -8, 5, 20, code="500").latency(failing, -90, 5, 0.2)
         .requests(clean, -90, 5, 10).latency(clean, -90, 5, 0.2).sql_up(-40, 5, 1)
         .log(-7, line, failing, count=20))
    if connector_read:
        e = (e.connector(max_instances=3).connector_metric("instances", -40, 5, 2)
             .connector_metric("cpu", -40, 5, 0.2).connector_metric("bytes", -40, 5, 2e6))
    return e


CASES = {
    # The failing revision's path is judged, whichever is newer.
    "old through the connector fails, new on Direct egress (Go)": (split(ON_CONNECTOR, ON_DIRECT), 0.8, OVER_CONNECTOR),
    "old on Direct egress fails, new through the connector (Go)": (split(ON_DIRECT, ON_CONNECTOR), 0.8, OVER_DIRECT),
    "old on Direct egress fails, new through the connector (Node, 60/40)": (
        split(ON_DIRECT, ON_CONNECTOR, line=NODE, share=(60, 40)), 0.8, OVER_DIRECT),
    "old on Direct egress fails, new through the connector (pgjdbc)": (
        split(ON_DIRECT, ON_CONNECTOR, line=PGJDBC), 0.8, OVER_DIRECT),
    "old through the connector fails, its connector unread, new on Direct egress": (
        split(ON_CONNECTOR, ON_DIRECT, connector_read=False), 0.6, UNKNOWN),
    # Guards: the failing revision is the newest, as before.
    "new on Direct egress fails, old through the connector": (split(ON_CONNECTOR, ON_DIRECT, failing=NEW, share=(20, 80)),
                                                              0.8, OVER_DIRECT),
    "new through the connector fails, old on Direct egress": (split(ON_DIRECT, ON_CONNECTOR, failing=NEW, share=(20, 80)),
                                                              0.8, OVER_CONNECTOR),
}


@pytest.mark.parametrize("evidence, confidence, words", CASES.values(), ids=CASES.keys())
def test_the_failing_revisions_path_is_judged(evidence, confidence, words):
    result = diagnose(evidence.bundle(), S)
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert result.confidence == confidence, result.summary
    assert all(w in result.summary for w in words), result.summary
