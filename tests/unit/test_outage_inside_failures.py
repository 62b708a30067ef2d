"""database_signs.outage_inside_failures, table-tested: whether a Cloud SQL outage that is over fell inside failures
it did not start (the service failing from more than FAILING_LEAD before it went down, and every line of reaching
the database or of its refusal logged within the outage, FAILING_LEAD either side), so that database_unreachable
names it as context rather than competing with the cause of the failures. Pure: no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.rules.database_signs import outage_inside_failures

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


CASES = {
    # A deploy's failures from -10m; a one-minute restart at -6m, its lines from -7m to -5m; up since -5m.
    "failing from -10m, down at -6m, up at -5m, its lines within: inside": dict(
        failing=-10, down=-6, up=-5, errors=[-7, -6, -5.5, -5], expect=True),
    "the same with no line of the database at all: inside": dict(
        failing=-10, down=-6, up=-5, errors=[], expect=True),
    "a line two minutes after it was up again: still inside (the edge)": dict(
        failing=-10, down=-6, up=-5, errors=[-6, -3], expect=True),
    "a line three minutes after it was up again: the database's words since, not inside": dict(
        failing=-10, down=-6, up=-5, errors=[-6, -2], expect=False),
    "a line before the failures, while it was still up: the database failing earlier, not inside": dict(
        failing=-10, down=-6, up=-5, errors=[-9, -6], expect=False),
    "failures began with the outage: its cause, not inside": dict(
        failing=-6, down=-6, up=-5, errors=[-6], expect=False),
    "failures began two minutes before it went down (the lead): not inside": dict(
        failing=-8, down=-6, up=-5, errors=[-6], expect=False),
    "failures began three minutes before it went down: inside": dict(
        failing=-9, down=-6, up=-5, errors=[-6], expect=True),
    "failures began after it went down: not inside": dict(
        failing=-4, down=-6, up=-5, errors=[-5], expect=False),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_outage_inside_failures(case: dict) -> None:
    got = outage_inside_failures(at(case["failing"]), at(case["down"]), at(case["up"]),
                                 [at(m) for m in case["errors"]])
    assert got is case["expect"]


# The rule's reading of it: a deploy's failures from -10, a Cloud SQL restart inside them.
from shared.config import DiagnosisSettings  # noqa: E402
from shared.diagnosis.diagnose import diagnose  # noqa: E402
from shared.diagnosis.signatures import Signature  # noqa: E402
from shared.remediation.planning import plan  # noqa: E402

from tests.unit.builders import Evidence  # noqa: E402
from tests.unit.test_diagnosis import NEW, OLD, deployed, quiet_connector  # noqa: E402

CLOSED = ("psycopg.OperationalError: server closed the connection unexpectedly\n"
          "\tThis probably means the server terminated abnormally")

DIAGNOSIS_CASES = {
    "a restart inside a deploy's failures, its lines within it: the deploy alone, rolled back": dict(
        deploy=-10, lines=[-6, -5.5, -5], signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "the same with a line of the database four minutes after it was up again: both in the running": dict(
        deploy=-10, lines=[-6, -5.5, -1], signature=Signature.INCONCLUSIVE, action=None),
    "the deploy's failures began with the restart: the database in the running, nothing done": dict(
        deploy=-6, lines=[-6, -5.5, -5], signature=Signature.INCONCLUSIVE, action=None),
}


@pytest.mark.parametrize("case", DIAGNOSIS_CASES.values(), ids=DIAGNOSIS_CASES.keys())
def test_an_outage_inside_a_deploys_failures_is_context(case: dict) -> None:
    e = quiet_connector(deployed(Evidence(), new_at=case["deploy"])).sql_up(-6, -5, 0)
    for minute in case["lines"]:
        e.log(minute, CLOSED, revision=NEW, count=4)
    bundle = e.bundle()

    result = diagnose(bundle, DiagnosisSettings())

    assert result.signature is case["signature"], result.summary
    planned = plan(result, bundle, DiagnosisSettings())
    assert planned.action == case["action"], planned
    if case["action"]:
        assert planned.params.to_revision == OLD
        # The restart is named beside the deploy, not left out of the answer.
        assert "database_unreachable ruled out: the database was down inside the failures" in result.summary
    else:
        assert "database_unreachable" in result.competing, result.summary


def test_an_outage_is_not_ruled_out_by_lines_never_read() -> None:
    """No line of reaching the database outside the outage proves nothing when the service's logs were not read:
    the database stays in the running beside the deploy, and the answer never says no such line was logged."""
    e = quiet_connector(deployed(Evidence(), new_at=-10)).sql_up(-6, -5, 0)
    bundle = e.bundle()
    bundle = bundle.model_copy(update={"logs": None, "gaps": ("logging: application and system log: UNAVAILABLE",)})

    result = diagnose(bundle, DiagnosisSettings())

    assert "ruled out: the database was down inside the failures" not in result.summary, result.summary
    assert "database_unreachable" in result.competing or result.signature is Signature.DATABASE_UNREACHABLE, result


def test_the_outage_ruled_out_beside_the_deploy_is_named_once_with_its_evidence() -> None:
    e = quiet_connector(deployed(Evidence(), new_at=-10)).sql_up(-6, -5, 0)
    for minute in (-6, -5.5, -5):
        e.log(minute, CLOSED, revision=NEW, count=4)

    result = diagnose(e.bundle(), DiagnosisSettings())

    assert result.signature is Signature.BAD_REVISION, result.summary
    # Named with its instance, so the words of the notable facts do not say the outage a second time.
    assert result.summary.count("went down at") == 1, result.summary
    assert any(item.role == "refutes" and "reaching the database" in item.observed for item in result.evidence), \
        result.evidence
