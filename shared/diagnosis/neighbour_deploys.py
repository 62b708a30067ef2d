"""A neighbour's deploy that lines up with its shared connector's rise, named beside a connector scale.

One Serverless VPC Access connector serves several services ("You can then configure your serverless services to
use the connector for outbound network traffic", cloud.google.com/vpc/docs/serverless-vpc-access, "How it works"),
and its throughput is its instances', whoever sends through it ("Throughput and scaling", the same page). When a
service's alert ends in connector_saturation and another service behind the same connector began serving a new
revision minutes before the connector's load rose, that deploy may be the cause: rolling it back may be the fix
rather than a bigger connector. Runwarden never rolls back a neighbour on another service's alert: it names the
deploy (service, revision, when it began serving, who deployed it: the revision's creator, when read) and how far before the rise,
for a person to weigh. The decision (act, propose, escalate) is unchanged: the words are added after "Also found:"
(notable.ALSO), which planning never reads (notable.rule_words).

The rise is the first minute the connector's saturation evidence crosses its bar (`connector_rise`): a sign the
diagnosis found (Facts.connector_news) that holds in a minute whose minute before was read under its bar. A sign
that already held in the first minute read rose before anything read: the rise is unknown, and nothing is named
(a deploy cannot be lined up with a time not known). A deploy lines up when its revision began serving (its Ready
condition's last transition, Revision.settled_at) before the rise and at most LINE_UP before it. Pure: no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from shared.config import DiagnosisSettings
from shared.diagnosis.connector_minutes import Sign, sign_of
from shared.diagnosis.connector_names import NOT_MANAGED, Naming, names_connector
from shared.diagnosis.evidence import EvidenceBundle, EvidenceItem, Revision, Service, at_micros, short_name
from shared.diagnosis.facts import Facts, Window, hms
from shared.diagnosis.notable import ALSO
from shared.diagnosis.signatures import Diagnosis

# How long before the connector's rise a neighbour's deploy is named: a choice, not a documented figure. A new
# revision takes its traffic as soon as it is ready, and a load it brings (a bigger pool, a chattier query, an
# export) reaches the connector within minutes of that; three of Cloud Monitoring's 5-minute alert windows
# (an alert's usual retest window) leave room for a load that builds up before it crosses the bar, while a deploy
# older than that has served through the connector long enough to have shown its load before.
LINE_UP = timedelta(minutes=15)
# At most this many deploys named one by one; more are counted ("and N more"): a person reads a few, not a list.
MOST_NAMED = 3


@dataclass(frozen=True)
class Neighbour:
    """A service behind the connector as read (its Service and its revisions), and whether Runwarden manages it (one
    in the config) or only read it (listed in the connector's project and region: never acted on)."""

    name: str
    service: Service
    revisions: tuple[Revision, ...]
    managed: bool = True


@dataclass(frozen=True)
class Outside:
    """What was read of the services not in the config behind the connector: those found using it, what could not
    be looked at ("" when every one was), and the calls made."""

    neighbours: tuple[Neighbour, ...] = ()
    unlooked: str = ""
    api_calls: int = 0


@dataclass(frozen=True)
class NeighbourDeploy:
    """A neighbour's revision that began serving through the connector shortly before its rise."""

    service: str
    revision: str
    serving_since: datetime
    before_rise: timedelta
    actor: str = ""     # who deployed it (Revision.creator, "Email address of the authenticated creator"); "" not read
    managed: bool = True


def connector_rise(facts: Facts) -> datetime | None:
    """The end of the first minute the connector's saturation evidence crossed its bar (the module's docstring),
    over the minutes read before and in the incident window; None when no sign is news, none crossed in what was
    read, or one held from the first minute read (its rise is before anything read). Each sign is read minute by
    minute against the bar its news was found at (Facts.connector_minutes: one reading, one bar per sign)."""
    signs = facts.connector_news.signs
    if facts.b.connector is None or not signs:
        return None
    minutes = facts.connector_minutes(Window(facts.before.start, facts.incident.end))
    rises = [minutes.first_crossing(sign) for sign in dict.fromkeys(map(sign_of, signs))
             if sign is not Sign.THROUGHPUT or minutes.bars.mbps is not None]
    if not rises or any(r is False for r in rises):
        return None
    crossed = [r for r in rises if r is not None]
    return at_micros(min(crossed)) if crossed else None


def lined_up(connector: str, rise: datetime, neighbours: Sequence[Neighbour]) -> list[NeighbourDeploy]:
    """Each of `neighbours`' revisions that route plainly through `connector` (names_connector YES), serve traffic,
    and began serving before `rise` and at most LINE_UP before it; newest first. A revision that began serving after
    the rise is not named: it cannot have caused it. A neighbour not in the config is held to the same bar and window
    as a managed one: only who manages it differs, and neither is ever rolled back on this alert."""
    found = []
    for n in neighbours:
        for revision in n.revisions:
            since = _serving_since(revision)
            if (since is None or n.service.serving_percent(revision.short_name) <= 0
                    or names_connector(n.service, revision.vpc_connector, connector) is not Naming.YES):
                continue
            if rise - LINE_UP <= since < rise:
                found.append(NeighbourDeploy(n.name, revision.short_name, since, rise - since, revision.creator,
                                             n.managed))
    return sorted(found, key=lambda d: d.before_rise)


def _serving_since(revision: Revision) -> datetime | None:
    """When the revision became ready (its Ready condition's last transition: Condition.last_transition_time,
    google/cloud/run/v2/condition.proto), or None when it is not ready: a failed revision serves nothing."""
    if not revision.ready:
        return None
    return revision.settled_at or revision.create_time


def deploy_words(connector: str, rise: datetime, deploys: list[NeighbourDeploy]) -> str:
    """The deploys in a person's words, with the rise they line up with; "" when there are none."""
    if not deploys:
        return ""
    said = [_one(d) for d in deploys[:MOST_NAMED]]
    more = f" and {len(deploys) - MOST_NAMED} more" if len(deploys) > MOST_NAMED else ""
    several = "several neighbours deployed" if len(deploys) > 1 else "a neighbour deployed"
    return (f"{several} on connector {short_name(connector)} shortly before its load rose at {hms(rise)}: "
            f"{'; '.join(said)}{more}: a person weighs rolling "
            f"{'that deploy' if len(deploys) == 1 else 'those deploys'} back (Runwarden does not roll back "
            "another service on this alert)")


def _one(d: NeighbourDeploy) -> str:
    minutes = int(d.before_rise.total_seconds() // 60)
    by = f" by {d.actor}" if d.actor else " (who deployed it not read)"
    outside = "" if d.managed else f" ({NOT_MANAGED})"
    return (f"{short_name(d.service)}{outside} deployed {d.revision}{by}, serving since {hms(d.serving_since)}; the connector's "
            f"load rose {minutes} min after {d.revision} began serving")


def deploy_evidence(connector: str, rise: datetime, deploys: list[NeighbourDeploy]) -> EvidenceItem:
    """The deploys as context for the connector's saturation, with the window they were held to."""
    return EvidenceItem(
        source="api", query=f"run.revisions.list of the other services behind {short_name(connector)}: Ready "
                            "condition's last_transition_time",
        observed="; ".join(f"{short_name(d.service)} {d.revision} serving since {hms(d.serving_since)}"
                           for d in deploys) + f"; connector's load rose at {hms(rise)}",
        threshold=f"a neighbour's revision that began serving before the rise and at most "
                  f"{int(LINE_UP.total_seconds() // 60)} min before it",
        passed=None, role="context", about="connector_saturation")


def rise_of(bundle: EvidenceBundle, settings: DiagnosisSettings) -> datetime | None:
    """`connector_rise` of the connector in `bundle` (the alerting service's evidence): whether there is a rise to
    line deploys up with, asked before the services not in the config are listed for it."""
    return connector_rise(Facts(bundle, settings))


def named_beside(diagnosis: Diagnosis, bundle: EvidenceBundle, connector: str,
                 peers: list[tuple[str, EvidenceBundle]], settings: DiagnosisSettings,
                 outside: Outside = Outside(), rise: datetime | None = None) -> Diagnosis:
    """`diagnosis` (a connector saturation, held back or not, on a service's alert or the connector's own) with the
    neighbours' deploys that line up with the connector's rise, as read in `bundle` (the evidence that stands for
    the connector, holding its metrics): the managed `peers` (service, its evidence as read) and the services not
    in the config found using it (`outside`), added after "Also found:" and as context evidence, with what of the
    services outside the config could not be looked at; unchanged when none lines up and every one was looked at,
    or the rise is not known (`rise`, when the caller asked already: rise_of). Its signature, confidence and
    recommendation are never touched: only a person's words."""
    rise = rise or rise_of(bundle, settings)
    if rise is None:
        return diagnosis
    if outside.api_calls:   # the budget counts every call made, whether or not a word comes of it
        diagnosis = diagnosis.model_copy(update={"api_calls": diagnosis.api_calls + outside.api_calls})
    managed = [Neighbour(name, b.service, tuple(b.revisions)) for name, b in peers]
    deploys = lined_up(connector, rise, [*managed, *outside.neighbours])
    words = [w for w in (deploy_words(connector, rise, deploys), _unlooked_words(connector, outside)) if w]
    if not words:
        return diagnosis
    said = "; ".join(words)
    summary = diagnosis.summary.rstrip().rstrip(".")
    summary += f"; {said}." if ALSO in diagnosis.summary else f".{ALSO}{said}."
    evidence = (deploy_evidence(connector, rise, deploys),) if deploys else ()
    return diagnosis.model_copy(update={"summary": summary, "evidence": (*diagnosis.evidence, *evidence)})


def _unlooked_words(connector: str, outside: Outside) -> str:
    """What of the services not in the config could not be looked at, in a person's words ("" when all were)."""
    if not outside.unlooked:
        return ""
    return (f"whether a service not in the config on connector {short_name(connector)} deployed shortly before its "
            f"load rose is not known: {outside.unlooked}")
