"""database/up is judged on the Cloud SQL instances the service uses, every one of them. Several
instances are read with one query in the first one's project, which answers for every instance of
that project and for none of another project's: an instance the service uses whose series is not in
the answer is unknown (never up because the others are), and an instance it does not use is not its
database."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_database_refusals import OLD, SQL_UP_ALERT, newly_saturated, quiet

S = DiagnosisSettings()
DATA = "data-proj:us-central1:catalog-db"      # the data team's project: not in the answer for SQL's project
SPARE = SQL.rsplit(":", 1)[0] + ":staging-db"  # SQL's project, used by no revision
DIAL = "dial tcp 10.20.0.3:3307: i/o timeout"


def _clean_on(sql: tuple[str, ...]) -> Evidence:
    """One revision using `sql`, serving cleanly and fast throughout."""
    return (Evidence().revision(OLD, -300, sql=sql).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
            .latency(OLD, -90, 5, 0.2))


def _saturated_on(sql: tuple[str, ...]) -> Evidence:
    """One revision using `sql`, a third answering 503 after 31 s since -12m through a newly saturated connector."""
    e = (Evidence().revision(OLD, -300, sql=sql).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
         .latency(OLD, -90, -12, 0.2).requests(OLD, -12, 5, 20, code="503").latency(OLD, -12, 5, 31))
    return newly_saturated(e).log(-5, DIAL, OLD, count=20)


CASES = {
    "a database/up alert on an instance of another project, unread; the first instance up: not healthy": dict(
        build=lambda: quiet(_clean_on((SQL, DATA))), alert=SQL_UP_ALERT,
        check=lambda r, action: r.signature is not Signature.HEALTHY),
    "control: both instances read and up, users clean: healthy": dict(
        build=lambda: quiet(_clean_on((SQL, DATA))).sql_up(-40, 5, 1, db=DATA), alert=SQL_UP_ALERT,
        check=lambda r, action: r.signature is Signature.HEALTHY),
    "a saturated connector while a used instance is unread: Cloud SQL not shown up, no action": dict(
        build=lambda: _saturated_on((SQL, DATA)), alert=None,
        check=lambda r, action: r.signature is Signature.CONNECTOR_SATURATION and action is None
        and r.confidence < S.act_min_confidence),
    "an instance of the project no revision uses went down: not the service's database": dict(
        build=lambda: _saturated_on((SQL,)).sql_up(-40, -5, 1, db=SPARE).sql_up(-5, 5, 0, db=SPARE), alert=None,
        check=lambda r, action: r.signature is Signature.CONNECTOR_SATURATION and action == "scale_connector"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_database_up_is_judged_on_every_instance_the_service_uses(case):
    bundle = case["build"]().bundle()
    if case["alert"] is not None:
        bundle = bundle.model_copy(update={"alert": case["alert"]})
    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action
    assert case["check"](result, action), (result.signature, result.confidence, action, result.summary)
