"""Start and stop the Run and Monitoring stand-ins together.

    with start_standins("bad_revision", anchor=t0) as standins:
        os.environ.update(standins.env())   # or monkeypatch.setenv in tests
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.standins.logging import LoggingStandIn
from sandbox.standins.monitoring import MonitoringStandIn
from sandbox.standins.run import RunStandIn
from sandbox.standins.vpcaccess import VpcAccessStandIn

if TYPE_CHECKING:
    from sandbox.scenarios import Scenario


@dataclass
class StandIns:
    """The running stand-ins. Each serves on its own free port on 127.0.0.1."""

    run: RunStandIn
    monitoring: MonitoringStandIn
    vpcaccess: VpcAccessStandIn
    logging: LoggingStandIn

    def env(self) -> dict[str, str]:
        """The variables through which product code finds the stand-ins."""
        return {"RUN_EMULATOR_HOST": self.run.address, "MONITORING_EMULATOR_HOST": self.monitoring.address,
                "VPCACCESS_EMULATOR_HOST": self.vpcaccess.address, "LOGGING_EMULATOR_HOST": self.logging.address}

    def stop(self) -> None:
        self.run.stop()
        self.monitoring.stop()
        self.vpcaccess.stop()
        self.logging.stop()

    def __enter__(self) -> StandIns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_standins(scenario: Scenario | str | Path | None = None, anchor: datetime | None = None, *,
                   lro_polls_before_done: int = 2) -> StandIns:
    """Starts fresh stand-ins; with a scenario (object, bundled name or YAML path) also seeds
    them, offsets anchored at `anchor` (required then: it is the incident's started_at)."""
    standins = StandIns(RunStandIn(lro_polls_before_done), MonitoringStandIn(),
                        vpcaccess=VpcAccessStandIn(lro_polls_before_done), logging=LoggingStandIn())
    try:
        standins.run.start()
        standins.monitoring.start()
        standins.vpcaccess.start()
        standins.logging.start()
        if scenario is not None:
            from sandbox.scenarios import resolve_scenario, seed

            if anchor is None:
                raise ValueError("seeding a scenario needs the anchor (T0) its offsets are relative to")
            seed(standins, resolve_scenario(scenario), anchor)
    except BaseException:
        standins.stop()
        raise
    return standins
