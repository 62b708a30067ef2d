"""A connector whose signs rose only minutes after the requests began failing (503s, hangs at a client timeout) is
not their cause: a cause comes before its effect, and failing requests retried load the connector
(connector_signs.held_at_onset, read for 503s and hangs whose onset the window shows, not only for database dials
that timed out, once nothing more particular explains them: connector_saturation._rose_after_the_onset). Held, the
connector competing, never scaled alone; a sign at the onset (from 2 min before the first failing minute to 4 min
into it) scales as before. Before, only a symptom of dials that timed out without 503s or a hang was read so, and a
connector that filled seven minutes after a third of the requests began to 503 was scaled."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_connector_peer_users import GO_DIAL
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
FAILING = -12     # minutes: the 503s and 30 s hangs begin


def _bundle(rise: float, log: str = GO_DIAL, hang: bool = True):
    """An e2-micro connector (max 3) rising to its max at CPU p99 93% at `rise` minutes; a third of the requests 503
    from FAILING (after 30 s when `hang`), `log` in stderr."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, FAILING, 5, 30, code="503").latency(OLD, -90, FAILING, 0.09)
         .latency(OLD, FAILING, 5, 30.1 if hang else 0.2)
         .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
         .connector_metric("instances", -90, rise, 2).connector_metric("instances", rise, 5, 3)
         .connector_metric("cpu", -90, rise, 0.3).connector_metric("cpu", rise, 5, 0.93)
         .connector_metric("bytes", -90, 5, 2e6).log(FAILING + 1, log, OLD, count=30))
    return e.bundle()


ROWS = {
    # rise (min), scaled: a sign at the onset window [-14, -8] scales; later than it, held.
    "the connector rose with the failures": (FAILING, True),
    "it rose 2 min before them": (FAILING - 2, True),
    "it rose 3 min into them": (FAILING + 3, True),
    "it rose 7 min into them (retries)": (FAILING + 7, False),
    "it rose 10 min into them": (FAILING + 10, False),
}


@pytest.mark.parametrize("rise, scaled", ROWS.values(), ids=ROWS.keys())
def test_a_connector_that_rose_after_the_failures_began_is_held_not_scaled(rise, scaled):
    bundle = _bundle(rise)
    d = diagnose(bundle, S)
    action = plan(d, bundle, S).action
    assert (action == "scale_connector") is scaled, (action, d.summary)
    if not scaled:
        assert d.signature is not Signature.CONNECTOR_SATURATION, d.summary
        assert "rose only minutes later" in d.summary and "the requests fail from" in d.summary, d.summary
        assert "connector_saturation" in d.competing or "held, not ruled out" in d.summary, d.summary


def test_503s_answered_without_a_hang_are_read_at_their_onset_too():
    bundle = _bundle(FAILING + 8, hang=False)
    d = diagnose(bundle, S)
    assert plan(d, bundle, S).action is None, d.summary
