"""Where an inconclusive verdict tells a person to look next names only what the service has: a
connector's metrics for 503s only when the serving revision routes through a connector."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD, quiet_connector

S = DiagnosisSettings()


@pytest.mark.parametrize("connector, named", [(True, True), (False, False)], ids=["with a connector", "without"])
def test_an_inconclusive_503_names_the_connector_as_a_place_to_look_only_when_there_is_one(connector, named):
    e = (Evidence().revision(OLD, -3000, memory_mib=256).traffic(**{OLD: 100}) if connector else
         Evidence().revision(OLD, -3000, memory_mib=256, connector=None).traffic(**{OLD: 100}))
    e = e.requests(OLD, -120, 5, 200).requests(OLD, -11, 5, 60, code="503").latency(OLD, -120, 5, 0.2)
    e = quiet_connector(e) if connector else e

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert ("VPC connector's metrics" in result.recommendation) is named, result.recommendation
