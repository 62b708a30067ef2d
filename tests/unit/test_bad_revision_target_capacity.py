"""A rollback sends 100% of today's load to the revision before: it must be shown to carry it at the
instances it may have (rules/target_capacity.py). Clean at the load it had says nothing of a larger one
under a limit the deploy raised (its max instances, its requests per instance, the service's manual count):
sending it everything then refuses most requests where the failing revision serves part of them."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Revision, Service
from shared.diagnosis.rules.target_capacity import instance_limit
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SERVICE, SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()


def _deployed(*, load: float, old_max: int | None = 5, new_max: int | None = 40, old_conc: int | None = None,
              new_conc: int | None = None, old_mib: float | None = None, new_mib: float | None = None,
              old_instances: float | None = 4, new_instances: float | None = None,
              scaling: dict | None = None) -> Evidence:
    """OLD served 300 clean requests a minute until NEW took the traffic at -10; NEW serves `load` a minute
    since, a third of them 500. `old_instances`: OLD's active instances before the deploy (None: not read);
    `new_instances`: NEW's since (None: not read). `scaling`: the service's ServiceScaling fields."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), max_instances=old_max, concurrency=old_conc, memory_mib=old_mib)
         .revision(NEW, -10, sql=(SQL,), max_instances=new_max, concurrency=new_conc, memory_mib=new_mib)
         .traffic(**{NEW: 100})
         .requests(OLD, -90, -10, 300).requests(NEW, -10, 5, load * 2 / 3).requests(NEW, -10, 5, load / 3, code="500")
         .latency(OLD, -90, -10, 0.2).latency(NEW, -10, 5, 0.4))
    if old_instances is not None:
        e.instances(OLD, -30, -10, old_instances)
    if new_instances is not None:
        e.instances(NEW, -10, 5, new_instances)
    e = quiet_connector(e)
    e.scaling = scaling or {}
    return e


def _bundle(e: Evidence):
    bundle = e.bundle()
    return bundle.model_copy(update={"service": bundle.service.model_copy(update=e.scaling)})


MANUAL = {"scaling_mode": "MANUAL"}
# (load now a minute, the builder's settings, the rollback target expected)
ROWS = [
    # Today's load no more than OLD carried before: it carried it already, at its own settings.
    ("the load it carried", 300, {}, OLD),
    ("less than it carried", 200, {}, OLD),
    # 300 a minute on 4 instances (75 each): 1,500 need 20, over its max of 5.
    ("needs 20 of its 5", 1500, {}, None),
    # 600 need 8: over 5 held, under 20 carried.
    ("needs 8 of its 5", 600, {}, None),
    ("needs 8 of its 20", 600, {"old_max": 20}, OLD),
    # Its max unset is Cloud Run's 100; a service-level max below it is the limit at 100%.
    ("needs 8 of the default 100", 600, {"old_max": None}, OLD),
    ("needs 8, the service-level max 6", 600, {"old_max": None, "scaling": {"max_instance_count": 6}}, None),
    # MANUAL: the service's count, whatever the revision's max ("ignore max instances"); the failing
    # revision runs the same count, so what each instance takes decides.
    ("manual 6, requests per instance raised", 600, {"old_max": 100, "old_conc": 10, "new_conc": 40,
                                                     "scaling": {**MANUAL, "manual_instance_count": 6}}, None),
    ("manual 6, the same settings", 600, {"old_max": 2, "new_max": 2,
                                          "scaling": {**MANUAL, "manual_instance_count": 6}}, OLD),
    ("manual 6, memory raised", 600, {"old_max": 2, "new_max": 2, "old_mib": 512, "new_mib": 1024,
                                      "scaling": {**MANUAL, "manual_instance_count": 6}}, None),
    ("manual, no count read", 600, {"old_max": 100, "old_instances": None, "scaling": MANUAL}, None),
    ("manual, no count read, the load it carried", 300, {"old_instances": None, "scaling": MANUAL}, OLD),
    # Its instances not read: a sign the limit binds holds it, none leaves the rollback as it was.
    ("the failing revision runs 24 of its 5", 1500, {"old_instances": None, "new_instances": 24}, None),
    ("the failing revision runs 4 of its 5", 400, {"old_instances": None, "new_instances": 4, "new_max": 5}, OLD),
    ("concurrency raised from 1 to 20", 400, {"old_instances": None, "old_max": 20, "new_max": 20, "old_conc": 1,
                                              "new_conc": 20}, None),
    ("max raised from 5 to 40", 400, {"old_instances": None}, None),
    ("nothing read, nothing raised", 400, {"old_instances": None, "old_max": 20, "new_max": 20}, OLD),
    # Far under its limit whatever it read: 400 a minute held 300 s each are 2,000 in flight, and 100
    # instances at 20 hold 2,000 (a deploy that raised requests per instance to 80 is no sign then).
    ("concurrency raised, 100 instances at 20 hold it", 400, {"old_instances": None, "old_max": None,
                                                              "old_conc": 20, "new_conc": 80}, OLD),
]


@pytest.mark.parametrize("why,load,kw,expected", ROWS, ids=[r[0] for r in ROWS])
def test_a_rollback_target_must_carry_todays_load(why, load, kw, expected):
    bundle = _bundle(_deployed(load=load, **kw))

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == NEW, result.summary
    assert result.known_good_revision == expected, result.summary
    assert plan(result, bundle, S).action == ("rollback_traffic" if expected else None)
    if expected is None:
        assert f"{OLD} is not shown to carry today's load" in result.no_target_reason
        assert f"100% of traffic to {OLD}" in result.no_target_reason


def test_the_escalation_gives_the_numbers():
    result = diagnose(_bundle(_deployed(load=1500)), S)

    said = result.no_target_reason
    assert "1500 requests" in said and "300" in said
    assert "about 20 instances" in said and "max_instance_count of 5" in said


LIMITS = [
    ({}, {"max_instance_count": 5}, 5),
    ({}, {}, 100),
    ({"max_instance_count": 3}, {}, 3),
    ({"max_instance_count": 300}, {}, 100),      # a revision left unset: the lower of the two readings
    ({"max_instance_count": 3}, {"max_instance_count": 10}, 3),
    ({"scaling_mode": "MANUAL", "manual_instance_count": 0}, {"max_instance_count": 10}, 0),
    ({"scaling_mode": "MANUAL"}, {"max_instance_count": 10}, None),
    ({"scaling_mode": "AUTOMATIC", "manual_instance_count": 2}, {"max_instance_count": 10}, 10),
]


@pytest.mark.parametrize("service,revision,limit", LIMITS)
def test_the_instances_a_target_may_have_at_all_the_traffic(service, revision, limit):
    s = Service(name=SERVICE, generation=1, **service)
    r = Revision(name=f"{SERVICE}/revisions/{OLD}", service=SERVICE, create_time="2026-11-26T12:00:00Z", **revision)
    assert instance_limit(s, r)[0] == limit
