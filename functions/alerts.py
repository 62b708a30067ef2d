"""on_alert: Cloud Monitoring notifications, delivered by Pub/Sub as CloudEvents."""
from __future__ import annotations

import functools

import functions_framework


@functions_framework.cloud_event
def on_alert(cloud_event) -> None:
    # Imported on first use: a cold start pays for the Google client libraries only when an
    # alert actually arrives.
    from shared.pipeline import handle_alert

    config, adapters = _runtime()
    handle_alert(cloud_event.data, config, adapters)


@functools.cache
def _runtime():
    """Config and adapters, built once per instance and reused across invocations."""
    from shared.config import ConfigError, load_config
    from shared.pipeline import google_adapters
    from shared.timeline import Timeline

    try:
        config = load_config()
    except ConfigError as exc:
        # Not cached: the alert is redelivered and handled once the config is fixed, never dropped.
        Timeline(None).step("config_error", f"cannot start: {exc}", severity="CRITICAL")
        raise
    return config, google_adapters(config)
