"""Config and adapters, built once per instance and shared by every entry point in it."""
from __future__ import annotations

import functools


@functools.cache
def runtime():
    from shared.config import ConfigError, load_config
    from shared.pipeline import google_adapters
    from shared.timeline.writer import Timeline

    try:
        config = load_config()
    except ConfigError as exc:
        # Not cached: the event is redelivered and handled once the config is fixed, never dropped.
        Timeline(None).step("config_error", f"cannot start: {exc}", severity="CRITICAL")
        raise
    # Runwarden's own service account joins self_principals: its changes are not a person's.
    from shared.gcp.identity import own_principal, with_own_principal

    config = with_own_principal(config, own_principal())
    return config, google_adapters(config)
