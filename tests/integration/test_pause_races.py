"""A pause or a resume landing while a write is under way, on real parts: the Firestore emulator holds the
flags, claims and plans, the Pub/Sub emulator carries every answer, and the Cloud Run stand-in answers
UpdateService with an operation polled to its end, as Google's API does. Each command lands at a set point
of the write, deterministically: it is delivered (on a thread of its own, as another instance would take it)
from a hook at that point, and the write goes on only once it has been answered.

The points, and what docs/commands.md promises at each (`pause`): a pause that lands before the gate's last
check holds the write back; one that lands after it (the write about to be sent, or sent and waiting on
Cloud Run's operation) does not stop it, and names it. In every case: no write is sent twice, each command
is answered with the state it found, and every answer is published."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Callable

import pytest

from shared.remediation import guardrails, in_flight
from shared.remediation.records import FLAGS, KILL_SWITCH
from tests.integration.test_commands import NEW, OLD, command
from tests.integration.test_remediation import still_failing
from tests.integration.world import SERVICE, World

OPERATOR = "alice@example.com"


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=[OPERATOR])
    w.seed("bad_revision")
    return w


def meanwhile(fn: Callable[[], Any]) -> Any:
    """`fn()` on a thread of its own (another instance's delivery), waited for: its answer."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["answer"] = fn()
        except Exception as exc:   # noqa: BLE001 - the answer under test
            box["answer"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return box["answer"]


def once(hook: Callable[[], Any]) -> tuple[Callable[[], None], dict[str, Any]]:
    """A callable that runs `hook` the first time only, keeping its answer in the dict returned."""
    landed: dict[str, Any] = {}

    def fire() -> None:
        if "answer" not in landed:
            landed["answer"] = None   # not again, from a call the hook itself makes
            landed["answer"] = hook()
    return fire, landed


def wait_for_plan(world: World) -> None:
    """Until the write's plan (its open intent, stored beside the gate's claim) is in Firestore."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        plans = in_flight.plans_since(world.state, world.clock.now() - timedelta(hours=1)).plans
        if plans:
            return
        time.sleep(0.05)
    raise AssertionError("the write's plan was never stored")


def answers(world: World, count: int) -> dict[str, list[str]]:
    """The answers published on the outcomes topic, by command_id (the sweep's verdicts under `sweep`)."""
    found: dict[str, list[str]] = {}
    for outcome in world.published(count):
        found.setdefault(outcome.get("command_id") or "sweep", []).append(outcome["status"])
    return found


def at_call(monkeypatch: pytest.MonkeyPatch, faults: Any, called: str, fire: Callable[[], None]) -> Callable[[], None]:
    """`fire()` each time a stand-in's `faults` see the method `called`; what removes the hook."""
    real_call = faults.before_call

    def before_call(method: str, request: Any = None) -> Any:
        if method == called:
            fire()
        return real_call(method, request)
    monkeypatch.setattr(faults, "before_call", before_call)
    return lambda: monkeypatch.setattr(faults, "before_call", real_call)


def at_operation_poll(world: World, monkeypatch: pytest.MonkeyPatch, fire: Callable[[], None]) -> None:
    """`fire()` when Cloud Run's operation is polled (GetOperation, on the stand-in): the write sent, its
    answer awaited."""
    at_call(monkeypatch, world.standins.run.faults, "GetOperation", fire)


def at_last_check(monkeypatch: pytest.MonkeyPatch, fire: Callable[[], None]) -> Callable[[], None]:
    """`fire()` right before the gate's last check (`_stop_before_write`); the way back to the real check."""
    real = guardrails.Gate._stop_before_write

    def check(self: Any, *args: Any, **kwargs: Any) -> str:
        fire()
        return real(self, *args, **kwargs)
    monkeypatch.setattr(guardrails.Gate, "_stop_before_write", check)
    return lambda: monkeypatch.setattr(guardrails.Gate, "_stop_before_write", real)


def pause(world: World, command_id: str, **fields: Any):
    return meanwhile(lambda: command(world, "pause", command_id=command_id, reason="stop it", **fields))


def rollback(world: World, command_id: str, revision: str = OLD, **fields: Any):
    return command(world, "rollback_traffic", command_id=command_id, target=SERVICE, params={"revision": revision},
                   reason="INC-7", **fields)


def test_a_pause_landing_before_the_gates_last_check_holds_the_write_back_and_says_it_may(world, monkeypatch):
    """The rollback's claim and plan are stored; the pause lands before the check right before the write.
    The write is held back (`skipped`, the kill switch named), nothing is sent. The pause found the plan
    open and names it, but it may not say the write is "not stopped": it was."""
    fire, landed = once(lambda: (wait_for_plan(world), pause(world, "pz-a"))[1])
    at_last_check(monkeypatch, fire)
    rolled = rollback(world, "rb-a")
    paused = landed["answer"]

    assert rolled.status.value == "skipped" and "kill switch engaged" in rolled.reason, rolled.reason
    assert world.standins.run.count("UpdateService") == 0
    assert paused.status.value == "applied", paused.reason
    assert "command rb-a" in paused.reason, paused.reason
    assert "not yet past that check is held back by it" in paused.reason, paused.reason
    assert answers(world, 2) == {"pz-a": ["applied"], "rb-a": ["skipped"]}


@pytest.mark.parametrize("point", ["about to be sent", "waiting on its operation"])
def test_a_pause_landing_after_the_gates_last_check_does_not_stop_the_write_and_names_it(world, monkeypatch, point):
    """Past the check: the write is sent once and answered `applied`; the pause names it as under way and
    not stopped, and every write after the pause is held back."""
    fire, landed = once(lambda: pause(world, "pz-b"))
    if point == "about to be sent":
        real = world.adapters.run.set_traffic

        def write(*args: Any, **kwargs: Any) -> Any:
            fire()
            return real(*args, **kwargs)
        monkeypatch.setattr(world.adapters.run, "set_traffic", write)
    else:
        at_operation_poll(world, monkeypatch, fire)

    rolled = rollback(world, "rb-b")
    paused = landed["answer"]

    assert rolled.status.value == "applied", rolled.reason
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}
    assert paused.status.value == "applied", paused.reason
    assert "rollback_traffic on " + SERVICE in paused.reason and "command rb-b" in paused.reason, paused.reason
    assert "already sent, or past the gate's last check, is not stopped by it" in paused.reason, paused.reason
    # After the pause, no write: the operator's next rollback (limits overridden) is held back by it.
    held = rollback(world, "rb-c", revision=NEW, override_limits=True)
    assert held.status.value == "skipped" and "kill switch engaged" in held.reason, held.reason
    assert world.standins.run.count("UpdateService") == 1
    assert answers(world, 3) == {"pz-b": ["applied"], "rb-b": ["applied"], "rb-c": ["skipped"]}


def test_a_pause_and_a_resume_landing_while_the_sweeps_undo_is_written_undo_once(world, monkeypatch):
    """The sweep undoes an alert's rollback that did not help; while its write waits on Cloud Run's
    operation, a pause lands (naming the undo under way), then a resume releasing it, then another sweep.
    The undo is sent once and published once (`undone`); the second sweep finds it being written and sends
    nothing; the pause and the resume each say what they found."""
    assert world.handle(world.alert()).status.value == "applied"
    world.published()   # the alert's answer
    still_failing(world)
    world.at(18)        # past the verification deadline: the rollback is undone

    def during_undo() -> dict[str, Any]:
        paused = pause(world, "pz-u")
        resumed = meanwhile(lambda: command(world, "resume", command_id="rs-u", reason="undo is fine"))
        swept = meanwhile(lambda: world.command({"command": "sweep"}))
        return {"pause": paused, "resume": resumed, "sweep": swept}

    fire, landed = once(during_undo)
    at_operation_poll(world, monkeypatch, fire)

    [undone] = world.command({"command": "sweep"})
    during = landed["answer"]

    assert undone.status.value == "undone", undone.reason
    assert world.standins.run.count("UpdateService") == 2 and world.serving() == {NEW: 100}
    assert during["sweep"] == [], during["sweep"]
    assert during["pause"].status.value == "applied" and "the sweep's undo of rollback_traffic" in \
        during["pause"].reason, during["pause"].reason
    assert during["resume"].status.value == "applied" and "writes allowed again" in during["resume"].reason
    assert world.state.get_record(FLAGS, KILL_SWITCH)["engaged"] is False
    assert answers(world, 3) == {"pz-u": ["applied"], "rs-u": ["applied"], "sweep": ["undone"]}


def test_a_pause_landing_before_the_undos_last_check_holds_it_back_and_a_person_hears_it(world, monkeypatch):
    """The sweep decides to undo; a pause lands before its write's last check. The undo is held back, nothing
    sent, and escalated with the refusal (docs/behaviour.md: "an undo it refuses is `escalated` with the
    refusal"), which pages; the pause's answer names the undo. A resume then, and the sweeps after it, write
    nothing more: the escalation left it to a person, and nothing is sent twice."""
    assert world.handle(world.alert()).status.value == "applied"
    world.published()
    still_failing(world)
    world.at(18)
    fire, landed = once(lambda: pause(world, "pz-h"))
    restore = at_last_check(monkeypatch, fire)
    [held] = world.command({"command": "sweep"})
    restore()
    paused = landed["answer"]

    assert held.status.value == "escalated" and "the undo did not happen: kill switch engaged" in held.reason, \
        held.reason
    # Never retried (below), so the person paged is told so, and given the command that performs it by hand.
    by_hand = (f"runwarden command restore_traffic --target {SERVICE} --param "
               f"'action_id={held.action.action_id}'")
    assert "Runwarden will not retry this undo" in held.reason and "once a resume allows writes again" in held.reason \
        and by_hand in held.reason and f"{NEW} 100%" in held.reason, held.reason
    assert held.notes and held.notes[0].startswith(by_hand) and "gcloud pubsub topics publish" in held.notes[1], \
        held.notes
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}
    assert paused.status.value == "applied" and "the sweep's undo of rollback_traffic" in paused.reason, paused.reason
    assert "not yet past that check is held back by it" in paused.reason, paused.reason
    resumed = command(world, "resume", command_id="rs-h", reason="go on")
    assert resumed.status.value == "applied", resumed.reason
    world.at(20)
    assert world.command({"command": "sweep"}) == [] and world.standins.run.count("UpdateService") == 1
    assert answers(world, 3) == {"pz-h": ["applied"], "sweep": ["escalated"], "rs-h": ["applied"]}


def test_an_alerts_write_held_at_its_last_check_is_not_released_by_the_resume_but_a_new_notification_acts(
        world, monkeypatch):
    """An alert's rollback has its claim and plan stored; a pause lands before the gate's last check. Held back
    (`skipped`, naming who paused and when). After a resume, Pub/Sub delivers that very notification again: a
    resume releases nothing by itself, so it is held again and nothing is written. Monitoring's re-notification
    of the incident (another message) is diagnosed afresh and acts, once."""
    world.at(1)
    fire, landed = once(lambda: (wait_for_plan(world), pause(world, "pz-al"))[1])
    restore = at_last_check(monkeypatch, fire)
    alert = world.alert(message_id="al-1")
    held = world.handle(alert)
    restore()
    assert held.status.value == "skipped" and "kill switch engaged" in held.reason, held.reason
    assert "set by alice@example.com at 2026-11-26 12:01:00 UTC" in held.reason, held.reason
    assert landed["answer"].status.value == "applied" and world.standins.run.count("UpdateService") == 0

    world.at(4)
    assert command(world, "resume", command_id="rs-al", reason="go on").status.value == "applied"
    world.at(5)
    again = world.handle(alert)
    assert again.status.value == "skipped" and "a resume does not release it" in again.reason, again.reason
    assert "message al-1 delivered again" in again.reason and "held back at 2026-11-26 12:01:00" in again.reason
    assert world.standins.run.count("UpdateService") == 0

    renotified = world.handle(world.alert(message_id="al-2"))
    assert renotified.status.value == "applied", renotified.reason
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}
    published = answers(world, 5)   # the alert's three answers carry no command_id
    assert {k: sorted(v) for k, v in published.items()} == {"pz-al": ["applied"], "rs-al": ["applied"],
                                                             "sweep": ["applied", "skipped", "skipped"]}


def test_an_alert_held_by_a_cooldown_is_not_acted_on_when_delivered_again_after_the_cooldown_ends(world):
    """Another write took the service's cooldown; an alert's rollback is held back by it (`skipped`, the claim
    given back). Once the cooldown has ended, Pub/Sub delivers that very notification again: a redelivery is the
    same message, not a new evaluation (docs/behaviour.md), so it is held again and nothing is written, as one
    held by the kill switch is; Monitoring's re-notification of the incident (another message) acts, once."""
    from shared.remediation.guardrails import COOLDOWNS

    world.at(1)
    world.state.claim(COOLDOWNS, SERVICE, "m-other:1", timedelta(minutes=2), world.clock.now())
    world.at(2)
    alert = world.alert(message_id="cd-1")
    held = world.handle(alert)
    assert held.status.value == "skipped" and held.reason.startswith("cooldown:"), held.reason

    world.at(5)   # the cooldown ended at 12:03
    again = world.handle(alert)
    assert again.status.value == "skipped", again.reason
    assert "message cd-1 delivered again" in again.reason and "held back at 2026-11-26 12:02:00" in again.reason
    assert "the cooldown's end does not release it" in again.reason, again.reason
    assert world.standins.run.count("UpdateService") == 0

    renotified = world.handle(world.alert(message_id="cd-2"))
    assert renotified.status.value == "applied", renotified.reason
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}
    assert sorted(o["status"] for o in world.published(3)) == ["applied", "skipped", "skipped"]


def test_a_dry_run_held_by_a_cooldown_leaves_nothing_in_firestore_that_holds_the_real_run(world):
    """Under the config's dry_run mode an alert's rollback meets another write's cooldown (`skipped`); the mode is
    then enforce, the cooldown has ended, and Pub/Sub delivers that very notification again. The dry run was never
    to write, so it keeps no hold: the delivery is diagnosed afresh and acts, once. Before, the dry run's hold was
    kept in Firestore and the real delivery was answered `skipped`, "held back at …", a hold that never happened."""
    from shared.config import Mode
    from shared.remediation.guardrails import CLAIMS, COOLDOWNS
    from shared.remediation.held_messages import held_key

    world.config = world.config.model_copy(update={"mode": Mode.DRY_RUN})
    world.at(1)
    world.state.claim(COOLDOWNS, SERVICE, "m-other:1", timedelta(minutes=2), world.clock.now())
    world.at(2)
    alert = world.alert(message_id="dry-1")
    held = world.handle(alert)
    assert held.status.value == "skipped" and held.reason.startswith("cooldown:"), held.reason
    assert any("this hold is not kept for the message" in note for note in held.notes), held.notes
    assert world.state.get(CLAIMS, held_key("dry-1")) is None

    world.config = world.config.model_copy(update={"mode": Mode.ENFORCE})
    world.at(5)   # the cooldown ended at 12:03
    again = world.handle(alert)
    assert again.status.value == "applied", again.reason
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}


def test_a_pause_landing_while_an_alerts_write_waits_on_its_operation_is_named_in_the_applied_answer(
        world, monkeypatch):
    """The alert's rollback is sent and Cloud Run's operation polled when the pause lands: the write is not
    stopped or undone, and its `applied` answer says the switch landed while it was under way, by whom and when,
    so the person who paused learns that this one went through."""
    world.at(2)
    fire, landed = once(lambda: pause(world, "pz-op", target=SERVICE))
    at_operation_poll(world, monkeypatch, fire)
    done = world.handle(world.alert(message_id="op-1"))

    assert done.status.value == "applied", done.reason
    # A pause of the service, named as one (not the kill switch), with how it is lifted.
    assert ("a pause engaged while it was under way (" + SERVICE + " paused by alice@example.com at "
            "2026-11-26 12:02:00 UTC: stop it; the kill switch is not engaged: lift this pause with runwarden resume "
            f"--target {SERVICE}") in done.reason, done.reason
    assert "already past the gate's last check, so the write was sent and is not undone by it" in done.reason
    assert landed["answer"].status.value == "applied", landed["answer"].reason
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}


@pytest.mark.parametrize("target", [None, SERVICE], ids=["kill-switch", "pause-of-the-service"])
def test_a_brake_engaged_while_the_sweep_judges_holds_its_undo_back_and_its_answer_names_it(world, monkeypatch,
                                                                                             target):
    """The sweep reads the rolled-back service's metrics to judge the rollback; while it reads them, a person
    engages the kill switch (or pauses that service). The sweep's verdict (an undo: the service still fails) is
    held back at the gate, which reads the brake then: nothing is sent, and the answer names the brake. Nothing is
    sent afterwards either, until a person decides."""
    assert world.handle(world.alert()).status.value == "applied"
    world.published()
    still_failing(world)
    world.at(18)
    fire, landed = once(lambda: pause(world, "pz-j", **({"target": target} if target else {})))
    removed = at_call(monkeypatch, world.standins.monitoring.faults, "ListTimeSeries", fire)

    [verdict] = world.command({"command": "sweep"})
    removed()

    assert landed["answer"].status.value == "applied", landed["answer"].reason
    assert verdict.status.value == "escalated" and "the undo did not happen" in verdict.reason, verdict.reason
    assert ("kill switch engaged" if target is None else "paused") in verdict.reason, verdict.reason
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}
    world.at(20)
    assert world.command({"command": "sweep"}) == [] and world.standins.run.count("UpdateService") == 1
