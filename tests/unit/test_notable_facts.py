"""What a person paged for a verdict Runwarden does not act on reads: every notable fact the diagnosis found
(notable.py), named once, in the summary or its recommendation, with its number and its bar.

The base is a p99 alert's evidence that no rule matches: requests all 200, the p99 at 7.5 s from 13 minutes
before the incident. Each row adds facts to it (the connector at its max, its CPU hot, its throughput at the
machine type's ceiling, the database down and back, a deploy, a person's change, a read that failed) and
names the words each must bring; a row whose verdict is a signature checks that what the rule already says
is not said again."""
from __future__ import annotations

import re

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose as diagnosed
from shared.diagnosis.evidence import AlertContext, EvidenceBundle
from shared.diagnosis.facts import Facts
from shared.diagnosis.notable import notable, noted, unsaid
from shared.diagnosis.signatures import Signature

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD

S = DiagnosisSettings()
# The known case's alert: p99 request latency above 2 s.
P99 = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_latencies",
                   comparison="COMPARISON_GT", threshold=2000.0)
GAP = "logging: audit log: PermissionDenied: 403 caller lacks logging.logEntries.list"


def diagnose(bundle: EvidenceBundle, settings: DiagnosisSettings):
    """The diagnosis under the p99 alert's bar, as the alert path reads it."""
    return diagnosed(bundle.model_copy(update={"alert": P99}), settings)


def _slow(e: Evidence, revision: str = OLD) -> Evidence:
    """A revision answering every request 200, its p99 climbing to 7.5 s from -13 min."""
    return (e.requests(revision, -60, 2, 300).latency(revision, -60, -13, 0.3).latency(revision, -13, 2, 7.5)
            .connector(max_instances=3).sql_up(-60, 2, 1))


def _base() -> Evidence:
    return _slow(Evidence().revision(OLD, -3000, sql=(SQL,)).traffic(**{OLD: 100}))


def at_max(e: Evidence) -> Evidence:
    return e.connector_metric("instances", -60, -13, 2).connector_metric("instances", -13, 2, 3)


def cpu_hot(e: Evidence) -> Evidence:
    return e.connector_metric("cpu", -60, -13, 0.25).connector_metric("cpu", -13, 2, 0.94)


def throughput(e: Evidence) -> Evidence:
    # 36e6 bytes/s is 288 Mbps, 96 % of an e2-micro connector's 300 Mbps at 3 instances (bar 80 %).
    return e.connector_metric("bytes", -60, -13, 2e6).connector_metric("bytes", -13, 2, 36e6)


def database_blip(e: Evidence) -> Evidence:
    return e.sql_up(-10, -6, 0)


def deployed(e: Evidence) -> Evidence:
    fresh = Evidence().revision(OLD, -3000, sql=(SQL,)).revision(NEW, -20, sql=(SQL,)).traffic(**{NEW: 100})
    fresh.requests(OLD, -60, -20, 300).latency(OLD, -60, -20, 0.3)
    fresh = _slow(fresh, NEW)
    fresh.req.pop((NEW, "200"))
    fresh.requests(NEW, -20, 2, 300)
    fresh.conn_series = e.conn_series
    return fresh


def person(e: Evidence) -> Evidence:
    return e.audit(-1, "alice@example.com")


ROWS = {
    # name: (changes, the words the summary or recommendation must carry)
    "connector at max and CPU hot (the known case)": (
        (at_max, cpu_hot), [r"backend-conn at its max 3 instances", r"CPU p99 max 94% \(bar 80%\)"]),
    "connector at max alone": ((at_max,), [r"backend-conn at its max 3 instances \(connector/instances peak 3\)"]),
    "CPU hot alone": ((cpu_hot,), [r"CPU p99 max 94% \(bar 80%\)"]),
    "throughput at the ceiling": ((throughput,), [r"288 Mbps of its e2-micro ceiling 300 Mbps \(bar 80%\)"]),
    "database down and back": ((database_blip,), [r"main-db (went )?down", r"up again"]),
    "a deploy in the window": ((deployed,), [rf"{NEW} deployed 20 min 00 s before the incident, replacing {OLD}"]),
    "a person's change": ((person,), [r"automation stands down for recent human change: .*alice@example\.com"]),
    "every fact at once": ((deployed, at_max, cpu_hot, throughput, database_blip, person),
                           [r"stands down", r"main-db (went )?down", r"at its max 3", r"CPU p99 max 94%", r"288 Mbps",
                            rf"{NEW} deployed"]),
    "nothing notable": ((), []),
}


@pytest.mark.parametrize("name", ROWS)
def test_each_notable_fact_is_named_once_in_the_words(name: str) -> None:
    changes, wanted = ROWS[name]
    e = _base()
    for change in changes:
        e = change(e)
    result = diagnose(e.bundle(), S)
    words = f"{result.summary} {result.recommendation}"
    before, _, added = result.summary.partition(" Also found: ")

    assert result.signature is not Signature.HEALTHY, result.summary
    for pattern in wanted:
        assert re.search(pattern, words), f"{pattern!r} not in: {words}"
        # Said by the rule or added, never both.
        assert not (re.search(pattern, f"{before} {result.recommendation}") and re.search(pattern, added)), words
    if not wanted:
        assert "Also found" not in result.summary


def test_a_read_that_failed_is_named():
    bundle = at_max(_base()).bundle().model_copy(update={"gaps": (GAP,)})

    result = diagnose(bundle, S)

    assert GAP in f"{result.summary} {result.recommendation}"


def test_what_the_matched_rule_already_says_is_not_said_again():
    """A saturated connector's own summary names its max and CPU: nothing of them is added; the deploy it does
    not name is."""
    e = _base().connector_metric("instances", -60, -13, 2).connector_metric("instances", -13, 2, 3)
    e = e.connector_metric("cpu", -60, -13, 0.25).connector_metric("cpu", -13, 2, 0.97)
    e.requests(OLD, -12, 2, 60, code="503").log(-5, "upstream connect error: connection timeout", OLD, count=20)
    result = diagnose(e.bundle(), S)
    found = notable(Facts(e.bundle(), S), result.stand_down)

    assert {n.kind for n in found} >= {"connector_at_max", "connector_cpu"}
    assert not unsaid(found, f"{result.summary} {result.recommendation}")
    assert result.summary.count("CPU p99 97%") == 1 and result.summary.count("max instances (3)") <= 1


@pytest.mark.parametrize("words, said", [
    ("connector backend-conn is saturated: at max instances (3), CPU p99 94%", True),
    ("connector backend-conn shows only its instance count at max (at max instances (3))", True),
    ("backend-00001-abc is at its 10 max instances and refuses", False),         # Cloud Run's max, not the connector's
    ("refusals, but the revision is not shown at its max instances", False),
])
def test_the_connector_at_its_max_is_told_from_cloud_runs_max(words: str, said: bool) -> None:
    found = [n for n in notable(Facts(at_max(_base()).bundle(), S)) if n.kind == "connector_at_max"]

    assert found and found[0].said_in(words) is said


def test_a_deploy_the_words_call_not_recent_is_not_taken_as_said():
    found = [n for n in notable(Facts(deployed(_base()).bundle(), S)) if n.kind == "deploy"]

    assert found and not found[0].said_in(f"{NEW} was not deployed shortly before the incident")
    assert found[0].said_in(f"{NEW} fails since its deploy")


def test_noted_adds_nothing_when_all_is_said():
    assert noted("all said.", ()) == "all said."


def test_a_sign_the_rules_left_out_never_becomes_the_sign_a_plan_answers():
    """Planning reads the stress signs from the rule's own words (planning._cpu_bound): a CPU named for the
    person after "Also found:" must not turn a max raise into a machine-type move."""
    from shared.diagnosis.notable import rule_words

    summary = noted("connector backend-conn is saturated: at max instances (3).",
                    tuple(n for n in notable(Facts(cpu_hot(at_max(_base())).bundle(), S)) if n.kind == "connector_cpu"))

    assert "CPU p99 max 94%" in summary and "CPU" not in rule_words(summary)
