"""Failed dials to a dependency other than the database that name the host dialled are waits on a
named host, as the HTTP clients' timeouts are: under PRIVATE_RANGES_ONLY (the API's default when
egress is unset), dials to public addresses never crossed the connector, so a connector busy with
another service's job is not scaled for them; dials to a private address cross it, and its
saturation is judged as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_connector_downstream_answers import busy_connector

S = DiagnosisSettings()
GO_PUBLIC = 'Post "https://api.partner.example/v1/quote": dial tcp 34.117.59.81:443: i/o timeout'
NODE_PUBLIC = "Error: connect ETIMEDOUT 34.117.59.81:443"
GO_PRIVATE = 'Post "http://10.128.0.20/v1/quote": dial tcp 10.128.0.20:443: i/o timeout'
REDIS_PRIVATE = "redis.exceptions.ConnectionError: Error 110 connecting to 10.60.0.4:6379. Connection timed out."
HOSTLESS = "redis.exceptions.TimeoutError: Timeout connecting to server"

ESCALATE = (Signature.INCONCLUSIVE, None)
SCALE = (Signature.CONNECTOR_SATURATION, "scale_connector")
CASES = {
    "Go's dial timeouts to a public address: never crossed the connector": (((GO_PUBLIC, 20),), ESCALATE),
    "Node's connect ETIMEDOUT to a public address: the same": (((NODE_PUBLIC, 20),), ESCALATE),
    "dial timeouts to an internal load balancer cross it (unchanged)": (((GO_PRIVATE, 20),), SCALE),
    "dial timeouts to Memorystore cross it (unchanged)": (((REDIS_PRIVATE, 20),), SCALE),
    "public and private dials mixed: some crossed it (unchanged)": (((GO_PUBLIC, 10), (GO_PRIVATE, 10)), SCALE),
    "dials that name no host say nothing of the path (unchanged)": (((HOSTLESS, 20),), SCALE),
}


@pytest.mark.parametrize("lines, expected", CASES.values(), ids=CASES.keys())
def test_dials_to_a_public_address_never_scale_the_connector(lines, expected):
    bundle = busy_connector(31.0, lines).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary
