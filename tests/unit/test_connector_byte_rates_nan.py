"""A connector byte counter's rate with no value (NaN) reads as a minute that counter did not show (facts.finite,
Facts.bytes_by_minute), as a CPU p99 point with no value does: the same diagnosis, words, evidence and plan as with
that counter's minutes not read, and never "nan Mbps". Before, a NaN was summed into its minute and then taken as
the larger of the two counters when read first, so a connector at its max instances carrying its ceiling on the
other counter read as under every bar in those minutes."""
from __future__ import annotations

import math

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts, Window
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_connector_peer_users import GO_DIAL
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
# e2-micro at 3 instances: 300 Mbps (facts.CONNECTOR_MBPS_PER_INSTANCE); 36 MB/s is 288 Mbps, over the 80 % bar.
NEAR_CEILING = 36e6


def _bundle(received: float | None, cpu: float | None, sent: float = NEAR_CEILING):
    """An e2-micro connector at its 3 max instances from -8m, its sent counter near the ceiling there, dials timing out;
    its received counter `received` in those minutes (None: not read) and its CPU p99 `cpu` (None: not read)."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, 31.0)
         .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
         .connector_metric("instances", -90, -8, 2).connector_metric("instances", -8, 5, 3)
         .connector_metric("sent_bytes", -90, -8, 4e6).connector_metric("sent_bytes", -8, 5, sent)
         .connector_metric("bytes", -90, -8, 1e6).log(-5, GO_DIAL, OLD, count=20))
    if received is not None:
        e.connector_metric("bytes", -8, 5, received)
    if cpu is not None:
        e.connector_metric("cpu", -90, 5, cpu)
    return e.bundle()


CASES = {"CPU not read": None, "CPU cool": 0.3, "CPU hot": 0.95}


@pytest.mark.parametrize("cpu", CASES.values(), ids=CASES.keys())
def test_a_nan_received_rate_reads_as_a_minute_that_counter_did_not_show(cpu):
    strict = S.model_copy(update={"act_min_confidence": 0.85})
    nan, absent = _bundle(math.nan, cpu), _bundle(None, cpu)
    d, unread = diagnose(nan, S), diagnose(absent, S)
    assert "nan" not in d.summary.lower(), d.summary
    assert (d.signature, d.summary, d.confidence) == (unread.signature, unread.summary, unread.confidence)
    assert [(i.observed, i.passed) for i in d.evidence] == [(i.observed, i.passed) for i in unread.evidence]
    assert plan(d, nan, strict).action == plan(unread, absent, strict).action


@pytest.mark.parametrize("received", [math.nan, math.inf, -math.inf], ids=["NaN", "inf", "-inf"])
def test_no_minute_carries_a_rate_that_is_no_number(received):
    facts = Facts(_bundle(received, None), S)
    window = Window(facts.before.start, facts.incident.end)
    rates = facts.connector_bytes_by_minute(window)
    assert rates and all(math.isfinite(v) for v in rates.values()), rates
    # The minutes at the max read at the ceiling on the sent counter: the connector's ceiling minutes are there.
    assert any(facts.connector_minutes(window).ceiling_states().values())
