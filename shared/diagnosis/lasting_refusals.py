"""Whether the database refused the service's new connections while its requests failed, in words that do not
heal by themselves, on a revision that still serves: `healthy` is then held back, and a person told (escalated,
nothing written). Pure, no I/O.

A pool keeps the connections it opened before the change; only a new connection meets a refusal of who connects
or how: a password the database no longer takes (a secret version added under `latest`, read when an instance
starts: Cloud Run docs, "Configure secrets for services"), a server certificate the client's CA file no longer
verifies (instances.rotateServerCa, Cloud SQL Admin API reference), an account, a source address or an encryption
the instance does not admit, a role or a database the server does not hold or a role it does not let log in
(PostgreSQL's own FATALs: shared/diagnosis/server_fatal.py). The failures then come with new instances (a burst, a
scale-out) and stop with them, and the minutes after are clean because no instance started, not because anything
was fixed: the next instance started fails alike
(sandbox/scenarios/secret_latest_newline_new_instances_exit_burst_over_read_at_6m.yaml).
A restart's, a failover's or a limit's refusals (RESTARTING, CRASHED, CONNECTION_LIMIT, the pooler's or the
proxy's limit, an instance state an operation holds) end on their own and stay `healthy`'s to clear.

A revision that no longer serves (traffic moved off it) is not read: the clean minutes are another revision's.
On the alert path only (diagnose._healthy, `traffic_judged`): the verification sweep judges its own action on the
minutes since it.
"""
from __future__ import annotations

from shared.diagnosis.evidence import LogRecord, Revision
from shared.diagnosis.facts import Facts, hms
from shared.diagnosis.log_signals import Refusal
from shared.diagnosis.secret_refs import names_a_credential, where_read
from shared.diagnosis.server_fatal import names_what_is_not_held

# The refusals that name the connection itself (who connects, with what, from where, to what): each stays until
# a person changes a setting, a credential, a grant or a name. Those of a state that passes are left out.
LASTING = (Refusal.CREDENTIALS, Refusal.PASSWORD_EXPIRED, Refusal.IAM_USER, Refusal.NOT_AUTHORIZED,
           Refusal.NOT_ADMITTED, Refusal.CERTIFICATE, Refusal.TLS_MISMATCH, Refusal.SOURCE_NOT_ALLOWED,
           Refusal.HBA_NO_ENTRY, Refusal.HOST_BLOCKED, Refusal.NO_SUCH_INSTANCE, Refusal.UNKNOWN_DATABASE,
           Refusal.NO_SUCH_HOST, Refusal.NO_IP_OF_TYPE, Refusal.ADMIN_API_DISABLED, Refusal.DB_ACCESS,
           Refusal.AUTH_METHOD)


def lasting_refusal(facts: Facts) -> str:
    """Why the clean minutes do not close the incident: the most said lasting refusal logged while the requests
    failed by a revision that still serves ("" when there was none)."""
    serving = {r.short_name for r in facts.serving}
    for kind, lines in facts.db_refusals.items():
        own = [e for e in _lasting_lines(kind, lines) if e.resource_labels.get("revision_name") in serving]
        if not own:
            continue
        revisions = sorted({e.resource_labels.get("revision_name", "") for e in own})
        first, last = min(e.timestamp for e in own), max(e.timestamp for e in own)
        reads = _credentials_read([r for r in facts.serving if r.short_name in revisions]) \
            if kind == Refusal.CREDENTIALS else ""
        return (f"the database refused new connections of {', '.join(revisions)}, which still serve"
                f"{'s' if len(revisions) == 1 else ''}: {kind}, {len(own)} times from {hms(first)} to {hms(last)}"
                f"{reads}. Such a refusal does not end by itself, and only a new connection meets it (a pool keeps "
                "its own): the clean minutes since show no new instance refused, not the cause fixed")
    return ""


def _lasting_lines(kind: str, lines: list[LogRecord]) -> list[LogRecord]:
    """The lines of one refusal kind that last: all of a LASTING kind; of the server's own FATALs
    (Refusal.SERVER_FATAL), those that name a role or a database it does not hold or admit (a role missing or not
    permitted to log in, a database missing or taking no connection of the role's: server_fatal.names_what_is_not_held,
    PostgreSQL's miscinit.c and postinit.c words), as MySQL's unknown
    database is (Refusal.UNKNOWN_DATABASE); a FATAL of a state that passes (out of memory) is left out."""
    if kind in LASTING:
        return lines
    # A database or role said missing with its severity unsaid (Refusal.NAME_MISSING) lasts under the reading of
    # a FATAL at connect: clean minutes after it are not read as the cause fixed under either.
    if kind in (Refusal.SERVER_FATAL, Refusal.NAME_MISSING):
        return [e for e in lines if names_what_is_not_held(e.text)]
    return []


def _credentials_read(revisions: list[Revision]) -> str:
    """The secrets the refused revisions read a credential from, by name and version ("" for none): an instance
    resolves them when it starts (Cloud Run docs, "Configure secrets for services"), so a version added since
    under `latest` reaches only the instances started since. Names only, never a value."""
    read = sorted({f"{where_read(ref)} from {ref.secret} at {ref.version or 'latest'}"
                   for revision in revisions for ref in revision.secrets
                   if (ref.env and names_a_credential(ref.env)) or ref.volume})
    return f" (the credential read when an instance starts: {'; '.join(read)})" if read else ""
