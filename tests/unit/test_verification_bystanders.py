"""Services not in the config on a connector a change scaled (shared/remediation/bystanders.py): which are
read, how each is judged (never acted on), and how that holds a `verified` back (judging.combine,
next_step). Pure, no I/O.

Times are minutes from the action's settle time (T0): applied at -5, settled at 0, deadline at +10."""
from __future__ import annotations

import pytest

from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
from shared.remediation import bystanders
from shared.remediation.judging import HealthKind, StepKind, combine, next_step
from tests.unit.builders import CONNECTOR, SERVICE, Evidence, at
from tests.unit.test_verification_judging import OLD, SETTINGS, TIMES, scale_up, served, sweep_at, swept

REPORTS = "projects/demo/locations/us-central1/services/reports"
LEGACY = "projects/demo/locations/us-central1/services/legacy"


def other(now: float, *, before: float = 40, before_bad: float = 0, after: float = 40, after_bad: float = 0,
          code: str = "503", p99_before: float = 0.12, p99_after: float = 0.12, after_from: float = -5) -> Evidence:
    """A service not in the config on the connector: `before` requests a minute (of which `before_bad` fail)
    until the write at -5, `after` (of which `after_bad` fail) from `after_from`."""
    e = Evidence(now=now).revision(OLD, -180)
    e.traffic(**{OLD.replace("-", "_"): 100})
    if before:
        e.requests(OLD, -30, -5, before - before_bad).latency(OLD, -30, -5, p99_before)
    if before_bad:
        e.requests(OLD, -30, -5, before_bad, code)
    if after:
        e.requests(OLD, after_from, now, after - after_bad).latency(OLD, after_from, now, p99_after)
    if after_bad:
        e.requests(OLD, after_from, now, after_bad, code)
    return e


def standing(evidence: Evidence):
    return bystanders.standing(scale_up(), swept(evidence), SETTINGS, TIMES.min_traffic_ratio)


# name, evidence, kind, words
ROWS = [
    ("clean before and since", other(6), HealthKind.HEALTHY, "not failing worse"),
    ("503 at 50 % since, clean before", other(6, after_bad=20), HealthKind.FAILING, "fails worse"),
    ("503 at 10 % since, clean before", other(8, after_bad=4), HealthKind.FAILING, "fails worse"),
    ("429 at 25 % since, 0.5 % before", other(7, before=200, before_bad=1, after=40, after_bad=10, code="429"),
     HealthKind.FAILING, "fails worse"),
    ("504 at 20 % since, as before: its own failure, not worse", other(6, before_bad=8, after_bad=8, code="504"),
     HealthKind.HEALTHY, "not failing worse"),
    ("hanging at 30 s since, fast before", other(6, p99_after=30.0), HealthKind.FAILING, "p99 at or above"),
    ("p99 0.12 s before, 4 s since", other(6, p99_after=4.0), HealthKind.FAILING, "p99 over"),
    ("p99 2 s before and 2.5 s since: not slower", other(6, p99_before=2.0, p99_after=2.5), HealthKind.HEALTHY,
     "not failing worse"),
    ("served before, nothing since", other(11, after=0), HealthKind.UNCLEAR, "too few requests since"),
    ("served before, 3 a minute since (33 requests: enough to count, not a tenth of 40)", other(11, after=3),
     HealthKind.UNCLEAR, "traffic is mostly gone"),
    ("idle before and since: not judged", other(11, before=0, after=0), HealthKind.HEALTHY, "not judged"),
]


@pytest.mark.parametrize("name,evidence,kind,words", ROWS, ids=[r[0] for r in ROWS])
def test_a_service_not_in_the_config_is_judged_on_failing_worse_than_before_the_write(name, evidence, kind, words):
    health = standing(evidence)
    assert health.kind is kind, health.why
    assert words in health.why, health.why
    assert bystanders.NOT_MANAGED in health.why


def test_a_failure_that_straddles_the_write_is_not_read_as_after_it():
    """503s in the minutes up to the write and the skew allowance after it (the old connector's last minutes),
    clean from then: the minutes since start at after_write, so those are not read as the change's doing."""
    e = other(8).requests(OLD, -5, -1, 20, "503")
    assert standing(e).kind is HealthKind.HEALTHY, standing(e).why


def test_the_newest_partial_minute_is_not_judged():
    """A 503 burst in the newest minute, not yet whole when the sweep reads it, holds nothing: a later sweep
    reads it whole."""
    e = other(6)
    bundle = swept(e).model_copy(update={"collected_at": at(6) + (sweep_at(e) - at(6)) / 6})
    assert bystanders.standing(scale_up(), bundle, SETTINGS, TIMES.min_traffic_ratio).kind is not HealthKind.FAILING


@pytest.mark.parametrize("name,bystander,kind,step", [
    ("a service not in the config failing worse: not verified, waits", other(6, after_bad=20),
     HealthKind.FAILING, StepKind.WAIT),
    ("... and at the deadline: escalated, a connector change never undone", other(11, after_bad=20),
     HealthKind.FAILING, StepKind.ESCALATE),
    ("clean as before: verified", other(6), HealthKind.HEALTHY, StepKind.VERIFY),
    ("its traffic gone since: not verified", other(11, after=0), HealthKind.UNCLEAR, StepKind.ESCALATE),
])
def test_a_connector_change_is_verified_only_when_no_service_on_it_fails_worse(name, bystander, kind, step):
    own = served(bystander.now).connector("e2-standard-4", 2, 4)
    from shared.remediation.judging import judge
    mine = judge(scale_up(), swept(own).model_copy(update={"incident_started_at": scale_up().settle_at}), SETTINGS,
                 None, TIMES.min_traffic_ratio)
    assert mine.kind is HealthKind.HEALTHY, mine.why
    health = combine([(SERVICE, mine), (REPORTS, standing(bystander))], "services not in the config read: reports")
    assert health.kind is kind, health.why
    done = next_step(scale_up(), health, sweep_at(bystander), TIMES)
    assert done.kind is step, done.why
    assert "reports" in health.why


def _service(name: str, *, template: str | None, latest: str = "r-2", created: str = "r-2",
             serving: dict[str, int] | None = None, template_known: bool = True, statuses: bool = True) -> Service:
    split = tuple(TrafficTarget(type=TrafficType.REVISION, revision=r, percent=p)
                  for r, p in (serving or {latest: 100}).items())
    return Service(name=name, generation=1, traffic=split, traffic_statuses=split if statuses else (),
                   latest_ready_revision=latest, latest_created_revision=created, template_connector=template,
                   template_known=template_known)


@pytest.mark.parametrize("name,service,read", [
    ("template names the connector by full name", _service(REPORTS, template=CONNECTOR), True),
    ("template names it by bare id", _service(REPORTS, template="backend-conn"), True),
    ("another connector, serving its latest ready revision", _service(REPORTS, template="other-conn"), False),
    ("no connector, serving its latest ready revision", _service(REPORTS, template=None), False),
    ("no connector now, but serving an older revision", _service(REPORTS, template=None, serving={"r-1": 100}), True),
    ("no connector, a split", _service(REPORTS, template=None, serving={"r-1": 50, "r-2": 50}), True),
    ("no connector in the template, its latest revision failed", _service(REPORTS, template=None, created="r-3"),
     True),
    ("a managed service is never a bystander", _service(SERVICE, template=CONNECTOR), False),
    # Direct VPC egress: the template's vpc_access holds network_interfaces, no connector (never both).
    ("Direct VPC egress, serving its latest ready revision", _service(REPORTS, template=None), False),
    # A listed entry that is not whole (UNCONFIRMED whether the API lists one so): never "names no connector".
    ("listed without its template", _service(REPORTS, template=None, template_known=False), True),
    ("listed without its traffic statuses", _service(REPORTS, template=None, statuses=False), True),
])
def test_which_services_not_in_the_config_are_read(name, service, read):
    found = bystanders.listed([service], [SERVICE], CONNECTOR)
    assert (service.name in [s.name for s in found.to_read]) is read


@pytest.mark.parametrize("name,service,whole", [
    ("template and traffic statuses", _service(REPORTS, template=None), True),
    ("no template", _service(REPORTS, template=None, template_known=False), False),
    ("no traffic statuses", _service(REPORTS, template=CONNECTOR, statuses=False), False),
])
def test_a_listed_service_is_used_as_it_is_only_when_whole(name, service, whole):
    assert bystanders.whole(service) is whole


def test_past_the_bound_the_services_not_read_are_named():
    many = [_service(f"projects/demo/locations/us-central1/services/s{i}", template=CONNECTOR) for i in range(8)]
    found = bystanders.listed(many + many[:1], [SERVICE], CONNECTOR)
    assert len(found.to_read) == bystanders.MAX_LOOKED_UP
    assert len(found.not_read) == 8 - bystanders.MAX_LOOKED_UP
    assert found.listed == 8      # one listed twice (two projects' lists naming one project) counts once


@pytest.mark.parametrize("name,behind,to_list,past", [
    ("the connector's own project alone", [SERVICE], ["projects/demo/locations/us-central1"], []),
    ("a Shared VPC service project's managed service",
     [SERVICE, "projects/shop/locations/us-central1/services/shop"],
     ["projects/demo/locations/us-central1", "projects/shop/locations/us-central1"], []),
    ("a service of another region cannot use it", ["projects/shop/locations/europe-west1/services/shop"],
     ["projects/demo/locations/us-central1"], []),
    ("past the bound", [f"projects/p{i}/locations/us-central1/services/s" for i in range(4)],
     ["projects/demo/locations/us-central1", "projects/p0/locations/us-central1",
      "projects/p1/locations/us-central1"],
     ["projects/p2/locations/us-central1", "projects/p3/locations/us-central1"]),
])
def test_the_projects_listed_are_the_connectors_and_those_of_the_managed_services_behind_it(name, behind, to_list,
                                                                                            past):
    assert bystanders.parents(CONNECTOR, behind) == (tuple(to_list), tuple(past))
    assert "other than demo" in bystanders.unseen(to_list)
