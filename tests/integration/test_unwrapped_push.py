"""A push subscription with payload unwrapping (`no_wrapper`) pointed at on_alert, on the Pub/Sub emulator.

Pub/Sub "Payload unwrapping": "the message data is delivered directly as the HTTP body"; with `write_metadata` the
message's metadata is "added back into the request header" (on the emulator, as measured here: each attribute as a
header of its own name, and `x-goog-pubsub-message-id`, `x-goog-pubsub-publish-time`,
`x-goog-pubsub-subscription-name`). on_alert is a CloudEvent function (functions-framework): a bare notification is
neither a CloudEvent nor a push body it converts, so the framework answers 400 (415 for a body not sent as JSON)
before Runwarden runs. Nothing is
read or acted on, and nothing is lost: a non-2xx push is delivered again and, past the subscription's
`max_delivery_attempts`, dead-lettered (infra/pubsub.tf), whose alert pages; the dead-lettered data is the
notification itself, which `runwarden diagnose` reads. Runwarden's own subscriptions never unwrap
(tests/infra/test_settings.py)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from sandbox.emulators import ensure_topic, publish
from sandbox.scenarios import resolve_scenario
from shared.alerts.incidents import load_any, parse_notification

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 30   # a bound on waiting for the emulator's push, not a measured speed


class _Capture(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:   # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)   # acknowledged: the emulator pushes it once
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Capture", (_Capture,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/projects/p/topics/alerts", received
    server.shutdown()
    server.server_close()


def _unwrapped_push(pubsub, endpoint: str, received: list, write_metadata: bool, data: bytes) -> tuple[dict, bytes]:
    from google.cloud import pubsub_v1

    topic = ensure_topic(pubsub.project, pubsub.name("alerts"), host=pubsub.host)
    subscription = f"projects/{pubsub.project}/subscriptions/{pubsub.name('unwrapped')}"
    pubsub_v1.SubscriberClient().create_subscription(request={
        "name": subscription, "topic": topic,
        "push_config": {"push_endpoint": endpoint, "no_wrapper": {"write_metadata": write_metadata}}}, timeout=10)
    publish(pubsub.project, topic.rsplit("/", 1)[-1], data, {"router": "sre-alerts"}, host=pubsub.host)
    deadline = time.monotonic() + WAIT_SECONDS
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert received, "the emulator pushed nothing"
    return received[0]


@pytest.mark.parametrize("write_metadata", [True, False], ids=["write_metadata", "data only"])
def test_an_unwrapped_push_is_refused_before_runwarden_and_kept_for_redelivery(pubsub, endpoint, monkeypatch, anchor,
                                                                               write_metadata):
    import functions_framework

    url, received = endpoint
    notification = json.dumps(resolve_scenario("bad_revision").notification(anchor)).encode()

    headers, body = _unwrapped_push(pubsub, url, received, write_metadata, notification)

    # The documented shape: the data itself as the body, the metadata in headers only with write_metadata.
    assert body == notification
    assert ("x-goog-pubsub-message-id" in headers and headers.get("router") == "sre-alerts") is write_metadata, headers
    monkeypatch.setenv("FUNCTION_TARGET", "on_alert")   # create_app sets it; this restores it afterwards
    app = functions_framework.create_app(target="on_alert", source=str(ROOT / "main.py"), signature_type="cloudevent")
    shown = {k: v for k, v in headers.items() if k.startswith("x-goog-pubsub-") or k in ("router", "content-type")}
    answer = app.test_client().post("/projects/p/topics/alerts", data=body, headers=shown)
    # Not acknowledged, so delivered again: 400 for JSON that is no CloudEvent, 415 for the emulator's
    # `application/x-www-form-urlencoded` (which Content-Type Pub/Sub sends an unwrapped body with is UNCONFIRMED).
    assert answer.status_code in (400, 415), answer.get_data(as_text=True)[:300]
    json_answer = app.test_client().post("/projects/p/topics/alerts", data=body,
                                         headers={**shown, "content-type": "application/json"})
    assert json_answer.status_code == 400, json_answer.get_data(as_text=True)[:300]
    # What the dead-letter topic keeps is the notification itself: `runwarden diagnose` reads it.
    assert load_any(body) == parse_notification(notification)
