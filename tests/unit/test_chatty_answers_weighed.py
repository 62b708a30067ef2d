"""A chatty service's downstream answers and proxy replies logged below WARNING, weighed against its failure lines
each over the read that carries it (Facts.half_or_more).

A client wrapper that logs a downstream's 429 or an Envoy's "upstream connect error" at INFO leaves those lines
to the service read's page, which a chatty service fills within minutes; the handler's own ERROR line for the
same request is read over the whole window by the read of the failure lines alone. Compared as read, the page's
last minutes of answers were weighed against the window's ERROR lines, read as a minority, and the busy
connector was scaled although every failure was a downstream's answer that crossed the path. Each is a
hold-back signal (it holds a connector's scale back): scaled over the page's span, as `logged_enough` scales it.
Pure: evidence built in memory, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle
from shared.diagnosis.facts import failure_read_carries
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence, at
from tests.unit.test_connector_downstream_answers import AIOHTTP_BARE
from tests.unit.test_connector_proxy_replies import UF_FAILURE
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
NOISE = "INFO:quotes.api:GET /api/quotes 200 in 12 ms"
OWN_502 = "ERROR:quotes.api:GET /api/quotes answered 502: quote unavailable"
ANSWER = f"INFO:quotes.clients:partner call failed: {AIOHTTP_BARE}"
REPLY = f"INFO:quotes.clients:pricing call failed: {UF_FAILURE}"


def _busy(answer: str, answers_per_minute: int, severity: str) -> Evidence:
    """One revision for hours; from -8m a fifth of its requests 503, the connector newly at its max
    (3) hanging at p99 31 s, CPU 90 %, Cloud SQL up; each minute from -8 on, 10 of the handler's own ERROR lines naming no host,
    and `answers_per_minute` of `answer` at `severity`; 60 INFO lines a minute from -40."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -8, 5, 50, code="503").latency(OLD, -90, -8, 0.09).latency(OLD, -8, 5, 31.0).sql_up(-90, 5, 1)
         .connector(max_instances=3).connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
         .connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, 0.9)
         .connector_metric("bytes", -90, -9, 4e6).connector_metric("bytes", -9, 5, 5e6))
    for minute in range(-40, 5):
        e.log(minute, NOISE, OLD, count=60, severity="INFO")
    for minute in range(-8, 5):
        e.log(minute, OWN_502, OLD, count=10)
        if answers_per_minute:
            e.log(minute + 0.5, answer, OLD, count=answers_per_minute, severity=severity)
    return e


def cut_page(evidence: Evidence, page_from: float) -> EvidenceBundle:
    """The service read's page full from `page_from` on; the read of the failure lines alone whole, holding what
    its filter takes (facts.failure_read_carries, the table Logging is asked from)."""
    b = evidence.bundle()
    page = tuple(e for e in b.logs.entries if e.timestamp >= at(page_from))
    failure = b.logs.model_copy(update={"entries": tuple(filter(failure_read_carries, b.logs.entries)),
                                        "truncated": False})
    return b.model_copy(update={"logs": b.logs.model_copy(update={"entries": page, "truncated": True}),
                                "failure_logs": failure})


CASES = {
    "every failure a downstream's 429 logged at INFO, the page's last 2 minutes alone: held, no scale": (
        ANSWER, 10, "INFO", None),
    "every failure an Envoy's reply logged at INFO, the page's last 2 minutes alone: held, no scale": (
        REPLY, 10, "INFO", None),
    "control: the same answers at ERROR, read over the window: held as before": (ANSWER, 10, "ERROR", None),
    "control: one answer a minute at INFO against ten failures: the connector's, scaled": (
        ANSWER, 1, "INFO", "scale_connector"),
    "control: no answer: scaled": (ANSWER, 0, "INFO", "scale_connector"),
}


@pytest.mark.parametrize("answer,per_minute,severity,action", CASES.values(), ids=CASES.keys())
def test_answers_logged_below_warning_are_weighed_over_the_page_they_are_on(answer, per_minute, severity, action):
    bundle = cut_page(_busy(answer, per_minute, severity), 3)
    result = diagnose(bundle, S)
    assert plan(result, bundle, S).action == action, result.summary
    if answer is ANSWER and action is None and severity == "INFO":   # says which lines were scaled over the page
        assert "on the service read's page alone" in result.summary, result.summary
