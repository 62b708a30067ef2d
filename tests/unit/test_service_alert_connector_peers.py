"""A service's own alert (a cloud_run_revision 5xx or latency alert) diagnosed as its connector's saturation, while
another managed service behind the same connector served cleanly in the same minutes (busy, few 5xx, no hang): a
saturated connector delays or drops the packets of every service crossing it alike, so the clean one is evidence
against it, as it is on a connector alert (connector_peers, scope._clean_peer_held). Before, the service alert's path
never looked at the connector's other users and the connector was scaled; now the scale is held back (inconclusive,
the connector competing, both named). A peer idle, failing too, hanging, on another connector, or none at all: the
connector is scaled as before. A peer that could not be read holds the scale back, named (unread is not idle)."""
from __future__ import annotations

import pytest

from shared.config import Config, DiagnosisSettings, ManagedService
from shared.diagnosis.collection import Readers, Users
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.scope import (ALERT_AGAIN, COMMAND_AGAIN, ServiceResult, held_by_peers, peers_not_read,
                                    saturated_connector, service_peers_held)
from shared.diagnosis.signatures import Signature
from shared.errors import TransientError
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR
from tests.unit.test_connector_peer_users import BACKEND, OTHER, REPORTS, peer, saturated

S = DiagnosisSettings()
UNREAD = f"{REPORTS}: not answered after 3 read(s) of Cloud Run (GetService, ListRevisions): 503 UNAVAILABLE"


def failing() -> ServiceResult:
    bundle = saturated().bundle()
    return ServiceResult(BACKEND, bundle, diagnose(bundle, S))


# the connector's other managed users (each: its evidence), those not read -> whether the connector is scaled
CASES = {
    "busy and clean in the same minutes: held, both named": ([peer()], [], False),
    "busy, a few 503s under the healthy bar: held": ([peer(per_minute=200, bad=1)], [], False),
    "busy, its p99 a few seconds: held": ([peer(p99=4.0)], [], False),
    "an idle peer, then a clean one: held on the clean one": ([peer(per_minute=1), peer()], [], False),
    "a peer's read never answered: held, naming it": ([], [UNREAD], False),
    "a failing peer read, another not read: held": ([peer(bad=60)], [UNREAD], False),
    "idle (a request a minute): scaled as before": ([peer(per_minute=1)], [], True),
    "failing too (half its requests 503): scaled as before": ([peer(bad=60)], [], True),
    "hanging too (p99 at 31 s): scaled as before": ([peer(p99=31.0)], [], True),
    "its latency not read: scaled as before": ([peer(p99=None)], [], True),
    "on another connector: scaled as before": ([peer(connector=OTHER)], [], True),
    "no other user: scaled as before": ([], [], True),
}


@pytest.mark.parametrize("peers, unread, scaled", CASES.values(), ids=CASES.keys())
def test_a_service_alert_holds_the_shared_connector_scale_for_a_busy_clean_peer(peers, unread, scaled):
    result = failing()
    assert saturated_connector(result) == CONNECTOR, result.diagnosis.summary

    held = held_by_peers(result, CONNECTOR, [(REPORTS, p.bundle()) for p in peers], unread, S, 7)

    if scaled:
        assert held is None, held.summary
        assert plan(result.diagnosis, result.bundle, S).action == "scale_connector"
        return
    assert held is not None and held.signature is Signature.INCONCLUSIVE, held
    assert held.competing == ("connector_saturation",) and held.api_calls == 7, held
    assert plan(held, result.bundle, S).action is None
    assert "also serves" in held.summary and "reports" in held.summary and "backend shows" in held.summary, \
        held.summary


def test_the_clean_peer_is_named_with_its_figures_and_the_bars():
    held = held_by_peers(failing(), CONNECTOR, [(REPORTS, peer().bundle())], [], S, 0)

    assert held is not None
    assert "reports served" in held.summary and "cleanly in the minutes backend failed" in held.summary, held.summary
    refuting = [item for item in held.evidence if item.role == "refutes" and "reports served" in item.observed]
    assert refuting and "p99 max" in refuting[0].observed and "while backend failed" in refuting[0].observed
    assert str(S.min_requests) in refuting[0].threshold, refuting[0].threshold
    assert held.recommendation.startswith("compare what the failing service does"), held.recommendation


def test_a_peer_not_read_is_named_with_why_and_what_to_read_by_hand():
    held = held_by_peers(failing(), CONNECTOR, [], [UNREAD], S, 0)

    assert held is not None and "1 could not be read" in held.summary and "503 UNAVAILABLE" in held.summary
    assert "nothing is done on the connector" in held.summary, held.summary
    assert held.recommendation.startswith("read the other users of connector backend-conn by hand"), \
        held.recommendation


def test_only_a_saturation_of_the_connector_the_service_routes_through_reads_its_peers():
    """A diagnosis that is not the connector's saturation (a bad revision, say) reads no peers at all."""
    result = failing()
    other = result.diagnosis.model_copy(update={"signature": Signature.BAD_REVISION})
    assert saturated_connector(ServiceResult(BACKEND, result.bundle, other)) == ""
    elsewhere = result.diagnosis.model_copy(update={"subject": OTHER})
    assert saturated_connector(ServiceResult(BACKEND, result.bundle, elsewhere)) == ""


# What users_of found of the other managed services -> the ones named as not read (each "service: why" starts so).
GONE = f"{REPORTS}: 404 NOT_FOUND: service not found"
REFUSED = f"{REPORTS}: 403 PERMISSION_DENIED: caller lacks run.services.get"
NOT_READ = {
    "refused (PERMISSION_DENIED): named with the refusal": (
        Users((), (REPORTS,), (REFUSED,), maybe=(REPORTS,)), [REFUSED]),
    "never answered: named with its fault": (
        Users((), (REPORTS,), (UNREAD,), maybe=(REPORTS,), unanswered=(REPORTS,)), [UNREAD]),
    "names the connector by another project's number": (
        Users((), (REPORTS,), maybe=(REPORTS,), by_number=(REPORTS,)),
        [f"{REPORTS}: its serving revision names the connector by a project number"]),
    "its lookup cut for the alert's time": (
        Users((), (), maybe=(REPORTS,), cut=(REPORTS,)),
        [f"{REPORTS}: not read: the alert's time left no room for its lookup"]),
    "past the fan-out": (
        Users((), (), maybe=(REPORTS,), not_looked_at=1), [f"{REPORTS}: not read: past the 50 managed services"]),
    "gone (NOT_FOUND): behind nothing, not named": (Users((), (REPORTS,), (GONE,), gone=(REPORTS,)), []),
    "read and behind it: a peer, not named": (Users((REPORTS,), (REPORTS,)), []),
    "read and elsewhere: not named": (Users((), (REPORTS,)), []),
}


@pytest.mark.parametrize("found, named", NOT_READ.values(), ids=NOT_READ.keys())
def test_every_service_that_may_be_behind_the_connector_and_was_not_told_apart_is_named(found, named):
    said = peers_not_read(found)

    assert len(said) == len(named), said
    for why, start in zip(said, named):
        assert why.startswith(start), why


def test_a_refused_or_by_number_peer_holds_the_scale_back():
    """Each one not told apart holds the scale as a peer that never answered does (held_by_peers' `unread`)."""
    for found, named in NOT_READ.values():
        held = held_by_peers(failing(), CONNECTOR, [], peers_not_read(found), S, 0)
        assert (held is not None) == bool(named), (named, held)
        if held is not None:
            assert held.signature is Signature.INCONCLUSIVE and plan(held, failing().bundle, S).action is None


def test_no_peer_is_looked_up_once_the_alerts_time_has_no_room_for_it():
    """`fits` says no read fits: nothing is read (readers that would fail on any call), and every other managed
    service is named as not read, the scale held back."""
    result = failing()
    config = Config(project="demo-project", outcomes_topic="projects/demo-project/topics/runwarden-outcomes",
                    services=(ManagedService(name=BACKEND), ManagedService(name=REPORTS)))
    nothing = Readers(run=None, monitoring=None)   # type: ignore[arg-type]  (any read would raise)

    held = service_peers_held(result, config, nothing, result.bundle.collected_at, again="", fits=lambda _s: False)

    assert held.signature is Signature.INCONCLUSIVE, held.summary
    assert f"{REPORTS}: not read: the alert's time left no room for its lookup" in held.summary, held.summary
    assert plan(held, result.bundle, S).action is None


class _NeverAnswers:
    """A Cloud Run port whose every read meets a transient fault (UNAVAILABLE past the call's retries)."""

    def get_service(self, name: str):
        raise TransientError(f"GetService {name}: 503 UNAVAILABLE")

    list_revisions = get_service


# who reads the peers (service_peers_held's `again`) -> what its fault says becomes of the read
AGAIN = {
    "an alert, delivered again by Pub/Sub": (ALERT_AGAIN, "not all read, read again on the alert's next delivery: "),
    "an approve, delivered again by Pub/Sub": (COMMAND_AGAIN,
                                               "not all read, read again on the command's next delivery: "),
    "a command a person runs (diagnose, eval): its own words": ("", "not all read: "),
}


@pytest.mark.parametrize("again, said", AGAIN.values(), ids=AGAIN.keys())
def test_a_peer_that_never_answered_is_worded_for_whoever_reads_it(again, said):
    result = failing()
    config = Config(project="demo-project", outcomes_topic="projects/demo-project/topics/runwarden-outcomes",
                    services=(ManagedService(name=BACKEND), ManagedService(name=REPORTS)))
    readers = Readers(run=_NeverAnswers(), monitoring=None)   # type: ignore[arg-type]

    with pytest.raises(TransientError) as raised:
        service_peers_held(result, config, readers, result.bundle.collected_at, again=again)

    assert said in str(raised.value) and f"{REPORTS}: not answered after 3 read(s)" in str(raised.value), raised.value
    assert ("delivery" in str(raised.value)) == bool(again), raised.value
