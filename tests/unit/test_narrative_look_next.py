"""Where an inconclusive verdict tells a person to look next names only what the service has: a
connector (its metrics for 503s, its recent changes) only when a serving revision routes through
one, Direct VPC egress when it egresses that way, and a Cloud SQL instance only when it uses one."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature

from tests.unit.builders import CONNECTOR, SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
DIRECT = ("default/run-egress",)


def _inconclusive_503s(path: str, sql: bool) -> Evidence:
    connector = CONNECTOR if path == "connector" else None
    interfaces = DIRECT if path == "direct" else ()
    e = Evidence().revision(OLD, -3000, memory_mib=256, connector=connector, network_interfaces=interfaces,
                            sql=(SQL,) if sql else ()).traffic(**{OLD: 100})
    e = e.requests(OLD, -120, 5, 200).requests(OLD, -11, 5, 60, code="503").latency(OLD, -120, 5, 0.2)
    return quiet_connector(e) if connector else e


# (path, Cloud SQL) -> what the advice must name, and must not.
CASES = [
    ("connector", True, ["metrics of connector backend-conn", "its connector backend-conn",
                         f"its Cloud SQL instance {SQL}"], ["Direct VPC"]),
    ("connector", False, ["metrics of connector backend-conn", "its connector backend-conn"],
     ["Cloud SQL", "database", "Direct VPC"]),
    ("direct", True, ["its Direct VPC egress (default/run-egress", f"its Cloud SQL instance {SQL}"],
     ["connector"]),
    ("direct", False, ["its Direct VPC egress (default/run-egress"], ["connector", "Cloud SQL", "database"]),
    ("none", True, [f"its Cloud SQL instance {SQL}"], ["connector", "Direct VPC"]),
    ("none", False, ["recent changes to the service"], ["connector", "Cloud SQL", "database", "Direct VPC"]),
]


@pytest.mark.parametrize("path, sql, named, unnamed", CASES,
                         ids=[f"{p}-{'sql' if s else 'no sql'}" for p, s, _, _ in CASES])
def test_look_next_names_only_the_parts_the_service_uses(path, sql, named, unnamed):
    result = diagnose(_inconclusive_503s(path, sql).bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    advice = result.recommendation
    assert advice.startswith("look next at "), advice
    for words in named:
        assert words in advice, (words, advice)
    for words in unnamed:
        assert words not in advice, (words, advice)


def test_look_next_names_no_part_when_no_serving_revision_was_read():
    e = Evidence().requests(OLD, -120, 5, 200).requests(OLD, -11, 5, 60, code="503").latency(OLD, -120, 5, 0.2)

    advice = diagnose(e.bundle(), S).recommendation

    assert "its network path and database are unknown" in advice, advice
    assert "connector" not in advice.replace("network path", ""), advice


NO_INSTANCE = "The request was aborted because there was no available instance."


def _inconclusive_429s(*, seen: float | None, limit: int | None, refusal_logged: bool, truncated: bool = False):
    """A revision of days ago answering a third of its requests 429 (no deploy: nothing to roll back)."""
    e = Evidence().revision(OLD, -3000, connector=None, max_instances=limit).traffic(**{OLD: 100})
    e = e.requests(OLD, -120, 5, 200).requests(OLD, -11, 5, 100, code="429").latency(OLD, -120, 5, 0.1)
    if seen is not None:
        e = e.instances(OLD, -120, 5, seen)
    if refusal_logged:
        e = e.log(-5, NO_INSTANCE, OLD, count=5, log_id="run.googleapis.com/requests", severity="WARNING")
    bundle = e.bundle()
    if truncated:
        bundle = bundle.model_copy(update={"logs": bundle.logs.model_copy(update={"truncated": True})})
    return bundle


# (active instances seen, max instances, Cloud Run's refusal logged, log page cut short) -> what the
# advice on the 429s must say, and must not.
CASES_429 = [
    # The application's own limiter: well below the max, no refusal text, the whole log read.
    (6, 20, False, False, ["the application's own rate limiter", "ran at most 6 of its 20 max instances"],
     ["instance counts against max instances"]),
    (6, None, False, False, ["the application's own rate limiter", "ran at most 6 of its 100 max instances"],
     ["instance counts against max instances"]),
    # Cloud Run's refusal text: its own 429s, whatever the instance counts show.
    (6, 20, True, False, ["Cloud Run's 'no available instance' 429s"], ["the application's own rate limiter"]),
    # (At the max, the verdict is capacity, not a look next.) Instances unread, or the log page cut
    # short: either may be, both are named.
    (None, 20, False, False, ["whether the 429s are Cloud Run's"], ["the application's own rate limiter"]),
    (6, 20, False, True, ["whether the 429s are Cloud Run's"], ["the application's own rate limiter"]),
]


@pytest.mark.parametrize("seen, limit, logged, truncated, named, unnamed", CASES_429)
def test_look_next_says_whose_429s_they_are(seen, limit, logged, truncated, named, unnamed):
    result = diagnose(_inconclusive_429s(seen=seen, limit=limit, refusal_logged=logged, truncated=truncated), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    advice = result.recommendation
    for words in named:
        assert words in advice, (words, advice)
    for words in unnamed:
        assert words not in advice, (words, advice)


def _advises(e: Evidence, named: list[str], unnamed: list[str]) -> None:
    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    for words in named:
        assert words in result.recommendation, (words, result.recommendation)
    for words in unnamed:
        assert words not in result.recommendation, (words, result.recommendation)


MEMORY = ("Memory limit of 512 MiB exceeded with 530 MiB used. Consider increasing the memory limit, see "
          "https://cloud.google.com/run/docs/configuring/memory-limits")


@pytest.mark.parametrize("killed, named, unnamed", [
    # Cloud Run ended instances over their memory limit: the 503s are theirs, not the connector's to look at.
    (True, ["the instances' memory", "3 'Memory limit ... exceeded' entries", "the request log's 503 texts"],
     ["metrics of connector"]),
    (False, ["the request log's 503 texts and the metrics of connector backend-conn"], ["the instances' memory"]),
], ids=["memory kills", "no memory kills"])
def test_look_next_on_503s_names_the_memory_kills_cloud_run_logged(killed, named, unnamed):
    e = _inconclusive_503s("connector", sql=False)
    if killed:
        e = e.log(-5, MEMORY, OLD, count=3, log_id="run.googleapis.com/varlog/system")
    _advises(e, named, unnamed)


LIVENESS_HTTP = ('LIVENESS HTTP probe failed 3 times consecutively for container "backend" on port 8080 path '
                 '"/livez". The instance has been shut down.')
LIVENESS_TCP = ('LIVENESS TCP probe failed 1 time consecutively for container "api" on port 9000. The instance '
                'has been shut down.')
SYSTEM = "run.googleapis.com/varlog/system"


# (liveness lines: (minute, text, count), memory kills) -> what the advice must name, and must not.
# A shutdown counts only in the failing minutes (Facts.failing_window), as the rules read it.
@pytest.mark.parametrize("shut, killed, named, unnamed", [
    ([(-5, LIVENESS_HTTP, 3)], False,
     ["the instances' liveness probe", "3 'LIVENESS ... probe failed ... shut down' entries", 'path "/livez"',
      "the probe's path, period and failure threshold", "the request log's 503 texts (503s)"],
     ["metrics of connector", "the instances' memory"]),
    ([(-9, LIVENESS_TCP, 2)], False,
     ["the instances' liveness probe", "2 'LIVENESS ... probe failed ... shut down' entries", "on port 9000",
      "the probe's path, period and failure threshold"], ["metrics of connector"]),
    ([(-7, LIVENESS_HTTP, 1)], True,
     ["the instances' memory", "3 'Memory limit ... exceeded' entries", "the instances' liveness probe",
      "1 'LIVENESS ... probe failed ... shut down' entries", "the request log's 503 texts (503s)"],
     ["metrics of connector"]),
    # Shut down long before the requests failed (the failing minutes begin about 15 min before the read): not theirs.
    ([(-40, LIVENESS_HTTP, 3)], False, ["the request log's 503 texts and the metrics of connector backend-conn"],
     ["liveness"]),
    ([], False, ["the request log's 503 texts and the metrics of connector backend-conn"], ["liveness"]),
], ids=["http shutdowns", "tcp shutdowns", "with memory kills", "before the failing minutes", "none"])
def test_look_next_on_503s_names_the_liveness_shutdowns_cloud_run_logged(shut, killed, named, unnamed):
    e = _inconclusive_503s("connector", sql=False)
    for minute, text, count in shut:
        e = e.log(minute, text, OLD, count=count, log_id=SYSTEM)
    if killed:
        e = e.log(-5, MEMORY, OLD, count=3, log_id=SYSTEM)
    _advises(e, named, unnamed)


# The deploy's settings (old, new) -> the words the advice holds, or None when it names no setting.
DEPLOY_SETTINGS = {
    "min instances 4 to 0": (dict(min_instance_count=4), {}, "(min instances from 4 to 0)"),
    "session affinity turned on": ({}, dict(session_affinity=True), "(session affinity from off to on)"),
    "gen1 to gen2": (dict(execution_environment="GEN1"), dict(execution_environment="GEN2"),
                     "(execution environment from gen1 to gen2)"),
    "nothing read changed": ({}, {}, None),
}


@pytest.mark.parametrize("case", DEPLOY_SETTINGS.values(), ids=DEPLOY_SETTINGS.keys())
def test_look_next_names_the_settings_a_recent_deploy_changed_with_their_before_and_after(case):
    """503s and slow answers after a deploy, too few to blame the revision: the escalation names what the
    deploy changed in the settings that decide what the evidence means."""
    old, new, said = case
    e = (Evidence().revision(OLD, -3000).revision(NEW, -12).traffic(**{NEW: 100})
         .requests(OLD, -120, -12, 300).latency(OLD, -120, -12, 0.4)
         .requests(NEW, -12, 5, 300).requests(NEW, -12, 5, 40, code="503").latency(NEW, -12, 5, 9.0))
    e = quiet_connector(e)
    e.revs = [r.model_copy(update=old if r.short_name == OLD else new) for r in e.revs]

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    if said:
        assert f"the settings {NEW}'s deploy 12 min 00 s before the incident changed against {OLD} {said}" \
            in result.recommendation, result.recommendation
    else:
        assert "the settings" not in result.recommendation, result.recommendation


WORKER_TIMEOUT = "[2026-11-30 09:51:12 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:14)"
WORKER_KILLED = "[2026-11-30 09:51:13 +0000] [1] [ERROR] Worker (pid:15) was sent SIGKILL! Perhaps out of memory?"


# (the application server's lines: (minute, text, count), memory kills) -> what the advice must name, and must
# not. gunicorn's lines carry no severity (stderr, DEFAULT): the top error texts leave them out, so before, an
# escalation of 503s its workers' timeouts explained sent a person to the connector's metrics alone. Beside them,
# a connector whose metrics show no saturation is no lead (test_crash_evidence_look_next).
@pytest.mark.parametrize("stuck, killed, named, unnamed", [
    ([(-5, WORKER_TIMEOUT, 4)], False,
     ["the application server's own worker timeout (4 entries", "WORKER TIMEOUT (pid:14)",
      "which handlers ran past it", "and the request log's 503 texts (503s)"], ["metrics of connector"]),
    ([(-6, WORKER_TIMEOUT, 2), (-6, WORKER_KILLED, 1)], False,
     ["the application server's own worker timeout (3 entries"], []),
    # Fewer than startup_failure_logs_min (3): not named.
    ([(-5, WORKER_TIMEOUT, 2)], False, ["the request log's 503 texts and the metrics of connector backend-conn"],
     ["worker timeout"]),
    # Only before the requests failed (the failing minutes begin about 15 min before the read): not theirs.
    ([(-40, WORKER_TIMEOUT, 5)], False, ["the request log's 503 texts and the metrics of connector backend-conn"],
     ["worker timeout"]),
    # Cloud Run ended instances over their memory limit: the instances' memory first, then the workers' timeouts.
    ([(-5, WORKER_TIMEOUT, 4)], True, ["look next at the instances' memory", "; the application server's own worker "
                                       "timeout (4 entries"], ["metrics of connector"]),
], ids=["timeouts", "timeouts and a kill", "too few", "before the failing minutes", "with memory kills"])
def test_look_next_on_503s_names_the_workers_the_application_server_timed_out(stuck, killed, named, unnamed):
    e = _inconclusive_503s("connector", sql=False)
    for minute, text, count in stuck:
        e = e.log(minute, text, OLD, count=count, log_id="run.googleapis.com/stderr", severity="DEFAULT")
    if killed:
        e = e.log(-5, MEMORY, OLD, count=3, log_id=SYSTEM)
    _advises(e, named, unnamed)
