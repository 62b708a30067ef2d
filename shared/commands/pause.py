"""pause and resume: the kill switch, for everything (no target) or for one target.

Both are flags in the state store that the gate reads before every write (and again right before
it). Resume needs a reason like every writing command; it is the one write the kill switch does
not hold back, or nothing could ever release it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, TypeVar

from shared.commands.context import CommandRun, refused, rejected
from shared.commands.inventory import any_target, has_policy
from shared.diagnosis.connector_names import Naming, by_another_form, may_use, names_connector
from shared.diagnosis.evidence import Service
from shared.errors import DamagedRecord, PermanentError, TransientError
from shared.outcomes import ActionReport, Outcome, OutcomeStatus
from shared.remediation import in_flight
from shared.remediation.guardrails import HOLDS_NAMED, Gate, pause_key
from shared.remediation.pins import PinState
from shared.remediation.records import (ACTIONS, FLAGS, KILL_SWITCH, PINS, RESTORES, ActionRecord,
                                        ActionState, PinRecord, RestoreNote,
                                        RestoreNoteState, read_record, stored_key)

_Record = TypeVar("_Record", ActionRecord, RestoreNote, PinRecord)


def pause(run: CommandRun) -> Outcome:
    return _switch(run, engaged=True)


def resume(run: CommandRun) -> Outcome:
    return _switch(run, engaged=False)


def _switched(engaged: bool, target: str | None, *, dry_run: bool) -> str:
    """What the switch did, or under a dry run what it would have done: a dry-run pause that answered "paused"
    read as a brake engaged while nothing was written."""
    done, then = ("paused", "no writes until resumed") if engaged else \
        ("resumed" if target else "released", "writes allowed again")
    if dry_run:
        return f"would be {done} ({then}), and is not"
    return f"{done}: {then}"


def _switch(run: CommandRun, engaged: bool) -> Outcome:
    target = any_target(run)
    if engaged and target and "/connectors/" in target and not has_policy(run.config, target):
        _connector_exists(run, target)
    key = pause_key(target) if target else KILL_SWITCH
    scope = target or ("every target" if engaged else "the kill switch")
    reason = f"{scope} {_switched(engaged, target, dry_run=run.command.dry_run)} (by {run.command.requested_by}: " \
             f"{run.command.reason})"
    if engaged and target and "/services/" in target:
        # The gate holds back every write made for the paused service (guardrails.held_by): a scale of the
        # connector its alert, or an alert on that connector, asks for too. The connector itself is not
        # paused: another service's alert, or an operator's command, can still scale it.
        reason += ("; and every write made for its alerts, a scale of the connector it uses included (the "
                   "connector stays writable for other services: pause it by its own name to hold it)")
    report = ActionReport(name=run.command.command, params={"target": target, "engaged": engaged})
    previous = run.adapters.state.get_record(FLAGS, key) or {}
    if not engaged:
        _not_sent_after(run, scope, previous)
    if run.command.dry_run:
        return run.outcome(OutcomeStatus.DRY_RUN, f"dry-run, nothing written: {reason}", target=target,
                           action=report)
    flag = {"kind": "pause" if target else "kill_switch", "target": target, "engaged": engaged,
            "by": run.command.requested_by, "reason": run.command.reason, "at": run.now,
            "command_id": run.command_id, "published_at": run.published_at}
    if engaged:
        run.adapters.state.put_record(FLAGS, key, flag)   # a brake always lands, whatever it lands on
    else:
        previous = _release(run, key, scope, flag, previous)
    if not engaged and target is not None and not previous:
        # Never paused: a misspelt target, most likely, while the one meant stays paused. Say so.
        held = _paused(run)
        reason += f" (no pause of it was ever held{f'; paused now: {held}' if held else ''})"
    elif previous.get("command_id") == run.command_id:
        # This very command's flag, written by an earlier attempt that raised before answering (the write
        # landed with its answer lost): not "already", which would read as someone else's.
        reason += " (written by an earlier attempt at this command, whose answer was lost)"
    elif bool(previous.get("engaged")) == engaged:
        reason += " (it already was)"
    elif engaged:
        reason += _over_later_resume(run, previous)
    if engaged:
        reason += _no_end(run, target) + _under_way(run, target) + _asked_not_serving(run, target)
    if not engaged and target is None:
        reason += _still_paused(run)
    if not engaged:
        reason += _still_off(run, target)
    run.timeline.step("kill_switch", reason, severity="WARNING" if engaged else "NOTICE", target=target,
                      engaged=engaged)
    return run.outcome(OutcomeStatus.APPLIED, reason, target=target or "runwarden/kill_switch", action=report)


def _no_end(run: CommandRun, target: str | None) -> str:
    """Said of a pause sent with an `expires_at`: that time is the latest at which the command may still be run
    (docs/commands.md), not an end of the pause, which has none and holds until a resume. A sender who meant
    "pause until 14:00" would otherwise read "no writes until resumed" and expect writes back at 14:00."""
    if run.command.expires_at is None:
        return ""
    resume = f"runwarden resume --target {target}" if target else "runwarden resume"
    return (f"; it holds until resumed: its expires_at ({run.command.expires_at.isoformat()}) is the latest time this "
            f"command could still be run, not an end of the pause (to lift it then: {resume} --reason '...')")


def _release(run: CommandRun, key: str, scope: str, flag: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """The resume's flag written over the flag as read, guarded on it (its `engaged` and the command that
    wrote it): a pause that lands between the read and the write is never overwritten unread, but read
    again and judged (`_not_sent_after`). The flag as it was replaced."""
    state = run.adapters.state
    for _ in range(_RACE_READS):
        expect = {"engaged": previous.get("engaged"), "command_id": previous.get("command_id")}
        if state.update_record(FLAGS, key, flag, expect=expect) if previous else state.create_record(FLAGS, key, flag):
            return previous
        previous = state.get_record(FLAGS, key) or {}
        _not_sent_after(run, scope, previous)
    raise TransientError(f"{key}: the flag kept changing under {_RACE_READS} reads; the resume is tried again")


def _over_later_resume(run: CommandRun, flag: dict[str, Any]) -> str:
    """Said when this pause lands on a resume sent after it (the pause delivered late): the brake engages
    all the same (a pause is never held back by a resume, docs/behaviour.md), and the pause's sender reads
    that someone released it meanwhile, and the resume's sender's "writes allowed again" no longer holds."""
    released = flag.get("published_at")
    if flag.get("engaged") or released is None or run.published_at is None or released <= run.published_at:
        return ""
    by, why = flag.get("by") or "someone", flag.get("reason") or "no reason"
    return (f" (it arrived late, after a resume sent after it had released it: {by}, {why}; command "
            f"{flag.get('command_id') or '?'}, sent at {released:%Y-%m-%d %H:%M:%S}Z; paused again all the same, "
            "as a pause is never held back by a resume: resume again to release it)")


def _not_sent_after(run: CommandRun, scope: str, flag: dict[str, Any]) -> None:
    """Raises `skipped` when the pause held now was sent after this resume was: Pub/Sub delivers a message
    again after a failed attempt (with backoff, for up to max_delivery_attempts) and in no set order, so a
    resume sent at 10:00 whose first delivery failed could land at 10:05 on a pause another operator sent
    at 10:02, releasing a brake its sender never saw. A resume releases only what was engaged before it
    was sent: both times are Pub/Sub's publish_time, the same server's clock (PubsubMessage.publish_time,
    google/pubsub/v1/pubsub.proto). A pause and a resume published at the same instant cannot be ordered
    and the resume is taken; so is a pause whose publish time is unknown (none in its push, or engaged
    before publish times were kept)."""
    landed = flag.get("published_at")
    if not flag.get("engaged") or landed is None or run.published_at is None or landed <= run.published_at:
        return
    by, why = flag.get("by") or "someone", flag.get("reason") or "no reason"
    raise refused(f"{scope} not released: it was paused by {by} ({why}; "
                  f"command {flag.get('command_id') or '?'}, sent at {landed:%Y-%m-%d %H:%M:%S}Z), after this resume "
                  f"was sent ({run.published_at:%Y-%m-%d %H:%M:%S}Z; it arrived late): a resume releases only a pause "
                  "sent before it; nothing written. To release that pause now, send resume again with a new "
                  "command_id")


def _connector_exists(run: CommandRun, target: str) -> None:
    """A pause of a connector the config names nowhere is taken on its word (the gate may act on any
    managed service's connector), but one VPC Access says does not exist is a misspelt name: paused,
    it would answer `applied` while the connector meant stays unpaused and automation may scale it.
    Rejected, naming it. Any other answer (denied, unavailable) leaves the brake applied: a pause is
    never refused for want of a read."""
    vpcaccess = run.adapters.vpcaccess
    if vpcaccess is None:
        return
    try:
        vpcaccess.get_connector(target)
    except PermanentError as exc:
        if exc.code == "NOT_FOUND":
            raise rejected("target", f"connector {target} does not exist (VPC Access: {exc}); nothing paused: check "
                           "its name (a connector is named projects/PROJECT/locations/REGION/connectors/NAME)") from None
    except TransientError:
        return


def _asked_not_serving(run: CommandRun, target: str | None) -> str:
    """The pins in the pause's scope recorded `asked` (a rollback whose UpdateService operation failed with its
    split left desired, shared/remediation/pins.py), said: Cloud Run serves what a service asks for once it
    reconciles next (a restart, a deploy), which is no write of Runwarden's, so no pause holds it back. Read
    among the pins held (one equality on `pinned`, at most _LISTED + 1, as `_restores` reads them): a release
    sets `pinned` false and leaves `state` as it was, so released pins would pile up under a query on `state`
    and push a live one off the page. More held than read, or a read that fails, is said, never taken for none."""
    try:
        held = run.adapters.state.find_records(PINS, "pinned", True, _LISTED + 1)
    except TransientError as exc:
        return f"; whether a rollback is asked for and not serving could not be read ({exc})"
    asked = [f"{data.get('service')} asks for {data.get('revision')} at 100%, not serving (rollback "
             f"{data.get('action_id')})" for data in held[:_LISTED]
             if data.get("state") == PinState.ASKED.value and _in_scope(target, str(data.get("service") or ""))]
    more = (f"; more than {_LISTED} pins are held and only {_LISTED} were read for a rollback asked for and not "
            "serving: `status` lists them") if len(held) > _LISTED else ""
    if not asked:
        return more
    return (f"; asked for, not serving: {'; '.join(asked)}: whatever reconciles the service next (a restart, a "
            "deploy) may serve it, which is not Runwarden's write and no pause holds back") + more


def _under_way(run: CommandRun, target: str | None) -> str:
    """The writes a pause may not stop, said: one already past the gate's last check when the flag
    landed is sent all the same (a rollback waits on Cloud Run's operation, a connector's patch on VPC
    Access's), and "no writes until resumed" alone would tell the operator who paused to stop it that
    nothing more would change. Every write leaves a note before it is sent, and those noted within a
    claim's lease (with the clock-skew allowance) may still be under way, for the pause's scope (every
    target, or the target and the writes made for it, as `guardrails.held_by` holds them):
    - a write with a plan (an alert's, an operator's rollback or scale, an approve): its open intent;
    - a corrective restore, which stores no plan (a plan left open reads as a write that may need
      recording, intents.py, not as an undo): the sweep's undo, by its action record `undoing` since
      its decision or its last try (`tried_at`); an operator's restore_traffic, by its note on the pin
      (records.RestoreMark), and its note kept by the command (records.RestoreNote), which a to_latest
      restore of a service Runwarden holds no pin of leaves too.
    Each ends as it ends and is answered. Each kind is read at most _LISTED + 1 at a time; more than
    that, or a read that fails, is said, never taken for none."""
    since = in_flight.lease_start(run.now, run.config.guardrails.claim_ttl_seconds)
    found: list[tuple[datetime, str]] = []
    unsaid: list[str] = []
    for kind, read in (("writes with a plan", _planned), ("undos by the sweep", _undos),
                       ("restores by an operator", _restores)):
        try:
            writes, more = read(run, target, since)
        except TransientError as exc:
            unsaid.append(f"whether one of the {kind} was already under way could not be read ({exc})")
            continue
        found += writes
        if more:
            unsaid.append(f"more than {_LISTED} {kind} are open: only {_LISTED} were read, so one under way may "
                          "not be named")
    said = ""
    if found:
        listed = "; ".join(text for _, text in sorted(found))
        # "May": a plan noted before the pause may be past the gate's last check (not stopped) or not yet (held
        # back by this very flag, `_stop_before_write`); which, the pause cannot tell from its note. Said as
        # "not stopped" alone, it was false for a write the pause did hold back.
        said = (f"; {len(found)} write(s) may already be under way when it landed: {listed}; one already sent, or "
                "past the gate's last check, is not stopped by it, and one not yet past that check is held back by "
                "it; each is answered as it ends")
    if unsaid:
        said += "; " + "; ".join(unsaid) + ": one sent before it is not stopped"
    return said


def _in_scope(target: str | None, *names: str) -> bool:
    return target is None or target in names


def _planned(run: CommandRun, target: str | None, since: datetime) -> tuple[list[tuple[datetime, str]], bool]:
    """The open plans noted since `since` in the pause's scope, each (when, how it is named), and whether
    more were open than read. One this version cannot read is named too, first (when it was planned is not
    known), unless its own target and service, read as text, put it out of scope."""
    found = in_flight.plans_since(run.adapters.state, since, _LISTED)
    return [(since, u.named) for u in found.unreadable if target is None or u.about(target)] + [
        (plan.noted_at, in_flight.named(plan)) for plan in found.plans
        if _in_scope(target, plan.target, plan.service)], found.more


def _undos(run: CommandRun, target: str | None, since: datetime) -> tuple[list[tuple[datetime, str]], bool]:
    """The sweep's undos decided or last tried since `since` in the pause's scope (their action records
    `undoing`: one equality, at most _LISTED + 1), and whether more were unfinished than read."""
    found = run.adapters.state.find_records(ACTIONS, "state", ActionState.UNDOING.value, _LISTED + 1)
    undos = []
    for data in found[:_LISTED]:
        record = _read(ActionRecord, data, ACTIONS, "an undo by the sweep", target, since, undos)
        if record is None:
            continue
        last = max((t for t in (record.resolved_at, record.tried_at) if t is not None), default=None)
        if last is not None and last >= since and _in_scope(target, record.target, record.service):
            undos.append((last, f"restore_traffic on {record.target} (the sweep's undo of {record.action} "
                                f"{record.key}, incident {record.incident_id}, tried at {last:%H:%M:%S}Z)"))
    return undos, len(found) > _LISTED


def _restores(run: CommandRun, target: str | None, since: datetime) -> tuple[list[tuple[datetime, str]], bool]:
    """The operators' restores noted since `since` in the pause's scope, and whether more were open than
    read: the notes still `sending` (records.RestoreNote: every restore's, pinned service or not, a
    `to_latest` of a service Runwarden holds no pin of included; one equality, at most _LISTED + 1), and
    the notes on the pins held (one equality, at most _LISTED + 1), which restores sent before the notes
    existed left; one restore named once, by its command."""
    notes = run.adapters.state.find_records(RESTORES, "state", RestoreNoteState.SENDING.value, _LISTED + 1)
    pins = run.adapters.state.find_records(PINS, "pinned", True, _LISTED + 1)
    restores: dict[str, tuple[datetime, str]] = {}
    unread: list[tuple[datetime, str]] = []
    for data in notes[:_LISTED]:
        note = _read(RestoreNote, data, RESTORES, "a restore's note", target, since, unread)
        if note is None:
            continue
        if note.noted_at >= since and _in_scope(target, note.service):
            restores[note.command_id] = (note.noted_at, _restore_named(note.service, note.command_id,
                                                                       note.requested_by, note.noted_at))
    for data in pins[:_LISTED]:
        pin = _read(PinRecord, data, PINS, "a pin, which may note a restore", target, since, unread)
        if pin is None:
            continue
        mark = pin.restoring
        if mark is not None and mark.at >= since and _in_scope(target, pin.service):
            restores.setdefault(mark.command_id, (mark.at, _restore_named(pin.service, mark.command_id,
                                                                          mark.requested_by, mark.at)))
    return unread + list(restores.values()), len(notes) > _LISTED or len(pins) > _LISTED


def _read(model: type[_Record], data: dict[str, Any], collection: str, what: str, target: str | None,
          since: datetime, found: list[tuple[datetime, str]]) -> _Record | None:
    """`data` as `model`; None once one this version cannot read (records.read_record) is added to `found`, named
    (in_flight.unread), first (when it began is not known), unless its own target and service put it out of the
    pause's scope. Passed over, a write it stands for was left unnamed: "nothing under way" while one may be."""
    try:
        return read_record(model, data, collection, stored_key(collection, data))
    except DamagedRecord as exc:
        unreadable = in_flight.unread(data, exc, what)
        if target is None or unreadable.about(target):
            found.append((since, unreadable.named))
        return None


def _restore_named(service: str, command_id: str, requested_by: str, at: datetime) -> str:
    return f"restore_traffic on {service} (command {command_id} by {requested_by}, sent at {at:%H:%M:%S}Z)"


def _still_off(run: CommandRun, target: str | None) -> str:
    """What still holds every write back after this resume, said: "writes allowed again" alone would
    be false while the kill switch stays engaged (a target's resume under it) or the config's own
    `guardrails.kill_switch` is set (which no command releases). Beside either, for a target, the other
    pauses that hold its writes (`_others_holding`): the config changed or the kill switch released alone,
    the operator was held by a pause no answer had named. The resume's flag has landed by now, so a read
    that fails here is said, never raised: raised, the resume answered `failed` while it had released."""
    others = _others_holding(run, target) if target else ""
    beside = f"; and once it is changed,{others[len('; but'):]}" if others else ""
    if run.config.guardrails.kill_switch:
        return ("; but writes are still off: the config sets guardrails.kill_switch: true (change the config to "
                "allow them)" + beside)
    if run.config.dry_run:
        # The config's mode holds every write to Google Cloud back as a dry run, whatever the flags say.
        return ("; but nothing is written to Google Cloud: the config's mode is dry_run (every write is a dry run "
                "until the config's mode is enforce)" + beside)
    if target is None:
        return ""
    try:
        held = Gate(run.config, run.adapters.state, run.adapters.clock, owner="resume").kill_switch()
    except (TransientError, PermanentError) as exc:
        return (f"; but whether the kill switch is still engaged was not read ({exc}): runwarden status says it"
                + (f"; and{others[len('; but'):]}" if others else ""))
    if held:
        # Both named: the kill switch released alone would leave the operator held by the other pause.
        return (f"; but writes to it are still off: the kill switch is engaged ({held}); runwarden resume without a "
                "target releases it" + (f"; and beside it,{others[len('; but'):]}" if others else ""))
    return others


def _others_holding(run: CommandRun, target: str) -> str:
    """`_still_held` for `target`, from the engaged pauses as read now; a read that fails, said as not read."""
    try:
        pauses, more = engaged_pauses(run.adapters.state, _LISTED)
    except (TransientError, PermanentError) as exc:
        return (f"; but whether another pause still holds writes for it was not read ({exc}): runwarden status lists "
                "the pauses engaged")
    return _still_held(target, pauses, more, use_of=_use_reader(run))


def _still_held(target: str, pauses: list[dict[str, Any]], more: bool, use_of: UseOf = lambda s, c: MAY_USE
                ) -> str:
    """The other pauses that still hold writes for `target` after its resume (guardrails.held_by and
    paused_otherwise): the same connector under the other spelling of its project; for a connector, a paused
    service in its region behind it (a scale of it made for that service's alert stays held); for a service, a
    paused connector in its region it uses (a scale of it made for the service's alert stays held). Which
    service uses which connector is `use_of`'s to say (Cloud Run's GetService, `_use_reader`): a pause of a
    connector the service does not use holds none of its writes and is not named; one it may use (not read, a
    revision other than its latest serving) is named as one that may hold, so "writes allowed again" is never
    said while one does."""
    held = [said for flag in pauses if (said := _holds_for(target, str(flag.get("target") or ""), use_of))[0]]
    if not held and not more:
        return ""
    holding = [words for words, _ in held]
    shown = "; ".join(holding[:HOLDS_NAMED]) + (f"; and {len(holding) - HOLDS_NAMED} more" if len(holding) >
                                                HOLDS_NAMED else "")
    unread = f"more than {_LISTED} pauses are engaged and were not all read" if more else ""
    still = "are still held" if any(certain for _, certain in held) else "may still be held"
    return (f"; but writes for it {still} by another pause, each until resumed by its own target: "
            + "; ".join(part for part in (shown, unread) if part))


def _region(name: str) -> str:
    """The location of a full resource name (projects/P/locations/L/...), or ""."""
    parts = name.split("/")
    return parts[3] if len(parts) > 3 and parts[2] == "locations" else ""


def _holds_for(target: str, named: str, use_of: UseOf) -> tuple[str, bool]:
    """What the engaged pause of `named` still holds of the writes for `target`, resumed, or "" (nothing), and
    whether it surely holds them (False: it may)."""
    if named == target or _region(named) != _region(target):
        return "", False   # a connector serves only services in its own region (shared/config.py)
    resume = f"runwarden resume --target {named} --reason '...'"
    if "/connectors/" in target and by_another_form(target, named):
        return (f"{named} is paused, and it may be this connector, its project named by the other form (number or "
                f"id): every write to it stays held ({resume})"), False
    if "/connectors/" in target and "/services/" in named and (use := use_of(named, target)):
        return (f"{named} is paused, and that service {use}: a scale of this connector made for its alerts stays held "
                f"({resume})"), use.startswith(USES)
    if "/services/" in target and "/connectors/" in named and (use := use_of(target, named)):
        return (f"{named} is paused, and this service {use.replace('this connector', 'that connector', 1)}: a scale "
                f"of it made for this service's alerts stays held ({resume})"), use.startswith(USES)
    return "", False


# How a service stands to a connector, as `_still_held` says it: "" when it does not use it.
UseOf = Callable[[str, str], str]
USES = "uses this connector"
MAY_USE = "may use this connector (which connector it uses was not read)"


def service_use(service: Service, connector: str) -> str:
    """How `service` (Cloud Run's GetService) stands to `connector`, said: it uses it (its template names it and
    its latest revision, made from that template, serves all its traffic), it may (the project named by number,
    or another revision serving, whose own connector GetService does not give: connector_names.may_use), or ""
    (it names another connector or none, and serves only the revision made from that template). Read from
    Service.template's RevisionTemplate.vpc_access (VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto),
    Service.traffic_statuses, latest_ready_revision and latest_created_revision (google/cloud/run/v2/service.proto)."""
    if not may_use(service, connector):
        return ""
    named = names_connector(service, service.template_connector, connector)
    if named is Naming.YES and _latest_serves_all(service):
        return f"{USES} (its template names it and its latest revision serves all its traffic, Cloud Run)"
    return ("may use this connector (a revision other than its latest serves, or the connector's project is "
            "named by the other form: a revision's own connector is not read here)")


def _latest_serves_all(service: Service) -> bool:
    latest = service.latest_ready_revision
    serving = {t.revision for t in service.traffic_statuses if t.percent}
    return bool(latest) and service.latest_created_revision == latest and serving == {latest}


def _use_reader(run: CommandRun) -> UseOf:
    """`service_use` read from Cloud Run, each service once. A read that fails leaves the service as one that may
    use the connector (named, never passed over): the resume has landed either way. A service whose read answers
    NOT_FOUND no longer exists: it uses no connector and no write is made for it (docs/behaviour.md, as the gate
    holds it: guardrails.held_by), so its pause holds nothing of the connector's and is not named."""
    read: dict[str, Service | Exception] = {}

    def use_of(service: str, connector: str) -> str:
        if service not in read:
            try:
                read[service] = run.adapters.run.get_service(service)
            except (TransientError, PermanentError) as exc:
                read[service] = exc
        found = read[service]
        if isinstance(found, PermanentError) and found.code == "NOT_FOUND":
            return ""   # deleted: it serves nothing, so nothing is made for it and its pause holds nothing back
        if isinstance(found, Exception):
            return f"may use this connector (the service could not be read from Cloud Run: {found})"
        return service_use(found, connector)
    return use_of


def _still_paused(run: CommandRun) -> str:
    """A resume without a target releases the kill switch only: pauses of single targets stay, and
    an answer that said "writes allowed again" and no more would let the operator believe them gone."""
    held = _paused(run)
    return f"; still paused, each until resumed by its target: {held}" if held else ""


def _paused(run: CommandRun) -> str:
    """The targets paused one by one, listed (at most _LISTED), or "". Read once the resume's flag has landed: a
    read that fails is said, never raised (raised, the resume that released answered `failed`)."""
    try:
        held, more = engaged_pauses(run.adapters.state, _LISTED)
    except (TransientError, PermanentError) as exc:
        return f"not read ({exc}): runwarden status lists them"
    return ", ".join(sorted(f.get("target") or "?" for f in held)) + (", …" if more else "")


def engaged_pauses(state: Any, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """The pauses of single targets now engaged (at most `limit`), and whether there are more. Read by
    `engaged`, never by kind: a resume keeps its flag (`engaged: false`, who released it and why), so
    released pauses pile up over the months, and a page of every pause record could hold none of the
    engaged ones, which are the safety fact. The kill switch's flag is the one other engaged record
    (one key, KILL_SWITCH), so `limit` + 2 records tell whether any pause lies past the limit. A
    single-field equality: Firestore's automatic single-field index serves it, no composite index."""
    found = state.find_records(FLAGS, "engaged", True, limit + 2)
    pauses = [f for f in found if f.get("kind") == "pause"]
    return pauses[:limit], len(pauses) > limit


_LISTED = in_flight.LISTED
# Reads of a flag that changed between a resume's read and its guarded write, before it is tried again.
_RACE_READS = 3
