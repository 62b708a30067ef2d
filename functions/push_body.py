"""A Pub/Sub push whose message has attributes and no data, made readable to functions-framework.

functions-framework turns a wrapped push into a CloudEvent only when its message holds a `data` key
(functions-framework-python, src/functions_framework/event_conversion.py: `_is_raw_pubsub_payload` requires
`"data" in request_data["message"]`, then `marshal_background_event_data`); without it the conversion fails and
`_run_cloud_event` (src/functions_framework/__init__.py) answers 400 before Runwarden runs: a non-2xx push,
delivered again until it is dead-lettered, its cause said nowhere. Whether Pub/Sub writes `"data": ""` or leaves
the key out for a message with attributes only is not documented (UNCONFIRMED; the emulator writes `"data": ""`,
tests/integration/test_attributes_only_push.py). Under both readings the message reaches the handlers, whose
parsers answer it `rejected` ("message.data: is required"), published and told to a person, and acknowledge it.
"""
from __future__ import annotations

import io
import json
from typing import Any, Callable, Iterable

# An attributes-only message is small: at most 100 attributes of 256-byte keys and 1024-byte values (Pub/Sub
# "Quotas and limits", attributes per message and their sizes). A larger body is passed on unread.
MOST_READ = 256 * 1024


def with_empty_data(body: bytes) -> bytes | None:
    """The push body with `"data": ""` added to a message that has no data key; None for any other body."""
    if len(body) > MOST_READ:
        return None
    try:
        push = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    message = push.get("message") if isinstance(push, dict) and "subscription" in push else None
    if not isinstance(message, dict) or "data" in message or not ({"messageId", "message_id"} & message.keys()):
        return None
    return json.dumps({**push, "message": {**message, "data": ""}}).encode()


class EmptyDataFilled:
    """WSGI middleware over functions-framework's app: each POST body read once, and passed on as it came
    unless `with_empty_data` completes it."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and "json" in environ.get("CONTENT_TYPE", ""):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if 0 < length <= MOST_READ:
                body = environ["wsgi.input"].read(length)
                body = with_empty_data(body) or body
                environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return self.app(environ, start_response)


def install() -> None:
    """Wraps the app functions-framework is loading main.py into (it runs the source within that app's context:
    `create_app`, src/functions_framework/__init__.py); outside it (an import by a test or the CLI), nothing."""
    import flask

    if not flask.has_app_context():
        return
    app = flask.current_app._get_current_object()   # noqa: SLF001 - Flask's documented way to the app itself
    if not isinstance(app.wsgi_app, EmptyDataFilled):
        app.wsgi_app = EmptyDataFilled(app.wsgi_app)
