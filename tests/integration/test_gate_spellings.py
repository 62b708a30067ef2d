"""The gate's pauses on the Firestore emulator: a pause of a connector by one spelling of its name (by project id,
or number: "{project} can be project id or number", VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto)
holds back a write to the other, read by the equality query on `engaged` the store answers (one the automatic
single-field index serves), and a released pause (its flag kept, `engaged: false`) does not."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.emulators import FirestoreEmulator
from shared.clock import FixedClock
from shared.gcp.firestore import FirestoreStateStore
from shared.remediation.guardrails import Gate, pause_key
from shared.remediation.records import FLAGS
from tests.unit.builders import T0
from tests.unit.test_connector_names import HOST, HOST_BY_NUMBER
from tests.unit.test_gate_spellings import flag
from tests.unit.test_guardrails import config


@pytest.mark.emulator
@pytest.mark.parametrize("paused,target", [(HOST, HOST_BY_NUMBER), (HOST_BY_NUMBER, HOST)])
def test_a_pause_by_one_spelling_holds_a_write_by_the_other(firestore: FirestoreEmulator, project_id: str,
                                                             paused: str, target: str) -> None:
    state = FirestoreStateStore(project_id)
    state.put_record(FLAGS, pause_key(paused), flag(paused))
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    assert paused in gate.kill_switch(target)
    assert paused in gate._stop_before_write("inc-1", (target,))
    state.put_record(FLAGS, pause_key(paused), {**flag(paused), "engaged": False})   # resumed: the flag stays
    assert gate.kill_switch(target) == ""
    assert gate._stop_before_write("inc-1", (target,)) == ""
