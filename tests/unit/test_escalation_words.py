"""Every bundled scenario Runwarden does not fix by itself (expected `escalated` or `proposed`): the words a
person is paged with (the diagnosis's summary and recommendation, which the outcome's reason and the
timeline's `diagnosed` line carry) name every notable fact the diagnosis found (notable.py: a person's
change, the database down or back, the connector at its max, its CPU hot, its throughput at the machine
type's ceiling, a recent deploy, a read that failed), so the person need not re-read the evidence.

Each scenario is seeded into in-process stand-ins (sandbox/inprocess.py: the product adapters, only their
transport replaced) and routed as the eval routes it (scope.diagnose_alert); the facts are those of the
evidence the verdict stands on (the primary service's, else the first service read)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sandbox.inprocess import InProcessLogging, InProcessMonitoring, InProcessRun, InProcessVpcAccess, unstarted_standins
from sandbox.scenarios import list_bundled_scenarios, resolve_scenario, seed
from shared.alerts.incidents import parse_notification
from shared.config import parse_config
from shared.diagnosis.collection import Readers
from shared.diagnosis.facts import Facts
from shared.diagnosis.notable import notable, unsaid
from shared.diagnosis.scope import AlertVerdict, diagnose_alert
from shared.diagnosis.signatures import Signature

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def _escalating() -> list[str]:
    found = []
    for name in list_bundled_scenarios():
        scenario = resolve_scenario(name)
        expect = scenario.expect
        if scenario.alert is not None and expect is not None and expect.status in ("escalated", "proposed") \
                and expect.signature not in ("healthy", "none"):
            found.append(name)
    return found


ESCALATING = _escalating()


def _verdict(name: str) -> tuple[AlertVerdict, object]:
    from cli._inputs import as_deployed_on   # the eval's own view of Runwarden's identity on the stand-ins

    scenario = resolve_scenario(name)
    standins = unstarted_standins()
    seed(standins, scenario, T0)
    config = parse_config(scenario.config_data(f"projects/{scenario.project}/topics/runwarden-outcomes"), source=name)
    config = as_deployed_on(config, standins.run.caller)
    readers = Readers(InProcessRun(standins.run), InProcessMonitoring(standins.monitoring),
                      InProcessLogging(standins.logging), InProcessVpcAccess(standins.vpcaccess))
    return diagnose_alert(parse_notification(scenario.message_data(T0)), config, readers,
                          T0 + scenario.delivered), config


def test_the_known_case_is_among_them():
    assert "latency_p99_alert_shared_connector_at_max_cpu_hot_no_errors" in ESCALATING


@pytest.mark.parametrize("name", ESCALATING)
def test_every_notable_fact_is_named_in_the_escalation(name: str) -> None:
    verdict, config = _verdict(name)
    diagnosis = verdict.diagnosis
    if diagnosis is None or diagnosis.signature is Signature.HEALTHY:
        pytest.skip(f"no diagnosis a person reads ({verdict.skip or 'healthy'})")
    result = verdict.primary or (verdict.results[0] if verdict.results else None)
    if result is None:
        pytest.skip("no service's evidence")
    found = notable(Facts(result.bundle, config.diagnosis), result.diagnosis.stand_down)

    left = unsaid(found, f"{diagnosis.summary} {diagnosis.recommendation}")

    assert not left, f"not named: {[n.words for n in left]}\nsummary: {diagnosis.summary}"


def test_the_known_case_names_the_connector_at_its_max_and_its_cpu_in_words_a_person_reads():
    """The facts' own patterns judge the table above; this reads the words themselves: the p99 alert whose shared
    connector sat at its max with its CPU hot said only "no 503s or hangs at a client timeout"."""
    verdict, _ = _verdict("latency_p99_alert_shared_connector_at_max_cpu_hot_no_errors")
    summary = verdict.diagnosis.summary
    assert "Also found:" in summary, summary
    assert "at its max 3 instances" in summary and "CPU p99 max" in summary, summary
