"""on_alert: Cloud Monitoring notifications, delivered by Pub/Sub as CloudEvents."""
from __future__ import annotations

import sys

import functions_framework

from functions.runtime import runtime


@functions_framework.cloud_event
def on_alert(cloud_event) -> None:
    # The runtime first: it waits for the instance warm-up if one is under way (functions/runtime.py),
    # so the handler's modules are imported by then and never by two threads at once.
    config, adapters = runtime()
    from shared.pipeline import handle_delivery

    handle_delivery(cloud_event.data, config, adapters, delivery_attempt=_delivery_attempt())


def _delivery_attempt() -> int | None:
    """Pub/Sub's `deliveryAttempt` from the push body. functions-framework's conversion of a raw
    push body into a CloudEvent keeps only the message (event_conversion.marshal_background_event_data),
    so it is read from the request itself, which Flask keeps for the handler's duration."""
    from shared.alerts.delivery import push_delivery_attempt

    # functions-framework serves through Flask (already imported by it; not a dependency of ours).
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return None
    return push_delivery_attempt(flask.request.get_json(silent=True))
