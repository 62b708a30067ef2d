"""How many reads of one collection wait for each other on the clock: its rounds, counted at the ports as the
real adapters make them against the stand-ins (collection.collect). tests/infra/test_settings.py models the
slowest alert from collection.SEQUENTIAL_ROUNDS; here the worst case is counted, so a round added to collect() and
not to the model fails (the model is then no guard of the function timeout and the ack deadline).

The worst case on the alert path: the alert's own log filter refused (the service's log read again without it,
alone), then the read again's page full with a deploy the suspect (the candidates' startups and the failure lines
alone, in the last round)."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from sandbox.scenarios import resolve_scenario, seed
from shared.config import DiagnosisSettings
from shared.diagnosis import collection
from shared.diagnosis.collection import SEQUENTIAL_ROUNDS, Readers, collect
from shared.diagnosis.evidence import AlertContext
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.secretmanager import SecretManagerAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from tests.integration.world import FAST

pytestmark = pytest.mark.emulator

CHECKOUT = "projects/shop-prod/locations/us-central1/services/checkout"
FLOOD = "deploy_log_flood_previous_secret_disabled"   # a deploy at -7m, its failures filling the service read's page
REFUSED_FILTER = 'jsonPayload.foo=~"(unclosed'        # a log-match alert's filter Logging refuses (INVALID_ARGUMENT)


class _Rounds:
    """The rounds of reads made: each batch run at once (collection._run_concurrently) is one, and each call made
    outside a batch is one of its own (the log read again: CallBudget.optional)."""

    def __init__(self) -> None:
        self.count = 0
        self.batched = 0
        self._lock = threading.Lock()
        self.calls: list[str] = []

    def batch(self, run: Any) -> Any:
        def counted(calls: list) -> Any:
            with self._lock:
                self.count += 1 if calls else 0
                self.batched += 1
            try:
                return run(calls)
            finally:
                with self._lock:
                    self.batched -= 1
        return counted

    def port(self, port: Any) -> Any:
        rounds = self

        class Counted:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(port, name)
                if not callable(attribute) or name == "close":
                    return attribute

                def call(*args: Any, **kwargs: Any) -> Any:
                    with rounds._lock:
                        rounds.calls.append(name)
                        rounds.count += 0 if rounds.batched else 1
                    return attribute(*args, **kwargs)
                return call
        return Counted()


def _collect(rounds: _Rounds, anchor, settings: DiagnosisSettings, alert: AlertContext | None):
    adapters = Readers(run=CloudRunAdapter(policy=FAST), monitoring=CloudMonitoringAdapter(policy=FAST),
                       logging=CloudLoggingAdapter(policy=FAST), vpcaccess=VpcAccessAdapter(policy=FAST),
                       secretmanager=SecretManagerAdapter(policy=FAST))
    readers = Readers(run=rounds.port(adapters.run), monitoring=rounds.port(adapters.monitoring),
                      logging=rounds.port(adapters.logging), vpcaccess=rounds.port(adapters.vpcaccess),
                      secretmanager=rounds.port(adapters.secretmanager))
    try:
        return collect(CHECKOUT, anchor, readers, settings, anchor + timedelta(minutes=2), alert=alert)
    finally:
        adapters.close()


@pytest.fixture
def rounds(monkeypatch) -> _Rounds:
    counted = _Rounds()
    monkeypatch.setattr(collection, "_run_concurrently", counted.batch(collection._run_concurrently))
    return counted


def test_the_alert_paths_worst_collection_makes_the_rounds_the_model_counts(standin_env, anchor, rounds):
    seed(standin_env, resolve_scenario(FLOOD), anchor)
    alert = AlertContext(resource_type="cloud_run_revision", log_filter=REFUSED_FILTER, policy="checkout errors")

    bundle = _collect(rounds, anchor, DiagnosisSettings(), alert)

    # The read again was made, and the last round read the candidates' startups: every round was made.
    assert bundle.logs is not None and bundle.logs.truncated, bundle.gaps
    assert bundle.target_startup is not None and bundle.target_startup.result is not None, bundle.gaps
    assert len([g for g in bundle.gaps if g.startswith("logging: application and system log")]) == 1, bundle.gaps
    assert rounds.count == SEQUENTIAL_ROUNDS, rounds.calls


def test_a_collection_with_nothing_read_again_makes_fewer(standin_env, anchor, rounds):
    """The guard the other way: no filter refused, nothing read again: one round fewer than the worst case."""
    seed(standin_env, resolve_scenario(FLOOD), anchor)

    bundle = _collect(rounds, anchor, DiagnosisSettings(), None)

    assert bundle.target_startup is not None
    assert rounds.count == SEQUENTIAL_ROUNDS - 1, rounds.calls
