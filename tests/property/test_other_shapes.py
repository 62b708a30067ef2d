"""The generator's commands in other shapes and an earlier version's exact-name leases (tests/property/programs.py,
`OtherShape`, `ExactNameLease`), and the invariants that judge them: each invariant table-tested on observations
alone (it must be able to fail), then the shortest directed program of each kind on the fast tier (in-process
parts, milliseconds), which fails when the product behaviour it guards is taken out (docs/testing.md, "Commands
in other shapes and exact-name leases": the mutations and what caught them).
"""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from tests.property.fast import fast_run
from tests.property.harness import (ANCHOR, CONNECTOR, NUMBER_CONNECTOR, OPERATOR, Advance, ExactNameLease,
                                    KillSwitch, Observation, Open, OperatorScale, OtherShape, Pause, Renotify)
from tests.property.invariants import (check_all, commands_answered_once, exact_name_leases_hold, explain,
                                       other_shapes_refused, paused_targets_untouched)

ONE_WAY = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 10,
                                      "max_instances_step": 1}]}}
AT = ANCHOR + timedelta(minutes=2)


def _obs(index: int, step: object, **fields: object) -> Observation:
    return Observation(index, step, AT, None, **fields)


# --- the invariants alone ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("paused", "patches", "problems"), [
    (frozenset({NUMBER_CONNECTOR}), 1, 1),   # paused by its number, patched by its id: the same connector
    (frozenset({CONNECTOR}), 1, 1),
    (frozenset({NUMBER_CONNECTOR}), 0, 0),
    (frozenset(), 1, 0),
])
def test_a_connector_paused_by_either_name_is_never_patched(paused: frozenset, patches: int, problems: int) -> None:
    run = SimpleNamespace(trace=[_obs(0, Open(0, 0), paused=paused, patch_calls=patches)])
    assert len(paused_targets_untouched(run)) == problems


def _lease_run(kind: str, cooldown: int, lapse_minutes: float, ended_minutes: float, skew: float = 0,
               laid_at: int = 0) -> SimpleNamespace:
    guardrails = SimpleNamespace(cooldown_seconds=cooldown)
    write = _obs(1, Open(0, 0), patch_calls=1, skew=skew, ended=ANCHOR + timedelta(minutes=ended_minutes))
    return SimpleNamespace(world=SimpleNamespace(config=SimpleNamespace(guardrails=guardrails)), trace=[write],
                           exact_name_leases=[(laid_at, kind, ANCHOR + timedelta(minutes=lapse_minutes))])


@pytest.mark.parametrize(("run", "problems"), [
    (_lease_run("writing", 0, 30, 10), 1),        # a write claim holds whatever the cooldown
    (_lease_run("cooldowns", 300, 30, 10), 1),
    (_lease_run("cooldowns", 0, 30, 10), 0),      # no cooldown configured: the old one holds nothing (Gate._cooldown)
    (_lease_run("writing", 0, 30, 31), 0),        # lapsed before the step ended
    (_lease_run("writing", 0, 30, 29, skew=120), 0),   # an instance 2 min ahead sees it lapsed
    (_lease_run("writing", 0, 30, 10, laid_at=1), 0),  # laid by this very step, after its write
], ids=["write-claim", "cooldown", "no-cooldown-configured", "lapsed", "skewed-past-it", "laid-after"])
def test_an_exact_name_lease_holds_every_patch_until_it_lapses(run: SimpleNamespace, problems: int) -> None:
    assert len(exact_name_leases_hold(run)) == problems


def _answered(*pairs: tuple[str | None, str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(command_id=command_id, status=SimpleNamespace(value=status), reason="r")
            for command_id, status in pairs]


@pytest.mark.parametrize(("outcomes", "transient", "problems"), [
    (_answered(("7", "rejected")), 0, 0),
    (_answered((None, "rejected")), 0, 1),            # answered under no id: its sender waits on "7"
    (_answered(("7", "rejected"), ("7", "rejected")), 0, 1),
    ([], 0, 1),
    ([], 1, 0),                                       # raised: the platform resends it (Run.finish)
], ids=["once", "no-id", "twice", "never", "raised"])
def test_a_command_is_answered_once_under_its_id_as_sent(outcomes: list, transient: int, problems: int) -> None:
    step = OtherShape("number_id", "rollback_traffic")
    run = SimpleNamespace(trace=[_obs(0, step, outcomes=outcomes, transient=transient, command_id="7")])
    assert len(commands_answered_once(run)) == problems


@pytest.mark.parametrize(("step", "status", "writes", "problems"), [
    (OtherShape("null_target", "resume"), "rejected", 0, 0),
    (OtherShape("null_target", "resume"), "applied", 0, 1),    # null read as every write: the kill switch released
    (OtherShape("number_id", "scale_connector"), "applied", 1, 2),
    (OtherShape("number_name", "pause"), "applied", 0, 0),
    (OtherShape("number_name", "pause"), "applied", 1, 1),
])
def test_a_refused_shape_is_rejected_and_no_shape_writes(step: OtherShape, status: str, writes: int,
                                                         problems: int) -> None:
    obs = _obs(0, step, outcomes=_answered(("c", status)), patch_calls=writes)
    assert len(other_shapes_refused(SimpleNamespace(trace=[obs]))) == problems


# --- directed programs on the fast tier ---------------------------------------------------------------------------


def _checked(run) -> None:
    problems = check_all(run)
    assert not problems, explain(run, problems)


def test_a_pause_of_the_connector_by_its_number_holds_the_alert_and_the_operator() -> None:
    """Fails if the gate's pause query (Gate._pauses_ahead, guardrails.paused_otherwise) misses the pause by the
    other name: the alert's scale-up and the operator's scale_connector are then written."""
    with fast_run("connector_saturation", "enforce", 90, operators=[OPERATOR], **ONE_WAY) as run:
        run.execute([OtherShape("number_name", "pause"), Open(0, 0), OperatorScale(0, 5)])
        _checked(run)
        assert [o.status.value for o in run.trace[0].outcomes] == ["applied"]
        assert sum(o.patch_calls for o in run.trace) == 0
        assert NUMBER_CONNECTOR in run.trace[1].outcomes[0].reason


def test_a_resume_by_the_number_releases_that_pause_only() -> None:
    with fast_run("connector_saturation", "enforce", 90, operators=[OPERATOR], **ONE_WAY) as run:
        run.execute([Pause("connector", True), OtherShape("number_name", "pause"), OtherShape("number_name", "resume"),
                     Open(0, 0)])
        _checked(run)
        assert sum(o.patch_calls for o in run.trace) == 0   # the pause by id still holds it


@pytest.mark.parametrize("kind", ["cooldowns", "writing"])
def test_an_exact_name_lease_holds_the_alert_until_it_lapses(kind: str) -> None:
    """Fails if the gate does not judge the lease an earlier version stored under the exact name (`_legacy_live`
    on the one-commit path, ExactNameLeases on the one-at-a-time path): the connector is patched at once."""
    with fast_run("connector_saturation", "enforce", 90, operators=[OPERATOR], **ONE_WAY,
                  guardrails={"cooldown_seconds": 300, "claim_retention_seconds": 600}) as run:
        run.execute([ExactNameLease(kind, 20), Open(0, 0), Advance(25), Renotify(0, 20)])
        _checked(run)
        assert run.trace[1].patch_calls == 0
        assert sum(o.vpc_writes for o in run.trace) == 1   # once it lapsed, the incident is acted on


@pytest.mark.parametrize("command", ["resume", "pause", "approve", "reject", "status"])
def test_a_target_sent_as_null_is_rejected_and_releases_nothing(command: str) -> None:
    """Fails if null is read as the target left out: a resume's releases the kill switch and the alert writes."""
    with fast_run("connector_saturation", "enforce", 90, operators=[OPERATOR], **ONE_WAY) as run:
        run.execute([KillSwitch(True), OtherShape("null_target", command), Open(0, 0)])
        _checked(run)
        assert [o.status.value for o in run.trace[1].outcomes] == ["rejected"]
        assert sum(o.write_calls for o in run.trace) == 0


@pytest.mark.parametrize("command", ["rollback_traffic", "scale_connector", "resume", "approve"])
def test_a_command_id_sent_as_a_number_is_rejected_under_its_text(command: str) -> None:
    """Fails if a numeric id is answered under no id (its sender, waiting on "8", times out)."""
    scenario = "bad_revision" if command == "rollback_traffic" else "connector_saturation"
    with fast_run(scenario, "enforce", 90, operators=[OPERATOR], **ONE_WAY) as run:
        run.execute([Open(0, 0), OtherShape("number_id", command, 1)])
        _checked(run)
        assert [(o.status.value, o.command_id) for o in run.trace[1].outcomes] == [("rejected", "8")]
        assert run.trace[1].write_calls == 0
