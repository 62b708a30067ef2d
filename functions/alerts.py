"""on_alert: Cloud Monitoring notifications, delivered by Pub/Sub as CloudEvents."""
from __future__ import annotations

import functions_framework

from functions.runtime import runtime


@functions_framework.cloud_event
def on_alert(cloud_event) -> None:
    # Imported on first use: a cold start pays for the Google client libraries only when an
    # alert actually arrives.
    from shared.pipeline import handle_alert

    config, adapters = runtime()
    handle_alert(cloud_event.data, config, adapters)
