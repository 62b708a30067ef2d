"""Whether a new revision's failed database dials are the shared connector's, full, rather than its deploy's.

A Serverless VPC Access connector at its max instances with its CPU (or throughput) at the ceiling drops
what it cannot forward: a new connection's dial waits out the driver's connect timeout ("High packet rates
can exhaust shared CPU credits and connection tracking memory on f1 and e2-micro instances, causing timeouts
even when bandwidth limits aren't reached", cloud.google.com/run/docs/configuring/vpc-connectors). Only
instances that open new connections meet it: a canary's instances, just started, dial; the stable
revision's pool keeps the connections it holds and answers on them. The canary then fails alone, and looks
like a bad revision, while sending its traffic back leaves the connector full, and the stable revision's
next new connections (a pool refilling, an instance started by load) wait the same way.

The same evidence is also a canary dialling a wrong address (a bad DB_HOST): that one is the deploy's. They
are told apart by what the canary dials: an address the rollback target's database settings name too (or,
when they name none, settings the deploy left unchanged: the same Cloud SQL instances, the same env
addresses and secrets, the same port), over the same connector and egress. Then when the connector filled
is named (`_before_the_deploy`), and the rollback is held whatever it shows: idle in the minutes before the
deploy and full once the canary served, on no more of this service's requests, the canary's own connections (a
leak changes no setting) and a neighbour service's surge on the shared connector look alike (only this
service's requests are read); already near full or at its max instances before the deploy, its CPU unread
there, or more requests since, the deploy is not shown to be the cause, nor cleared of it. A person chooses:
precision over recall, no rollback. A different address, a moved port or host, another path, or a
connector with headroom or at a normal CPU leaves the rollback standing. A connector not READY (being
changed, or broken) on the path of the timed-out dials holds the rollback, its state named: a person at
work on the path while the service fails (`_being_changed`), unless the deploy moved what the canary dials
(read first) or every audit entry on the connector is Runwarden's own (then judged full or not as when READY).

That a full connector drops new connections' packets first while established ones still pass is
UNCONFIRMED: the page above names connection tracking memory, and a field report shows ConnectTimeout at the
TCP handshake through a busy e2-micro connector (caura-ai/caura#430), but no Google page says established
flows are spared. Under that reading the connector is the cause; under the other (it drops any flow alike)
the stable revision answering through it in 120 ms says the canary's failures are its own. Neither reading
is a sure rollback nor a sure scale-up, so this holds the rollback and escalates, naming both.

A connector scales out up to its max instances and no further; a person raises the max (3-10, never below
the current one) or the machine type (gcloud compute networks vpc-access connectors update, reference page),
and whether connectors scale back in is UNCONFIRMED (no Google page found says either way): a max instances count alone, its CPU normal, is
a high-water mark, not a full connector, and says nothing here. `connector/instances` and
`connector/cpu/utilizations` (a distribution read at its p99) are the connector's metrics
(vpcaccess.googleapis.com, resource vpc_access_connector: Dynatrace's GCP VPC metric table, public
Terraform alert policies on both).
"""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta

from shared.diagnosis.connector_names import Naming, names_connector
from shared.diagnosis.connector_news import connector_sign_series
from shared.diagnosis.env_hosts import database_address_changed, deploy_brought, endpoint_brought
from shared.diagnosis.evidence import Connector, LogRecord, Revision, logged_by, short_name
from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.facts import Facts, egress_of, path_changed
from shared.diagnosis.log_signals import dial_timed_out, per_text
from shared.diagnosis.pool_settings import pool_size_changed
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.rules.connector_dials import env_addresses, dial_path
from shared.diagnosis.rules.deploy_changes import scaling_of
from shared.diagnosis.secret_refs import secrets_changed
from shared.diagnosis.windows import FAILING_LEAD, Window, hms

# What a person does when a full connector and a new revision compete for its failed dials.
CONNECTOR_FULL = ("raise the connector's max instances or machine type within its bounds (it is full: new "
                  "connections through it wait out their connect timeout, whichever revision opens them), then "
                  "watch whether the new revision's dials recover; send traffic back by hand only if the new "
                  "revision's own connections filled the connector (its connection count against the revision "
                  "before's, in the Cloud SQL instance's connections and the connector's packets)")


def connector_full_alike(facts: Facts, c: Citation, suspect: Revision, good: Revision) -> tuple[str, str] | None:
    """(why the deploy is not shown the cause, what a person does), or None: at least db_error_logs_min of
    `suspect`'s database errors are dials that timed out (log_signals.dial_timed_out), at least half of its
    failure lines, over the connector `good` (the revision its traffic would go to) uses too, with the same
    egress (facts.path_changed); and then either that connector is being changed, no audit entry saying by whom
    (`_being_changed`), or it
    dials what `good` dials (`_same_address`) and the connector was full at the dials' onset (`_full_at`)
    without having filled only after the deploy, on the deploy's own load (`_before_the_deploy`)."""
    connector = facts.b.connector
    if (connector is None or suspect.vpc_connector is None or path_changed(good, suspect)
            or names_connector(facts.b.service, suspect.vpc_connector, connector.name) is not Naming.YES):
        return None
    dials = _timed_out_dials(facts, suspect.short_name)
    failed = logged_by(facts.logs.app_failed, suspect.short_name)
    if not facts.logged_enough(dials) or not facts.half_or_more(dials, [*dials, *failed]):
        return None
    # The canary's own change (a moved address, more connections opened, another path) is read first: it is the
    # deploy's whatever the connector's state, and the rollback stands.
    same = _same_address(suspect, good, dials)
    if not same:
        return None
    # Runwarden's own change lifts the hold only while it is in flight (UPDATING): a connector in ERROR, whoever
    # changed it last, never returns to READY by itself ("Connector is in a bad state, manual deletion
    # recommended", google/cloud/vpcaccess/v1/vpc_access.proto, Connector.State).
    ours = _only_ours_changing(facts)
    if connector.state != "READY" and not (connector.state == "UPDATING" and ours):
        audit = facts.b.connector_audit
        # Whose change it is, once read, is connector_saturation's and the stand-down's to answer: a person's stands
        # automation down. Runwarden's own in ERROR is held as when none was read (UPDATING, the check below runs).
        unread_or_ours = audit is None or not audit.entries or ours
        return _being_changed(c, connector, suspect, good, dials) if unread_or_ours else None
    full = _full_at(facts, min(e.timestamp for e in dials))
    c.cite("metric", "vpcaccess.googleapis.com/connector/instances, connector/cpu/utilizations p99",
           full or f"connector {connector.short_name} not at max {connector.max_instances} instances with its "
                   "CPU or throughput at the bar when the dials began",
           f"at max instances and CPU >= {facts.s.connector_cpu_saturation:.0%} (or throughput at "
           f"{facts.s.connector_throughput_ratio:.0%} of its ceiling) from {FAILING_LEAD.seconds // 60} min before "
           "the first timed-out dial to minutes after it: the connector full when the new connections waited",
           bool(full), role="refutes" if full else "context")
    if not full:
        return None
    before, filled_after = _before_the_deploy(facts, c, suspect)
    theirs = _timed_out_dials(facts, good.short_name)
    also = (f"; {good.short_name} logged {len(theirs)} such dials too" if theirs else
            f"; {good.short_name} logged none (its pooled connections answer; it opens few new ones)")
    return (f"held by the full connector {short_name(connector.name)} ({full}; {before}): "
            f"{suspect.short_name}'s failures are database dials that timed out ({len(dials)}, e.g. "
            f"{excerpt(dials[0].text, limit=120)!r}) to {same}, where {good.short_name} dials too (the deploy "
            f"changed none of the database settings){also}: a full connector fails every new "
            "connection whichever revision opens it, and sending traffic back leaves it full; the deploy is "
            "not ruled out either (its own connections may have filled it)",
            FILLED_AFTER if filled_after else CONNECTOR_FULL)


# What a person does when the connector the failed dials cross is being changed.
BEING_CHANGED = ("find who is changing the connector (its operation in `gcloud compute networks vpc-access operations "
                 "list --region=REGION`, the Admin Activity audit log) and let the change finish; then judge the new "
                 "revision on the dials after it: send traffic back by hand only if they still time out with the "
                 "connector READY")
# What a person does with a connector in ERROR: vpc_access.proto, Connector.State ERROR, "Connector is in a bad
# state, manual deletion recommended"; no change of it is in flight to wait for.
BROKEN = ("the connector is in a bad state (ERROR: Google recommends deleting it by hand and creating it again; "
          "`gcloud compute networks vpc-access connectors describe` and its operations in `gcloud compute networks "
          "vpc-access operations list --region=REGION`); move the service to a working connector, then judge the "
          "new revision on its dials: send traffic back by hand only if they still time out")


# Connector.State (vpc_access.proto) in words: ERROR is "Connector is in a bad state, manual deletion recommended".
_STATE_WORDS = {"ERROR": "in a bad state, manual deletion recommended: broken, no change of it to wait for",
                "UPDATING": "not READY: an operation on it in flight, a person's change or Runwarden's",
                "CREATING": "not READY: being created", "DELETING": "not READY: being deleted"}


def _being_changed(c: Citation, connector: Connector, suspect: Revision, good: Revision,
                   dials: list[LogRecord]) -> tuple[str, str]:
    """A connector not READY (Serverless VPC Access v1 Connector.State: READY, CREATING, DELETING, ERROR, UPDATING,
    google/cloud/vpcaccess/v1/vpc_access.proto) under a canary whose failures are dials timed out across it, and
    no Admin Activity entry on it read to say whose change it is (the audit not read, or no entry matched): a
    person (or an operation) at work on the path while the service fails. A rollback would act beside that change
    and leave it running: held, the state named."""
    c.cite("api", f"vpcaccess.connectors.get {connector.name}: state", connector.state,
           "READY: a connector in any other state is being changed (an operation in flight) or broken, on the "
           "path of the failed dials", False, role="refutes")
    return (f"held by the connector {short_name(connector.name)} in state {connector.state} ("
            f"{_STATE_WORDS.get(connector.state, 'not READY: an operation on it in flight, or a failure')}) while {suspect.short_name}'s failures are "
            f"database dials that timed out across it ({len(dials)}, e.g. {excerpt(dials[0].text, limit=120)!r}); "
            f"sending traffic back to {good.short_name} acts beside that change, and its new connections cross the "
            "same connector", BROKEN if connector.state == "ERROR" else BEING_CHANGED)


# The minutes before the deploy the connector's load is read in, and the points that must be read there.
_BEFORE_DEPLOY = timedelta(minutes=15)
_BEFORE_POINTS = 5
# Near full: CPU p99 (or throughput) at this share of connector_cpu_saturation (or connector_throughput_ratio).
_NEAR_FULL = 0.9
# The service's requests a minute since the deploy above this many times those before it: load rose with it.
_LOAD_RISE = 1.5


def _before_the_deploy(facts: Facts, c: Citation, suspect: Revision) -> tuple[str, bool]:
    """(Why the connector's fill is not shown to be the deploy's, in words; whether it filled only after), read in the _BEFORE_DEPLOY minutes before
    `suspect`'s deploy (or promotion: Facts.deployed). Always held: the connector is shared, and only this service's
    requests are read, so a neighbour's surge on it looks like the canary's own load; precision over recall, the
    rollback is held whatever those minutes show, with what was read named: CPU read in fewer than
    _BEFORE_POINTS minutes (or not in the last of them), already near full or at its max instances, more requests
    since the deploy, or not near full before it (the deploy's load, or a neighbour's, filled it)."""
    s, connector = facts.s, facts.b.connector
    deployed = facts.deployed(suspect).create_time
    window = Window(deployed - _BEFORE_DEPLOY, deployed)
    cpu = facts.connector_cpu(window)
    recent = facts.connector_cpu(Window(deployed - _BEFORE_DEPLOY / 3, deployed))
    ceiling = facts.connector_ceiling_mbps()
    mbps = [v * 8 / 1e6 for v in facts.connector_bytes(window)] if ceiling else []
    instances = facts.connector_values(facts.b.connector_instances, window)
    query = "vpcaccess.googleapis.com/connector/cpu/utilizations p99, connector/instances, throughput"
    if len(cpu) < _BEFORE_POINTS or not recent:
        c.cite("metric", query, f"{len(cpu)} CPU minute(s) in {window}, {len(recent)} in its last "
               f"{_BEFORE_DEPLOY.seconds // 180} minutes",
               f">= {_BEFORE_POINTS} CPU minutes before the deploy, the last of them included: whether the connector "
               "was already full is read there", False, role="refutes")
        return (f"its CPU unread before {suspect.short_name}'s deploy ({len(cpu)} minute(s) in {window}, "
                f"{len(recent)} in its last {_BEFORE_DEPLOY.seconds // 180}): whether it was already full is not "
                "known"), False
    near_cpu = _NEAR_FULL * s.connector_cpu_saturation
    near_mbps = _NEAR_FULL * s.connector_throughput_ratio * (ceiling or 0.0)
    peak_cpu, peak_mbps = max(cpu, default=0.0), max(mbps, default=0.0)
    at_max = max(instances, default=0) >= connector.max_instances
    near = peak_cpu >= near_cpu or bool(mbps) and peak_mbps >= near_mbps
    then = (f"CPU p99 at most {peak_cpu:.0%}" + (f", {peak_mbps:.0f} of {ceiling:.0f} Mbps" if mbps else "")
            + f", {max(instances, default=0):.0f} of its max {connector.max_instances} instances, in {window}")
    c.cite("metric", query, then, f"CPU p99 under {near_cpu:.0%}" + (f" and under {near_mbps:.0f} Mbps" if mbps else "")
           + " and under its max instances in each minute before the deploy: the connector not near full before it",
           not (near or at_max), role="refutes" if near or at_max else "context")
    if near:
        return f"already near full before {suspect.short_name}'s deploy: {then}", False
    if at_max:
        return f"at its max instances already before {suspect.short_name}'s deploy: {then}", False
    since = facts.since_deploy(suspect)
    rate_before, rate_since = _per_minute(facts, window), _per_minute(facts, since)
    if rate_since > _LOAD_RISE * rate_before:
        return (f"it filled after {suspect.short_name}'s deploy ({then}), but the service's requests rose from "
                f"{rate_before:.0f} to {rate_since:.0f} a minute with it: more load, not the canary alone, may "
                "have filled it"), False
    minutes = _BEFORE_DEPLOY.seconds // 60
    return (f"the connector was not near full in the {minutes} minutes before {suspect.short_name}'s deploy ({then}; "
            f"the service's requests {rate_before:.0f} a minute before, {rate_since:.0f} since): the deploy's load, "
            "or a neighbour's on the shared connector, filled it"), True


def _per_minute(facts: Facts, window: Window) -> float:
    minutes = (window.end - window.start).total_seconds() / 60
    return facts.requests(window).total / minutes if minutes > 0 else 0.0

# What a person checks when the connector filled only once the new revision served, on the service's same load.
FILLED_AFTER = ("check the other services on the connector (their requests and the connector's bytes from when it "
                "filled: a neighbour's surge) and the new revision's connections against the revision before's (the "
                "Cloud SQL instance's connections: a leak); send traffic back by hand if the new revision's own "
                "connections filled it, raise the connector's max instances or machine type within its bounds if a "
                "neighbour's load did")


def _only_ours_changing(facts: Facts) -> bool:
    """Whether every Admin Activity entry read on the connector is Runwarden's own (diagnosis.self_principals): its
    own scale in flight is no person's change to stand aside for, and the connector is judged full or not on its
    metrics as when READY (a rollback beside it would leave the connector full)."""
    audit = facts.b.connector_audit
    return bool(audit and audit.entries) and all(e.principal in facts.s.self_principals for e in audit.entries)


def _timed_out_dials(facts: Facts, revision: str) -> list[LogRecord]:
    """`revision`'s errors of reaching the database (Facts.db_unreached_lines) that say a dial timed out."""
    lines = [e for e in facts.db_unreached_lines if e.resource_labels.get("revision_name") == revision]
    timed_out = per_text(dial_timed_out, lines)   # one search per distinct text, not per line
    return [e for e in lines if timed_out[e.text]]


def _same_address(suspect: Revision, good: Revision, dials: list[LogRecord]) -> str:
    """Where the dials went, in words, when it is where `good` dials too; "" when the deploy may have moved it.
    The deploy must leave the database settings alone (env_hosts.database_address_changed: env hosts, DSNs,
    Cloud SQL volumes; secret_refs.secrets_changed: a DSN in a secret), bring no host the dials name
    (env_hosts.deploy_brought), move no port they name (env_hosts.endpoint_brought), change nothing of how many
    connections it opens (`_opens_more`), and the dials must cross
    the connector (connector_dials.dial_path: not a public address under PRIVATE_RANGES_ONLY). When `good`'s
    settings place the database at addresses (connector_dials.env_addresses), every address dialled is one
    of them; an address named in neither revision's settings (a Cloud SQL private IP the connector library
    looks up) is the same one when nothing of the settings changed."""
    texts = list(dict.fromkeys(e.text for e in dials))
    path = dial_path(texts, suspect.env_values, egress_of(suspect))
    if (path.crosses is False or secrets_changed(good, suspect)
            or database_address_changed(good.plain_env, suspect.plain_env, good.cloudsql_instances,
                                        suspect.cloudsql_instances)
            or deploy_brought(path.addresses, suspect.env_values, good.env_values)
            or _port_moved(texts, path.addresses, suspect, good) or _opens_more(good, suspect)):
        return ""
    placed = env_addresses(good.env_values)
    if placed and not {ipaddress.IPv4Address(a) for a in path.addresses} <= set(placed):
        return ""
    return (", ".join(path.addresses) + f" (read from {path.read_from})" if path.addresses
            else "an address no line names")


def _opens_more(good: Revision, suspect: Revision) -> bool:
    """Whether the deploy changed how many connections it opens: a pool's size (pool_settings.pool_size_changed), or
    its instances or requests per instance (deploy_changes.scaling_of). Its own connections may then have filled the
    connector (DB_POOL_SIZE 5 to 200 on a 2 % canary), so it is no bystander of a full connector: the rollback is
    bad_revision's to judge, with that change named, as before the connector was read."""
    return bool(pool_size_changed(good, suspect)) or scaling_of(good) != scaling_of(suspect)


def _port_moved(texts: list[str], addresses: tuple[str, ...], suspect: Revision, good: Revision) -> bool:
    """Whether the deploy paired an address the dials name with the port they name ("dial tcp H:P")."""
    return any(endpoint_brought(host, port, suspect.plain_env, good.plain_env)
               for host in addresses for text in texts
               for port in re.findall(rf"(?<![\w.-]){re.escape(host)}:(\d{{1,5}})(?!\d)", text))


def _full_at(facts: Facts, first: datetime) -> str:
    """The connector's ceiling in words when, in a minute from FAILING_LEAD before `first` (the first timed-out
    dial) to 2 x FAILING_LEAD after it, it was at its max instances and, in that stretch too, its CPU p99 at
    connector_cpu_saturation or its throughput at connector_throughput_ratio of its ceiling (a throughput sign
    only with a ceiling known for its machine type); "" otherwise."""
    connector = facts.b.connector
    onset = Window(max(first - FAILING_LEAD, facts.incident.start), min(first + 2 * FAILING_LEAD, facts.incident.end))
    signs = [f"at max instances ({connector.max_instances})", "CPU"]
    if facts.connector_ceiling_mbps():
        signs.append("throughput")
    held = {sign: max((v for v in values if test(v)), default=None)
            for sign, _, values, test in connector_sign_series(facts, signs, onset)}
    if held[signs[0]] is None or all(held[s] is None for s in signs[1:]):
        return ""
    load = (f"CPU p99 {held['CPU']:.0%}" if held["CPU"] is not None
            else f"{held['throughput'] * 8 / 1e6:.0f} Mbps of its ceiling")
    return f"at its max {connector.max_instances} instances, {load}, around {hms(first)}"
