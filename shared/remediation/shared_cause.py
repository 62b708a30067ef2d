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
    an instance the service uses down there (database/up under 1 or silent: `Facts.sql_down`), or the
    diagnosis of those minutes naming the database or the connector."""
    if record.action != "rollback_traffic":
        return ""
    down = facts.sql_down(window)
    instances = down[0] if down is not None else []
    if not instances and diagnosis.signature not in _SHARED:
        return ""
    frm = str(record.params.get("from_revision") or "") or "the revision rolled back from"
    cause = (f"Cloud SQL {', '.join(instances)} down in {window} (database/up: {down[1]})" if instances and down
             else f"{diagnosis.signature.value}: {diagnosis.summary}")
    return (f"what fails since is a cause both revisions share: {cause}; an undo would send the traffic back to "
            f"{frm}, which failed on its own before the rollback, and cannot end this failure: the rollback is "
            "kept, and a person must look at the shared cause")
