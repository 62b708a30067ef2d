"""Where an inconclusive verdict tells a person to look next names only what the service has: a
connector (its metrics for 503s, its recent changes) only when a serving revision routes through
one, Direct VPC egress when it egresses that way, and a Cloud SQL instance only when it uses one."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature

from tests.unit.builders import CONNECTOR, SQL, Evidence
from tests.unit.test_diagnosis import OLD, quiet_connector

S = DiagnosisSettings()
DIRECT = ("default/run-egress",)


def _inconclusive_503s(path: str, sql: bool) -> Evidence:
    connector = CONNECTOR if path == "connector" else None
    interfaces = DIRECT if path == "direct" else ()
    e = Evidence().revision(OLD, -3000, memory_mib=256, connector=connector, network_interfaces=interfaces,
                            sql=(SQL,) if sql else ()).traffic(**{OLD: 100})
    e = e.requests(OLD, -120, 5, 200).requests(OLD, -11, 5, 60, code="503").latency(OLD, -120, 5, 0.2)
    return quiet_connector(e) if connector else e


# (path, Cloud SQL) -> what the advice must name, and must not.
CASES = [
    ("connector", True, ["metrics of connector backend-conn", "its connector backend-conn",
                         f"its Cloud SQL instance {SQL}"], ["Direct VPC"]),
    ("connector", False, ["metrics of connector backend-conn", "its connector backend-conn"],
     ["Cloud SQL", "database", "Direct VPC"]),
    ("direct", True, ["its Direct VPC egress (default/run-egress", f"its Cloud SQL instance {SQL}"],
     ["connector"]),
    ("direct", False, ["its Direct VPC egress (default/run-egress"], ["connector", "Cloud SQL", "database"]),
    ("none", True, [f"its Cloud SQL instance {SQL}"], ["connector", "Direct VPC"]),
    ("none", False, ["recent changes to the service"], ["connector", "Cloud SQL", "database", "Direct VPC"]),
]


@pytest.mark.parametrize("path, sql, named, unnamed", CASES,
                         ids=[f"{p}-{'sql' if s else 'no sql'}" for p, s, _, _ in CASES])
def test_look_next_names_only_the_parts_the_service_uses(path, sql, named, unnamed):
    result = diagnose(_inconclusive_503s(path, sql).bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    advice = result.recommendation
    assert advice.startswith("look next at "), advice
    for words in named:
        assert words in advice, (words, advice)
    for words in unnamed:
        assert words not in advice, (words, advice)


def test_look_next_names_no_part_when_no_serving_revision_was_read():
    e = Evidence().requests(OLD, -120, 5, 200).requests(OLD, -11, 5, 60, code="503").latency(OLD, -120, 5, 0.2)

    advice = diagnose(e.bundle(), S).recommendation

    assert "its network path and database are unknown" in advice, advice
    assert "connector" not in advice.replace("network path", ""), advice
