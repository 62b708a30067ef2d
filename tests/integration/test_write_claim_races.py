"""Two writes to one target reaching the gate at once, with a cooldown of 0 (nothing else keeps them apart),
on real parts: the Firestore emulator holds the claims, the stand-ins answer as Google's APIs do (VPC Access
takes no etag; Cloud Run refuses a stale one). Both threads pass a barrier at the gate with the same
target read; the write first sent waits until the other attempt has answered. The target's write claim
(shared/remediation/guardrails.py `WRITING`) lets exactly one be sent; the other is answered `skipped`
naming it (an operator's command) or waits for its next delivery (an alert: WriteInFlight)."""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from shared.errors import WriteInFlight
from shared.remediation import guardrails
from shared.remediation.guardrails import WRITING
from tests.integration.test_commands import CONNECTOR, OLD, command
from tests.integration.world import SERVICE, World

NO_COOLDOWN = {"guardrails": {"cooldown_seconds": 0}}


def _race(monkeypatch: pytest.MonkeyPatch, adapter: Any, method: str,
          first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    """`first()` and `second()` on two threads, let into the gate together (a barrier at Gate.execute);
    the write sent first (`adapter.method`) waits until the other thread has answered, so that a second
    write, if the gate lets one through, is sent while the first is in flight. Their answers, in order
    (an exception raised is the answer)."""
    barrier, answered = threading.Barrier(2, timeout=20), threading.Event()
    real_execute, real_write, sent = guardrails.Gate.execute, getattr(adapter, method), []
    lock = threading.Lock()

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return real_execute(self, *args, **kwargs)

    def write(*args: Any, **kwargs: Any) -> Any:
        with lock:
            sent.append(None)
            first_sent = len(sent) == 1
        if first_sent:
            answered.wait(timeout=10)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(guardrails.Gate, "execute", execute)
    monkeypatch.setattr(adapter, method, write)
    answers: list[Any] = [None, None]

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            answers[i] = fn()
        except Exception as exc:   # noqa: BLE001 - the answer under test
            answers[i] = exc
        finally:
            answered.set()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.fixture
def connector_world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"],
              bounds={"connectors": [{"name": CONNECTOR}]}, **NO_COOLDOWN)
    w.seed("connector_saturation")
    return w


def test_two_scales_of_one_connector_at_cooldown_0_send_one_patch(connector_world, monkeypatch):
    """Two operators scale the connector at once, each on the connector as read (2-3 instances). VPC
    Access's PATCH takes no etag, so nothing refused the second: both were sent, the later one over the
    earlier (or refused as a lower count: `failed`). Now one PATCH is sent; the other command is
    `skipped`, naming the write in flight, and the write claim is given back once it has ended."""
    world = connector_world
    answers = _race(monkeypatch, world.adapters.vpcaccess, "update_connector",
                    lambda: command(world, "scale_connector", command_id="sc-alice", target=CONNECTOR,
                                    params={"max_instances": 5}, reason="INC-7"),
                    lambda: command(world, "scale_connector", command_id="sc-bob", target=CONNECTOR,
                                    params={"max_instances": 6}, reason="INC-7"))
    statuses = sorted(a.status.value for a in answers)
    assert statuses == ["applied", "skipped"], [a.reason for a in answers]
    [held] = [a for a in answers if a.status.value == "skipped"]
    assert "in flight" in held.reason and "nothing was written" in held.reason, held.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1
    assert world.state.get(WRITING, CONNECTOR) is None


@pytest.fixture
def service_world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"], **NO_COOLDOWN)
    w.seed("bad_revision")
    return w


def test_an_alert_and_a_command_rolling_back_one_service_at_cooldown_0_send_one_update(service_world,
                                                                                        monkeypatch):
    """The alert's rollback and an operator's rollback of the same service reach the gate at once. Both
    were sent; Cloud Run refused the later one on its stale etag, which was escalated to a person as a
    change under the decision (and where the etag is not enforced, UNCONFIRMED, it would have landed over
    the first). Now one UpdateService is sent: the command, if it is second, is `skipped` naming the
    alert's write; the alert, if second, raises WriteInFlight for its next delivery."""
    world = service_world
    answers = _race(monkeypatch, world.adapters.run, "set_traffic",
                    lambda: world.handle(world.alert("bad_revision")),
                    lambda: command(world, "rollback_traffic", command_id="rb-alice", target=SERVICE,
                                    params={"revision": OLD}, reason="INC-9"))
    alert, operator = answers
    assert world.standins.run.count("UpdateService") == 1, answers
    if isinstance(alert, WriteInFlight):
        assert operator.status.value == "applied", operator.reason
        assert "in flight" in str(alert) and "command rb-alice" in str(alert), alert
    else:
        assert alert.status.value == "applied", alert
        assert operator.status.value == "skipped" and "in flight" in operator.reason, operator.reason
    assert world.state.get(WRITING, SERVICE) is None


def test_a_write_claim_kept_after_an_unknown_outcome_is_given_back_by_the_sweeps_verdict(service_world):
    """On the Firestore emulator: incident alpha's rollback is sent and its answer lost (DEADLINE_EXCEEDED,
    the service read back without it), so the service's write claim is kept, and incident bravo's alert is
    held back by it (WriteInFlight). The sweep's verdict on alpha's write, at its settle time, gives the claim
    back (owner-checked, its delete guarded by the claim's update time), long before its lease; bravo's
    next delivery acts, and no write is sent twice."""
    import grpc

    world = service_world
    world.standins.run.faults.fail_next(1, grpc.StatusCode.DEADLINE_EXCEEDED, method="UpdateService")
    alpha = world.handle(world.alert("bad_revision", message_id="alpha-1", incident_id="0.alpha"))
    assert alpha.status.value == "escalated" and "could not be confirmed" in alpha.reason, alpha.reason
    kept = world.state.get(WRITING, SERVICE)
    assert kept is not None and kept.owner.startswith("alpha-1:"), kept
    bravo = world.alert("bad_revision", message_id="bravo-1", incident_id="0.bravo")
    with pytest.raises(WriteInFlight, match=kept.owner):
        world.handle(bravo)
    world.at(2 + 1 + world.config.verification.settle_seconds / 60)
    judged = world.command({"command": "sweep"})
    assert "escalated" in [o.status.value for o in judged], [o.reason for o in judged]
    assert world.clock.now() < kept.expires_at and world.state.get(WRITING, SERVICE) is None
    acted = world.handle(bravo)
    assert acted.status.value == "applied", acted.reason
    assert world.standins.run.count("UpdateService") == 2
    assert world.state.get(WRITING, SERVICE) is None
