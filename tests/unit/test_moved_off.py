"""A connector alert with no managed user behind it: which managed services moved off the connector within the
deploy window (shared/diagnosis/moved_off.py), and the answer held for a person that names them. Pure, from tables:
before, such an alert was skipped whatever the move's age (a service that left the connector minutes ago and fails
since reached nobody)."""
from __future__ import annotations

import pytest

from cli.diagnose import _unplanned
from shared.alerts.incidents import AlertTarget, TargetKind
from shared.diagnosis.evidence import Revision, Service, TrafficTarget, TrafficType
from shared.diagnosis.moved_off import MovedOff, moved_off, moved_off_held
from shared.diagnosis.signatures import Diagnosis, Signature
from tests.unit.builders import at

SERVICE = "projects/id-platform/locations/europe-west4/services/accounts"
CONNECTOR = "projects/id-platform/locations/europe-west4/connectors/accounts-conn"
OTHER_CONNECTOR = "projects/id-platform/locations/europe-west4/connectors/batch-conn"
BY_NUMBER = "projects/987654/locations/europe-west4/connectors/accounts-conn"
SINCE = at(-30)   # the incident's start (at(0)) less the deploy window (1800 s)

def _revision(short: str, created_minutes: float, connector: str | None = None,
              interfaces: tuple[str, ...] = ()) -> Revision:
    return Revision(name=f"{SERVICE}/revisions/{short}", service=SERVICE, create_time=at(created_minutes),
                    vpc_connector=connector, vpc_network_interfaces=interfaces)

def _service(serving: dict[str, int]) -> Service:
    # "gix@preview": 0 is revision accounts-00205-gix named by the tag preview at 0 %.
    split = tuple(TrafficTarget(type=TrafficType.REVISION, revision=_tagged(r)[0], tag=_tagged(r)[1], percent=p)
                  for r, p in serving.items())
    newest = next(iter(serving))
    return Service(name=SERVICE, generation=3, traffic=split, traffic_statuses=split, latest_ready_revision=newest,
                   latest_created_revision=newest, template_connector=None)

def _tagged(key: str) -> tuple[str, str]:
    short, _, tag = key.partition("@")
    return (f"accounts-00205-{short}" if tag else short), tag

OLD = _revision("accounts-00204-lar", -20 * 24 * 60, CONNECTOR)
DIRECT = ("id-vpc/run-egress",)

CASES = [
    # name, revisions, serving split, the move found (its serving revision, the egress words) or None
    ("moved onto Direct VPC egress 15 minutes before the incident",
     (OLD, _revision("accounts-00205-gix", -15, interfaces=DIRECT)), {"accounts-00205-gix": 100},
     ("accounts-00205-gix", "Direct VPC egress on id-vpc/run-egress")),
    ("moved onto another connector 15 minutes before",
     (OLD, _revision("accounts-00205-gix", -15, OTHER_CONNECTOR)), {"accounts-00205-gix": 100},
     ("accounts-00205-gix", "connector batch-conn")),
    ("moved to no VPC egress at all 15 minutes before",
     (OLD, _revision("accounts-00205-gix", -15)), {"accounts-00205-gix": 100}, ("accounts-00205-gix", "no VPC egress")),
    ("moved at the window's very start: within it",
     (OLD, _revision("accounts-00205-gix", -30, interfaces=DIRECT)), {"accounts-00205-gix": 100},
     ("accounts-00205-gix", "Direct VPC egress on id-vpc/run-egress")),
    ("moved a day before: the connector's past, not the alert's",
     (OLD, _revision("accounts-00205-gix", -24 * 60, interfaces=DIRECT)), {"accounts-00205-gix": 100}, None),
    ("moved just before the window (31 minutes)",
     (OLD, _revision("accounts-00205-gix", -31, interfaces=DIRECT)), {"accounts-00205-gix": 100}, None),
    ("still serving through it (a user, not a move)",
     (OLD, _revision("accounts-00205-gix", -15, CONNECTOR)), {"accounts-00205-gix": 100}, None),
    ("a split: the old revision still serves 10 % through it (a user)",
     (OLD, _revision("accounts-00205-gix", -15, interfaces=DIRECT)), {"accounts-00205-gix": 90,
                                                                     "accounts-00204-lar": 10}, None),
    ("no revision of it ever named the connector",
     (_revision("accounts-00204-lar", -3000, OTHER_CONNECTOR), _revision("accounts-00205-gix", -15, interfaces=DIRECT)),
     {"accounts-00205-gix": 100}, None),
    ("traffic sent back to an older revision off the connector, the one naming it newer",
     (_revision("accounts-00203-kim", -4000, interfaces=DIRECT), _revision("accounts-00204-lar", -10, CONNECTOR)),
     {"accounts-00203-kim": 100}, None),
    ("moved 19 days before, an ordinary deploy since within the window (before: dated by that deploy, held)",
     (OLD, _revision("accounts-00205-gix", -19 * 24 * 60, interfaces=DIRECT),
      _revision("accounts-00206-hop", -10, interfaces=DIRECT)), {"accounts-00206-hop": 100}, None),
    ("moved 19 days before onto another connector, a deploy since (before: held)",
     (OLD, _revision("accounts-00205-gix", -19 * 24 * 60, OTHER_CONNECTOR),
      _revision("accounts-00206-hop", -10, OTHER_CONNECTOR)), {"accounts-00206-hop": 100}, None),
    ("moved 15 minutes before, a second deploy since: dated by the first off it, within the window",
     (OLD, _revision("accounts-00205-gix", -15, interfaces=DIRECT),
      _revision("accounts-00206-hop", -5, interfaces=DIRECT)), {"accounts-00206-hop": 100},
     ("accounts-00206-hop", "Direct VPC egress on id-vpc/run-egress")),
    ("an old preview still tagged at 0 % does not date the move: the deploy 10 minutes before does",
     (OLD, _revision("accounts-00205-gix", -19 * 24 * 60, interfaces=DIRECT),
      _revision("accounts-00206-hop", -10, interfaces=DIRECT)), {"accounts-00206-hop": 100, "gix@preview": 0},
     ("accounts-00206-hop", "Direct VPC egress on id-vpc/run-egress")),
    ("a revision after the last plain one names it by a number that cannot be told: dated after that one",
     (OLD, _revision("accounts-00205-gix", -40, BY_NUMBER), _revision("accounts-00206-hop", -10, interfaces=DIRECT)),
     {"accounts-00206-hop": 100}, ("accounts-00206-hop", "Direct VPC egress on id-vpc/run-egress")),
    ("serving revision names it by a number that cannot be told (maybe a user: users_of's, not a move)",
     (OLD, _revision("accounts-00205-gix", -15, BY_NUMBER)), {"accounts-00205-gix": 100}, None),
]

@pytest.mark.parametrize("revisions, serving, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_moves_off_the_connector_within_the_deploy_window(revisions, serving, expected):
    moves = moved_off(CONNECTOR, {SERVICE: (_service(serving), revisions)}, SINCE)
    if expected is None:
        assert moves == ()
        return
    (move,) = moves
    assert (move.serving, move.egress) == expected
    assert move.service == SERVICE and move.left == "accounts-00204-lar"

def test_a_bare_connector_id_on_the_old_revision_is_the_connector_named():
    # `gcloud run deploy --vpc-connector NAME`: the service's own project's and region's (collection.connectors_by_id).
    revisions = (_revision("accounts-00204-lar", -3000, "accounts-conn"),
                 _revision("accounts-00205-gix", -15, interfaces=DIRECT))
    (move,) = moved_off(CONNECTOR, {SERVICE: (_service({"accounts-00205-gix": 100}), revisions)}, SINCE)
    assert move.left == "accounts-00204-lar"

MOVE = MovedOff(SERVICE, "accounts-00204-lar", "accounts-00205-gix", at(-15), "Direct VPC egress on id-vpc/run-egress")

def test_the_held_answer_names_the_move_and_how_the_service_serves_since():
    verdict = Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule="r",
                        summary="33% of requests 500 since 11:46:00.", api_calls=9)
    held = moved_off_held(CONNECTOR, [MOVE], {SERVICE: verdict}, api_calls=11)
    assert held.signature is Signature.INCONCLUSIVE and not held.actionable
    assert held.subject == CONNECTOR and held.api_calls == 11
    for words in ("accounts-00205-gix", "accounts-00204-lar", "Direct VPC egress on id-vpc/run-egress",
                  "it shows inconclusive (33% of requests 500 since 11:46:00)", "nothing is done on the connector"):
        assert words in held.summary
    assert held.evidence[0].observed.startswith("accounts-00205-gix serving, created ")

def test_a_move_whose_service_was_not_diagnosed_says_so():
    held = moved_off_held(CONNECTOR, [MOVE], {}, api_calls=2)
    assert "its diagnosis not made" in held.summary
    assert held.signature is Signature.INCONCLUSIVE


@pytest.mark.parametrize("kind, name, words", [
    (TargetKind.CONNECTOR, CONNECTOR, f"nothing is planned on {CONNECTOR} for this verdict; escalated"),
    (TargetKind.CLOUDSQL, "id-platform:europe-west4:accounts-db", "Runwarden never writes to Cloud SQL; escalated"),
], ids=["a connector alert held (before: told Runwarden never writes to Cloud SQL)", "a Cloud SQL alert"])
def test_the_diagnose_commands_reason_for_no_plan_names_the_alerts_own_kind(kind, name, words):
    assert _unplanned(AlertTarget(kind=kind, name=name)) == words
