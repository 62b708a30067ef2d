"""connector_saturation's reading of revisions that name the connector by a project number ("{project} can be
project id or number", VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto), through
connector_names.names_connector's three answers, a MAYBE never leaning toward acting: a canary that serves cleanly
naming the connector by a number that may be its project's is a clean peer (the failures may be the other
revision's own: not scaled), where compared by exact string it was read as on another connector and the
connector scaled; a failing revision naming it so is not judged on the connector read by id."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan
from tests.unit.builders import CONNECTOR, Evidence
from tests.unit.test_connector_clean_peer import NEW, OLD, split

S = DiagnosisSettings()
BY_NUMBER = "projects/123456789/locations/us-central1/connectors/backend-conn"   # the service's URL says no number


def canary_on(connector: str) -> Evidence:
    """`split`'s world (OLD hangs through CONNECTOR at max instances and CPU 95 %), its canary NEW serving 12
    requests a minute cleanly, naming its connector `connector`."""
    e = split(new_per_minute=12)
    e.revs = [r.model_copy(update={"vpc_connector": connector}) if r.short_name == NEW else r for r in e.revs]
    return e


CASES = {
    "the canary names the connector by a number that may be its project's: a clean peer, not scaled": (
        BY_NUMBER, Signature.INCONCLUSIVE, None),
    "the canary names it by id: a clean peer (unchanged)": (CONNECTOR, Signature.INCONCLUSIVE, None),
}


@pytest.mark.parametrize("named, signature, action", CASES.values(), ids=CASES.keys())
def test_a_clean_canary_naming_the_connector_by_number(named, signature, action):
    bundle = canary_on(named).bundle()
    result = diagnose(bundle, S)
    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if named == BY_NUMBER:
        assert f"{NEW} served" in result.summary and "project number that may be its" in result.summary, \
            result.summary


def test_a_failing_revision_naming_the_connector_by_number_is_not_judged_on_the_one_read_by_id():
    bundle = split(new_per_minute=0.5, old_connector=BY_NUMBER).bundle()
    result = diagnose(bundle, S)
    assert plan(result, bundle, S).action is None, result.summary
    assert "may or may not be the project of" in result.summary, result.summary
