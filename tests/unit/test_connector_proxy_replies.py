"""An Envoy's own replies that it reached no upstream ("upstream connect error or disconnect/reset before
headers. reset reason: connection failure / connection timeout", response flag UF; "no healthy
upstream", UH), logged by the application as its failures, do not say where the proxy runs: a sidecar in
the instance (its dial may cross the connector) or a downstream's front past it (its answer crossed the
path). Beside a busy connector they compete, under any egress, and are never scaled for alone; dials to
the database through the connector that time out beside them are still the connector's."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import proxy_reply
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
REV = "checkout-00041-pal"

UF_TIMEOUT = ("pricing quote failed: upstream connect error or disconnect/reset before headers. reset reason: "
              "connection timeout")
UF_FAILURE = ("upstream connect error or disconnect/reset before headers. retried and the latest reset reason: "
              "remote connection failure, transport failure reason: delayed connect error: 111")
UH = "GET https://inventory.internal.example/v2/stock/8812 -> 503: no healthy upstream"
GO_DIAL = ("failed to connect to `host=10.20.0.5 user=app database=orders`: dial error (dial tcp 10.20.0.5:5432: "
           "i/o timeout)")


def incident(egress: str, lines: dict[str, int], *, code: str = "503", p99: float = 1.4) -> Evidence:
    """REV, up for days, 40 requests a minute at 0.2 s; from -9m 15 a minute answer `code` at `p99` s and
    the application logs each of `lines` that many times; the connector goes to its 3 max instances at
    CPU 95 % from -9m (another service's job)."""
    e = (Evidence().revision(REV, -4000, sql=(SQL,), egress=egress).traffic(**{REV: 100})
         .requests(REV, -90, 5, 40).latency(REV, -90, -9, 0.2).requests(REV, -9, 5, 15, code=code)
         .latency(REV, -9, 5, p99).sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("bytes", -90, 5, 2e6)
         .connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
         .connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, 0.95))
    for minute, (line, count) in enumerate(lines.items()):
        e = e.log(-8 + minute, line, REV, count=count)
    return e


# situation -> the verdict and the action planned
CASES = {
    "ALL_TRAFFIC, Envoy's connect timeout to its upstream, 503 at 1.4 s: not acted on": (
        dict(egress="ALL_TRAFFIC", lines={UF_TIMEOUT: 20}), Signature.INCONCLUSIVE, None),
    "ALL_TRAFFIC, Envoy's connection failure (refused upstream): not acted on": (
        dict(egress="ALL_TRAFFIC", lines={UF_FAILURE: 20}), Signature.INCONCLUSIVE, None),
    "ALL_TRAFFIC, no healthy upstream relayed by the application (nothing dialled): not acted on": (
        dict(egress="ALL_TRAFFIC", lines={UH: 20}), Signature.INCONCLUSIVE, None),
    "ALL_TRAFFIC, a mix of the three (a mesh's several answers): not acted on": (
        dict(egress="ALL_TRAFFIC", lines={UF_TIMEOUT: 8, UH: 8, UF_FAILURE: 6}), Signature.INCONCLUSIVE, None),
    "PRIVATE_RANGES_ONLY, the same replies: not acted on (as before)": (
        dict(egress="PRIVATE_RANGES_ONLY", lines={UF_TIMEOUT: 20}), Signature.INCONCLUSIVE, None),
    # guards
    "ALL_TRAFFIC, the database's own dials time out beside them: the connector": (
        dict(egress="ALL_TRAFFIC", lines={UF_TIMEOUT: 10, GO_DIAL: 20}, p99=10.2), Signature.CONNECTOR_SATURATION,
        "scale_connector"),
    "ALL_TRAFFIC, too few replies logged (3): the connector": (
        dict(egress="ALL_TRAFFIC", lines={UF_TIMEOUT: 3, GO_DIAL: 20}, p99=10.2), Signature.CONNECTOR_SATURATION,
        "scale_connector"),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_proxy_replies_beside_a_busy_connector(shape, signature, action):
    bundle = incident(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary


def test_the_doubt_names_the_proxy_and_what_to_check():
    result = diagnose(incident("ALL_TRAFFIC", {UF_TIMEOUT: 20}).bundle(), S)

    assert "proxy" in result.summary and "no upstream" in result.summary, result.summary


# the words: which lines are an Envoy's reply that it reached no upstream
TEXTS = {
    UF_TIMEOUT: True, UF_FAILURE: True, UH: True,
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure": True,
    "no healthy upstream": True,
    # not its replies of reaching no upstream
    "upstream request timeout": False,
    "rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing\"": False,
    "the upstream is healthy again": False,
}


@pytest.mark.parametrize("text, replied", TEXTS.items(), ids=[t[:60] for t in TEXTS])
def test_which_lines_are_proxy_replies(text, replied):
    assert proxy_reply(text) is replied
