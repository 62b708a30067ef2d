"""The Cloud SQL Auth Proxy's refusals at its own --max-connections, logged at INFO, read over the window.

The proxy v2 writes "max connections (N) exceeded, refusing new connection" at INFO on stdout (cloud-sql-proxy
internal/proxy/proxy.go, Client.serveSocketMount; internal/log/log.go: Infof). The service read takes it at any
severity (a needle of STDOUT_SIGNALS), but a chatty service's page spans its window's last minutes alone, and
the read of the failure lines alone took needles only with no level or at WARNING or worse: refusals of the
incident's first minutes were read by neither, while the application's own ERROR lines for the same
connections were read over the whole window, and a busy connector was scaled for connections the proxy
refused inside the instance. The proxy's phrase is its refusal and nothing else (no ordinary line holds it),
so the failure read takes it at any severity. Pure: evidence built in memory, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle, LogRecord
from shared.diagnosis.facts import failure_read_carries
from shared.diagnosis.log_signals import INFO_REFUSAL_TEXTS, Refusal, refusal_of, stdout_needles
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, at
from tests.unit.test_chatty_answers_weighed import cut_page
from tests.unit.test_diagnosis import OLD
from tests.unit.test_proxy_connection_limit import CLOSED, STRUCTURED, busy_connector_and

S = DiagnosisSettings()
NOISE = "INFO:checkout:GET /cart 200 in 12 ms"
STDOUT = "run.googleapis.com/stdout"


def _chatty(evidence: Evidence, page_from: float) -> EvidenceBundle:
    """60 INFO lines a minute on stderr from -40, the page cut and the failure read made (cut_page)."""
    for minute in range(-40, 5):
        evidence.log(minute, NOISE, OLD, count=60, severity="INFO")
    return cut_page(evidence, page_from)


def _refused_early(severity: str) -> Evidence:
    """The busy connector's minutes; the proxy refuses at its limit from -6 to -3 (at `severity`), the client's
    sockets closed at ERROR over the same minutes: all before the page's last two minutes."""
    e = busy_connector_and()
    for minute in range(-6, -2):
        e.log(minute, STRUCTURED, OLD, count=5, log_id=STDOUT, severity=severity)
        e.log(minute, CLOSED, OLD, count=5)
    return e


def test_the_proxys_info_refusal_is_taken_by_both_reads():
    line = LogRecord(timestamp=at(1), log_id=STDOUT, severity="INFO", text=STRUCTURED)
    assert failure_read_carries(line)
    assert all(text in stdout_needles() for text in INFO_REFUSAL_TEXTS)   # the service read's needles
    assert all(refusal_of(f"max connections (10{text}") == Refusal.PROXY_LIMIT for text in INFO_REFUSAL_TEXTS)


CASES = {
    "the proxy's refusals at INFO, off the chatty page: read over the window, no scale": ("INFO", None),
    "control: the same refusals with no level, taken as before: no scale": ("DEFAULT", None),
}


@pytest.mark.parametrize("severity,action", CASES.values(), ids=CASES.keys())
def test_a_busy_connector_is_not_scaled_for_the_proxys_refusals_off_the_page(severity, action):
    bundle = _chatty(_refused_early(severity), 3)
    result = diagnose(bundle, S)
    assert plan(result, bundle, S).action == action, result.summary
    assert "Auth Proxy" in result.summary, result.summary
