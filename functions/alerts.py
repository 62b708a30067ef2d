"""on_alert: Cloud Monitoring notifications, delivered by Pub/Sub as CloudEvents."""
from __future__ import annotations

import functions_framework

from functions.runtime import delivery_attempt, handling


@functions_framework.cloud_event
def on_alert(cloud_event) -> None:
    # The runtime first: it waits for the instance warm-up if one is under way (functions/runtime.py),
    # so the handler's modules are imported by then and never by two threads at once. While the
    # event is handled, the warm-up's deferred part (the Pub/Sub client) waits for it to end.
    with handling() as (config, adapters):
        from shared.pipeline import handle_delivery

        handle_delivery(cloud_event.data, config, adapters, delivery_attempt=delivery_attempt())
