"""What a pin of a service's traffic is, read off the service: whether the rollback's revision is asked for
(Service.traffic, the desired split) and whether it serves (Service.traffic_statuses, what really serves),
the two read apart.

They part when an UpdateService's long-running operation ends with an error (google.longrunning.Operation
`error`: "The error result of the operation in case of failure or cancellation"). The Cloud Run Admin API v2
Service says that while `reconciling` "traffic_statuses ... will have transient values that might mismatch
traffic", and that once reconciliation failed its state "can be found in terminal_condition.state"
(Service.reconciling, google/cloud/run/v2/service.proto); it does not say whether the failed update's
`traffic` stays desired or is put back (UNCONFIRMED: sandbox/standins/run.py `failed_update_keeps_spec` has
both readings). Under the first, a rollback whose operation failed leaves its revision asked for and not
serving, and a release whose operation failed leaves LATEST asked for while the pinned revision still
serves. Either way what serves now is `traffic_statuses`, and whatever reconciles the service next (a
restart, a deploy, a person's update) may serve what `traffic` asks for. So a pin is held while its
revision is asked for or serves, and released only once neither holds; which of the two it is, is said.
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Mapping

from shared.diagnosis.evidence import (Service, TrafficTarget, TrafficType, describe_command, short_name, split_text,
                                      update_traffic_command)


class PinState(str, Enum):
    """A pin as recorded (records.PinRecord.state)."""

    SERVING = "serving"   # the rollback's revision serves 100% by name: traffic is pinned there
    ASKED = "asked"       # asked for at 100% by name (`traffic`), not serving so (`traffic_statuses`)


class PinReading(str, Enum):
    """A pin as the service read now shows it (`read_pin`)."""

    HOLDS = "holds"                   # asked for and serving, 100% by name
    ASKED = "asked"                   # asked for at 100% by name, not serving so: a failed rollback left desired
    RELEASE_ASKED = "release_asked"   # serving 100% by name while another split is asked for: a failed release
    GONE = "gone"                     # neither asked for nor serving: released or moved by other means

    @property
    def held(self) -> bool:
        """Whether the pin stays recorded: its revision is asked for or serves (released only when neither)."""
        return self is not PinReading.GONE

    @property
    def state(self) -> PinState:
        """The pin's recorded state for this reading: serving while its revision serves 100% by name."""
        return PinState.ASKED if self is PinReading.ASKED else PinState.SERVING


def asked_percent(service: Service, revision: str) -> int:
    """The share the desired split (`traffic`) gives `revision` by name (a LATEST target is not a pin)."""
    return sum(t.percent for t in service.traffic if t.type is TrafficType.REVISION and t.revision == revision)


def served_percent(service: Service, revision: str) -> int:
    """The share `revision` serves by name (`traffic_statuses`). A LATEST status resolved to it (shared/gcp/run.py
    `_resolved`) is traffic that follows the latest Ready revision, which new deploys receive: no pin."""
    return sum(t.percent for t in service.traffic_statuses
               if t.type is TrafficType.REVISION and t.revision == revision)


def read_pin(service: Service, revision: str) -> PinReading:
    """What the service shows of a pin to `revision`: asked for (`traffic`) and serving (`traffic_statuses`),
    each at 100% by name."""
    asked, serving = asked_percent(service, revision) == 100, served_percent(service, revision) == 100
    if asked and serving:
        return PinReading.HOLDS
    if asked:
        return PinReading.ASKED
    return PinReading.RELEASE_ASKED if serving else PinReading.GONE


def pin_words(service: Service, revision: str, reading: PinReading) -> str:
    """What a person reads of a pin not as it should be (ASKED, RELEASE_ASKED), with the gcloud line that shows
    both splits; "" for a pin that holds or is gone."""
    asked, serving = split_text(service.traffic) or "nothing", split_text(service.traffic_statuses) or "nothing"
    if reading is PinReading.ASKED:
        said = (f"{service.short_name} asks for {revision} at 100% (Service.traffic: {asked}) while it serves "
                f"{serving} (traffic_statuses): a rollback whose operation failed, asked for, not serving")
    elif reading is PinReading.RELEASE_ASKED:
        said = (f"{service.short_name} still serves {revision} at 100% (traffic_statuses) while it asks for {asked} "
                "(Service.traffic): a release (or another change) whose operation failed, asked for, not serving; "
                "the pin holds")
    else:
        return ""
    return (f"{said}. Whatever reconciles the service next (a restart, a deploy, an update) may serve what is asked "
            f"for; see both with: {describe_command(service.name)}")


def recorded_service(state: Mapping[str, Any] | None) -> Service | None:
    """A service's split as recorded (rollback_traffic.traffic_state: `generation`, `traffic`,
    `traffic_statuses`), or None when it records no desired split."""
    if not state or not state.get("traffic"):
        return None
    return Service(name="", generation=int(state.get("generation") or 0),
                   traffic=tuple(TrafficTarget.model_validate(t) for t in state.get("traffic") or ()),
                   traffic_statuses=tuple(TrafficTarget.model_validate(t) for t in state.get("traffic_statuses") or ()))


def left_asked(after: Mapping[str, Any] | None, revision: str) -> bool:
    """Whether a rollback's write left `revision` asked for at 100% and not serving so, read off the state it
    recorded as left (the service read after a failed operation). Such a write is pinned ASKED
    (records.PinRecord), never left unrecorded."""
    service = recorded_service(after)
    return service is not None and read_pin(service, revision) is PinReading.ASKED


def asked_not_serving(state: Mapping[str, Any] | None) -> str | None:
    """The revision a recorded split asks for at 100% by name while it does not serve so (a plan's `before`,
    the service as read for the decision), or None."""
    service = recorded_service(state)
    asked = [t.revision for t in service.traffic if t.type is TrafficType.REVISION and t.percent == 100] \
        if service is not None else []
    return asked[0] if asked and asked[0] and read_pin(service, asked[0]) is PinReading.ASKED else None


def state_words(state: PinState, revision: str) -> str:
    """A recorded pin's state as `status` lists it."""
    if state is PinState.ASKED:
        return (f"{revision} at 100% asked for, not serving: the rollback's UpdateService operation failed with its "
                "split left desired, and whatever reconciles the service next may serve it")
    return f"{revision} serving at 100%"


def asked_hold(service: str, revision: str, before: Mapping[str, Any], action_id: str = "", planned: str = "",
               deleted_at: datetime | None = None) -> str:
    """Why a rollback planned for an incident (to `planned`) is not written while the service asks for `revision`
    at 100% and does not serve it (`asked_not_serving` of the plan's `before`): `action_id`, Runwarden's own
    rollback whose operation failed with its split left desired (its pin, ASKED), or "" for another hand's split.
    Any rollback is held, to that revision or another: written again, the same split would be sent twice; written
    to another, a split asked for and about to serve would be written over. A person decides.
    `deleted_at`: when the sweep found `revision` deleted and released that rollback's pin (its `released_by`
    `revision deleted`): the split still names it, so Cloud Run cannot serve it, and the hold says so rather than
    "a change not recorded as Runwarden's"; held all the same (whose split it is now is for a person to settle)."""
    recorded = recorded_service(before)
    asked = split_text(recorded.traffic) if recorded else ""
    serving = (split_text(recorded.traffic_statuses) if recorded else "") or "nothing"
    same = not planned or short_name(planned) == short_name(revision)
    held = "not writing it again" if same else f"not writing a rollback to {short_name(planned)} over it"
    gone = (f"by Runwarden's rollback {action_id}, whose UpdateService operation failed with its split left desired; "
            f"{revision} was deleted since (not among the service's revisions when the sweep read them at "
            f"{deleted_at:%Y-%m-%d %H:%M:%S} UTC, and the pin released), so Cloud Run cannot serve it: a person must "
            f"set a split of revisions that exist; not writing a rollback over it" if action_id and deleted_at else "")
    whose = gone or (f"by Runwarden's rollback {action_id}, whose UpdateService operation failed with its split left "
             f"desired; {held}" if action_id else "by a change not recorded as Runwarden's (a person's, "
             f"a pipeline's), failed or still reconciling; not writing a rollback over it")
    return (f"{short_name(service)} already asks for {revision} at 100% (Service.traffic: {asked}) while it serves "
            f"{serving} (traffic_statuses): asked for, not serving, {whose}; a person must look. Whatever reconciles the service next may serve it; see both with: "
            f"{describe_command(service)}; send all traffic to the latest Ready revision with: "
            f"{update_traffic_command(service, '--to-latest')}")