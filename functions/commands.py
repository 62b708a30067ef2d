"""on_command: the verification sweep (Cloud Scheduler publishes `{"command": "sweep"}` every few
minutes) and operators' commands, delivered by Pub/Sub as CloudEvents."""
from __future__ import annotations

import functions_framework

from functions.runtime import delivery_attempt, handling


@functions_framework.cloud_event
def on_command(cloud_event) -> None:
    with handling() as (config, adapters):   # first: it waits for the warm-up's imports (see alerts.py)
        from shared.commands import handle_command_delivery

        handle_command_delivery(cloud_event.data, config, adapters, delivery_attempt=delivery_attempt())
