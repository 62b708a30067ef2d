"""Start and stop the Run, Monitoring, Logging and VPC Access stand-ins together.

    with start_standins() as standins:
        os.environ.update(standins.env())   # or monkeypatch.setenv in tests

The stand-ins know nothing of scenarios: `sandbox.scenarios.start_seeded` starts them and seeds
one, so the dependency runs one way only (scenarios -> stand-ins).
"""
from __future__ import annotations

from dataclasses import dataclass

from sandbox.standins.logging import LoggingStandIn
from sandbox.standins.monitoring import MonitoringStandIn
from sandbox.standins.run import RunStandIn
from sandbox.standins.vpcaccess import VpcAccessStandIn


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


def start_standins(*, lro_polls_before_done: int = 2) -> StandIns:
    """Starts fresh, empty stand-ins."""
    standins = StandIns(RunStandIn(lro_polls_before_done), MonitoringStandIn(),
                        vpcaccess=VpcAccessStandIn(lro_polls_before_done), logging=LoggingStandIn())
    try:
        standins.run.start()
        standins.monitoring.start()
        standins.vpcaccess.start()
        standins.logging.start()
    except BaseException:
        standins.stop()
        raise
    return standins
