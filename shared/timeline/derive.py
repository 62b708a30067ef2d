"""What the timeline derives: onset, detection, decision, mitigation, recovery; TTD, TTM, TTR;
who acted and whether people acted before Runwarden; the open follow-ups. Pure: no I/O.

Durations follow the SRE book's convention: each is measured from the onset of impact.
"""
from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta
from typing import Sequence

from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.diagnosis.evidence import describe_command
from shared.remediation.actions.rollback_traffic import release_commands
from shared.timeline.classify import DECISION_STEPS, Step
from shared.timeline.model import (ActorKind, Durations, ErrorMinute, FollowUp, Milestone, Milestones, Source,
                                   TimelineEntry)
from shared.timeline.words import stamp

HEALTHY_MINUTES = 3                  # errors at zero this many minutes in a row: a healthy window
ONSET_GAP_MINUTES = 2                # error-free minutes allowed inside one run of errors
# Cloud Run metrics arrive up to ~3 min late (GoogleCloudPlatform/cloud-run-release-manager README); logs are
# taken to lag as much (UNCONFIRMED).
INGEST_LAG = timedelta(minutes=3)
# A person's change is the mitigation only when the errors stopped this soon after it (and before the next
# change): a traffic move takes effect in seconds and a deploy's rollout in a minute or two, so errors that
# stopped later than this, with nothing else changed, stopped for a reason the entries do not show.
PERSON_EFFECT = timedelta(minutes=15)


def onset(minutes: Sequence[ErrorMinute], detection: datetime | None) -> Milestone | None:
    """The first minute of the run of errors that led to the alert: walking back from the
    detection minute while errors continue (gaps of ONSET_GAP_MINUTES tolerated). A gap counts the
    minutes between that were not idle: a service called every 10 minutes, failing at each call, is
    one run of errors, not a new one at each call (its idle minutes are neither failing nor clean)."""
    erroring = [m for m in minutes if m.errors > 0]
    if not erroring:
        return None
    limit = detection if detection is not None else erroring[-1].minute
    before = [m for m in erroring if m.minute <= limit]
    if not before:
        return None
    read = _read(minutes)
    first = before[-1]
    for m in reversed(before[:-1]):
        if read.not_idle_between(m.minute, first.minute) > ONSET_GAP_MINUTES:
            break
        first = m
    return Milestone(at=first.minute, what=f"first minute of errors ({first.errors} 5xx)")


def earlier_onset(minutes: Sequence[ErrorMinute], detection: datetime | None) -> datetime | None:
    """Where the series begins, when the run of errors that led to the alert was already under way there
    (its first minute within a gap of the series' first, idle minutes not counted): the errors began
    before the minutes read (before the window, or before the request log's retention), so the onset is
    not known. None when the run began inside the series."""
    start = onset(minutes, detection)
    if start is None or not minutes:
        return None
    return minutes[0].minute if at_the_start(minutes, start.at) else None


def at_the_start(minutes: Sequence[ErrorMinute], at: datetime) -> bool:
    """`at` is within a gap of the series' first minute: at most ONSET_GAP_MINUTES minutes before it in
    the series were not idle, so a run of errors from `at` may have begun before the series did."""
    return bool(minutes) and _read(minutes).not_idle_between(minutes[0].minute - timedelta(minutes=1),
                                                             at) <= ONSET_GAP_MINUTES


def read_from_before(minutes: Sequence[ErrorMinute], at: datetime) -> datetime | None:
    """The minute from which the series holds more than ONSET_GAP_MINUTES minutes that were not idle before
    `at` (so that an onset at `at` is not `at_the_start`), or None when it does not hold that many. A
    service called every 15 minutes has two calls in the half hour before its onset."""
    if not minutes:
        return None
    found = _read(minutes).read_back(_minute(at) - timedelta(minutes=1), ONSET_GAP_MINUTES + 1, minutes[0].minute)
    return found[-1] if len(found) > ONSET_GAP_MINUTES else None


_last_read: list = []    # [(the series, its _Read)]: the series is read by every derivation, often in loops


def _read(minutes: Sequence[ErrorMinute]) -> "_Read":
    """The series' _Read, built once per series (the one last asked for, held so its id is not reused)."""
    cached = next(iter(_last_read), None)      # read once: another thread may replace it meanwhile
    if cached is not None and cached[0] is minutes and cached[1] == len(minutes):
        return cached[2]
    read = _Read(minutes)
    _last_read[:] = [(minutes, len(minutes), read)]
    return read


class _Read:
    """The series by minute: its errors, and which minutes were idle (no request at all, read so:
    shared/remediation/idle.py). Minutes it does not hold are not idle: what they held is not known."""

    def __init__(self, minutes: Sequence[ErrorMinute]) -> None:
        self.errors = {m.minute: m.errors for m in minutes}
        self.idle = sorted(m.minute for m in minutes if m.idle)
        self._idle = set(self.idle)

    def is_idle(self, minute: datetime) -> bool:
        return minute in self._idle

    def not_idle_between(self, start: datetime, end: datetime) -> int:
        """The minutes strictly between `start` and `end` (minute starts) that were not idle."""
        inside = int((end - start).total_seconds() // 60) - 1
        return max(0, inside - (bisect_right(self.idle, end - timedelta(minutes=1)) - bisect_right(self.idle, start)))

    def read_from(self, at: datetime, n: int, until: datetime) -> list[datetime]:
        """The first `n` minutes at or after `at`, up to `until`, that were not idle (fewer when the
        minutes run out first)."""
        out = []
        while len(out) < n and at <= until:
            if at not in self._idle:
                out.append(at)
            at += timedelta(minutes=1)
        return out

    def read_back(self, at: datetime, n: int, since: datetime) -> list[datetime]:
        """The last `n` minutes at or before `at`, back to `since`, that were not idle."""
        out = []
        while len(out) < n and at >= since:
            if at not in self._idle:
                out.append(at)
            at -= timedelta(minutes=1)
        return out


def onset_note(minutes: Sequence[ErrorMinute], m: Milestones) -> str:
    """Words for an onset not known (`earlier_onset`), "" otherwise."""
    begun = earlier_onset(minutes, m.detection.at if m.detection else None)
    if begun is None:
        return ""
    return (f"requests were already failing at {begun:%Y-%m-%d %H:%M}Z, where the errors read begin: the onset of "
            "impact is earlier and not known, so TTD, TTM and TTR are not given")


def healthy_window(minutes: Sequence[ErrorMinute], after: datetime, built_at: datetime) -> Milestone | None:
    """The first minute at or after `after` that starts HEALTHY_MINUTES error-free minutes, all of
    them old enough for their data to have arrived. Minutes with no request at all (idle, read so) are
    neither failing nor clean: skipped, never counted among them (a cron's idle minutes between its
    calls showed a recovery no request had shown). Minutes the series does not hold are unknown."""
    settled = built_at - INGEST_LAG
    read = _read(minutes)
    if not read.errors:
        return None
    start, last = max(_minute(after), min(read.errors)), max(read.errors)
    limit = min(last, settled - timedelta(minutes=1))
    at = start
    while at + timedelta(minutes=HEALTHY_MINUTES) <= settled and at <= last:
        window = read.read_from(at, HEALTHY_MINUTES, limit) if not read.is_idle(at) else []
        if (len(window) == HEALTHY_MINUTES and not any(read.errors.get(t, 0) for t in window)
                and any(read.errors.get(at - timedelta(minutes=i), 0) for i in range(1, 60))):
            skipped = (window[-1] - window[0]).total_seconds() // 60 + 1 - HEALTHY_MINUTES
            return Milestone(at=at, what=f"errors at zero for {HEALTHY_MINUTES} minutes from here" + (
                f" with requests ({int(skipped)} idle minute(s) between, with no request at all, not counted)"
                if skipped else ""))
        at += timedelta(minutes=1)
    return None


def milestones(rows: Sequence[TimelineEntry], steps: Sequence[Step], minutes: Sequence[ErrorMinute],
               built_at: datetime) -> Milestones:
    detection_row = next((r for r in rows if r.kind == "alert_opened"), None)
    detection = (Milestone(at=detection_row.at, what="the alert opened", by="Cloud Monitoring",
                           link=detection_row.link) if detection_row else None)
    start = onset(minutes, detection.at if detection else None)
    begun = earlier_onset(minutes, detection.at if detection else None)
    if begun is not None:
        start = None        # not the onset: the errors began before the minutes read (onset_note)
    elif start is None and detection is not None:
        start = Milestone(at=detection.at, what="the alert's start (no earlier errors in the series)",
                          link=detection.link)
    decision_step = next((s for s in steps if s.step in DECISION_STEPS and s.trigger == "alert"), None)
    decision = (Milestone(at=decision_step.at, what=f"Runwarden decided: {decision_step.step}", by="Runwarden",
                          link=_row_of(rows, decision_step)) if decision_step else None)
    fix = _mitigating(rows, start.at if start else begun, minutes, built_at)
    mitigation = _as_mitigation(fix)
    recovery = _recovery(rows, minutes, mitigation or detection or start, built_at, fix)
    return Milestones(onset=start, detection=detection, decision=decision, mitigation=mitigation, recovery=recovery)


def _as_mitigation(fix: TimelineEntry | None) -> Milestone | None:
    if fix is None:
        return None
    what = (f"Runwarden's write, made by an attempt that could not record it, recorded when found: {fix.summary}"
            if fix.kind == "adopted" else f"Runwarden applied: {fix.summary}" if _is_write(fix)
            else f"a person's change: {fix.summary}")
    return Milestone(at=fix.at, what=what, by=fix.actor.name, link=fix.link)


def _row_of(rows: Sequence[TimelineEntry], step: Step) -> str:
    """The link of the row a step line of Runwarden's is shown in ("" when none is: classify.row_of_step)."""
    return next((r.link for r in rows if r.source is Source.RUNWARDEN and r.at == step.at
                 and r.kind.rsplit(":", 1)[-1] == step.step), "")


def open_since(rows: Sequence[TimelineEntry]) -> datetime | None:
    """The alert's last opening, when no close of it follows (at or after it) among the rows: the incident
    was still open when the timeline was built. A notification of an opening redelivered after the close
    carries the opening's own time (Monitoring's `started_at`), so it does not re-open it; an incident
    re-opened under the same id, closed before, is open from its last opening. None for a closed incident,
    or one with no alert row (an operator's command)."""
    alerts = sorted((r for r in rows if r.kind in ("alert_opened", "alert_closed")),
                    key=lambda r: (r.at, r.kind == "alert_closed"))
    return alerts[-1].at if alerts and alerts[-1].kind == "alert_opened" else None


def _mitigating(rows: Sequence[TimelineEntry], since: datetime | None, minutes: Sequence[ErrorMinute],
                built_at: datetime) -> TimelineEntry | None:
    """The first change that could have fixed it, after the onset: Runwarden's applied write that its
    sweep verified, or a person's change to the service or what it depends on after which the errors
    stopped (`_errors_stopped_after`). A write the sweep undid (`undone`: not healthy by its deadline,
    the before-state restored), escalated without a verification, or not judged yet mitigated nothing
    the timeline can show: only `verified` says the service was healthy after it
    (shared/remediation/verification.py). A person's change is judged by the errors alone: a deploy or a
    traffic move that did not help (or made it worse) is not the mitigation."""
    for i, row in enumerate(rows):
        if since is not None and row.at < since:
            continue
        if _is_write(row):
            if (_verdict(row, rows[i + 1:]) != "verified" or _unjudged_before(rows, i) is not None
                    or _written_before_verdict(rows, i) is not None
                    or _a_person_fixed_it_after(row, rows[i + 1:], minutes, built_at)):
                continue
            return row
        if _is_persons_change(row) and _errors_stopped_after(row, rows[i + 1:], minutes, built_at):
            return row
    return None


def _is_write(row: TimelineEntry) -> bool:
    """A write of Runwarden's that made an action record: its `applied` line, an operator's override's too
    (`override:applied`, classify.row_of_step), whichever path made it (the alert path, an approved
    proposal); or the gate's `adopted` line naming the record it made for a write an attempt made and could
    not record (Gate.adopt_write), unless the writer's own line of it is shown (classify.recorded_again)."""
    return row.source.value == "runwarden" and (row.kind in ("applied", "override:applied")
                                                 or (row.kind == "adopted" and bool(row.action_key)))


def _is_persons_change(row: TimelineEntry) -> bool:
    return row.source.value == "audit" and row.actor.kind is ActorKind.PERSON


def _errors_stopped_after(change: TimelineEntry, later: Sequence[TimelineEntry], minutes: Sequence[ErrorMinute],
                          built_at: datetime) -> bool:
    """Requests were failing when `change` was made (in its minute or the HEALTHY_MINUTES before), and
    errors at zero for HEALTHY_MINUTES began within PERSON_EFFECT after it, before the next change (a
    person's, or a write of Runwarden's). No error series: nothing shows it helped."""
    read = _read(minutes)
    at = _minute(change.at)
    # Its minute and the HEALTHY_MINUTES before, idle ones skipped (a caller every 10 minutes failed at its
    # last call before the change), within the hour before it.
    if not any(read.errors.get(t, 0) for t in read.read_back(at, HEALTHY_MINUTES + 1, at - timedelta(minutes=60))):
        return False
    healthy = healthy_window(minutes, change.at, built_at)
    if healthy is None or healthy.at > change.at + PERSON_EFFECT:
        return False
    following = next((r.at for r in later if r.at > change.at and (
        r.source.value == "audit" or _is_write(r))), None)
    return following is None or healthy.at <= following


def _a_person_fixed_it_after(write: TimelineEntry, later: Sequence[TimelineEntry], minutes: Sequence[ErrorMinute],
                             built_at: datetime) -> bool:
    """Runwarden's write, verified, did not stop the errors: requests still failed in a whole minute after
    its own, up to a person's change made after it, and the errors stopped after that change
    (`_errors_stopped_after`). The sweep's `verified` says the service was healthy when it judged, not
    whose change made it so: a rollback to a revision that failed too, then a person's `gcloud run
    services update-traffic` that worked, read as Runwarden's mitigation. A person's change within the
    write's own minute leaves the write its credit."""
    start = _minute(write.at) + timedelta(minutes=1)
    for i, row in enumerate(later):
        if not _is_persons_change(row) or row.at <= write.at:
            continue
        if not any(m.errors and start <= m.minute <= _minute(row.at) for m in minutes):
            return False        # the errors had stopped before this person acted
        if _errors_stopped_after(row, later[i + 1:], minutes, built_at):
            return True
    return False


def unhelped_changes(rows: Sequence[TimelineEntry], m: Milestones, built_at: datetime | None = None,
                     minutes: Sequence[ErrorMinute] | None = None, *, days: bool = False) -> list[str]:
    """A note when people changed things after the onset and none of it is the mitigation: the errors did
    not stop soon after any of their changes in the minutes read (or no errors were read). Its times dated
    when `days` (`stamp`)."""
    start = m.onset.at if m.onset is not None else None
    changes = [r for r in rows if _is_persons_change(r) and (start is None or r.at >= start)
               and (m.mitigation is None or r.at < m.mitigation.at)]
    if not changes:
        return []
    first = changes[0]
    recent = built_at is not None and built_at - INGEST_LAG < changes[-1].at + PERSON_EFFECT
    why = (f"after none of them did the errors read stop within {int(PERSON_EFFECT.total_seconds() // 60)} minutes "
           "and before the next change")
    if minutes is not None and not any(x.errors for x in minutes):
        # A latency policy's incident, say: the series counts failed requests only.
        why = ("no failed request (5xx) was read in the window, so nothing read shows that one helped (the "
               "series counts failed requests: an incident of latency is not in it)")
    return [f"{len(changes)} change(s) by people after the onset (the first at {stamp(first.at, days)} by "
            f"{first.actor.name}: {first.summary}) not counted as the mitigation: {why}"
            + (f" (the last, at {stamp(changes[-1].at, days)}, is too recent to judge: its errors may not have "
               "arrived yet)" if recent else "")]


def _verdict(write: TimelineEntry, later: Sequence[TimelineEntry]) -> str:
    """The sweep's verdict on `write` (`_verdict_row`): `verified`, `undone`, `escalated`, or "" (none yet,
    or none that can be tied to it)."""
    row = _verdict_row(write, later)
    return row.kind if row is not None else ""


def _verdict_row(write: TimelineEntry, later: Sequence[TimelineEntry]) -> TimelineEntry | None:
    """The sweep's verdict on `write` among the rows after it: only a verdict on the action record that
    write made counts (`verdict_on` == its `action_key`). A verification or an undo of another record of
    the incident (an earlier write's, judged after this one landed; an approved proposal's write on another
    target) says nothing of this one. A write whose record is not known (its line, of an earlier version,
    names none, and no `planned` line of its attempt was read) gets no verdict (`unverified_writes` says
    so); nor does a verdict line that names no record. A later write under the same key (its record made
    again) takes the verdicts from there on."""
    if not write.action_key:
        return None
    for row in later:
        if _is_write(row) and row.action_key == write.action_key:
            return None
        if row.source.value == "runwarden" and row.verdict_on == write.action_key:
            return row
    return None


def _written_before_verdict(rows: Sequence[TimelineEntry], i: int) -> TimelineEntry | None:
    """Another write of Runwarden's in this incident made after the write at `i` and before the sweep's
    verdict on it (or since, while it has none), or dated so near the verdict that it may have been
    (`_unordered`): the minutes the verdict was read on are both writes' doing (`_unjudged_before`, seen
    from the earlier write), so the verdict does not say which one helped."""
    write = rows[i]
    verdict = _verdict_row(write, rows[i + 1:])
    return next((r for r in rows[i + 1:] if _is_write(r) and r.action_key != write.action_key
                 and (verdict is None or r.at < verdict.at or _unordered(r, verdict))), None)


def _unjudged_before(rows: Sequence[TimelineEntry], i: int) -> TimelineEntry | None:
    """An earlier write of Runwarden's in this incident with no verdict among the rows before the write at
    `i`: it was still pending when this one landed, or may have been. The minutes after both are both
    writes' doing (a rollback, then the connector's scale-up a cooldown of another target later): the sweep
    leaves the earlier one unjudged for it (`judging.later_own_writes`, escalated at its deadline naming the
    later action), and the later one's `verified` says the service was healthy, not which write made it so
    (two writes dated within the clock-skew allowance of each other are both escalated: neither is
    verified). Neither is the mitigation the timeline can show. Only the sweep's verdict on that write ends
    its span (`verdict_on`, matched to the write's `action_key`): an alert escalated for another reason, or
    an escalation that keeps the write pending (its evidence unreadable), judged nothing. A write whose
    record is not known (no `planned` line read before it) stays unjudged. The latest pending write is named.

    Each row's time is the clock of the instance that wrote it (the sweep's verdict, the alert path's or a
    command's write), and two instances' clocks may differ by up to CLOCK_SKEW_ALLOWANCE, as the sweep
    allows for between two writes' `applied_at` (judging.later_own_writes): so a verdict ends a span only
    when dated more than it before this write (`_unordered`). With two clocks 3 minutes apart, a verdict at
    12:12 and a write at 12:13 made at 12:10 read as the earlier write judged first, and both were counted.
    (A write dated after this one, within the allowance, may have come first too: `_written_before_verdict`
    keeps this one from being counted, and this rule the other.)"""
    write = rows[i]
    pending: dict[str, TimelineEntry] = {}
    for n, row in enumerate(rows[:i]):
        if row.source.value != "runwarden":
            continue
        if _is_write(row) and n < i:
            pending[row.action_key or f"#{n}"] = row
        elif row.verdict_on and not _unordered(row, write):
            pending.pop(row.verdict_on, None)
    return max(pending.values(), key=lambda r: r.at, default=None)


def _unordered(one: TimelineEntry, other: TimelineEntry) -> bool:
    """The two rows are dated within the clock-skew allowance of each other: each time is its writing
    instance's clock, so which came first cannot be told (judging._order_unknown's rule)."""
    return abs(one.at - other.at) <= CLOCK_SKEW_ALLOWANCE


def unverified_writes(rows: Sequence[TimelineEntry], *, days: bool = False) -> list[str]:
    """Notes for Runwarden's writes not counted as the mitigation for want of a verification (or of a
    record to tie one to), or verified on minutes another write of its own, made while it was unjudged,
    shaped as much. Their times dated when `days` (`stamp`)."""
    notes = []
    for i, row in enumerate(rows):
        if not _is_write(row):
            continue
        verdict = _verdict(row, rows[i + 1:])
        said = f"Runwarden's write at {stamp(row.at, days)} ({row.summary})"
        if not row.action_key:
            notes.append(f"{said} names no action record (a line of an earlier version, with no `planned` line of "
                         "its attempt read): no verdict of the sweep can be tied to it, so it is not counted as the "
                         "mitigation")
        elif verdict in ("", "escalated"):
            notes.append(f"{said} has no verification in the entries read (not judged yet, or escalated): it is not "
                         "counted as the mitigation")
        elif verdict != "verified":
            continue
        elif (earlier := _unjudged_before(rows, i)) is not None:
            notes.append(f"{said} was verified, but it was made while its write at {stamp(earlier.at, days)} "
                         f"({earlier.summary}) was not yet judged{_maybe(rows, earlier, row)}: the minutes after are "
                         "both writes' doing, so it is not counted as the mitigation, nor is the earlier one")
        elif (later := _written_before_verdict(rows, i)) is not None:
            notes.append(f"{said} was verified, but its write at {stamp(later.at, days)} ({later.summary}) was made "
                         f"before that verdict{_maybe(rows, row, later)}: the minutes it was judged on are both "
                         "writes' doing, so it is not counted as the mitigation")
    return notes


def _maybe(rows: Sequence[TimelineEntry], earlier: TimelineEntry, later: TimelineEntry) -> str:
    """", or may have been (...)" when the order of `later` with `earlier` or its verdict is told only by
    clocks within the clock-skew allowance of each other (`_unordered`); "" when the rows order them."""
    verdict = _verdict_row(earlier, rows[rows.index(earlier) + 1:])
    if later.at < earlier.at or (verdict is not None and verdict.at <= later.at):
        minutes = CLOCK_SKEW_ALLOWANCE.total_seconds() / 60
        return (f", or may have been (dated within the {minutes:.0f}-minute clock-skew allowance of "
                f"{'that write' if later.at < earlier.at else 'its verdict'}: each time is its own instance's "
                "clock, so which came first cannot be told)")
    return ""


def _recovery(rows: Sequence[TimelineEntry], minutes: Sequence[ErrorMinute], after: Milestone | None,
              built_at: datetime, fix: TimelineEntry | None = None) -> Milestone | None:
    """The earliest of: errors at zero for HEALTHY_MINUTES, the sweep's verification of the fix (`fix`, the
    mitigation's row: `_fix_verified`), the alert's close; each one that held. Not one before the alert's
    last opening (an incident re-opened under the same id did not recover when it first closed), nor one
    followed by failed requests before the incident ended (the alert's last close; while it is still open,
    the end of the series): a service that failed again had not recovered."""
    if after is None:
        return None
    opened = [r.at for r in rows if r.kind == "alert_opened"]
    since = max([after.at, *opened[-1:]]) if opened else after.at
    verified = _fix_verified(rows, fix, opened[-1] if opened else None)
    closes = [r.at for r in rows if r.kind == "alert_closed" and (not opened or r.at >= max(opened))]
    end = max(closes) if closes else None

    def held(at: datetime) -> bool:
        return not _failing_after(minutes, at) and not _failing_between(minutes, at, end)

    candidates = []
    healthy = healthy_window(minutes, since, built_at)
    while healthy is not None and not held(healthy.at - timedelta(minutes=1)):
        healthy = healthy_window(minutes, healthy.at + timedelta(minutes=1), built_at)
    if healthy is not None:
        candidates.append(healthy)
    for row in rows:
        if row.at < since or not held(row.at):
            continue
        if row is verified:
            candidates.append(Milestone(at=row.at, what="Runwarden verified the fix", by="Runwarden", link=row.link))
        elif row.kind == "alert_closed":
            candidates.append(Milestone(at=row.at, what="the alert closed", by="Cloud Monitoring", link=row.link))
    return min(candidates, key=lambda m: m.at) if candidates else None


def _fix_verified(rows: Sequence[TimelineEntry], fix: TimelineEntry | None,
                  last_opened: datetime | None) -> TimelineEntry | None:
    """The sweep's `verified` row on the write that is the incident's mitigation (`_verdict_row`: its
    `verdict_on` names that write's action record), or None. Any other verification says the service was
    healthy when the sweep judged another write, not that this incident recovered through its fix: a write
    verified on minutes another write of Runwarden's shaped (not the mitigation, `unverified_writes`), a
    write of another target (an approved proposal's), or a write made before the alert's last opening (an
    earlier opening's fix, which did not hold: the incident opened again after it)."""
    if fix is None or not _is_write(fix) or (last_opened is not None and fix.at < last_opened):
        return None
    i = next(n for n, row in enumerate(rows) if row is fix)
    verdict = _verdict_row(fix, rows[i + 1:])
    return verdict if verdict is not None and verdict.kind == "verified" else None


def _failing_between(minutes: Sequence[ErrorMinute], at: datetime, end: datetime | None) -> bool:
    """Failed requests in a whole minute after `at`, up to the minute of `end` (the alert's last close),
    or to the end of the series while the alert is open."""
    start = _minute(at) + timedelta(minutes=1)
    return any(m.errors and start <= m.minute and (end is None or m.minute < _minute(end)) for m in minutes)


def _failing_after(minutes: Sequence[ErrorMinute], at: datetime) -> bool:
    """Errors in the HEALTHY_MINUTES whole minutes after `at` that were not idle: a close or a verification
    then is not the recovery (an alert on a ratio closes when the ratio drops under its threshold, with the
    service still failing requests; a caller every 10 minutes failed again at its next call). Minutes the
    series does not hold count as unknown, not failing."""
    read = _read(minutes)
    if not read.errors:
        return False
    following = read.read_from(_minute(at) + timedelta(minutes=1), HEALTHY_MINUTES, max(read.errors))
    return any(read.errors.get(t, 0) for t in following)


def failed_again(minutes: Sequence[ErrorMinute], m: Milestones, *, days: bool = False) -> str:
    """Words for requests failing again after the recovery shown, "" otherwise. A recovery holds until the
    alert's last close (`_recovery`); errors after it, in the minutes read past the incident's end, are a
    service that failed again: under a policy that fires again, a new incident with its own id (a
    flapping alert), which the recovery shown here does not speak for."""
    if m.recovery is None:
        return ""
    after = _minute(m.recovery.at) + timedelta(minutes=1)
    again = next((x for x in minutes if x.errors and x.minute >= after), None)
    if again is None:
        return ""
    return (f"requests failed again from {again.minute:%Y-%m-%d %H:%M}Z ({again.errors} 5xx that minute), after the "
            f"recovery shown ({stamp(m.recovery.at, days)}): the recovery held until this incident's alert closed, "
            "not since")


def durations(m: Milestones) -> Durations:
    def since_onset(end: Milestone | None) -> float | None:
        if m.onset is None or end is None:
            return None
        return max(0.0, (end.at - m.onset.at).total_seconds())

    return Durations(ttd_seconds=since_onset(m.detection), ttm_seconds=since_onset(m.mitigation),
                     ttr_seconds=since_onset(m.recovery))


def people_acted_first(rows: Sequence[TimelineEntry], m: Milestones, since: datetime | None = None) -> bool:
    """A person changed the service or what it depends on after the onset, before Runwarden's
    decision (or at all, if Runwarden never decided). With no known onset, after `since`: where the
    errors read begin, when requests were already failing there (`earlier_onset`)."""
    start = m.onset.at if m.onset is not None else since
    if start is None:
        return False
    until = m.decision.at if m.decision else None
    return any(r.actor.kind is ActorKind.PERSON and r.source.value in ("audit", "runwarden") and r.at >= start
               and (until is None or r.at < until) for r in rows)


def follow_ups(steps: Sequence[Step], rows: Sequence[TimelineEntry], *, days: bool = False) -> list[FollowUp]:
    """What is still open: pinned traffic (with the commands that release it), proposals nobody
    approved, escalations, failures. Log text stays in the words; only Runwarden's own commands are
    code. Times dated when `days` (`stamp`)."""
    out: list[FollowUp] = []
    pinned, service, pinned_at, asked = _pinned_revision(steps)
    if pinned:
        gcloud, runwarden = release_commands(service or "SERVICE")
        moved = _traffic_moved_since(rows, pinned_at)
        text = (_asked_text(pinned, service, pinned_at, days) if asked and moved is None else
                f"Traffic is pinned to {pinned}: new deploys get no traffic until someone releases the pin, with "
                "either command:" if moved is None else
                f"Traffic was pinned to {pinned} at {stamp(pinned_at, days)}, and the service was changed since "
                f"({stamp(moved.at, days)}, {moved.actor.name}: {moved.summary}), which may have released it: check "
                "whether the pin still holds before releasing it, with either command:")
        out.append(FollowUp(text=text, commands=[gcloud, runwarden]))
    applied_later = any(s.step == "applied" for s in steps)
    for s in steps:
        if s.step == "proposed" and not applied_later:
            out.append(FollowUp(text=f"Proposed, not approved: {s.message}"))
        elif s.step == "escalated":
            out.append(FollowUp(text=f"Escalated to a person: {s.message}"))
        elif s.step == "failed":
            out.append(FollowUp(text=f"Failed: {s.message}"))
    unfinished = _unfinished(steps)
    if unfinished is not None:
        out.append(FollowUp(text=f"No outcome follows Runwarden's {unfinished.step} line of "
                                 f"{stamp(unfinished.at, days)} ({unfinished.message}) in the entries read: that attempt may have stopped mid-way, "
                                 "and whether it wrote is not shown here; check the target's state before acting."))
    unique: dict[tuple[str, tuple[str, ...]], FollowUp] = {}
    for f in out:       # each once, where it first came
        unique.setdefault((f.text, tuple(f.commands)), f)
    return list(unique.values())


def _unfinished(steps: Sequence[Step]) -> Step | None:
    """Runwarden's last `planned` or `claimed` line with no decision (an outcome step) at or after
    it: an attempt that stopped mid-way (a crash, a timeout) or whose outcome line is missing. The
    timeline then claims no outcome, and says so."""
    last = next((s for s in reversed(steps) if s.step in ("planned", "claimed")), None)
    if last is None or any(s.step in DECISION_STEPS and s.at >= last.at for s in steps):
        return None
    return last


def _asked_text(revision: str, service: str, at: datetime | None, days: bool) -> str:
    """The follow-up of a rollback asked for and not serving (the gate's `asked` line, no `pin_serving` since)."""
    when = f" at {stamp(at, days)}" if at is not None else ""
    return (f"A rollback to {revision} is asked for and not serving: its UpdateService operation failed{when} with "
            "its split left desired, and whatever reconciles the service next may serve it and pin traffic there. "
            f"See both splits with: {describe_command(service or 'SERVICE')}; to keep it from serving, release it "
            "with either command:")


def _pinned_revision(steps: Sequence[Step]) -> tuple[str, str, datetime | None, bool]:
    """(the revision a rollback pinned traffic to, the service, when, whether it is only asked for), unless it
    was undone or its pin released since (the sweep's `released`: an operator's restore it recognised, a
    service or an asked-for revision deleted). A rollback an attempt
    wrote and could not record pinned it too once recorded (the gate's `adopted` line of a rollback:
    Gate.adopt_write writes the pin), unless recorded as superseded (changed again since: no pin); an
    earlier version's `adopted` line names no action, and no pin is claimed from it. A rollback whose operation
    failed with its split left desired is asked for, not serving (the gate's `asked` line: pinned ASKED,
    shared/remediation/pins.py) until the sweep's `pin_serving` line says it serves."""
    planned = pinned = service = ""
    at = None
    asked = False
    for s in steps:
        params = s.details.get("params") if isinstance(s.details.get("params"), dict) else {}
        if s.step == "planned":
            is_rollback = s.details.get("action") == "rollback_traffic"
            planned = str(params.get("to_revision") or "") if is_rollback else ""
            service = str(params.get("target") or "") if is_rollback else service
        elif planned and (s.step == "applied" or (s.step == "adopted" and not s.details.get("superseded")
                                                   and s.details.get("action") == "rollback_traffic")):
            pinned, at, asked = planned, s.at, False
        elif s.step == "asked" and s.details.get("revision"):
            pinned, at, asked = str(s.details["revision"]), s.at, True
            service = str(s.details.get("service") or service)
        elif s.step == "pin_serving" and pinned:
            at, asked = s.at, False
        elif s.step in ("undone", "released"):
            pinned, asked = "", False
    return pinned, service, at, asked


def _traffic_moved_since(rows: Sequence[TimelineEntry], since: datetime | None) -> TimelineEntry | None:
    """The first change to the service's traffic (or a change of it the audit log does not detail) after
    the pin, by anyone but Runwarden's own write: a person's `gcloud run services update-traffic`, or an
    operator's restore_traffic (its steps carry an incident of their own, `command:ID`, so only its write
    in the audit log shows here). A deploy alone does not move a pinned split."""
    if since is None:
        return None
    return next((r for r in rows if r.source is Source.AUDIT and r.actor.kind is not ActorKind.RUNWARDEN
                 and r.kind in ("traffic_change", "service_change") and r.at > since), None)


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)
