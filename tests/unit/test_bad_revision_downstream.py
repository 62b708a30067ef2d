"""bad_revision when the new revision's failures are another Cloud Run service's, passed on: its own
HTTP client logs the other service answering 5xx. That service may have changed in the same
minutes (Runwarden reads only the managed service); sending this one's traffic back leaves it as
it is. The deploy is then not shown the cause, and a person looks, unless the revision's own
failures outnumber the calls."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
CALL = ("requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
        "https://inventory-418273645012.us-central1.run.app/v1/stock?sku=A-{}")
SPRING = ("WebClientResponseException$ServiceUnavailable: 503 Service Unavailable from GET "
          "https://inventory-3xk2vq7abc-uc.a.run.app/v1/stock/{}")
# httpx's and aiohttp's words for the same answer, each naming the URL it called (log_signals cites both).
HTTPX = ("httpx.HTTPStatusError: Server error '500 Internal Server Error' for url "
         "'https://inventory-418273645012.us-central1.run.app/v1/stock?sku=A-{}'\n"
         "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/500")
AIOHTTP = ("aiohttp.client_exceptions.ClientResponseError: 502, message='Bad Gateway', "
           "url=URL('https://inventory-418273645012.us-central1.run.app/v1/stock?sku=A-{}')")
AIOHTTP_PLAIN = ("aiohttp.client_exceptions.ClientResponseError: 500, message='Internal Server Error', "
                 "url='https://inventory-418273645012.us-central1.run.app/v1/stock?sku=A-{}'")
# The same words for a partner's host: not another Cloud Run service's.
HTTPX_PARTNER = ("httpx.HTTPStatusError: Server error '500 Internal Server Error' for url "
                 "'https://api.partner.example/v2/labels/{}'")
OWN = "TypeError: unsupported operand type(s) for +: 'NoneType' and 'str'"

CASES = {
    "every failure line a call answered 503 (requests)": dict(calls=12, text=CALL, own=0, rolled_back=False),
    "every failure line a call answered 503 (Spring WebClient)": dict(calls=12, text=SPRING, own=0,
                                                                      rolled_back=False),
    "every failure line a call answered 500 (httpx)": dict(calls=12, text=HTTPX, own=0, rolled_back=False),
    "every failure line a call answered 502 (aiohttp, URL object)": dict(calls=12, text=AIOHTTP, own=0,
                                                                       rolled_back=False),
    "every failure line a call answered 500 (aiohttp, plain URL)": dict(calls=12, text=AIOHTTP_PLAIN, own=0,
                                                                      rolled_back=False),
    "httpx's 500s from a partner's host, not a run.app one": dict(calls=12, text=HTTPX_PARTNER, own=0,
                                                                 rolled_back=True),
    "half calls, half its own": dict(calls=6, text=CALL, own=6, rolled_back=False),
    "its own failures outnumber the calls": dict(calls=4, text=CALL, own=12, rolled_back=True),
    "two calls only": dict(calls=2, text=CALL, own=0, rolled_back=True),
    "no call at all": dict(calls=0, text=CALL, own=12, rolled_back=True),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_failures_passed_on_from_another_cloud_run_service_do_not_roll_the_deploy_back(case):
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="502")
         .latency(OLD, -90, -10, 0.2).latency(NEW, -10, 5, 0.4))
    for i in range(case["calls"]):
        e.log(-9 + i * 0.5, case["text"].format(i), revision=NEW)
    if case["own"]:
        e.log(-9, OWN, revision=NEW, count=case["own"])
    e = quiet_connector(e)

    result = diagnose(e.bundle(), S)

    planned = plan(result, e.bundle(), S)
    assert (planned.action == "rollback_traffic") == case["rolled_back"], result.summary
    if not case["rolled_back"]:
        assert result.signature is Signature.INCONCLUSIVE, result.summary
        assert "another Cloud Run service" in result.summary and "inventory-" in result.summary, result.summary
