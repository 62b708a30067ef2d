"""The timeline's Cloud Logging filters and Logs Explorer links, built from validated parts.

Every value that reaches a filter is written as a double-quoted string with `\\` and `"`
escaped (shared.gcp.logging.quote), never pasted in raw; the incident id is also checked
against the shape Monitoring gives it before anything is read.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterable
from urllib.parse import quote as url_quote

from shared.echo import quoted
from shared.gcp.identifiers import IncidentIdCharacter, folded_incident_id, stripped_incident_id
from shared.gcp.run_logs import REQUEST_LOG, log_name
from shared.timeline.writer import INCIDENT_LABEL, STEP_LABEL

# Monitoring incident ids look like "0.nrwotmyokd9n" (the samples in docs/messages.md): letters,
# digits, dots, dashes and underscores. An operator's manual action carries "command:COMMAND_ID"
# (shared/remediation/guardrails.py command_incident; a command_id as runwarden.command/v1 allows
# it). Anything else is refused before any filter is built.
INCIDENT_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._\-]{0,127}|command:[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127})$")
# A Google Cloud project id: 6-30 lowercase letters, digits and dashes, optionally with a domain
# prefix ("example.com:my-project"; UNCONFIRMED: no Google page found on it, accepted all the same).
PROJECT_ID = re.compile(r"^(?:[a-z0-9.\-]+:)?[a-z][a-z0-9\-]{4,28}[a-z0-9]$")

# A Cloud Run service id: "Service name must use only letters, numbers and '-'. Must begin with a
# letter and cannot end with a '-'. Maximum length is 63 characters" (Cloud Run Admin API's
# INVALID_ARGUMENT fieldViolation for metadata.name; an RFC 1035 label). A region: letters, digits, dashes.
SERVICE_ID = re.compile(r"^[A-Za-z](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?$")
LOCATION = re.compile(r"^[a-z][a-z0-9\-]{0,62}$")
AUDIT_ACTIVITY_LOG = "cloudaudit.googleapis.com/activity"
# The services whose Admin Activity audit entries can explain a Cloud Run incident, by the service
# names their "audit logging" pages give: run, vpcaccess, cloudsql and secretmanager.googleapis.com.
EXPLORER = "https://console.cloud.google.com/logs/query"


class BadInput(ValueError):
    """A parameter the caller got wrong; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check_incident_id(value: object) -> str:
    """The id as the alerts path reads it (whitespace around it dropped, inside it refused by name:
    shared/gcp/identifiers.stripped_incident_id, lower-cased by folded_incident_id), then of INCIDENT_ID's shape.
    Use the id returned."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput("incident_id", "is required (the Monitoring incident id, like 0.nrwotmyokd9n)")
    try:
        # Lower-cased as the alerts path keys it (folded_incident_id): its timeline is written under that.
        value = folded_incident_id(stripped_incident_id(value))
    except IncidentIdCharacter as e:
        raise BadInput("incident_id", str(e)) from None
    if not INCIDENT_ID.fullmatch(value):
        raise BadInput("incident_id", f"{quoted(value, 60)} is not an incident id: use 1-128 letters, digits, '.', '-' "
                                      "or '_', starting with a letter or digit (like 0.nrwotmyokd9n), or "
                                      "command:COMMAND_ID for an operator's manual action")
    return value


def check_project(value: object) -> str:
    if not isinstance(value, str) or not PROJECT_ID.fullmatch(value):
        raise BadInput("project", f"{quoted(value)} is not a Google Cloud project id")
    return value


def is_service_id(value: str) -> bool:
    return bool(SERVICE_ID.fullmatch(value))


def is_location(value: str) -> bool:
    return not value or bool(LOCATION.fullmatch(value))


def quote(value: str) -> str:
    """`value` as a double-quoted filter string, backslashes and double quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rfc3339(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def window(start: datetime, end: datetime) -> str:
    return f"timestamp>={quote(rfc3339(start))} AND timestamp<={quote(rfc3339(end))}"


def runwarden_filter(incident_id: str, start: datetime, end: datetime) -> str:
    """Every step line of the incident, from every function: the label the writer puts on each."""
    return f"labels.{INCIDENT_LABEL}={quote(incident_id)} AND {window(start, end)}"


def other_writes_filter(incident_id: str, start: datetime, end: datetime) -> str:
    """The lines of Runwarden's writes (planned, claimed, applied, undone, and the gate's `adopted`: a write
    an attempt made and could not record, recorded since) under every other incident in the window: the
    labels the writer puts on each."""
    steps = " OR ".join(f"labels.{STEP_LABEL}={quote(step)}"
                        for step in ("planned", "claimed", "applied", "undone", "adopted"))
    return f"({steps}) AND labels.{INCIDENT_LABEL}:* AND NOT labels.{INCIDENT_LABEL}={quote(incident_id)} AND " \
           f"{window(start, end)}"


def reopened_filter(incident_id: str, start: datetime, end: datetime) -> str:
    """The alert notifications Runwarden received for every other incident in a time range: a policy that
    opens again once its incident closed opens a new incident, with its own id."""
    return (f"labels.{STEP_LABEL}={quote('received')} AND labels.runwarden_trigger={quote('alert')} AND "
            f"labels.{INCIDENT_LABEL}:* AND NOT labels.{INCIDENT_LABEL}={quote(incident_id)} AND {window(start, end)}")


def received_alerts_filter(start: datetime, end: datetime) -> str:
    """The `received` lines of every incident in a time range: the ids an id asked for may be a typo of."""
    return (f"labels.{STEP_LABEL}={quote('received')} AND labels.{INCIDENT_LABEL}:* AND "
            f"labels.runwarden_trigger={quote('alert')} AND {window(start, end)}")


def is_incident_id(value: str) -> bool:
    """`value` has an incident id's shape. A label read back from Cloud Logging is anyone's text (any
    principal with logging.logEntries.create can write an entry carrying it): one not of this shape is
    never offered as an id, nor pasted into a command a person is told to run (`0.abc;w` would run `w`)."""
    return bool(INCIDENT_ID.fullmatch(value))


def near_ids(wanted: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """The ids in `known` (newest first) within two edits of `wanted`, ignoring case (a mistyped or
    mis-cased id: Logging's comparisons ignore case, the builder's exact match does not), nearest first;
    only those of an incident id's shape (is_incident_id)."""
    want = wanted.lower()
    scored = [(_edits(want, k.lower()), i, k) for i, k in enumerate(dict.fromkeys(known))
              if k != wanted and is_incident_id(k)]
    return [k for d, _, k in sorted(s for s in scored if s[0] <= 2)][:limit]


def _edits(a: str, b: str) -> int:
    """Levenshtein distance, stopping early past 2 (only near ids matter)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
        if min(row) > 2:
            return 3
    return row[-1]


def command_steps_filter(command_id: str, start: datetime, end: datetime) -> str:
    """Every step line of one operator's command, whatever incident label it carries (an approve's
    steps carry its proposal's incident; a pause's or a status's carry none: docs/commands.md, "In the
    timeline")."""
    return f"jsonPayload.runwarden.command_id={quote(command_id)} AND {window(start, end)}"


# "Length of a Logging query language query: 20,000 characters" (Cloud Logging "Quotas and limits"); a
# longer one is refused (INVALID_ARGUMENT), as the stand-in refuses it.
MAX_FILTER_CHARS = 20_000


def audit_filter(project: str, start: datetime, end: datetime, service: str, *, connectors: Iterable[str] = (),
                 sql_instances: Iterable[str] = (), secrets: Iterable[str] = (), with_service: bool = True) -> str:
    """Admin Activity entries that may be changes to the service or to what it depends on, as one
    filter (`audit_filters` splits one that would be too long)."""
    return "\n".join(audit_filters(project, start, end, service, connectors=connectors, sql_instances=sql_instances,
                                   secrets=secrets, with_service=with_service, limit=None))


def audit_filters(project: str, start: datetime, end: datetime, service: str, *, connectors: Iterable[str] = (),
                  sql_instances: Iterable[str] = (), secrets: Iterable[str] = (), with_service: bool = True,
                  limit: int | None = MAX_FILTER_CHARS) -> list[str]:
    """Admin Activity entries that may be changes to the service or to what it depends on. The
    filter narrows the read (a busy project logs many); the builder then keeps exactly the right
    resources and methods. Each group is parenthesised: in the Logging query language OR binds
    tighter than AND, so `a AND b OR c` would mean `a AND (b OR c)`. `with_service=False` leaves
    the service itself out: a read in another project than the service's, where a same-named
    service is a different one. A service whose revisions reference many secrets (or connectors,
    instances) made one filter past Logging's 20,000 characters: refused, and no change at all was
    shown, the deploy's included. Past `limit`, the names are split over several filters, the
    service's own group first, each read on its own."""
    def atom(field: str, value: str) -> str:
        return f"{field}:{quote(value)}"

    field = "protoPayload.resourceName"
    families = []   # (before the names, the names, after them)
    if with_service:
        families.append(('(protoPayload.serviceName="run.googleapis.com" AND (', [f"services/{service}"], "))"))
    if connectors:
        families.append(('(protoPayload.serviceName="vpcaccess.googleapis.com" AND (',
                         [f"connectors/{c}" for c in sorted(connectors)], "))"))
    if sql_instances:
        families.append(('(protoPayload.serviceName="cloudsql.googleapis.com" AND (', sorted(sql_instances),
                         ') AND NOT protoPayload.methodName="cloudsql.instances.connect" AND '
                         'NOT protoPayload.methodName="cloudsql.instances.generateEphemeralCert")'))
    if secrets:
        families.append(('(protoPayload.serviceName="secretmanager.googleapis.com" AND (',
                         # By id: the entry's resourceName may name the project by number (classify.change_of
                         # keeps only the service's secrets).
                         [f"secrets/{s}" for s in sorted({s.rsplit("/", 1)[-1] for s in secrets})], "))"))
    if not families:
        raise ValueError("audit_filter needs the service or something it depends on")
    head = f"logName={quote(log_name(project, AUDIT_ACTIVITY_LOG))} AND {window(start, end)} AND ("
    packer = _Packer(len(head) + 1, limit)
    for before, names, after in families:
        packer.family(before, [atom(field, name) for name in names], after)
    return [f"{head}{_OR.join(groups)})" for groups in packer.filters if groups]


_OR = " OR "


class _Packer:
    """Groups of `OR`ed atoms packed into filters of at most `limit` characters, each filter's and
    each group's length kept as a running count: every atom is measured once, and each group and
    filter joined once, so the work grows with the names (a join per name re-read every name before
    it: quadratic). `fixed`: the characters of a filter around its groups."""

    def __init__(self, fixed: int, limit: int | None) -> None:
        self.fixed, self.limit = fixed, limit
        self.filters: list[list[str]] = [[]]
        self.used = 0       # len(_OR.join(self.filters[-1]))

    def _fits(self, group_chars: int) -> bool:
        """The current filter with one more group of `group_chars` characters is within the limit."""
        joined = self.used + (len(_OR) if self.filters[-1] else 0) + group_chars
        return self.limit is None or self.fixed + joined <= self.limit

    def _add(self, group: str) -> None:
        self.used += (len(_OR) if self.filters[-1] else 0) + len(group)
        self.filters[-1].append(group)

    def _next_filter(self) -> None:
        self.filters.append([])
        self.used = 0

    def family(self, before: str, atoms: list[str], after: str) -> None:
        """One family's atoms as `before (a OR b ...) after` groups: a group is closed, and the next
        filter begun, before the atom that would take the current filter past the limit (a group
        never empty: an atom too long alone still goes in, and the API names it)."""
        group: list[str] = []
        chars = len(before) + len(after)     # the group's length with the atoms in `group`

        def closed() -> str:
            return before + _OR.join(group) + after

        for atom in atoms:
            trial = chars + (len(_OR) if group else 0) + len(atom)
            if group and not self._fits(trial):
                self._add(closed())
                self._next_filter()
                group, chars = [], len(before) + len(after)
                trial = chars + len(atom)
            group.append(atom)
            chars = trial
        if self.filters[-1] and not self._fits(chars):
            self._next_filter()
        self._add(closed())


def request_errors_filter(project: str, service: str, start: datetime, end: datetime) -> str:
    """The service's failed requests in Cloud Run's request log (one entry per request)."""
    return (f"logName={quote(log_name(project, REQUEST_LOG))} AND resource.type=\"cloud_run_revision\" "
            f"AND resource.labels.service_name={quote(service)} AND httpRequest.status>=500 AND {window(start, end)}")


def explorer_link(project: str, query: str, at: datetime | None = None) -> str:
    """A Logs Explorer link running `query` in `project`. The `;query=` path parameter is how the
    console's own "copy link" URLs carry a query; `;cursorTimestamp=` (which scrolls to an instant)
    is UNCONFIRMED in Google's docs, so the query itself also bounds the time."""
    link = f"{EXPLORER};query={url_quote(query, safe='')}"
    if at is not None:
        link += f";cursorTimestamp={rfc3339(at)}"
    return f"{link}?project={url_quote(project, safe='')}"


def entry_link(project: str, insert_id: str, at: datetime) -> str:
    """The one entry: its insertId, within a second either side of its timestamp."""
    query = f"insertId={quote(insert_id)} AND {window(at - timedelta(seconds=1), at + timedelta(seconds=1))}"
    return explorer_link(project, query, at)
