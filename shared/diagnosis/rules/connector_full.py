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
addresses and secrets, the same port), over the same connector and egress. Then the deploy is not shown
to be the cause, nor cleared of it (a canary whose own connection storm filled the connector is the
deploy's too), so a person chooses: precision over recall, no rollback. A different address, a moved port
or host, another path, or a connector with headroom or at a normal CPU leaves the rollback standing.

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
from datetime import datetime

from shared.diagnosis.connector_names import Naming, names_connector
from shared.diagnosis.connector_news import connector_sign_series
from shared.diagnosis.env_hosts import database_address_changed, deploy_brought, endpoint_brought
from shared.diagnosis.evidence import LogRecord, Revision, short_name
from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.facts import Facts, egress_of, path_changed
from shared.diagnosis.log_signals import dial_timed_out, per_text
from shared.diagnosis.pool_settings import pool_size_changed
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.rules.connector_dials import env_addresses, dial_path
from shared.diagnosis.rules.deploy_changes import settings_changed
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
    failure lines; it dials what `good`, the rollback target, dials (`_same_address`) over the same
    connector and egress (facts.path_changed); and that connector, the one read and READY, was full at the
    dials' onset (`_full_at`)."""
    connector = facts.b.connector
    # Only a READY connector reads as full: one being changed (UPDATING, CREATING: vpcaccess.v1 Connector.state)
    # or broken is connector_saturation's to name, and its change competes with the deploy there.
    if (connector is None or connector.state != "READY" or suspect.vpc_connector is None
            or path_changed(good, suspect)
            or names_connector(facts.b.service, suspect.vpc_connector, connector.name) is not Naming.YES):
        return None
    dials = _timed_out_dials(facts, suspect.short_name)
    failed = [e for e in facts.logs.app_failed if e.resource_labels.get("revision_name") == suspect.short_name]
    if not facts.logged_enough(dials) or not facts.half_or_more(dials, [*dials, *failed]):
        return None
    same = _same_address(suspect, good, dials)
    if not same:
        return None
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
    theirs = _timed_out_dials(facts, good.short_name)
    also = (f"; {good.short_name} logged {len(theirs)} such dials too" if theirs else
            f"; {good.short_name} logged none (its pooled connections answer; it opens few new ones)")
    return (f"{suspect.short_name}'s failures are database dials that timed out ({len(dials)}, e.g. "
            f"{excerpt(dials[0].text, limit=120)!r}) to {same}, where {good.short_name} dials too (the deploy "
            "changed none of the database settings), through "
            f"connector {short_name(connector.name)} ({full}){also}: a full connector fails every new "
            "connection whichever revision opens it, and sending traffic back leaves it full; the deploy is "
            "not ruled out either (its own connections may have filled it)", CONNECTOR_FULL)


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


# The settings read (deploy_changes.settings_changed) that decide how many connections a revision opens at once.
_CONNECTIONS_OPENED = ("max instances ", "min instances ", "requests per instance ")


def _opens_more(good: Revision, suspect: Revision) -> bool:
    """Whether the deploy changed how many connections it opens: a pool's size (pool_settings.pool_size_changed), or
    its instances or requests per instance. Its own connections may then have filled the connector (DB_POOL_SIZE 5 to
    200 on a 2 % canary), so it is no bystander of a full connector: the rollback is bad_revision's to judge, with that
    change named, as before the connector was read."""
    return bool(pool_size_changed(good, suspect)
                or any(change.startswith(_CONNECTIONS_OPENED) for change in settings_changed(good, suspect)))


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
