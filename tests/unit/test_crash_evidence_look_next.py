"""Where an escalation over 503s tells a person to look next follows the evidence found, in the order an SRE
checks it: what ended the instances in Cloud Run's system log (memory, a crash's exit or signal, a liveness
probe), then the application server's own worker timeouts (gunicorn, Puma), then the request log. A connector
whose metrics were read and show no saturation is no lead beside such evidence; one that shows a sign, or whose
metrics hold no point, is still named after it. Worker timeouts, which carry no severity of their own, are
among the notable facts."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.notable import notable
from shared.diagnosis.signatures import Signature

from tests.unit.builders import CONNECTOR, SQL, Evidence
from tests.unit.test_diagnosis import OLD, quiet_connector

S = DiagnosisSettings()
SYSTEM = "run.googleapis.com/varlog/system"
STDERR = "run.googleapis.com/stderr"
GUNICORN = "[2026-12-07 11:51:02 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:12)"
GUNICORN_KILL = "[2026-12-07 11:51:02 +0000] [1] [ERROR] Worker (pid:12) was sent SIGKILL! Perhaps out of memory?"
PUMA_OLD = "[1] ! Terminating timed out worker: 14"
PUMA = "[1] ! Terminating timed out worker (worker failed to check in within 60 seconds): 14"

# (the evidence, its log, its severity) -> the words the advice must open with.
EVIDENCE = [
    ("Container called exit(2).", SYSTEM, "WARNING", "the instances' crashes"),
    ("Container terminated on signal 6.", SYSTEM, "WARNING", "the instances' crashes"),
    ("Memory limit of 512 MiB exceeded with 530 MiB used.", SYSTEM, "ERROR", "the instances' memory"),
    (GUNICORN, STDERR, "DEFAULT", "the application server's own worker timeout"),
    (GUNICORN_KILL, STDERR, "DEFAULT", "the application server's own worker timeout"),
    (PUMA_OLD, STDERR, "DEFAULT", "the application server's own worker timeout"),
    (PUMA, STDERR, "DEFAULT", "the application server's own worker timeout"),
]
IDS = ["exit", "signal", "memory", "gunicorn", "gunicorn-sigkill", "puma-old", "puma"]


def _503s(connector: str, text: str = "", log_id: str = STDERR, severity: str = "ERROR") -> Evidence:
    """A revision of days ago answering a sixth of its requests 503 (no deploy), behind a connector whose
    metrics are quiet, saturated or unread, with `text` logged six times in the failing minutes."""
    e = Evidence().revision(OLD, -3000, memory_mib=256, connector=CONNECTOR, sql=(SQL,)).traffic(**{OLD: 100})
    e = e.requests(OLD, -120, 5, 200).requests(OLD, -11, 5, 60, code="503").latency(OLD, -120, 5, 0.2)
    if connector == "quiet":
        e = quiet_connector(e)
    elif connector == "busy":
        e = (e.connector(max_instances=3).connector_metric("instances", -20, 5, 3)
             .connector_metric("cpu", -20, 5, 0.3).connector_metric("bytes", -20, 5, 2e6).sql_up(-20, 5, 1))
    else:
        e = e.connector(max_instances=3).sql_up(-20, 5, 1)
    return e.log(-9, text, OLD, count=6, log_id=log_id, severity=severity) if text else e


@pytest.mark.parametrize("text, log_id, severity, first", EVIDENCE, ids=IDS)
def test_a_quiet_connector_is_no_lead_beside_what_ended_the_requests(text, log_id, severity, first):
    result = diagnose(_503s("quiet", text, log_id, severity).bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    advice = result.recommendation
    assert advice.startswith(f"look next at {first}"), advice
    assert "metrics of connector" not in advice, advice


@pytest.mark.parametrize("connector", ["busy", "unread"])
@pytest.mark.parametrize("text, log_id, severity, first", EVIDENCE[:2] + EVIDENCE[3:4], ids=IDS[:2] + IDS[3:4])
def test_a_connector_at_its_max_or_unread_is_named_after_the_evidence(text, log_id, severity, first, connector):
    advice = diagnose(_503s(connector, text, log_id, severity).bundle(), S).recommendation

    assert advice.startswith(f"look next at {first}"), advice
    assert "metrics of connector backend-conn" in advice, advice
    assert advice.index(first) < advice.index("metrics of connector"), advice


def test_with_nothing_found_the_connector_is_still_where_to_look():
    advice = diagnose(_503s("quiet").bundle(), S).recommendation

    assert advice.startswith("look next at the request log's 503 texts and the metrics of connector backend-conn"), advice


@pytest.mark.parametrize("text", [GUNICORN, GUNICORN_KILL, PUMA_OLD, PUMA])
def test_worker_timeouts_are_notable(text):
    facts = Facts(_503s("quiet", text, STDERR, "DEFAULT").bundle(), S)

    found = [n for n in notable(facts) if n.kind == "worker_timeout"]

    assert len(found) == 1, notable(facts)
    assert "6 worker timeouts of the application's own server" in found[0].words
    assert found[0].said_in(diagnose(_503s("quiet", text, STDERR, "DEFAULT").bundle(), S).recommendation)


@pytest.mark.parametrize("text", [
    "[1] ! Terminating timed out worker (worker failed to boot within 60 seconds): 14",  # never started
    "Error [ERR_HTTP_REQUEST_TIMEOUT]: Request timeout",  # Node answers 408; no worker ends
    "Rack::Timeout::RequestTimeoutException: Request ran for longer than 15000ms",  # the request's own timeout
])
def test_what_is_no_worker_timeout_is_not_notable_as_one(text):
    facts = Facts(_503s("quiet", text, STDERR, "DEFAULT").bundle(), S)

    assert not [n for n in notable(facts) if n.kind == "worker_timeout"], notable(facts)
