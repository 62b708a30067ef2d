"""The local stack pushes as the deployed subscriptions do."""
from __future__ import annotations

from sandbox.stack import DEPLOYED_ACK_DEADLINE
from tests.infra.terraform import evaluate, load_module


def test_the_sandbox_pushes_with_the_deployed_ack_deadline() -> None:
    assert DEPLOYED_ACK_DEADLINE == evaluate(load_module().locals["ack_deadline_seconds"])
