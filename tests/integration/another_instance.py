"""Another instance of Runwarden in a process of its own, started after the test's own instance has acted: it
builds its config and adapters from nothing (as functions/runtime.py does once per instance), on the same
stand-ins and emulators (their addresses read from the environment the test set), handles the messages given in
turn at the time given, and prints their answers as JSON lines. Nothing of the first instance's memory reaches
it: whatever it knows of the gate (switches, pauses, cooldowns, budgets, claims) it reads from Firestore.

    python -m tests.integration.another_instance < {"config": {...}, "now": ISO, "messages": [{"kind": "alert" or
                                                     "command", "data": <the push's CloudEvent data>}, ...]}
"""
from __future__ import annotations

import json
import sys
from datetime import datetime

from shared.clock import FixedClock
from shared.commands import handle_command
from shared.config import parse_config
from sandbox.standins.run import RUNWARDEN_CALLER
from shared.gcp.firestore import FirestoreStateStore
from shared.gcp.identity import with_own_principal
from shared.gcp.pubsub import PubSubPublisher
from shared.gcp.secretmanager import SecretManagerAdapter
from shared.pipeline import Adapters, handle_alert
from tests.integration.world import FAST, readers_at_product_deadlines


def main() -> None:
    asked = json.load(sys.stdin)
    # As the deployed function runs it (functions/runtime.py: its own account among self_principals): the Cloud Run
    # stand-in audits this instance's writes as RUNWARDEN_CALLER, not to be read as a person's change.
    config = with_own_principal(parse_config(asked["config"]), RUNWARDEN_CALLER)
    clock = FixedClock(datetime.fromisoformat(asked["now"]))
    adapters = Adapters(**readers_at_product_deadlines(), publisher=PubSubPublisher(),
                        state=FirestoreStateStore(config.project), clock=clock,
                        secretmanager=SecretManagerAdapter(policy=FAST))
    for one in asked["messages"]:
        answers = ([handle_alert(one["data"], config, adapters)] if one["kind"] == "alert"
                   else handle_command(one["data"], config, adapters))
        for answer in answers:
            print("ANSWER " + answer.model_dump_json(by_alias=True), flush=True)


if __name__ == "__main__":
    main()
