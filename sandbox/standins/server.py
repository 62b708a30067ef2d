"""Start and stop the Run, Monitoring, Logging, VPC Access and Secret Manager stand-ins together.

    with start_standins() as standins:
        os.environ.update(standins.env())   # or monkeypatch.setenv in tests

The stand-ins know nothing of scenarios: `sandbox.scenarios.start_seeded` starts them and seeds
one, so the dependency runs one way only (scenarios -> stand-ins).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.standins.logging import LoggingStandIn
from sandbox.standins.monitoring import MonitoringStandIn
from sandbox.standins.run import RunStandIn
from sandbox.standins.secretmanager import SecretManagerStandIn
from sandbox.standins.vpcaccess import VpcAccessStandIn


@dataclass
class StandIns:
    """The running stand-ins. Each serves on its own free port on 127.0.0.1."""

    run: RunStandIn
    monitoring: MonitoringStandIn
    vpcaccess: VpcAccessStandIn
    logging: LoggingStandIn
    # Started by start_standins; a copy built elsewhere (sandbox/inprocess.py) may leave it unstarted.
    secretmanager: SecretManagerStandIn = field(default_factory=SecretManagerStandIn)

    def env(self) -> dict[str, str]:
        """The variables through which product code finds the stand-ins."""
        return {"RUN_EMULATOR_HOST": self.run.address, "MONITORING_EMULATOR_HOST": self.monitoring.address,
                "VPCACCESS_EMULATOR_HOST": self.vpcaccess.address, "LOGGING_EMULATOR_HOST": self.logging.address,
                # Never an empty host: the client would then go to Google itself.
                **({"SECRET_MANAGER_EMULATOR_HOST": self.secretmanager.address} if self.secretmanager.address else {})}

    def stop(self) -> None:
        self.run.stop()
        self.monitoring.stop()
        self.vpcaccess.stop()
        self.logging.stop()
        self.secretmanager.stop()

    def __enter__(self) -> StandIns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_standins(*, lro_polls_before_done: int = 2) -> StandIns:
    """Starts fresh, empty stand-ins."""
    standins = StandIns(RunStandIn(lro_polls_before_done), MonitoringStandIn(),
                        vpcaccess=VpcAccessStandIn(lro_polls_before_done), logging=LoggingStandIn(),
                        secretmanager=SecretManagerStandIn())
    standins.run.audit_into(standins.logging)   # every write is audited, as Cloud Run audits each
    try:
        standins.run.start()
        standins.monitoring.start()
        standins.vpcaccess.start()
        standins.logging.start()
        standins.secretmanager.start()
    except BaseException:
        standins.stop()
        raise
    return standins
