"""The managed services that moved off a connector shortly before its alert (pure).

A connector's alert is about its users: the managed services whose serving revision names it (collection.users_of).
When none does, the alert has no user behind it and used to be skipped, which reaches nobody. But a service whose
serving revision was deployed within the deploy window, off the connector (onto Direct VPC egress, another connector
or none), while an older revision of it named the connector, served through it minutes ago: the alert's story is
still its, the move a change a person must hear of (with how the service serves since), and nothing is done on the
connector, which no managed service uses now. A move older than the deploy window is the connector's past: the
alert stays skipped (sandbox/scenarios/connector_alert_moved_to_direct_egress.yaml).

Which revision carried the traffic when is not in a Service or a Revision (google/cloud/run/v2/revision.proto and
service.proto hold no traffic history): the move is dated by the create time (Revision.create_time, revision.proto)
of the oldest revision created after the last one on the connector, the first that could have served off it. Not by
the newest serving revision: an ordinary deploy within the window, weeks after the move, would make the move look
new and hold every later alert of the connector for it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.diagnosis.collection import connectors_by_id
from shared.diagnosis.connector_names import Naming, names_connector
from shared.diagnosis.diagnose import RULE_SET
from shared.diagnosis.evidence import EvidenceItem, Revision, Service, short_name
from shared.diagnosis.signatures import Diagnosis, Signature
from shared.diagnosis.windows import hms


@dataclass(frozen=True)
class MovedOff:
    """One managed service off the connector since `since`: `left` the newest revision of it that names the
    connector, `serving` its newest serving revision (created at `created`), `egress` how that one leaves, `first`
    the oldest revision created after `left`, which dates the move (`moved`); the serving one when they are one."""

    service: str
    left: str
    serving: str
    created: datetime
    egress: str
    first: str = ""
    moved: datetime | None = None


def moved_off(connector: str, read: Mapping[str, tuple[Service, Sequence[Revision]]],
              since: datetime) -> tuple[MovedOff, ...]:
    """The services of `read` (each as users_of read it; its revisions' connectors named by full name and id as
    collection.connectors_by_id names them) that moved off `connector` at or after `since`: none of their serving revisions
    names it (plainly or maybe), a revision not serving names it plainly, their newest serving revision is newer than
    that one, and the first revision created after the last one on it (`_first_off`) was created at or after `since`.
    In `read`'s order."""
    moves = []
    for name, (service, revisions) in read.items():
        move = _move(name, service, connectors_by_id(service, revisions), connector, since)
        if move is not None:
            moves.append(move)
    return tuple(moves)


def _move(name: str, service: Service, revisions: Sequence[Revision], connector: str,
          since: datetime) -> MovedOff | None:
    serving = [r for r in revisions if service.serving_percent(r.short_name) > 0]
    if not serving or any(names_connector(service, r.vpc_connector, connector) is not Naming.NO for r in serving):
        return None
    named = [r for r in revisions if r not in serving
             and names_connector(service, r.vpc_connector, connector) is Naming.YES]
    if not named:
        return None
    newest = max(serving, key=lambda r: r.create_time)
    left = max(named, key=lambda r: r.create_time)
    if newest.create_time <= left.create_time:
        return None   # back onto an older revision: not a move off
    first = _first_off(service, revisions, connector)
    if first is None or first.create_time < since:
        return None   # moved before the window: the connector's past, whatever was deployed since
    return MovedOff(name, left.short_name, newest.short_name, newest.create_time, _egress(newest),
                    first.short_name, first.create_time)


def _first_off(service: Service, revisions: Sequence[Revision], connector: str) -> Revision | None:
    """The revision that dates the move: the oldest created after the newest one that names the connector (plainly
    or maybe: one that may still be on it has not moved off).

    An old `--no-traffic` preview made after the last revision on the connector would date the move to the preview,
    older than the move is: the connector's revision may have served until a deploy minutes ago, and the alert be
    skipped, which reaches nobody. A revision says nothing of the traffic it carried (revision.proto), so a preview
    is told only while the Service still names it by a tag at 0 % (TrafficTarget.tag, traffic_target.proto: "Tag
    assigned to this traffic target"; Cloud Run's gradual rollouts page deploys a preview with --no-traffic --tag).
    The cautious reading: such a tagged preview does not date the move (the move is read as newer and held for a
    person, never acted on); an untagged revision that serves nothing now cannot be told from a deploy that served
    and was replaced, and dates it."""
    on_it = [r for r in revisions if names_connector(service, r.vpc_connector, connector) is not Naming.NO]
    last = max(r.create_time for r in on_it)
    after = [r for r in revisions if r.create_time > last and not _tagged_preview(service, r)]
    return min(after, key=lambda r: r.create_time, default=None)


def _tagged_preview(service: Service, revision: Revision) -> bool:
    targets = [t for t in service.traffic if t.revision == revision.short_name]
    return bool(targets) and all(t.tag and not t.percent for t in targets)


def _egress(revision: Revision) -> str:
    if revision.vpc_network_interfaces:
        return "Direct VPC egress on " + ", ".join(revision.vpc_network_interfaces)
    if revision.vpc_connector:
        return f"connector {short_name(revision.vpc_connector)}"
    return "no VPC egress"


def moved_off_held(connector: str, moves: Sequence[MovedOff], verdicts: Mapping[str, Diagnosis],
                   api_calls: int) -> Diagnosis:
    """The connector alert's answer when no managed service serves through it but `moves` left it within the window:
    inconclusive, never acted on (no user is behind the connector, so a scale would serve nobody's requests), each
    move named with how the service that moved serves since (`verdicts`, its own diagnosis, when it was made)."""
    told = "; ".join(_told(m, verdicts.get(m.service)) for m in moves)
    evidence = [EvidenceItem(source="api", query=f"revisions of {m.service}",
                             observed=f"{m.serving} serving, created {hms(m.created)} ({m.egress}); {m.left}, "
                                      f"which names {short_name(connector)}, serving no more" + _dated(m),
                             threshold="a move off the connector within the deploy window", role="context",
                             about="connector") for m in moves]
    for d in verdicts.values():
        evidence.extend(d.evidence)
    return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET, subject=connector,
                     summary=f"no managed service's serving revision uses {short_name(connector)} now, but "
                             f"{len(moves)} moved off it within the deploy window ({told}): the alert may be the "
                             "move's, so it is not skipped; nothing is done on the connector, which no managed "
                             "service uses now",
                     evidence=tuple(evidence), api_calls=api_calls,
                     recommendation="check how each service that moved serves since its move (its egress: the "
                                    "firewall rules and routes of its subnet, its database's authorized networks) "
                                    f"and what still crosses {short_name(connector)}; send the traffic back to the "
                                    "revision that used it if the move is the cause")


def _dated(move: MovedOff) -> str:
    if not move.first or move.first == move.serving or move.moved is None:
        return ""
    return f"; the move dated by {move.first}, the first revision after it, created {hms(move.moved)}"


def _told(move: MovedOff, verdict: Diagnosis | None) -> str:
    since = f"{short_name(move.service)}: {move.serving} at {hms(move.created)}, {move.egress}, after {move.left}"
    if verdict is None:
        return f"{since} (its diagnosis not made)"
    return f"{since}; it shows {verdict.signature.value} ({verdict.summary.rstrip('.')})"
