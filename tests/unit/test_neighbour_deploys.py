"""A service alert's connector saturation on a shared connector, with another service behind it that began serving a
new revision shortly before the connector's load rose: the neighbour's deploy is named beside the scale (service,
revision, when it began serving, who deployed it, how long before the rise), never acted on. A deploy after the rise,
long before it, on another connector, or not serving is not named; several that line up are each named. The decision
(scaled or held) never changes: only the words after "Also found:"."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.connector_names import NOT_MANAGED
from shared.diagnosis.neighbour_deploys import Neighbour, Outside, connector_rise, named_beside
from shared.diagnosis.notable import rule_words
from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
from shared.diagnosis.scope import OUTSIDE_SECONDS, ServiceResult, held_by_peers, outside_neighbours
from shared.errors import PermanentError, TransientError
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, Evidence
from tests.unit.test_connector_peer_users import BACKEND, OTHER, REPORTS, saturated
from tests.unit.test_service_alert_connector_peers import S

NEW = "reports-00042-new"
OLDER = "reports-00041-old"


def deployed(minutes: float, *, connector: str = CONNECTOR, serving: bool = True, ready: bool = True) -> Evidence:
    """reports, idle behind `connector` (a request a minute: no evidence for or against it), its revision NEW created
    and ready at `minutes` (relative to now), by deploy@example.com, serving all its traffic (or none)."""
    split = {NEW: 100} if serving else {OLDER: 100}
    return (Evidence().revision(OLDER, -300, connector=connector)
            .revision(NEW, minutes, ready, connector=connector, creator="deploy@example.com")
            .traffic(**split).requests(NEW if serving else OLDER, -90, 5, 1))


def failing() -> ServiceResult:
    bundle = saturated().bundle()
    return ServiceResult(BACKEND, bundle, diagnose(bundle, S))


# the neighbours' revisions (the connector's load rises at -8m, the minute ending -7m) -> the revisions named
CASES = {
    "ready 4 min before the rise: named": ([deployed(-11)], [NEW]),
    "ready a minute before the rise: named": ([deployed(-8.5)], [NEW]),
    "ready after the rise: not named": ([deployed(-5)], []),
    "ready long before the rise (40 min): not named": ([deployed(-47)], []),
    "ready just past the 15-minute bound: not named": ([deployed(-23)], []),
    "on another connector: not named": ([deployed(-11, connector=OTHER)], []),
    "created but serving no traffic: not named": ([deployed(-11, serving=False)], []),
    "failed to become ready: not named": ([deployed(-11, ready=False)], []),
    "no neighbour: nothing named": ([], []),
}


@pytest.mark.parametrize("peers, named", CASES.values(), ids=CASES.keys())
def test_a_neighbours_deploy_is_named_only_when_it_lines_up_with_the_rise(peers, named):
    result = failing()
    bundles = [(REPORTS, p.bundle()) for p in peers]
    judged = named_beside(result.diagnosis, result.bundle, CONNECTOR, bundles, S)

    for name in named:
        assert name in judged.summary
    assert ("deployed" in judged.summary) is bool(named), judged.summary
    # Only words: the decision and what planning reads are unchanged.
    assert (judged.signature, judged.confidence, judged.recommendation) == (
        result.diagnosis.signature, result.diagnosis.confidence, result.diagnosis.recommendation)
    assert rule_words(judged.summary).rstrip(".") == rule_words(result.diagnosis.summary).rstrip(".")
    assert plan(judged, result.bundle, S).action == plan(result.diagnosis, result.bundle, S).action


def test_the_deploy_is_named_with_who_when_and_how_long_before_the_rise():
    result = failing()
    judged = named_beside(result.diagnosis, result.bundle, CONNECTOR, [(REPORTS, deployed(-11).bundle())], S)
    assert "reports deployed reports-00042-new by deploy@example.com" in judged.summary
    assert "load rose 4 min after reports-00042-new began serving" in judged.summary
    assert "does not roll back another service" in judged.summary
    assert judged.evidence[-1].role == "context" and "15 min" in judged.evidence[-1].threshold


def test_several_neighbours_that_line_up_are_each_named():
    result = failing()
    second = "jobs"
    bundles = [(REPORTS, deployed(-11).bundle()), (second, deployed(-10).bundle())]
    judged = named_beside(result.diagnosis, result.bundle, CONNECTOR, bundles, S)
    assert "several neighbours deployed" in judged.summary
    assert judged.summary.count(NEW) >= 2


def test_a_connector_saturated_from_the_first_minute_read_has_no_rise_and_names_nobody():
    always = (Evidence().revision("backend-00001-abc", -300).traffic(**{"backend-00001-abc": 100})
              .requests("backend-00001-abc", -90, 5, 200).requests("backend-00001-abc", -6, 5, 50, code="503")
              .latency("backend-00001-abc", -90, -6, 0.09).latency("backend-00001-abc", -6, 5, 31.0)
              .connector(max_instances=3).connector_metric("instances", -90, 5, 3)
              .connector_metric("cpu", -90, 5, 0.9).connector_metric("bytes", -90, 5, 4e6)).bundle()
    assert connector_rise(Facts(always, S)) is None
    result = ServiceResult(BACKEND, always, diagnose(always, S))
    judged = named_beside(result.diagnosis, always, CONNECTOR, [(REPORTS, deployed(-11).bundle())], S)
    assert judged == result.diagnosis


def test_a_scale_held_back_for_a_clean_peer_still_names_the_deploy():
    result = failing()
    busy = (Evidence().revision(NEW, -11, creator="deploy@example.com").traffic(**{NEW: 100})
            .requests(NEW, -90, 5, 120).latency(NEW, -90, 5, 0.08))
    held = held_by_peers(result, CONNECTOR, [(REPORTS, busy.bundle())], [], S, 7)
    judged = named_beside(held, result.bundle, CONNECTOR, [(REPORTS, busy.bundle())], S)
    assert judged.signature is held.signature and NEW in judged.summary


def outside(ev: Evidence, name: str = "exports") -> Neighbour:
    """A neighbour not in the config as its listing and ListRevisions read it."""
    bundle = ev.bundle()
    return Neighbour(name, bundle.service, tuple(bundle.revisions), managed=False)


# what was read of the services not in the config (connector's rise at -8m) -> named, and the words that must be there
OUTSIDE_CASES = {
    "not in the config, ready 4 min before the rise: named, as read only": (
        Outside((outside(deployed(-11)),)), [NEW, f"exports ({NOT_MANAGED}) deployed"]),
    "not in the config, ready after the rise: not named": (Outside((outside(deployed(-5)),)), []),
    "not in the config, on another connector: not named": (Outside((outside(deployed(-11, connector=OTHER)),)), []),
    "not in the config, not serving: not named": (Outside((outside(deployed(-11, serving=False)),)), []),
    "the list refused: said, nothing named": (
        "refused", ["is not known", "PermissionDenied: 403", "could not be listed", "needs run.services.list"]),
    "every service looked at, none behind it: nothing said": (Outside(), []),
}


@pytest.mark.parametrize("read, words", OUTSIDE_CASES.values(), ids=OUTSIDE_CASES.keys())
def test_a_neighbour_not_in_the_config_is_held_to_the_same_bar_and_a_refused_list_is_only_said(read, words):
    result = failing()
    if read == "refused":     # the read itself, as ListServices refuses it
        refusal = PermanentError("PermissionDenied: 403 Permission denied on resource", code="PERMISSION_DENIED")
        read = outside_neighbours(SimpleNamespace(run=Refusing(refusal)), CONNECTOR, [BACKEND], [BACKEND], _always)
    judged = named_beside(result.diagnosis, result.bundle, CONNECTOR, [], S, read)

    for said in words:
        assert said in judged.summary, judged.summary
    assert (NEW in judged.summary) is any(w == NEW for w in words), judged.summary
    if not words:
        assert judged.summary == result.diagnosis.summary
    # Only words: the decision and what planning reads are unchanged, whatever was or was not read.
    assert (judged.signature, judged.confidence, judged.recommendation) == (
        result.diagnosis.signature, result.diagnosis.confidence, result.diagnosis.recommendation)
    assert rule_words(judged.summary).rstrip(".") == rule_words(result.diagnosis.summary).rstrip(".")
    assert plan(judged, result.bundle, S).action == plan(result.diagnosis, result.bundle, S).action


# --- the read of the services not in the config (scope.outside_neighbours) ----------------------------------------

PARENT = CONNECTOR.split("/connectors/")[0]


def _always(_seconds: float) -> bool:
    return True


class Refusing:
    """Cloud Run refusing ListServices with `exc`, as call_with_retry raises it after the call's own retries."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def list_services(self, parent, size, token=""):
        raise self.exc


# As shared.errors.classify words them ("{type}: {one_line}"): an outage, a deadline, a quota.
OUTAGES = {
    "UNAVAILABLE": TransientError("ServiceUnavailable: 503 The service is currently unavailable."),
    "DEADLINE_EXCEEDED": TransientError("DeadlineExceeded: 504 Deadline Exceeded"),
    "RESOURCE_EXHAUSTED": TransientError("TooManyRequests: 429 Quota exceeded for quota metric 'Read requests'"),
}


@pytest.mark.parametrize("code", OUTAGES, ids=OUTAGES)
def test_a_list_that_failed_for_an_outage_is_not_said_to_need_a_permission(code):
    said = outside_neighbours(SimpleNamespace(run=Refusing(OUTAGES[code])), CONNECTOR, [BACKEND], [BACKEND],
                              _always).unlooked
    assert "could not be listed" in said and OUTAGES[code].args[0] in said, said
    assert "run.services.list" not in said, said


class Clock:
    """Seconds on a clock the fake Cloud Run moves."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Slow:
    """Cloud Run answering at the edge of each call's 30 s (CallPolicy.longest_run): 3 full pages of services whose
    entries are not whole (GetService asked for each), every one behind the connector."""

    def __init__(self, clock: Clock, seconds: float = 29.0) -> None:
        self.clock, self.seconds, self.calls = clock, seconds, 0

    def _tick(self) -> None:
        self.calls += 1
        self.clock.t += self.seconds

    def list_services(self, parent, size, token=""):
        self._tick()
        page = int(token or 0)
        return ([Service(name=f"{parent}/services/svc-{page}-{i}", generation=1, template_known=False)
                 for i in range(size)], "" if page == 2 else str(page + 1))

    def get_service(self, name):
        self._tick()
        return Service(name=name, generation=1, template_connector=CONNECTOR, latest_ready_revision="r-1",
                       latest_created_revision="r-1",
                       traffic_statuses=(TrafficTarget(type=TrafficType.REVISION, revision="r-1", percent=100),))

    def list_revisions(self, name):
        self._tick()
        return []


@pytest.mark.parametrize("seconds, cut", [(29.0, True), (3.0, True), (0.5, False)])
def test_the_context_read_holds_the_decision_back_by_its_bound_at_most(seconds, cut):
    clock = Clock()
    run = Slow(clock, seconds)
    out = outside_neighbours(SimpleNamespace(run=run), CONNECTOR, [BACKEND], [BACKEND], _always, clock)
    # No lookup is started past the bound: the read ends within it and the one lookup (two calls) that crossed it.
    assert clock.t <= OUTSIDE_SECONDS + 2 * seconds, f"{run.calls} calls, {clock.t:.0f} s before the decision"
    assert (f"not looked: the list took longer than {OUTSIDE_SECONDS:.0f} s" in out.unlooked) is cut, out.unlooked
    assert len(out.unlooked) < 600, out.unlooked      # a few names and a count, never hundreds of names


class Recording:
    """Cloud Run whose projects hold no service; records the parents listed."""

    def __init__(self) -> None:
        self.parents: list[str] = []

    def list_services(self, parent, size, token=""):
        self.parents.append(parent)
        return [], ""


def test_a_shared_vpc_connector_lists_the_managed_services_projects_too_and_says_what_it_did_not():
    """Connector in the host project, the services behind it in service projects: the managed services' projects
    are listed too, at most 2 (the connector's own first); one past them is said not to have been looked at."""
    run = Recording()
    host = "projects/net-host/locations/r/connectors/shared"
    behind = ["projects/app-prod/locations/r/services/ledger", "projects/app-prod/locations/r/services/billing",
              "projects/app-batch/locations/r/services/nightly", "projects/app-eu/locations/eu/services/far"]
    out = outside_neighbours(SimpleNamespace(run=run), host, behind, behind, _always)
    assert run.parents == ["projects/net-host/locations/r", "projects/app-prod/locations/r"]
    assert "projects/app-batch/locations/r" in out.unlooked, out.unlooked
    assert "eu" not in out.unlooked, out.unlooked     # another region cannot use the connector


class Many:
    """8 services not in the config name the connector, in the connector's project only; the one deployed last is
    listed 7th."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def list_services(self, parent, size, token=""):
        if parent != PARENT:
            return [], ""
        names = ["a-idle", "b-idle", "c-idle", "d-idle", "e-idle", "f-idle", "statements", "z-idle"]
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        return [Service(name=f"{parent}/services/{n}", generation=1, template_connector=CONNECTOR,
                        traffic_statuses=(TrafficTarget(type=TrafficType.REVISION, revision=f"{n}-1", percent=100),),
                        latest_ready_revision=f"{n}-1", latest_created_revision=f"{n}-1",
                        update_time=start + timedelta(days=30 if n == "statements" else i))
                for i, n in enumerate(names)], ""

    def list_revisions(self, name):
        self.read.append(name.rsplit("/", 1)[1])
        return []


def test_the_five_read_are_the_last_changed_not_the_first_listed():
    run = Many()
    out = outside_neighbours(SimpleNamespace(run=run), CONNECTOR, [BACKEND], [BACKEND], _always)
    assert run.read[0] == "statements", run.read
    assert len(run.read) == 5 and "a-idle" not in run.read, run.read
    assert "may use it, past the 5 last changed read" in out.unlooked and "a-idle" in out.unlooked, out.unlooked


class Hanging:
    """Cloud Run whose ListServices does not answer until released (a call at its longest run)."""

    def __init__(self) -> None:
        import threading
        self.released = threading.Event()

    def list_services(self, parent, size, token=""):
        self.released.wait(60)
        return [], ""


def test_the_decision_waits_for_a_hanging_list_no_longer_than_the_bound():
    import time
    from shared.diagnosis.scope import outside_in_time
    run = Hanging()
    began = time.monotonic()
    try:
        out = outside_in_time(SimpleNamespace(run=run), CONNECTOR, [BACKEND], [BACKEND], _always)
    finally:
        run.released.set()
    assert time.monotonic() - began < OUTSIDE_SECONDS + 2
    assert out.neighbours == () and f"the list took longer than {OUTSIDE_SECONDS:.0f} s" in out.unlooked, out
