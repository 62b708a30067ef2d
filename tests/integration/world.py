"""One test's Runwarden on real parts: config, the real adapters on the stand-ins and the
emulators, a pinned clock, and ways to read what it published and what it changed."""
from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from typing import Any, Callable

from sandbox.scenarios import resolve_scenario, seed
from shared.clock import FixedClock
from shared.config import parse_config
from shared.gcp.endpoints import CallPolicy
from shared.gcp.firestore import FirestoreStateStore
from shared.gcp.identity import with_own_principal
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.pubsub import PubSubPublisher
from shared.gcp.run import CloudRunAdapter
from shared.gcp.secretmanager import SecretManagerAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.commands import handle_command
from shared.pipeline import Adapters, handle_alert

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
# The product's own per-call deadline (CallPolicy's call_timeout): the stand-ins serve in the test's own
# process, and on a loaded machine a read took longer than the 5 s these tests once gave it
# (DEADLINE_EXCEEDED, raised as a transient fault, a test failed for nothing wrong). A read that hangs still
# fails at that deadline (test_pipeline's hang test). No new attempt after a call that used the whole
# deadline (total_timeout the same): a read answered late but counted by the stand-in, then read again,
# would count twice against the budget a test checks (World.reads). Backoffs short: nothing here waits
# on a network.
FAST = CallPolicy(call_timeout=CallPolicy().call_timeout, attempts=3, initial_backoff=0.01, max_backoff=0.05,
                  total_timeout=CallPolicy().call_timeout)


def readers_at_product_deadlines() -> dict[str, Any]:
    """The Run, Monitoring, Logging and VPC Access adapters at the product's own per-call deadline (FAST), their
    operation polls short: what every World starts with, and what a drill puts back once its fault is cleared."""
    return {"run": CloudRunAdapter(policy=FAST, poll_initial_delay=0.01, poll_max_delay=0.05),
            "monitoring": CloudMonitoringAdapter(policy=FAST), "logging": CloudLoggingAdapter(policy=FAST),
            "vpcaccess": VpcAccessAdapter(policy=FAST, poll_initial_delay=0.01, poll_max_delay=0.05)}


class World:
    """One test's Runwarden: config, adapters on the local servers, and a way to read outcomes."""

    def __init__(self, standins, pubsub, project_id, anchor, mode="enforce", services=(SERVICE,),
                 **config: Any):
        self.standins = standins
        self.anchor = anchor
        self.outcomes_topic = pubsub.topic("outcomes")
        self.subscription = pubsub.pull_subscription(self.outcomes_topic, "outcomes-watch")
        self.pubsub = pubsub
        # As the deployed function runs it (functions/runtime.py): its own account, the one the Run stand-in records
        # its writes as (RunStandIn.caller), among self_principals, so its own audit entries are not a person's.
        self.config = with_own_principal(parse_config(
            {"project": project_id, "mode": mode, "outcomes_topic": self.outcomes_topic,
             "services": [{"name": s} for s in services], **config}), standins.run.caller)
        self.state = FirestoreStateStore(project_id)
        self.clock = FixedClock(anchor + timedelta(minutes=2))
        # A person's out-of-band write made with no time of its own is audited at the world's time.
        standins.run.audit_into(standins.logging, clock=self.clock.now)
        # As google_adapters builds them.
        self.adapters = Adapters(**readers_at_product_deadlines(), publisher=PubSubPublisher(), state=self.state,
                                 clock=self.clock, secretmanager=SecretManagerAdapter(policy=FAST))

    @classmethod
    def for_scenario(cls, scenario, standins, pubsub, project_id, anchor, mode="enforce") -> "World":
        """A world whose config is the scenario's own: its managed services, domains and overrides."""
        data = scenario.config_data("projects/x/topics/x", mode)
        overrides = {k: v for k, v in data.items() if k not in ("project", "mode", "outcomes_topic", "services")}
        world = cls(standins, pubsub, project_id, anchor, mode=mode, services=(), **overrides)
        world.config = world.config.model_copy(update={"services": parse_config(
            {**data, "outcomes_topic": world.outcomes_topic}).services})
        world.clock.set(anchor + scenario.delivered)   # when the scenario's alert is delivered (T0 + 2 min by default)
        return world

    def writes(self) -> int:
        return self.standins.run.count("UpdateService") + self.standins.vpcaccess.count("PatchConnector")

    def seed(self, name: str):
        scenario = resolve_scenario(name)
        seed(self.standins, scenario, self.anchor)
        self.clock.set(self.anchor + scenario.delivered)   # read when the scenario's alert is delivered
        return scenario

    def alert(self, name="bad_revision", message_id="1", **notification_args) -> dict:
        return event(resolve_scenario(name).message_data(self.anchor, **notification_args), message_id)

    def handle(self, data: dict):
        return handle_alert(data, self.config, self.adapters)

    def command(self, body: dict[str, Any], message_id: str = "c1"):
        data = event(json.dumps(body).encode(), message_id)
        # Published as it is sent, just before it arrives: a command's age by its publish time is read
        # (shared/commands `_too_old`), so it follows the world's clock, not event()'s fixed time.
        data["message"]["publishTime"] = self.clock.now().isoformat().replace("+00:00", "Z")
        return handle_command(data, self.config, self.adapters)

    def at(self, minutes: float) -> None:
        """Move the pinned clock to T0 + minutes."""
        self.clock.set(self.anchor + timedelta(minutes=minutes))

    def published(self, count: int = 1) -> list[dict]:
        return [json.loads(m.data) for m in self.pubsub.pull(self.subscription, count, timeout=10)]

    def reads(self) -> int:
        """Every call the stand-ins answered: what collecting the evidence cost."""
        parts = (self.standins.run, self.standins.monitoring, self.standins.logging, self.standins.vpcaccess,
                 self.standins.secretmanager)
        return sum(len(part.calls) for part in parts)

    def add_series(self, series: Any) -> None:
        """A series more in Monitoring (a SeriesSeed), as if Cloud Run had written it."""
        self.standins.monitoring.add_series(series)

    def add_series_group(self, key: Any, series: Any) -> None:
        """Series more in Monitoring, `key` naming the group: the same key always names the same series
        (the fast tier keeps what a group leaves in Monitoring by it)."""
        for one in series:
            self.add_series(one)

    def serving(self, service: str = SERVICE) -> dict[str, int]:
        return {t.revision: t.percent for t in self.standins.run.service(service).traffic_statuses}


def concurrently(*calls: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Runs the calls on threads at once; (their results, what they raised)."""
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            results.append(call())
        except Exception as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def event(data: bytes, message_id: str = "1") -> dict:
    """The CloudEvent `data` of google.cloud.pubsub.topic.v1.messagePublished."""
    return {"message": {"data": base64.b64encode(data).decode(), "messageId": message_id,
                        "publishTime": "2026-11-26T12:02:00Z"},
            "subscription": "projects/demo-project/subscriptions/alerts"}
