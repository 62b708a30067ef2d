"""The sweep's backstop for writes no attempt recorded (shared/remediation/intents.py), over the fast
tier's generated programs (tests/property/fast.py): the same programs, but nothing is ever
delivered again. Every delivery or command that raised is dead-lettered, as a subscription with few
`max_delivery_attempts` does while an attempt's claim is still held. Once the state store works
again and every claim's lease has lapsed, one sweep must leave every write that took effect
recorded for verification or escalated to a person, and no intent open.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests.property.fast import fast_run
from tests.property.harness import CONNECTOR, Open, PublishFault, Run, StoreFault
from tests.property.invariants import check_all, every_write_known, explain
from tests.property.programs import scenario_programs

CI = os.environ.get("CI", "").strip().lower() == "true"
EXAMPLES = max(1, int(os.environ.get("RUNWARDEN_FAST_EXAMPLES", "300")) // 3)


def dead_lettered(run: Run, program: list) -> None:
    """`program`, then the outage's end with no redelivery at all, past every lease, and a sweep."""
    for step in program:
        run.step(step)
    run.dead_letter()


@pytest.mark.timeout(max(300, EXAMPLES * 4))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=CI, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sample=scenario_programs())
def test_with_no_redelivery_the_sweep_leaves_no_write_unknown(sample: tuple[str, dict, list]) -> None:
    scenario, config, program = sample
    config = dict(config)
    mode, sustain = config.pop("mode"), config.pop("sustain", None)
    with fast_run(scenario, mode, sustain, **config) as run:
        dead_lettered(run, program)
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)


POLICY = {"guardrails": {"cooldown_seconds": 1800},
          "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
def test_an_unrecorded_write_whose_escalation_was_lost_and_never_redelivered_is_reported(scenario: str) -> None:
    """The write takes, the one commit after it fails ("could not be recorded"), that escalation's
    publish fails, the handler raises, and the message is dead-lettered: only the sweep is left."""
    with fast_run(scenario, "enforce", **POLICY) as run:
        dead_lettered(run, [PublishFault(1), StoreFault("write", 1, method="record_all"), Open(0, 0)])
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
        assert sum(o.run_writes + o.vpc_writes for o in run.trace) == 1
        [report] = [o for o in run.trace[-1].outcomes if o.status.value == "escalated"]
        assert "ended without recording it" in report.reason and len(run.action_records()) == 1


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
def test_a_sweep_report_whose_own_publish_failed_is_published_by_the_next_sweep_once(scenario: str) -> None:
    """As above, and then the sweep's own `escalated` publish fails too (the sweep raises): the next
    sweep publishes that report, once, and the write stays recorded for verification."""
    from tests.property.harness import LEASE_LAPSED_MINUTES, Advance, Fault, Settle, Sweep

    with fast_run(scenario, "enforce", **POLICY) as run:
        for step in [PublishFault(1), StoreFault("write", 1, method="record_all"), Open(0, 0),
                     Fault("run", "", clear=True), Settle()]:
            run.step(step)
        run.failed_deliveries, run.waiting_deliveries = [], []            # dead-lettered, as dead_letter() does
        run.failed_commands, run.waiting_commands, run.failed_sweeps = [], [], 0
        run.step(Advance(LEASE_LAPSED_MINUTES + 5))
        run.step(PublishFault(1))
        failed = run.step(Sweep(0))
        assert failed.transient == 1 and failed.outcomes == []
        retried = run.step(Sweep(0))
        [report] = [o for o in retried.outcomes if o.status.value == "escalated"]
        assert "ended without recording it" in report.reason and len(run.action_records()) == 1
        later = run.step(Sweep(1))
        assert [o for o in later.outcomes if o.status.value == "escalated"] == []
        problems = check_all(run) + every_write_known(run)
        assert not problems, explain(run, problems)
