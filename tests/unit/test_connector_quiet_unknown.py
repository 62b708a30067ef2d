"""A connector is no lead beside the evidence of what ended the requests only when it is shown quiet: each of
the series that judge its saturation (instances, CPU p99, throughput against a known ceiling; notable._connector)
holds points in the incident window, and the connector read is the one every serving revision routes through
(only one connector's metrics are read). A series with no point, or a serving revision on another connector, is
unknown, never quiet: the look-next advice names the connector's metrics after the evidence."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose

from tests.unit.builders import CONNECTOR, SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD

S = DiagnosisSettings()
SYSTEM = "run.googleapis.com/varlog/system"
CRASH = "Container called exit(2)."
OTHER = CONNECTOR.replace("backend-conn", "batch-conn")
ALL = ("instances", "cpu", "bytes")


def _crashing(read: tuple[str, ...], other_serves: bool = False) -> Evidence:
    """Revisions of days ago answering part of their requests 503 while their instances crash, behind
    backend-conn whose `read` series hold quiet points (2 of 3 instances, CPU 30 %, 2 MB/s); with
    `other_serves`, a second revision on batch-conn takes half the traffic."""
    e = Evidence().revision(OLD, -3000, memory_mib=256, connector=CONNECTOR, sql=(SQL,))
    e = e.requests(OLD, -120, 5, 200).requests(OLD, -11, 5, 60, code="503").latency(OLD, -120, 5, 0.2)
    if other_serves:
        e = e.revision(NEW, -2900, memory_mib=256, connector=OTHER, sql=(SQL,)).traffic(**{OLD: 50, NEW: 50})
        e = e.requests(NEW, -120, 5, 200).latency(NEW, -120, 5, 0.2)
    else:
        e = e.traffic(**{OLD: 100})
    e = e.connector(max_instances=3).sql_up(-20, 5, 1)
    for which, value in (("instances", 2), ("cpu", 0.3), ("bytes", 2e6)):
        if which in read:
            e = e.connector_metric(which, -20, 5, value)
    return e.log(-9, CRASH, OLD, count=6, log_id=SYSTEM, severity="WARNING")


CASES = {
    "every series read and quiet: no lead": (ALL, False, False),
    "CPU unread: unknown, named": (("instances", "bytes"), False, True),
    "throughput unread: unknown, named": (("instances", "cpu"), False, True),
    "instances unread: unknown, named": (("cpu", "bytes"), False, True),
    "a second serving revision on another connector, its metrics unread: named": (ALL, True, True),
}


@pytest.mark.parametrize("read, other_serves, named", CASES.values(), ids=CASES.keys())
def test_a_connector_is_quiet_only_when_every_series_judging_it_is_read(read, other_serves, named):
    advice = diagnose(_crashing(read, other_serves).bundle(), S).recommendation

    assert advice.startswith("look next at the instances' crashes"), advice
    assert ("metrics of connector" in advice) is named, advice
    if other_serves:
        assert "batch-conn" in advice, advice
