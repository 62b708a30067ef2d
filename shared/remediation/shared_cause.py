"""Whether a rollback failing on the revision it went back to fails for a cause both revisions share (the
Cloud SQL instance they use down, or the minutes since diagnosed as the database or the connector): then an
undo is held, the rollback kept, and a person told the cause (`judging._standing`).

An undo sends the traffic back to the revision rolled back from, which the diagnosis found failing on its
own (its deploy the cause). While a shared cause fails the revision rolled back to as well, the undo ends
nothing: it is a second write to the service during the incident, and once the shared cause clears, the
revision rolled back from fails again on its own failure, which the rollback had ended. Both revisions
read one database and route through one connector (`Revision.cloudsql_instances`, `vpc_connector`), so
the minutes since cannot tell the rollback failing from the shared cause failing both. Pure."""
from __future__ import annotations

from shared.diagnosis.facts import Facts, Window
from shared.diagnosis.signatures import Diagnosis, Signature
from shared.remediation.records import ActionRecord

# The diagnoses of the minutes since that name a cause outside the revision serving: the path both
# revisions share (docs/signatures.md).
_SHARED = (Signature.DATABASE_UNREACHABLE, Signature.CONNECTOR_SATURATION)


def shared_cause(facts: Facts, record: ActionRecord, window: Window, diagnosis: Diagnosis) -> str:
    """Why a rollback failing in `window` is not undone ("" for any other action, or no shared cause shown):
    an instance the service uses read down there (`_read_down`), or the diagnosis of those minutes naming the
    database or the connector on what was read (`_diagnosed_shared`)."""
    if record.action != "rollback_traffic":
        return ""
    down = _read_down(facts, window)
    if not down and not _diagnosed_shared(facts, window, diagnosis):
        return ""
    frm = str(record.params.get("from_revision") or "") or "the revision rolled back from"
    cause = (f"Cloud SQL {', '.join(down)} down in {window} (database/up read under 1 in "
             + ", ".join(f"{n} of {m}" for n, m in down.values()) + " minutes)" if down
             else f"{diagnosis.signature.value}: {diagnosis.summary}")
    return (f"what fails since is a cause both revisions share: {cause}; an undo would send the traffic back to "
            f"{frm}, which failed on its own before the rollback, and cannot end this failure: the rollback is "
            "kept, and a person must look at the shared cause")


def _read_down(facts: Facts, window: Window) -> dict[str, tuple[int, int]]:
    """The instances the service uses whose database/up was read under 1 in `window`: (minutes under 1, minutes
    read) each. Only a point read counts: a series that stopped is unknown, not down (`Facts.sql_down` reads it
    as not up, which holds a `healthy`; here it would hold a write back on silence, which a metric's own
    ingestion delay or an instance in another project also gives)."""
    return {db: (sum(v < 1 for v in values), len(values))
            for db, values in sorted(facts.sql_up_values(window).items()) if values and min(values) < 1}


def _diagnosed_shared(facts: Facts, window: Window, diagnosis: Diagnosis) -> bool:
    """Whether the diagnosis of `window` names the database or the connector on evidence read: a database named
    while an instance's database/up stopped reporting there may be named for that silence alone
    (`Facts.sql_trailing`), which holds no write back."""
    if diagnosis.signature is Signature.DATABASE_UNREACHABLE:
        stopped, _ = facts.sql_trailing(window)
        return not stopped
    return diagnosis.signature in _SHARED
