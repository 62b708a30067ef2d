"""A message whose page claim another delivery took and has not completed (shared.pipeline PageInProgress) is
waited out: its deliveries raise so that Pub/Sub delivers it again, until the claim is completed (`skipped`,
naming the outcome sent), given back or lapsed after its lease (this delivery sends the page). Waiting costs one
read a delivery, as waiting out another message's write in flight does (`_still_in_flight`): the claim, never
the alert's evidence. On the in-process parts (tests/property/fast.py), through the function's own entry."""
from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from shared.alerts.delivery import DeliveryCounter, message_key
from shared.clock import skew_safe_lease
from shared.commands import handle_command_delivery
from shared.outcomes import OutcomeStatus
from shared.pipeline import PageInProgress, handle_delivery
from shared.remediation.guardrails import CLAIMS
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR

HOLDER = "other-delivery:1"


class _CountingState:
    """The world's state store, its calls counted by method (our own store, not a Google client)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return value(*args, **kwargs)
        return call


def _api_calls(w: FastWorld) -> int:
    return sum(len(getattr(w.standins, name).calls) for name in ("run", "monitoring", "logging", "vpcaccess"))


def _held_page(scenario: str = "low_traffic", message_id: str = "page-1") -> tuple[FastWorld, dict, str, Any]:
    """An alert escalated (a page), whose page claim another delivery took a moment ago and holds, unsent."""
    w = FastWorld(seeded_copy(scenario, None), ANCHOR)
    counting = _CountingState(w.adapters.state)
    w.adapters = replace(w.adapters, state=counting)
    message = w.alert(scenario, message_id=message_id)
    key = f"page/{OutcomeStatus.ESCALATED.value}/{message_key(message)}"
    w.state.claim(CLAIMS, key, HOLDER, skew_safe_lease(w.config.guardrails.claim_ttl_seconds), w.clock.now())
    return w, message, key, counting


def _redeliveries_while_held(w: FastWorld, message: dict, counting: Any, counter: DeliveryCounter,
                             times: int = 3) -> None:
    """`times` deliveries while the claim is held, each waiting again after one state read (the claim) and no
    call to Google's APIs."""
    before, calls = _api_calls(w), len(counting.calls)
    for _ in range(times):
        with pytest.raises(PageInProgress):
            handle_delivery(message, w.config, w.adapters, counter=counter)
    api, state = _api_calls(w) - before, counting.calls[calls:]
    assert api == 0 and state == ["get"] * times, (api, state)


def test_a_redelivery_waiting_on_its_page_claim_reads_only_that_claim():
    """Before: each delivery read the alert's whole evidence again and met the claim at the publish, for up to
    the claim's lease (600 s and the skew allowance): minutes of full handlings with immediate redelivery."""
    w, message, _, counting = _held_page()
    counter = DeliveryCounter()
    with pytest.raises(PageInProgress):
        handle_delivery(message, w.config, w.adapters, counter=counter)
    assert _api_calls(w) > 0                            # the first delivery read the evidence
    _redeliveries_while_held(w, message, counting, counter)
    assert w.published() == []


@pytest.mark.parametrize("ends", ["completed", "given back", "lapsed", "taken by another"])
def test_a_redelivery_after_the_page_claim_ends_is_handled_in_full(ends: str):
    """Completed: `skipped`, naming the outcome sent; given back or lapsed: this delivery sends the page;
    taken by another delivery since: waited on afresh, after a full handling that meets it."""
    w, message, key, counting = _held_page()
    counter = DeliveryCounter()
    with pytest.raises(PageInProgress):
        handle_delivery(message, w.config, w.adapters, counter=counter)
    _redeliveries_while_held(w, message, counting, counter, times=1)
    now, lease = w.clock.now(), skew_safe_lease(w.config.guardrails.claim_ttl_seconds)
    if ends == "completed":
        w.state.complete(CLAIMS, key, HOLDER, timedelta(hours=1), now, {"outcome_id": "sent-1", "status": "escalated"})
    elif ends == "given back":
        w.state.release(CLAIMS, key, HOLDER)
    elif ends == "lapsed":
        w.clock.advance(lease.total_seconds() + 1)
    else:
        w.state.release(CLAIMS, key, HOLDER)
        w.state.claim(CLAIMS, key, "third-delivery:1", lease, now)
    before = _api_calls(w)
    if ends == "taken by another":
        with pytest.raises(PageInProgress):
            handle_delivery(message, w.config, w.adapters, counter=counter)
        assert _api_calls(w) > before
        _redeliveries_while_held(w, message, counting, counter, times=1)
        return
    answer = handle_delivery(message, w.config, w.adapters, counter=counter)
    assert _api_calls(w) > before                       # handled in full
    if ends == "completed":
        assert answer.status is OutcomeStatus.SKIPPED and "(outcome sent-1)" in answer.reason, answer.reason
        assert [o["status"] for o in w.published()] == ["skipped"]
    else:
        assert answer.status is OutcomeStatus.ESCALATED, answer.reason
        assert [o["status"] for o in w.published()] == ["escalated"]


# --- a command's delivery (on_command) waiting on a page claim ------------------------------------------------------

def _held_command_page(message_id: str = "cmd-page-1") -> tuple[FastWorld, dict, str, Any]:
    """A notification sent to the commands topic (a channel pointed at the wrong topic): its rejection pages, and
    another delivery took that page claim a moment ago and holds it, unsent."""
    w = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    counting = _CountingState(w.adapters.state)
    w.adapters = replace(w.adapters, state=counting)
    message = w.alert("bad_revision", message_id=message_id)
    key = f"page/{OutcomeStatus.REJECTED.value}/{message_key(message)}"
    w.state.claim(CLAIMS, key, HOLDER, skew_safe_lease(w.config.guardrails.claim_ttl_seconds), w.clock.now())
    return w, message, key, counting


def _command_deliveries(w: FastWorld, message: dict, counter: DeliveryCounter, times: int) -> list[str]:
    """`times` deliveries of the command message, each raising PageInProgress; the timeline steps they logged."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for _ in range(times):
            with pytest.raises(PageInProgress):
                handle_command_delivery(message, w.config, w.adapters, counter=counter)
    return [json.loads(line)["runwarden"]["step"] for line in out.getvalue().splitlines() if line.startswith("{")]


@pytest.mark.parametrize("times", [1, 3])
def test_a_command_redelivery_waiting_on_its_page_claim_reads_only_that_claim(times: int):
    """Before: each redelivery of the command message parsed it again, logged its rejection again and tried the
    page claim again (a transaction), for up to the claim's lease; as an alert's, it now reads the claim alone (one
    `get`), logging only that it waits."""
    w, message, _, counting = _held_command_page()
    counter = DeliveryCounter()
    first = _command_deliveries(w, message, counter, 1)
    assert "rejected" in first and "claim" in counting.calls      # the first delivery handled it in full
    calls = len(counting.calls)
    steps = _command_deliveries(w, message, counter, times)
    assert counting.calls[calls:] == ["get"] * times, counting.calls[calls:]
    assert "rejected" not in steps and "in_progress" not in steps, steps
    assert w.published() == []


@pytest.mark.parametrize("ends", ["completed", "given back", "lapsed"])
def test_a_command_redelivery_after_the_page_claim_ends_is_handled_in_full(ends: str):
    """Completed: `skipped`, naming the outcome sent; given back or lapsed: this delivery sends the rejection."""
    w, message, key, counting = _held_command_page()
    counter = DeliveryCounter()
    _command_deliveries(w, message, counter, 2)
    now, lease = w.clock.now(), skew_safe_lease(w.config.guardrails.claim_ttl_seconds)
    if ends == "completed":
        w.state.complete(CLAIMS, key, HOLDER, timedelta(hours=1), now, {"outcome_id": "sent-1", "status": "rejected"})
    elif ends == "given back":
        w.state.release(CLAIMS, key, HOLDER)
    else:
        w.clock.advance(lease.total_seconds() + 1)
    with contextlib.redirect_stdout(io.StringIO()):
        [answer] = handle_command_delivery(message, w.config, w.adapters, counter=counter)
    if ends == "completed":
        assert answer.status is OutcomeStatus.SKIPPED and "(outcome sent-1)" in answer.reason, answer.reason
        assert [o["status"] for o in w.published()] == ["skipped"]
    else:
        assert answer.status is OutcomeStatus.REJECTED, answer.reason
        assert [o["status"] for o in w.published()] == ["rejected"]
