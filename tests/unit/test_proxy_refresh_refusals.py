"""The Cloud SQL Auth Proxy v2 (and the Go connector) refresh an instance's certificate through the
Cloud SQL Admin API; when the API refuses (403: the account lacks cloudsql.instances.get, its
roles/cloudsql.client gone) or says the instance does not exist (404: deleted, or renamed), the
proxy logs the API's own words and closes the client's connection. That is an answer: the path
works, the database (its API) refused. A busy connector in the same minutes is then not the only
cause, and is not scaled alone."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, Refusal, classify, refusal_of
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
REFRESH = ('[demo:us-central1:main-db] failed to connect to instance: failed to get instance: Refresh error: failed '
           'to get instance metadata (connection name = "demo:us-central1:main-db"): googleapi: ')
FORBIDDEN = REFRESH + ("Error 403: boss::NOT_AUTHORIZED: Not authorized to access resource. Possibly missing "
                       "permission cloudsql.instances.get on resource instances/main-db., forbidden")
GONE = REFRESH + "Error 404: The Cloud SQL instance does not exist., instanceDoesNotExist"
CLOSED = ("sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) server closed the connection unexpectedly. "
          "This probably means the server terminated abnormally before or while processing the request.")

# text -> what the Admin API answered
TEXTS = {
    "403, permission missing": (FORBIDDEN, Refusal.NOT_AUTHORIZED),
    "404, no such instance": (GONE, Refusal.NO_SUCH_INSTANCE),
    "proxy v1's config error, 404": ("errors parsing config:\n\tgoogleapi: Error 404: The Cloud SQL instance does "
                                     "not exist., instanceDoesNotExist", Refusal.NO_SUCH_INSTANCE),
}


@pytest.mark.parametrize("text, refusal", TEXTS.values(), ids=TEXTS.keys())
def test_the_admin_apis_answer_in_the_proxys_words_is_a_refusal(text, refusal):
    assert classify(text) == {LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED}
    assert refusal_of(text) == refusal


def newly_busy_connector_and(text: str) -> Evidence:
    """One revision for hours; from -7m a third of its requests 503, its proxy refused (`text`) and
    its driver's connections closed; the connector newly at max with CPU 90%; Cloud SQL up."""
    return (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
            .requests(OLD, -7, 5, 20, code="503").latency(OLD, -90, 5, 0.2).sql_up(-90, 5, 1)
            .connector(max_instances=3).connector_metric("instances", -90, -7, 2).connector_metric("instances", -7, 5, 3)
            .connector_metric("cpu", -90, -7, 0.2).connector_metric("cpu", -7, 5, 0.9)
            .connector_metric("bytes", -90, 5, 2e6).log(-6, text, OLD, count=20).log(-6, CLOSED, OLD, count=20))


@pytest.mark.parametrize("text", [FORBIDDEN, GONE], ids=["403", "404"])
def test_a_refused_refresh_beside_a_busy_connector_is_not_scaled(text):
    bundle = newly_busy_connector_and(text).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"connector_saturation", "database_unreachable"}, result.summary
    assert plan(result, bundle, S).action is None
