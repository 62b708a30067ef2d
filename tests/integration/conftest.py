"""Fixtures for tests that run the real Google client libraries against local stand-ins."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pytest

from sandbox.scenarios import Materialized, resolve_scenario, seed
from sandbox.standins.server import StandIns, start_standins
from sandbox.standins.vpcaccess import VpcAccessStandIn
from shared.gcp.endpoints import VPCACCESS_EMULATOR_ENV

# The stand-ins' own tests seed this fixed scenario, not a bundled one: bundled scenarios
# change as the product learns, these tests' expected counts must not.
TWO_REVISIONS = str(Path(__file__).resolve().parents[1] / "fixtures" / "scenarios" / "two_revisions.yaml")

# T0 of every seeded scenario: a fixed instant, so expected counts never depend on the clock.
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def anchor() -> datetime:
    return ANCHOR


@pytest.fixture
def standins() -> Iterator[StandIns]:
    """Fresh Run and Monitoring stand-ins on free ports; nothing global is set."""
    with start_standins() as running:
        yield running


@pytest.fixture
def seed_scenario(standins: StandIns, anchor: datetime) -> Callable[[str], Materialized]:
    """seed_scenario("bad_revision") loads a bundled scenario (or a YAML path) into the stand-ins."""

    def load(name: str) -> Materialized:
        return seed(standins, resolve_scenario(name), anchor)

    return load


@pytest.fixture
def standin_env(standins: StandIns, monkeypatch: pytest.MonkeyPatch) -> StandIns:
    """Points the product's client factories at the stand-ins for this test only."""
    for key, value in standins.env().items():
        monkeypatch.setenv(key, value)
    return standins


VPC_CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"


@pytest.fixture
def vpc_standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[VpcAccessStandIn]:
    """A VPC Access stand-in on its own, holding backend-conn (e2-micro, 2-3 instances)."""
    server = VpcAccessStandIn(lro_polls_before_done=2)
    monkeypatch.setenv(VPCACCESS_EMULATOR_ENV, server.start())
    server.add_connector(VPC_CONNECTOR, min_instances=2, max_instances=3)
    yield server
    server.stop()
