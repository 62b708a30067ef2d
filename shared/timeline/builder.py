"""Builds an incident's timeline from Cloud Logging (and, for the error chart, Monitoring).

Three bounded reads, each ListLogEntries paged in time order and stopped after `max_pages`:
1. Runwarden's own step lines for the incident (label runwarden_incident), over the lookback;
   none at all means the incident is unknown. They name the service and bound the window.
2. Admin Activity audit entries in the window: changes to the service and what it depends on.
3. The service's failed requests (Cloud Run's request log), counted per minute; when the log has
   none, Monitoring's run.googleapis.com/request_count (5xx, per minute) instead.
Memory holds one page, the kept rows and one counter per minute, and, while a read lasts, one hash per
entry it read (_Once: an entry answered twice is taken once), bounded by the read's pages.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterable

from shared.diagnosis.principals import is_service_account
from shared.diagnosis.run_audit import UPDATE_SERVICE
from shared.diagnosis.windows import clock_on
from shared.echo import quoted
from shared.errors import PermanentError, RunwardenError, cause_status
from shared.ports import LogPagesPort, MonitoringPort
from shared.remediation.idle import requests_in
from shared.timeline import derive
from shared.timeline.classify import (CONNECTOR_UPDATE, DECISION_STEPS, Change, Related, Step, WRITE_STEPS, alert_key,
                                      alert_row, change_of, is_attempt, line_identity, one_line, recorded_again,
                                      row_of_step, step_key, step_of, write_key)
from shared.timeline.entries import LoggedEntry
from shared.timeline.model import (ActionRow, Actor, ActorKind, ErrorMinute, ErrorSeries, EvidenceRow,
                                   IncidentTimeline, ReadReport, Source, TimelineEntry)
from shared.timeline.queries import (BadInput, audit_filters, check_incident_id, check_project, command_steps_filter,
                                     entry_link, explorer_link, is_incident_id, is_location, is_service_id, near_ids,
                                     other_writes_filter, received_alerts_filter, reopened_filter,
                                     request_errors_filter, runwarden_filter)
from shared.timeline.words import duration, spans_days, stamp, visible
from shared.timeline.writer import INCIDENT_LABEL

if TYPE_CHECKING:
    from shared.diagnosis.evidence import MetricQuery, MetricResult

PLATFORM = Actor(kind=ActorKind.PLATFORM, name="Cloud Run")
# What each of Runwarden's writes changes, as the audit log records it (shared/remediation/actions/):
# the service's traffic (Cloud Run's UpdateService), or the connector (VPC Access's UpdateConnector).
# An action not named here (a line of an earlier version) may have changed either.
_WRITE_FAMILY = {"rollback_traffic": "run", "restore_traffic": "run", "scale_connector": "connector"}
# The methods those writes call, as the audit log names them: Cloud Run Admin API v2 UpdateService
# (run_audit.UPDATE_SERVICE; shared/gcp/run.py, update_mask ["traffic"]) and VPC Access v1
# projects.locations.connectors.patch (shared/gcp/vpcaccess.py), listed as
# google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector on the "Serverless VPC Access audit logging" page,
# its other readings UNCONFIRMED (classify.CONNECTOR_UPDATE).
ACTION_STEPS = frozenset({"applied", "adopted", "dry_run", "proposed", "verified", "undone", "escalated", "failed",
                          "skipped"})


# How much of a command's outcome the not-found answer quotes: a summary row's length.
DECIDED_SHOWN = 240
# And of a command's name (the longest of shared/commands HANDLERS, rollback_traffic, is 16 characters).
COMMAND_SHOWN = 40


class UnknownIncident(LookupError):
    """No step line of Runwarden's carries this incident id within the lookback."""


SEARCH_INCOMPLETE = "SEARCH_INCOMPLETE"


class SearchIncomplete(PermanentError):
    """The search for the incident's own lines did not finish and found none: "no entries" would be
    a guess. ListLogEntries may answer a page with no entries and a token ("the search found no log
    entries so far but it did not have time to search all the possible log entries",
    ListLogEntriesResponse.next_page_token, google/logging/v2/logging.proto); the read follows the
    token for `max_pages` pages and then stops. Same code as the Logging adapter's list_payloads."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=SEARCH_INCOMPLETE)


@dataclass(frozen=True)
class Limits:
    lookback: timedelta = timedelta(days=30)     # the _Default log bucket keeps 30 days
    # Runwarden's own lines are read this far past now: an instance whose clock is ahead writes lines
    # stamped in the future, and Logging stores them ("Future timestamp that can be stored in log buckets:
    # Up to 1 day in the future", Cloud Logging "Quotas and limits"). A read ending at now missed every
    # line of an incident under way from such an instance; read, they are put on Logging's clock.
    ahead: timedelta = timedelta(days=1)
    before: timedelta = timedelta(minutes=30)    # read this far before the first sign of the incident
    after: timedelta = timedelta(minutes=30)     # and this far after the last
    max_span: timedelta = timedelta(hours=24)
    page_size: int = 1000                        # ListLogEntries refuses more
    max_pages: int = 10                          # per query; an incident's own steps need one
    # Runwarden's own lines past max_pages (a storm of redeliveries): this many pages more of the
    # newest, read newest first, so the incident's end (the write, the verification, the close) shows.
    max_newest_pages: int = 5
    # A writer whose lines reach Cloud Logging this much later (or earlier) than their own times, at
    # the least, has a clock that far off: its lines are read on Logging's clock. Under it, the gap is
    # taken as the logging agent's delivery delay.
    clock_tolerance: timedelta = timedelta(seconds=30)
    # A writer whose lines all reached Logging late has a clock behind only when another instance's lines
    # reached it at once this close to them (Logging was not delaying entries then); otherwise they may
    # have arrived late, and stay at their own times (_on_loggings_clock).
    prompt_beside: timedelta = timedelta(minutes=5)
    # The request log can hold a failed request per line: read further there. 10 + 10 + 30 calls
    # stay under ListLogEntries' 60 requests a minute per project ("Quotas and limits",
    # docs.cloud.google.com/logging/quotas, as a digest of the current page quotes it; the page's own
    # row is UNCONFIRMED: docs/timeline.md, "Bounds").
    max_error_pages: int = 30
    # Every read of one timeline shares this many ListLogEntries calls, so that the reads a service's
    # dependencies in other projects add (one audit read each) never take it past that quota: a read
    # past it was answered RESOURCE_EXHAUSTED, and the same reads a minute later were refused again.
    # Ten calls stay free for a retry, the not-found read and another reader in the same minute.
    max_calls: int = 50
    # Errors already under way where the window begins (a slow burn the alert caught late): the request
    # log is read back this far before it, newest first, at most this many pages, to find where they began.
    onset_lookback: timedelta = timedelta(hours=6)
    max_onset_pages: int = 3
    # Runwarden's write steps under other incidents in the window (_read_other_writes): a few per write.
    max_other_write_pages: int = 2
    # Audit entries a Runwarden write itself causes land this soon after its `applied` line.
    own_write_slack: timedelta = timedelta(minutes=2)
    # Monitoring reads (ListTimeSeries) one timeline makes at most: the errors per minute when the request log
    # does not give them (`_request_count`), the service's demand (`_demand`), and the demand again from where
    # `reach_back` moved the window's start. Counted as they are made (`_metric`): a read past it is not made,
    # and a note says so. tests/infra/test_settings.py counts the timeline's timeout with it.
    max_metric_reads: int = 3
    # Rows shown at most (a page, a postmortem): 10 pages of a bot's changes would be 10,000 rows
    # and an 8 MB page. Beyond it, the first and last rows and every marked one are kept.
    max_rows: int = 1500


@dataclass
class Dependencies:
    """What the service depends on, when the caller knows it (config, Cloud Run's revisions)."""

    connectors: set[str] = field(default_factory=set)
    sql_instances: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)     # what could not be learned, and why


DependencySource = Callable[[str], Dependencies]


def build_timeline(incident_id: str, project: str, logs: LogPagesPort, now: datetime, *,
                   monitoring: MonitoringPort | None = None,
                   depends_on: Dependencies | DependencySource | None = None,
                   limits: Limits = Limits()) -> IncidentTimeline:
    """`depends_on` is what the service depends on, or a function from the service's full name
    (learned from Runwarden's steps) to it. Raises BadInput for a malformed id or project,
    UnknownIncident when nothing is found, and TransientError / PermanentError when Cloud
    Logging fails."""
    incident_id = check_incident_id(incident_id)
    check_project(project)
    build = _Build(incident_id, project, logs, now, limits)
    build.read_steps()
    if not build.steps and build.reads[0].cut_short:
        read = build.reads[0]
        raise SearchIncomplete(f"Cloud Logging did not finish searching for incident {incident_id}'s entries in "
                               f"project {project}: {read.pages} pages read, none of its entries found ({read.why}). "
                               "Nothing says the incident is unknown; try again")
    if not build.steps:
        raise UnknownIncident(f"no Runwarden log entry for incident {incident_id} in project {project} "
                              f"in the last {limits.lookback.days} days" + (build.command_elsewhere()
                                                                            or build.near_incidents()))
    build.depend_on(depends_on(build.service_name()) if callable(depends_on) else depends_on)
    build.frame()
    build.read_changes()
    build.read_errors(monitoring)
    build.reach_back()
    build.read_reopened()
    return build.result()


class _Build:
    def __init__(self, incident_id: str, project: str, logs: LogPagesPort, now: datetime, limits: Limits) -> None:
        self.incident_id, self.project, self.logs, self.now, self.limits = incident_id, project, logs, now, limits
        self.steps: list[Step] = []
        self.planned: dict[str, Step] = {}        # each writer's `planned` line of the attempt under way
        self.writes: dict[str, TimelineEntry] = {}  # the write row of each action record not yet judged
        self.rows: dict[tuple, TimelineEntry] = {}
        self.reads: list[ReadReport] = []
        self.notes: list[str] = []
        self.related = Related(project=project)
        # Connectors, Cloud SQL instances and secrets in another project than the service's (a Shared VPC
        # host project, a database project, a project of shared secrets): their audit entries are in that
        # project's log.
        self.elsewhere: dict[str, dict[str, set[str]]] = {}
        self.start = self.end = self.changes_end = now
        self.errors = ErrorSeries()
        self.monitoring: MonitoringPort | None = None
        self.metric_reads = 0                   # ListTimeSeries calls made so far (Limits.max_metric_reads)
        self.demand: dict[datetime, float] | None = None   # requests per minute, every answer (_demand)
        self.demand_until = now                            # the end of the minutes it was read over
        self.calls_left = limits.max_calls
        self.other_writes: dict[str, list[Step]] = {}     # Runwarden's write steps under other incidents
        self.changes: dict[str, Change] = {}               # the audit entries kept, by operation or entry
        self.reopened: list[str] = []                      # notes: the policy opened again, as other incidents
        self.routed_in: dict[str, int] = {}                # entries of other projects' logs answered, by project
        self.errors_known_until: datetime | None = None   # where the request log's read stopped (read_errors)

    # --- 1. Runwarden's steps ------------------------------------------------------------------------

    def read_steps(self) -> None:
        """Runwarden's own lines of the incident, in time order. A read stopped after its pages (a
        storm of redeliveries writes thousands of lines) kept the incident's start and lost its end:
        the write, the verification, the alert's close. So the newest lines are then read too, newest
        first, back to where the first read stopped (`_read_newest`). Every line is kept as a Step
        first (with the position it was read at), then read on Cloud Logging's clock where its
        writer's was minutes off (`_on_loggings_clock`), and only then made into rows, in time order."""
        seen: set[tuple] = set()
        read_at: list[datetime] = []         # the times of the entries read, earliest and latest
        placed: list[tuple[Step, int]] = []  # each step and where it was read: ties keep the written order
        position = [0, 1]                    # the next position, and its direction (-1: newest first)

        def keep(entry: LoggedEntry) -> None:
            read_at[:] = [min(read_at[0], entry.timestamp), max(read_at[1], entry.timestamp)] if read_at \
                else [entry.timestamp, entry.timestamp]
            step = step_of(entry, self.incident_id)
            if step is None:
                return
            keys = line_identity(entry, step)
            if any(key in seen for key in keys):
                return          # the same line, read again
            seen.update(keys)
            placed.append((step, position[0]))
            position[0] += position[1]
            self._learn(step)

        query = runwarden_filter(self.incident_id, self.now - self.limits.lookback, self.now + self.limits.ahead)
        first = self._read("runwarden", query, keep, refusable=False)
        self.reads.append(first)
        if first.cut_short and read_at:
            position[:] = [10 ** 9, -1]      # newest first: equal instants come back in reverse
            self._read_newest(first, read_at[1], keep, read_at)
        steps = self._on_loggings_clock([step for step, _ in placed])
        for step, _ in sorted(zip(steps, (p for _, p in placed)), key=lambda sp: (sp[0].at, sp[1])):
            self._add_step(step)

    def _add_step(self, step: Step) -> None:
        self.steps.append(step)
        if step.step == "planned":
            self.planned[step.writer] = step        # a process plans, claims and writes one attempt at a time
        if step.alert_state is not None:
            row = alert_row(step, self.project)
            self._add(alert_key(step, row), row)
            return
        key = step_key(step)
        # A repeat (a storm of redeliveries writes thousands) is counted on the row kept; its own row,
        # and its Logs Explorer link, are never built.
        kept = self.rows.get(key)
        if kept is None:
            row = self.rows[key] = row_of_step(step, self.project)
            if step.step == "applied" and not row.action_key:
                # A line of an earlier version names no record: the one its attempt's `planned` line makes.
                row.action_key = write_key(self.incident_id, self.planned.get(step.writer))
            if step.step == "applied":
                # A plan is written once: a later line naming no record (an earlier version's approve, which
                # writes no `planned` line, in the same process) is not given this write's record.
                self.planned.pop(step.writer, None)
            self._one_row_per_write(row)
        else:
            self._repeat(kept, step.at, one_line(step.message) if is_attempt(step) else None)

    def _one_row_per_write(self, row: TimelineEntry) -> None:
        """A write is shown once. The gate's `adopted` line records a write an attempt made and could not
        record (Gate.adopt_write): alone, it is that write's row; beside the writer's own `applied` line of
        the same record (its write outlived its claim and the sweep recorded it meanwhile), read in either
        order, it is the recording of that write, not a second one (classify.recorded_again). The sweep's
        verdict on the record ends its span: a write under the same key after it is another write."""
        if row.verdict_on:
            self.writes.pop(row.verdict_on, None)
            return
        if row.kind not in ("applied", "override:applied", "adopted") or not row.action_key:
            return
        earlier = self.writes.get(row.action_key)
        recording = recorded_again(earlier, row) if earlier is not None else None
        if recording is None:
            self.writes[row.action_key] = row
            return
        write = earlier if recording is row else row
        # Dated when it is not on the recording row's own day (a write at 23:59, recorded after midnight).
        recording.summary = one_line(f"{recording.summary} (the write it recorded is the row of "
                                     f"{clock_on(write.at, recording.at)}Z, its writer's own line)")
        recording.action_key, recording.marker = "", ""
        self.writes[write.action_key] = write

    def _on_loggings_clock(self, steps: list[Step]) -> list[Step]:
        """The steps, those of a writer whose clock was off read at Cloud Logging's time.

        A line's `timestamp` is its writer's clock (writer.line_time); Cloud Logging also stamps each
        entry with its own receipt time ("Output only. The time the log entry was received by
        Logging", LogEntry.receive_timestamp, google/logging/v2/log_entry.proto). Lines of instances
        whose clocks were minutes apart read out of order, and a write was set minutes away from its
        own audit entry (stamped by Google), so Runwarden's own write read as a person's. A writer's
        offset is the least (receipt - timestamp) over its lines: its clock's error plus the shortest
        delivery delay. Within `Limits.clock_tolerance` it is taken as delivery, and nothing moves.
        Received before written (beyond it), the clock was ahead; received later while another
        instance's lines reached Logging at once, the clock was behind: every line of that writer is
        moved by the offset (their order among themselves kept) and a note says so. Received later with
        nothing to compare, the lines may have arrived late (an agent's backlog, Logging's own delay) as
        well as come from a clock behind: moved, a batch delivered late set Runwarden's claim and write
        minutes after its own audit entry, which then read as a person's. They stay at their own times,
        `may_be_later` by the offset (which `_runwarden_write_near` allows for), and a note says so.
        Lines of no known writer (earlier versions) or with no receipt time are taken as written."""
        offsets: dict[str, timedelta] = {}
        for step in steps:
            if step.writer and step.received_at is not None:
                gap = step.received_at - step.at
                offsets[step.writer] = min(offsets.get(step.writer, gap), gap)
        tolerance = self.limits.clock_tolerance
        prompt = [s.received_at for s in steps if s.received_at is not None and s.writer in offsets
                  and abs(offsets[s.writer]) <= tolerance]
        off: dict[str, timedelta] = {}
        unsure: dict[str, timedelta] = {}
        for writer, offset in sorted(offsets.items()):
            if offset < -tolerance or (offset > tolerance and self._received_beside(writer, steps, prompt)):
                off[writer] = offset
            elif offset > tolerance:
                unsure[writer] = offset
        for writer, offset in off.items():
            self.notes.append(
                f"Runwarden's lines written by {self._functions(writer, steps)} (writer {writer}) carry a "
                f"clock {duration(abs(offset).total_seconds())} "
                f"{'behind' if offset > timedelta(0) else 'ahead of'} Cloud "
                "Logging's receipt times: they are shown at Logging's time, as received")
        for writer, offset in unsure.items():
            self.notes.append(
                f"Runwarden's lines written by {self._functions(writer, steps)} (writer {writer}) reached Cloud "
                f"Logging {duration(offset.total_seconds())} or more after their own times, with no other instance's "
                "lines received then to compare: they arrived late, or their clock was that far behind. They are "
                "shown at their own times, and matched with the audit log's entries under either reading")
        return [dataclasses.replace(s, at=s.at + off[s.writer]) if s.writer in off
                else dataclasses.replace(s, may_be_later=unsure[s.writer]) if s.writer in unsure else s for s in steps]

    def _received_beside(self, writer: str, steps: list[Step], prompt: list[datetime]) -> bool:
        """Another instance's lines reached Cloud Logging at once while this writer's were received: Logging
        was not late then, so this writer's lag is its clock (behind). Alone, a lag is either: log entries
        may arrive late ("late arriving log entries", TailLogEntriesRequest.buffer_window,
        google/logging/v2/logging.proto)."""
        mine = [s.received_at for s in steps if s.writer == writer and s.received_at is not None]
        near = self.limits.prompt_beside
        return any(min(mine) - near <= at <= max(mine) + near for at in prompt)

    @staticmethod
    def _functions(writer: str, steps: list[Step]) -> str:
        return ", ".join(sorted({s.function for s in steps if s.writer == writer and s.function})) or "one instance"

    def _read_newest(self, first: ReadReport, stopped_at: datetime, keep: Callable[[LoggedEntry], None],
                     read_at: list[datetime]) -> None:
        """The newest of Runwarden's lines, newest first, down to `stopped_at` (the last line the first
        read reached: from that instant on, so a line sharing it is not lost; one read twice is kept
        once). Reaching it, every line was read and neither read is cut short; otherwise the first
        read says which lines were not read, between which times."""
        read_at[:] = []
        query = runwarden_filter(self.incident_id, stopped_at, self.now + self.limits.ahead)
        # Refusable: the first read's lines are already in hand, and a failed newest read (its first page cut
        # short) leaves them shown, its gap said, rather than failing the timeline.
        newest = self._read("runwarden (newest first)", query, keep, self.limits.max_newest_pages,
                            order_by="timestamp desc")
        index = self.reads.index(first)
        if not newest.cut_short:
            self.reads[index] = first.model_copy(update={"cut_short": False, "why": ""})
            self.reads.append(newest)
            return
        gap_end = read_at[0] if read_at else self.now
        self.reads[index] = first.model_copy(update={"why": (
            f"{first.why}; the newest {newest.entries} lines were read too ({newest.pages} pages, newest first"
            + (f"; {newest.why}" if newest.pages < self.limits.max_newest_pages else "") + "): "
            f"Runwarden's lines from {stopped_at:%Y-%m-%d %H:%M:%S}Z to {gap_end:%Y-%m-%d %H:%M:%S}Z were not "
            "read (a step written then is not shown, and a repeated step's count leaves them out)")})
        self.reads.append(newest.model_copy(update={"cut_short": False, "why": ""}))

    def command_elsewhere(self) -> str:
        """For `command:ID` with no line of its own: where that command's steps are. Only a manual action
        (rollback_traffic, restore_traffic, scale_connector) carries the incident `command:ID`; an
        approve's or a reject's steps carry their proposal's incident, and the other commands' none.
        Said, with the command to run, rather than a bare "no entry", which reads as "no such command".
        One page, on the not-found path only; a read that fails leaves the answer as it was."""
        if not self.incident_id.startswith("command:"):
            return ""
        command_id = self.incident_id.removeprefix("command:")
        query = command_steps_filter(command_id, self.now - self.limits.lookback, self.now + self.limits.ahead)
        try:
            page = self.logs.read_page(self.project, query, page_size=self.limits.page_size)
        except RunwardenError:
            return ""
        incidents: dict[str, None] = {}
        names: dict[str, None] = {}
        matched = False
        decided = ""
        for entry in page.entries:
            details = (entry.json_payload or {}).get("runwarden")
            # Filter comparisons are not case sensitive (Logging query language page): matched again.
            if not isinstance(details, dict) or details.get("command_id") != command_id or not _written_in(
                    entry, self.project):
                continue
            matched = True
            if str(details.get("step") or "") in DECISION_STEPS:
                # Its answer, in its own words: a command rejected before it was read (malformed, or replayed
                # after its record lapsed) has no `command` to name, and the sender was told only that.
                decided = f"{details['step']}: {visible(one_line(entry.text, DECIDED_SHOWN))}"
            if details.get("command"):
                # Read back from the logs, anyone's text: one line, cut to a command name's length, shown.
                names[visible(one_line(str(details["command"]), COMMAND_SHOWN))] = None
            if is_incident_id(entry.labels.get(INCIDENT_LABEL, "")):
                incidents[entry.labels[INCIDENT_LABEL]] = None
        what = f"command {command_id}" + (f" ({', '.join(names)})" if names else "")
        if incidents:
            shown = ", ".join(incidents)
            return (f"; {what} has steps under incident {shown} (an approve's or a reject's steps carry its "
                    f"proposal's incident): runwarden timeline {next(iter(incidents))} --project {self.project}")
        if matched:
            # A manual action rejected before it planned its change (a missing revision, a target not in
            # the inventory) wrote its lines before it took command:ID, as every other command does.
            return (f"; {what} has steps, under no incident (a manual action's carry command:{command_id} only "
                    "once it plans its change; a refused one, and a pause, a status or a diagnose, carry none): "
                    "gcloud logging read "
                    f"'jsonPayload.runwarden.command_id=\"{command_id}\"' --project {self.project} "
                    f"--freshness={self.limits.lookback.days}d" + (f"; its last outcome, {decided}" if decided else ""))
        return ""

    def near_incidents(self) -> str:
        """For an alert's id with no line: the incidents Runwarden received an alert for whose ids are within
        two edits of it, ignoring case (a typo, a mis-cased id: Logging's filter matched it, the exact match
        again did not), so a person is told which id was meant; when there is none, the other reason the
        lines may be missing. One page of the newest `received` lines, on the not-found path only; a read
        that fails leaves the answer as it was."""
        if self.incident_id.startswith("command:"):
            return ""
        query = received_alerts_filter(self.now - self.limits.lookback, self.now + self.limits.ahead)
        try:
            page = self.logs.read_page(self.project, query, page_size=self.limits.page_size,
                                       order_by="timestamp desc")
        except RunwardenError:
            return ""
        near = near_ids(self.incident_id, (e.labels.get(INCIDENT_LABEL, "") for e in page.entries
                                           if e.labels.get(INCIDENT_LABEL) and _written_in(e, self.project)))
        if near:
            return (f"; did you mean {' or '.join(near)}? (runwarden timeline {near[0]} --project {self.project})")
        # An incident opened a moment ago: its first line may not be readable yet (entries arrive late,
        # "late arriving log entries", TailLogEntriesRequest.buffer_window, google/logging/v2/logging.proto;
        # how late a ListLogEntries read may see one is UNCONFIRMED), and a redelivered or queued
        # notification reaches Runwarden later still. Entries an exclusion filter matches are never stored
        # ("Exclusion filters", LogSink.exclusions / LogExclusion, google/logging/v2/logging_config.proto).
        return ("; an incident opened in the last few minutes may have lines that have not reached Cloud Logging "
                "yet: try again in a minute. If Runwarden did handle it earlier, check that no exclusion filter of "
                "the _Default sink (or of a LogExclusion) drops its lines: `gcloud logging sinks describe _Default`")

    def _learn(self, step: Step) -> None:
        """The service and what it depends on, from what Runwarden wrote about them."""
        resource = step.details.get("resource")
        if isinstance(resource, dict) and resource.get("service_name") and not self.related.service:
            if self._service(str(resource["service_name"]), str(resource.get("location") or "")):
                self._in_project(str(resource.get("project_id") or ""))
        params = step.details.get("params") if isinstance(step.details.get("params"), dict) else {}
        target = str(params.get("target") or "")
        if "/connectors/" in target:
            self.related.connectors.add(target.rsplit("/", 1)[-1])
            self._connector_project(target)
        if "/services/" in target and not self.related.service:
            parts = target.split("/")
            location = parts[parts.index("locations") + 1] if "locations" in parts[:-1] else ""
            if self._service(target.rsplit("/", 1)[-1], location):
                self._in_project(parts[1] if parts[0] == "projects" and len(parts) > 1 else "")

    def _service(self, service: str, location: str) -> bool:
        """Takes the service (and its region) a step names, when they are a Cloud Run service id and
        a region: a step's payload came from an alert, and a name that is neither is not read
        under (it would name no service's logs) nor shown as one."""
        if not is_service_id(service) or not is_location(location):
            note = (f"a step names the service {quoted(service, 80)} in {quoted(location, 40)}, which is not a Cloud Run "
                    "service name and region: it is not used")
            if note not in self.notes:
                self.notes.append(note)
            return False
        self.related.service, self.related.location = service, location
        return True

    def _in_project(self, project: str) -> None:
        """The service's own project: its audit and request logs live there, not in Runwarden's
        (a watched project). Kept only when it is a project id; otherwise Runwarden's own."""
        try:
            self.related.project = check_project(project) if project else self.project
        except BadInput:
            self.notes.append(f"the service's project {project!r} is not a project id: its logs are read in "
                              f"{self.project}")
            self.related.project = self.project

    def depend_on(self, deps: Dependencies | None) -> None:
        if deps is not None:
            self.notes += deps.notes
            self.related.connectors |= {c.rsplit("/", 1)[-1] for c in deps.connectors}
            self.related.sql_instances |= {i.rsplit(":", 1)[-1] for i in deps.sql_instances}
            # By full name (run_references): another project's secret of one id is another secret.
            self.related.secrets |= {s.strip().rstrip("/").split("/versions/")[0] for s in deps.secrets}
            for name in sorted(self.related.secrets):
                self._secret_project(name)
            for name in deps.connectors:
                self._connector_project(name)
            for name in deps.sql_instances:       # PROJECT:REGION:INSTANCE
                parts = name.split(":")
                if len(parts) == 3 and parts[0] != self.related.project:
                    self._kept_in(parts[0])["sql"].add(parts[2])

    def _kept_in(self, project: str) -> dict[str, set[str]]:
        """What the service uses in `project`, another than its own, by family (`audit_filters`' arguments)."""
        return self.elsewhere.setdefault(project, {"connectors": set(), "sql": set(), "secrets": set()})

    def _secret_project(self, name: str) -> None:
        """Notes a secret (projects/P/secrets/S) that lives outside the service's project: an Admin Activity entry
        is stored in the project that holds the resource (Cloud Audit Logs overview; classify._secret_name), so
        its changes are in P's log. A revision names another project's secret in full, often by the project's
        number (SecretKeySelector.secret, google/cloud/run/v2/k8s_min.proto); a number is not matched to a
        project id here, so such a secret is read in the service's project's log alone, and a note says so."""
        parts = name.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[1] == self.related.project:
            return
        if parts[1].isdigit():
            self.notes.append(f"the secret {name} is named by its project's number, which is not matched to a "
                              f"project id here: its changes were read only in {self.related.project}'s audit log, "
                              f"which holds them only if {parts[1]} is that project's number")
            return
        self._kept_in(parts[1])["secrets"].add(name)

    def _connector_project(self, name: str) -> None:
        """Notes a connector (projects/P/locations/L/connectors/C) that lives outside the service's project."""
        parts = name.split("/")
        if len(parts) == 6 and parts[0] == "projects" and parts[1] != self.related.project:
            self._kept_in(parts[1])["connectors"].add(parts[5])

    def frame(self) -> None:
        """The window: from `before` ahead of the first sign of the incident to `after` its last. Its errors
        are read over at most `max_span` (a minute each: the series, the chart); the changes (audit entries,
        few, each read bounded by its pages) over the whole incident, so who acted and what changed near the
        end of an incident longer than that is shown (before, only its first 24 hours were read)."""
        times = self._framing_times()
        if times:
            start, end = min(times) - self.limits.before, min(self.now, max(times) + self.limits.after)
        else:       # every line stamped in the future, none received in time to place it (_framing_times)
            end = self.now
            start = end - self.limits.before - self.limits.after
        start = min(start, end)       # never inverted: a filter with start after end reads nothing, silently
        self.changes_end = end
        if end - start > self.limits.max_span:
            span, cut_at = duration(self.limits.max_span.total_seconds()), start + self.limits.max_span
            # Said as a cut (a follow-up, like any read cut short): no recovery is read from errors after it.
            self.notes.append(f"the incident spans more than {span}, and its errors were cut short to its first "
                              f"{span}: errors after {cut_at:%Y-%m-%d %H:%M}Z were not read (changes to the service "
                              f"and what it depends on were read to {end:%Y-%m-%d %H:%M}Z, and Runwarden's own lines "
                              "are all shown)")
            end = cut_at
        self.start, self.end = start, end

    def _framing_times(self) -> list[datetime]:
        """The times that bound the window: each step's and row's, except those stamped after now (beyond
        `Limits.clock_tolerance`). Those were written by a clock ahead that could not be read on Cloud
        Logging's (a line of an earlier version names no writer: _on_loggings_clock) or carry an alert's
        time from the future: Runwarden's lines are read up to `Limits.ahead` past now, so they are read
        and shown, but a window framed by them began after it ended (an inverted filter, which Logging
        answers with nothing, no error) or stretched to now, past `max_span`, cutting the errors of the
        incident itself. Such a step counts at the time Cloud Logging received it (LogEntry.receive_timestamp,
        google/logging/v2/log_entry.proto: Logging's own clock), when that is known and not in the future."""
        future = self.now + self.limits.clock_tolerance
        times: list[datetime] = []
        ahead: list[datetime] = []      # the steps stamped in the future
        placed = 0
        for s in self.steps:
            if s.at <= future:
                times.append(s.at)
                continue
            ahead.append(s.at)
            if s.received_at is not None and s.received_at <= future:
                times.append(s.received_at)
                placed += 1
        quoted = [r.at for r in self.rows.values() if r.at > future]     # an alert's times, quoted in a line
        times += [r.at for r in self.rows.values() if r.at <= future]
        if ahead or quoted:
            self.notes.append(self._ahead_note(len(ahead), max(ahead + quoted), placed, bool(times)))
        return times

    def _ahead_note(self, lines: int, latest: datetime, placed: int, framed: bool) -> str:
        said = (f"{lines} of Runwarden's lines (or the alert times they quote) are stamped after this timeline was "
                f"built, up to {duration((latest - self.now).total_seconds())} ahead ({latest:%Y-%m-%d %H:%M:%S}Z): "
                "written by a clock that far ahead (a line of an earlier version names no writer, so it is not read "
                "on Cloud Logging's clock). They are shown as stamped; ")
        if not framed:
            return said + ("no other time places the incident, so its changes and errors were cut short to the "
                           f"{duration((self.limits.before + self.limits.after).total_seconds())} before "
                           f"{self.now:%Y-%m-%d %H:%M:%S}Z: they may have happened at another time and not be shown")
        if placed:
            return said + (f"{placed} of them frame the window at the time Cloud Logging received them, the others "
                           "not at all")
        return said + "the window is framed by the other lines' times, without them"

    # --- 2. changes: audit entries -------------------------------------------------------------------

    def read_changes(self) -> None:
        if not self.related.service:
            self.notes.append("Runwarden's steps do not name a Cloud Run service: no audit entries or errors read")
            return
        self._read_other_writes(self.start, self.changes_end)
        self._read_audit(self.start, self.changes_end)

    def _read_audit(self, start: datetime, end: datetime, label: str = "") -> None:
        """The audit entries between `start` and `end` in the service's project and in each project a
        dependency lives in; `label` names a read beyond the window's first reads."""
        def keep_in(project: str) -> Callable[[LoggedEntry], None]:
            once = _Once()

            def keep(entry: LoggedEntry) -> None:
                change = change_of(entry, self.related, read_in=project)
                if change is None or not once.first(entry):
                    return      # not a change of ours, or the same entry answered again (_Once)
                # One entry is its insertId with its timestamp, in its project: "Logging considers other log
                # entries in the same project, with the same timestamp, and with the same insert_id to be
                # duplicates" (LogEntry.insert_id, google/logging/v2/log_entry.proto). By the id alone, a second
                # change under the same id minutes later read as the first's end, and was not shown.
                key = (f"operation {change.operation}" if change.operation else
                       f"{project} {change.insert_id} {change.at.isoformat()}")
                if key in self.changes:         # a long-running operation's start and end: one change
                    row = self.rows[("audit", key)]
                    end = max(row.last_at or row.at, change.at)
                    if change.at < self.changes[key].at:
                        # Its first entry read after its last: the read before the window (reach_back) comes
                        # after the window's own. The row is its first entry's (when it began, its request).
                        self.changes[key] = change
                        row = self.rows[("audit", key)] = self._change_row(change, project)
                    row.last_at = end
                    return
                self.changes[key] = change
                self._add(("audit", key), self._change_row(change, project))
            return keep

        r = self.related
        queries = audit_filters(r.project, start, end, r.service, connectors=r.connectors,
                                sql_instances=r.sql_instances, secrets=r.secrets)
        for part, query in enumerate(queries, 1):   # more than one only past Logging's filter length
            self.reads.append(self._read("audit" + (f" (part {part})" if part > 1 else "") + label, query,
                                         keep_in(r.project), project=r.project))
        for project, found in sorted(self.elsewhere.items()):
            try:
                check_project(project)
            except BadInput:
                if not label:
                    self.notes.append(f"{project!r} is not a project id: changes to what the service uses there "
                                      "are not read")
                continue
            queries = audit_filters(project, start, end, r.service, connectors=found["connectors"],
                                    sql_instances=found["sql"], secrets=found["secrets"], with_service=False)
            for part, query in enumerate(queries, 1):
                read = self._read(f"audit {project}" + (f" (part {part})" if part > 1 else "") + label,
                                  query, keep_in(project), project=project)
                self.reads.append(_naming_unread(read, found))

    def _change_row(self, change: Change, project: str) -> TimelineEntry:
        found = self._runwarden_write_near(change)
        incident, by_time_alone = found if found else (None, False)
        under = "" if incident in (None, self.incident_id) else f", incident {incident}"
        actor = (Actor(kind=ActorKind.RUNWARDEN, name=f"Runwarden ({change.principal}{under})") if incident
                 else Actor(kind=ActorKind.PERSON, name=change.principal))
        how = ("taken as Runwarden's own write by its time alone (its lines do not name the account it acted as)"
               if by_time_alone else "Runwarden's own write")
        summary = change.summary + (f" — {how}{' under incident ' + incident if under else ''}, "
                                    "as the audit log records it" if incident else "")
        return TimelineEntry(at=change.at, source=Source.AUDIT, actor=actor, kind=change.kind, summary=summary,
                             link=entry_link(project, change.insert_id, change.at), severity="NOTICE",
                             target=change.resource, marker="" if incident else "human")

    def _read_other_writes(self, start: datetime, end: datetime, label: str = "") -> None:
        """Runwarden's writes under other incidents in the window: two policies on one service (its 5xx
        ratio and its latency) are two incidents, and an operator's manual action is one of its own
        (`command:ID`). Their audit entries are Runwarden's too; read against this incident's lines
        alone, one was a person's change by Runwarden's service account, who "acted before Runwarden",
        and the mitigation. One bounded read (`Limits.max_other_write_pages`) of the lines of Runwarden's
        writes (planned, claimed, applied, undone) in the window, in Runwarden's own project."""
        found: dict[str, list[Step]] = {}
        once = _Once()

        def keep(entry: LoggedEntry) -> None:
            incident = entry.labels.get(INCIDENT_LABEL) or ""
            step = step_of(entry, incident) if incident and incident != self.incident_id else None
            if step is not None and once.first(entry):
                found.setdefault(incident, []).append(step)

        query = other_writes_filter(self.incident_id, start, end)
        self.reads.append(self._read("runwarden (other incidents' writes)" + label, query, keep,
                                     self.limits.max_other_write_pages))
        for incident, steps in found.items():
            self.other_writes[incident] = sorted(self.other_writes.get(incident, []) + steps, key=lambda s: s.at)

    def _runwarden_write_near(self, change: Change) -> tuple[str, bool] | None:
        """Runwarden's own write, as the audit log records it: (the incident it was made under, whether it
        was matched by its time alone), or None for anyone else's. A service account's change of the kind
        one of Runwarden's writes makes (the service's UpdateService for a rollback or a restore, the
        connector's update for a scale: UPDATE_SERVICE, CONNECTOR_UPDATE, _WRITE_FAMILY), made between that
        write's claim and the line Runwarden logged after it (the gate claims, writes, then logs `applied`;
        the LRO's last audit entry may come a little later), under this incident or, for a write of the
        same target, another (`_read_other_writes`), by the account that write's lines name
        (`runwarden.principal`, shared/timeline/writer.py). Anything else is someone else's: people are not
        service accounts; gcloud's ReplaceService, a creation or a deletion is never Runwarden's write, nor
        a deploy (Runwarden's Run writes send `update_mask` `traffic` alone, shared/gcp/run.py: a logged
        request that carries a new image is not one), nor a change of the connector while Runwarden rolled
        the service back, nor another service account's UpdateService in those minutes. Lines written
        before they named their account (or by a process that could not find it) leave only the time:
        such a change is taken as Runwarden's and its row says so."""
        if change.family not in ("run", "connector") or not is_service_account(change.principal):
            return None
        if change.method != UPDATE_SERVICE and not CONNECTOR_UPDATE.match(change.method):
            return None
        if change.kind == "deploy":
            return None
        match = self._within_a_write(self.steps, change, same_target=False)
        if match is not None:
            return self.incident_id, match
        return next(((incident, match) for incident, steps in sorted(self.other_writes.items())
                     if (match := self._within_a_write(steps, change, same_target=True)) is not None), None)

    def _within_a_write(self, steps: list[Step], change: Change, *, same_target: bool) -> bool | None:
        """Whether `change` was made between one of `steps`' claims and two minutes after its write, by an
        action that changes what `change` changed (and, `same_target`, of the target its plan names), by
        the account that write's lines name: None when not; else whether it matched by its time alone
        (the write's lines name no account). An audit entry names its caller in
        `protoPayload.authenticationInfo.principalEmail` ("The email address of the authenticated user
        ... making the request", AuthenticationInfo.principal_email, google/cloud/audit/audit_log.proto);
        emails are compared without case (Google's account emails are not case-sensitive: UNCONFIRMED in
        Google's words, and a case-only difference from Runwarden's own account is no one else's)."""
        slack, claimed_at, action, target, principal = self.limits.own_write_slack, None, "", "", ""
        for s in sorted(steps, key=lambda s: s.at):
            if s.step == "planned":
                params = s.details.get("params") if isinstance(s.details.get("params"), dict) else {}
                action, target = str(s.details.get("action") or ""), str(params.get("target") or "")
            elif s.step == "claimed":
                claimed_at, principal = s.at, s.principal
            elif s.step in WRITE_STEPS:
                family = _WRITE_FAMILY.get(str(s.details.get("action") or action))
                start = (claimed_at or s.at - slack) - timedelta(seconds=5)
                # The gate's `adopted` line names its target itself (Gate.adopt_write); the others, their plan.
                wrote_on = str(s.details.get("target") or target)
                if same_target and wrote_on.rsplit("/", 1)[-1] != change.resource.rstrip("/").rsplit("/", 1)[-1]:
                    continue
                if family not in (None, change.family) or not start <= change.at <= s.at + s.may_be_later + slack:
                    continue
                wrote_as = s.principal or principal
                if not wrote_as:
                    return True
                if wrote_as.lower() == change.principal.lower():
                    return False
        return None

    # --- 3. errors per minute ---------------------------------------------------------------------------

    def read_errors(self, monitoring: MonitoringPort | None) -> None:
        if not self.related.service:
            return
        counts: dict[datetime, int] = {}
        last_read: list[datetime] = [self.start]

        service = self.related.service
        once = _Once()

        def count(entry: LoggedEntry) -> None:
            # The filter's comparison is not case sensitive (Logging query language page): the
            # service is matched again, exactly.
            if entry.resource_labels.get("service_name") != service or not once.first(entry):
                return
            minute = entry.timestamp.replace(second=0, microsecond=0)
            if self.start <= entry.timestamp <= self.end:
                counts[minute] = counts.get(minute, 0) + 1
                last_read[0] = max(last_read[0], entry.timestamp)

        query = request_errors_filter(self.related.project, self.related.service, self.start, self.end)
        report = self._read("request_errors", query, count, self.limits.max_error_pages, project=self.related.project)
        self.reads.append(report)
        source, known_until = f"Cloud Run request log: {query}", None
        if report.cut_short:
            # Read in time order and stopped: the minutes after the last entry read are not known to
            # be quiet, and a series padded with zeros there would show a recovery that never was.
            known_until = last_read[0].replace(second=0, microsecond=0)
            counts = {minute: n for minute, n in counts.items() if minute < known_until}
        if (not counts or report.cut_short) and monitoring is not None:
            found, found_source = self._request_count(monitoring)
            if found_source:
                counts, source, known_until = found, found_source, None
        self.errors_known_until = known_until     # said in result(), once the rows' days are known
        known_from = self._retained_from() if source.startswith("Cloud Run request log") else None
        self.monitoring = monitoring
        self.demand = self._agreeing(self._demand(self.start, self.end), counts)
        self.errors = ErrorSeries(source=source, minutes=self._every_minute(counts, known_until, known_from))
        self._platform_rows()

    def reach_back(self) -> None:
        """Errors already under way where the window begins (its first minute, within the onset's gaps) began
        before it: a slow burn the alert caught late, or an alert whose policy waits an hour. The request log
        is read back from there, newest first (`Limits.onset_lookback`, at most `Limits.max_onset_pages`,
        within the request log's retention and the window's 24 hours), to the minute they began; the window
        then begins `Limits.before` ahead of that minute, and the changes (the bad deploy that started it)
        are read there too. Before, the window began 30 minutes before the incident's first line and the
        onset, TTD, TTM and TTR were "not known" for any incident whose errors began earlier. Where the
        read back still finds them failing, the onset stays not known, now said at the earlier instant."""
        series = self.errors.minutes
        if not self.related.service or not series or not self.errors.source.startswith("Cloud Run request log"):
            return
        detected = min((r.at for r in self.rows.values() if r.kind == "alert_opened"), default=None)
        window_start = self.start.replace(second=0, microsecond=0)
        if derive.earlier_onset(series, detected) is None or series[0].minute > window_start:
            return      # began inside the window, or the series starts at the request log's retention edge
        earliest = max(self.start - self.limits.onset_lookback, self.end - self.limits.max_span,
                       self.now - self.limits.lookback)
        if earliest >= self.start:
            return
        counts: dict[datetime, int] = {}
        oldest: list[datetime] = []
        service, old_start = self.related.service, self.start
        once = _Once()

        def count(entry: LoggedEntry) -> None:
            if (entry.resource_labels.get("service_name") != service or not earliest <= entry.timestamp < old_start
                    or not once.first(entry)):
                return
            minute = entry.timestamp.replace(second=0, microsecond=0)
            counts[minute] = counts.get(minute, 0) + 1
            oldest[:] = [min(oldest[0], entry.timestamp) if oldest else entry.timestamp]

        query = request_errors_filter(self.related.project, service, earliest, old_start)
        report = self._read("request_errors (before the window)", query, count, self.limits.max_onset_pages,
                            project=self.related.project, order_by="timestamp desc")
        self.reads.append(report)
        if report.cut_short and not oldest:
            return
        # Read newest first: a read cut short knows every minute after the oldest entry it reached.
        known_from = (oldest[0].replace(second=0, microsecond=0) + timedelta(minutes=1) if report.cut_short else
                      earliest.replace(second=0, microsecond=0))
        for m in series:
            counts[m.minute] = counts.get(m.minute, 0) + m.errors
        if self.demand is not None:
            self.demand = self._agreeing(self._demand(known_from, self.end), counts)
        minutes, at = [], known_from
        while at <= series[-1].minute:
            minutes.append(self._minute(at, counts.get(at, 0)))
            at += timedelta(minutes=1)
        start = derive.onset(minutes, detected)
        begun = derive.earlier_onset(minutes, detected)
        new_start = known_from if begun is not None or start is None else max(known_from, min(
            start.at - self.limits.before, derive.read_from_before(minutes, start.at) or start.at))
        if new_start >= window_start:
            return
        self.start = new_start
        self.errors = ErrorSeries(source=self.errors.source, minutes=[m for m in minutes if m.minute >= new_start])
        self.rows.pop(("platform", "start"), None)
        self._platform_rows()
        after = ("" if begun is not None else
                 f", {duration(self.limits.before.total_seconds())} before the errors began"
                 if new_start >= start.at - self.limits.before else
                 f", where {derive.ONSET_GAP_MINUTES + 1} minutes with requests came before the errors began (the "
                 "service is idle between its requests)")
        self.notes.append(f"requests were already failing where the window first began "
                          f"({window_start:%Y-%m-%d %H:%M}Z): the request log was read back from there, and the "
                          f"window begins at {new_start:%Y-%m-%d %H:%M}Z{after}")
        label = " (before the window)"
        self._read_other_writes(new_start, old_start, label)
        self._read_audit(new_start, old_start, label)

    def read_reopened(self) -> None:
        """Other incidents of the same service in the window, from the alert notifications Runwarden received:
        - the same policy opening again after this incident's alert closed: Monitoring opens a new incident,
          with its own id, when a closed incident's condition is met again (a flapping alert: opened, closed
          and opened again within the hour). Its lines carry that id, so this timeline showed a recovery and
          nothing of the failure that followed it;
        - another policy's incident of the service (its 5xx ratio and its latency, at once): its steps, and
          a write it made that may be what fixed the service, are in its own timeline.
        Each is named with its `runwarden timeline` command. One page of the `received` lines of other
        incidents over the window; a read refused or spent is said as cut."""
        if not self.related.service:
            return
        own = [s for s in self.steps if s.alert_state]
        policy = next((s.details.get("policy") for s in own if s.details.get("policy")), None)
        closes = [s.at for s in own if s.alert_state == "closed"]
        closed_at = max(closes) if closes else None
        found: dict[str, tuple[datetime, str]] = {}

        def keep(entry: LoggedEntry) -> None:
            incident = entry.labels.get(INCIDENT_LABEL) or ""
            step = step_of(entry, incident) if incident and incident != self.incident_id else None
            resource = step.details.get("resource") if step is not None else None
            if (step is None or step.alert_state != "open" or not isinstance(resource, dict)
                    or resource.get("service_name") != self.related.service):
                return
            found.setdefault(incident, (step.at, str(step.details.get("policy") or "")))

        self.reads.append(self._read("runwarden (other incidents of the service)", reopened_filter(
            self.incident_id, self.start, self.changes_end), keep, 1))
        command = f"--project {self.project})"
        for incident, (at, other) in sorted(found.items(), key=lambda kv: kv[1][0]):
            if policy and other == policy and closed_at is not None and at >= closed_at:
                self.reopened.append(f"the policy {policy!r} opened again for {self.related.service} after this "
                                     f"incident's alert closed: incident {incident}, received {at:%Y-%m-%d %H:%M:%S}Z "
                                     f"(runwarden timeline {incident} {command}")
            elif other != policy:
                self.reopened.append(f"another policy's incident of {self.related.service} in this window: incident "
                                     f"{incident}{f' (policy {other!r})' if other else ''}, received "
                                     f"{at:%Y-%m-%d %H:%M:%S}Z; its steps, and "
                                     f"any write it made, are in its own timeline (runwarden timeline {incident} "
                                     f"{command}")

    def _request_count(self, monitoring: MonitoringPort) -> tuple[dict[datetime, int], str]:
        from shared.diagnosis.evidence import MetricQuery

        query = MetricQuery(project=self.related.project, metric_type="run.googleapis.com/request_count",
                            resource_type="cloud_run_revision",
                            labels={"resource.labels.service_name": self.related.service,
                                    "metric.labels.response_code_class": "5xx"},
                            start=self.start, end=self.end, alignment_seconds=60, aligner="ALIGN_DELTA",
                            reducer="REDUCE_SUM")
        try:
            result = self._metric(monitoring, query)
        except RunwardenError as exc:
            self.notes.append(f"errors per minute from Monitoring could not be read: {exc}")
            return {}, ""
        counts = {minute: int(value) for minute, value in self._per_minute(result, "request_count").items()}
        return counts, f"Cloud Monitoring: {result.query}"

    def _metric(self, monitoring: MonitoringPort, query: "MetricQuery") -> MetricResult:
        """One Monitoring read, counted: past `Limits.max_metric_reads` it is not made (a PermanentError its
        caller notes), so that the reads the timeline's timeout counts are all it can make."""
        if self.metric_reads >= self.limits.max_metric_reads:
            raise PermanentError(f"not read: the timeline makes at most {self.limits.max_metric_reads} Monitoring "
                                 "reads", code="BUDGET")
        self.metric_reads += 1
        return monitoring.query(query)

    def _per_minute(self, result: MetricResult, name: str) -> dict[datetime, float]:
        """A request_count read's points summed per minute over its series, each keyed by the minute it
        stands for (the one ending at the point's end time); the read reported as `name`."""
        summed: dict[datetime, float] = {}
        for series in result.series:
            for point in series.points:
                minute = _utc(point.end).replace(second=0, microsecond=0) - timedelta(minutes=1)
                if isinstance(point.value, (int, float)) and not isinstance(point.value, bool):
                    summed[minute] = summed.get(minute, 0.0) + float(point.value)
        self.reads.append(ReadReport(name=name, filter=result.query, pages=1,
                                     entries=sum(len(s.points) for s in result.series)))
        return summed

    def _retained_from(self) -> datetime | None:
        """The first whole minute the request log still holds, when the window begins before it. The
        request log is in the _Default bucket, which keeps entries 30 days unless configured otherwise
        (LogBucket.retention_days: "Logs will be retained by default for this amount of time, after which
        they will automatically be deleted ... the default time of 30 days", google/logging/v2/
        logging_config.proto; the _Default bucket's own figure is UNCONFIRMED here: `Limits.lookback`). Older
        minutes are not known, never zero: zeros there would show the errors starting at the retention
        edge, an onset (and a TTD) that never was. A bucket kept longer loses nothing but those minutes."""
        edge = self.now - self.limits.lookback
        if self.start >= edge:
            return None
        first = edge.replace(second=0, microsecond=0) + (timedelta(minutes=1) if edge.second or edge.microsecond
                                                          else timedelta(0))
        self.notes.append(f"the request log keeps {self.limits.lookback.days} days (the _Default bucket's default "
                          f"retention): errors before {first:%Y-%m-%d %H:%M}Z are not known, and the chart begins "
                          "there")
        return first

    def _every_minute(self, counts: dict[datetime, int], known_until: datetime | None = None,
                      known_from: datetime | None = None) -> list[ErrorMinute]:
        """Every minute of the window, zero where nothing failed; only the minutes before
        `known_until` when the read stopped there, and from `known_from` when the log keeps no older."""
        minute = max(self.start.replace(second=0, microsecond=0), known_from or self.start.replace(second=0,
                                                                                                 microsecond=0))
        last = min(self.end, self.now).replace(second=0, microsecond=0)
        if known_until is not None:
            last = min(last, known_until - timedelta(minutes=1))
        out = []
        while minute <= last:
            out.append(self._minute(minute, counts.get(minute, 0)))
            minute += timedelta(minutes=1)
        return out

    def _minute(self, minute: datetime, errors: int) -> ErrorMinute:
        """One minute of the series, with its requests where they were read (`_demand`): none read for a
        minute old enough to be readable, it was idle; newer, not known (shared/remediation/idle.py)."""
        if self.demand is None:
            return ErrorMinute(minute=minute, errors=errors)
        requests = requests_in(minute, self.demand, min(self.now - derive.INGEST_LAG, self.demand_until))
        return ErrorMinute(minute=minute, errors=errors, requests=None if requests is None else round(requests))

    def _agreeing(self, demand: dict[datetime, float] | None,
                  failed: dict[datetime, int]) -> dict[datetime, float] | None:
        """`demand`, unless it has no request in a minute (or the one either side: the two are counted on
        two clocks) in which requests failed: then it is not the service's (a metric not written, or read
        elsewhere), no minute is read as idle from it, and a note says so."""
        if demand is None:
            return None
        one = timedelta(minutes=1)
        missing = sorted(m for m, n in failed.items() if n and not any(
            demand.get(m + d) for d in (-one, timedelta(0), one)) and m + one <= self.demand_until)
        if not missing:
            return demand
        self.notes.append(f"Monitoring's request_count shows no request in {len(missing)} minute(s) in which the "
                          f"request log shows failed requests (the first {missing[0]:%Y-%m-%d %H:%M}Z): it is not "
                          "read for idle minutes, and a minute with no failed request is taken as clean")
        return None

    def _demand(self, start: datetime, end: datetime) -> dict[datetime, float] | None:
        """Every request of the service per minute, whatever its answer: Monitoring's
        run.googleapis.com/request_count ("Number of requests reaching the revision", Cloud Monitoring's
        list of Google Cloud metrics) aligned per minute and summed over its series (ALIGN_DELTA,
        REDUCE_SUM: Aggregation, google/monitoring/v3/common.proto). A minute with no failed request is
        clean only if it had requests: a service idle between its callers (a cron, a batch job every 5 to
        15 minutes) showed a recovery on its idle minutes and an onset at its last failing call. None
        when Monitoring is not given or cannot be read (then said): every minute is read as before."""
        if self.monitoring is None:
            return None
        from shared.diagnosis.evidence import MetricQuery

        # To the end of the window's last minute: a point stands for the minute ending at it, so one read to
        # the window's own end would leave its last minute with no point, read as idle.
        end = end.replace(second=0, microsecond=0) + (timedelta(minutes=1) if end.second or end.microsecond
                                                      else timedelta(0))
        query = MetricQuery(project=self.related.project, metric_type="run.googleapis.com/request_count",
                            resource_type="cloud_run_revision",
                            labels={"resource.labels.service_name": self.related.service},
                            start=start, end=end, alignment_seconds=60, aligner="ALIGN_DELTA", reducer="REDUCE_SUM")
        try:
            result = self._metric(self.monitoring, query)
        except RunwardenError as exc:
            self.notes.append(f"requests per minute (every answer) could not be read from Monitoring, so a minute "
                              f"with no failed request is taken as clean, though the service may have had no "
                              f"request then: {exc}")
            return None
        seen = self._per_minute(result, "request_count (every answer)")
        self.demand_until = end
        return seen

    def _platform_rows(self) -> None:
        """The errors starting and stopping, as rows (what the service showed)."""
        erroring = [m for m in self.errors.minutes if m.errors]
        if not erroring:
            return
        query = request_errors_filter(self.related.project, self.related.service, self.start, self.end)
        first = erroring[0]
        already = derive.at_the_start(self.errors.minutes, first.minute)
        self._add(("platform", "start"), TimelineEntry(
            at=first.minute, source=Source.PLATFORM, actor=PLATFORM, kind="errors_started",
            summary=(f"{first.errors} failed requests (5xx) in the first minute read, already failing where the "
                     f"errors read begin (they began earlier); peak {self.errors.peak} a minute" if already else
                     f"{first.errors} failed requests (5xx) in the first minute; peak {self.errors.peak} a minute"),
            link=explorer_link(self.related.project, query, first.minute), severity="ERROR"))

    # --- the pieces together ---------------------------------------------------------------------------

    def result(self) -> IncidentTimeline:
        rows = sorted(self.rows.values(), key=_in_order)
        steps = sorted(self.steps, key=lambda s: s.at)
        milestones = derive.milestones(rows, steps, self.errors.minutes, self.now)
        if milestones.onset is not None and not milestones.onset.link and self.related.service:
            milestones.onset.link = self._errors_link(milestones.onset.at)     # its minute, as errors_started
        if milestones.recovery is not None and milestones.recovery.what.startswith("errors at zero"):
            milestones.recovery.link = self._errors_link(milestones.recovery.at)
            rows.append(TimelineEntry(at=milestones.recovery.at, source=Source.PLATFORM, actor=PLATFORM,
                                      kind="errors_stopped", summary=milestones.recovery.what, marker="recovery",
                                      link=milestones.recovery.link))
            rows.sort(key=_in_order)
        elif milestones.recovery is not None:
            # The row the recovery stands for: the fix's verification (derive._fix_verified), else the close.
            kind = "verified" if milestones.recovery.by == "Runwarden" else "alert_closed"
            for row in rows:
                if row.at == milestones.recovery.at and row.kind == kind:
                    row.marker = "recovery"
                    break
        people = sorted({r.actor.name for r in rows if r.actor.kind is ActorKind.PERSON})
        detected = milestones.detection.at if milestones.detection else None
        acted_first = derive.people_acted_first(rows, milestones,
                                                since=derive.earlier_onset(self.errors.minutes, detected))
        # Over midnight (or days), a note's time of day alone names two moments: each is dated.
        days = spans_days(rows)     # as the rows are dated (words.dated), of every row read
        unhelped = derive.unhelped_changes(rows, milestones, self.now, self.errors.minutes, days=days)
        still_open = derive.open_since(rows)
        rows, not_shown = _bounded(rows, self.limits.max_rows, days)      # after everything is derived from all
        diagnosed = next((s for s in reversed(steps) if s.step == "diagnosed"), None)
        notes = list(self.notes) + self._errors_cut_note(rows) + derive.unverified_writes(rows, days=days) + unhelped
        notes += [n for n in [derive.onset_note(self.errors.minutes, milestones),
                              derive.failed_again(self.errors.minutes, milestones, days=days)] if n]
        notes += self.reopened
        if self.routed_in:
            notes.append(self._routed_note())
        if not self.incident_id.startswith("command:") and not any(s.alert_state for s in steps):
            # Runwarden writes each notification it receives at INFO (`received`): an exclusion filter on its
            # functions' logs that drops INFO entries keeps its warnings and loses every alert row (entries an
            # exclusion matches are not stored: LogSink.exclusions, google/logging/v2/logging_config.proto).
            notes.append("no alert notification of this incident is among Runwarden's lines read (its `received` "
                         "lines, written at INFO): the alert's opening and closing, and the detection, are not "
                         "shown. An exclusion filter that drops Runwarden's INFO lines loses them; so does a read "
                         "of its lines cut short")
        notes += [f"{r.name}: {r.why}" for r in self.reads if r.cut_short]
        return IncidentTimeline(
            incident_id=self.incident_id, project=self.project, service=self.service_name(), built_at=self.now,
            window_start=self.start, window_end=self.end, entries=rows, errors=self.errors, milestones=milestones,
            durations=derive.durations(milestones),
            signature=str(diagnosed.details.get("signature") or "") if diagnosed else "",
            diagnosis=diagnosed.message if diagnosed else "", evidence=_evidence(diagnosed),
            actions=_actions(steps), people=people, people_acted_first=acted_first,
            follow_ups=derive.follow_ups(steps, rows, days=days) + [
                f"The timeline was cut short: {n}" for n in notes + [not_shown]
                if n and ("cut short" in n or "stopped after" in n)],
            reads=self.reads, notes=notes, rows_not_shown=not_shown, open_since=still_open)

    def _errors_cut_note(self, rows: list[TimelineEntry]) -> list[str]:
        """Where the request log's read stopped, when it did: at the minute, dated when the rows (or that minute)
        fall on more than one UTC day (words.spans_days), as the rows are; a time of day alone names two moments
        there."""
        until = self.errors_known_until
        if until is None:
            return []
        at = f"{until:%Y-%m-%d %H:%M}Z" if spans_days(rows, [until]) else f"{until:%H:%M}Z"
        return [f"errors per minute are known only until {at}, where the read of the request log stopped: the chart "
                "ends there and no recovery is read from it"]

    def _routed_note(self) -> str:
        shown = ", ".join(f"{visible(one_line(project, 64))} ({n})" for project, n in sorted(self.routed_in.items()))
        return (f"{sum(self.routed_in.values())} entries read were written to other projects' logs ({shown}), "
                "kept in a log bucket these reads search (a sink routes them there), and are not shown: a Runwarden "
                "deployment in another project writes its own lines, under the same incident id when the same "
                "incident notified it too; its timeline is built in its own project (--project)")

    def _errors_link(self, at: datetime) -> str:
        """The request log's failed requests of the window, in the Logs Explorer at `at`."""
        r = self.related
        return explorer_link(r.project, request_errors_filter(r.project, r.service, self.start, self.end), at)

    def service_name(self) -> str:
        r = self.related
        if not r.service:
            return ""
        return f"projects/{r.project}/locations/{r.location}/services/{r.service}" if r.location else r.service

    def _add(self, key: tuple, row: TimelineEntry) -> None:
        """One row per event, repeats counted."""
        kept = self.rows.get(key)
        if kept is None:
            self.rows[key] = row
        else:
            self._repeat(kept, row.at)

    @staticmethod
    def _repeat(kept: TimelineEntry, at: datetime, summary: str | None = None) -> None:
        """`kept` written once more, at `at`. `summary`: a repeat that counts deliveries shows the
        latest one's words ("delivery 57 of ..."), not the first's."""
        kept.count += 1
        if summary is not None and at >= (kept.last_at or kept.at):
            kept.summary = summary
        kept.at, kept.last_at = min(kept.at, at), max(kept.last_at or kept.at, at)

    def _read(self, name: str, query: str, handle: Callable[[LoggedEntry], None],
              max_pages: int | None = None, *, project: str = "", refusable: bool = True,
              order_by: str = "timestamp asc") -> ReadReport:
        """Pages through one query in time order (in `project`, by default Runwarden's own);
        stops after max_pages, or when the timeline's calls (`Limits.max_calls`) are spent, and says
        so. `refusable`: a read Cloud Logging refuses (PERMISSION_DENIED in a watched project
        Runwarden may not read, INVALID_ARGUMENT) or cannot answer after the adapter's retries (its
        per-minute quota used up, RESOURCE_EXHAUSTED; UNAVAILABLE) ends as a read cut short, in
        words, and the timeline goes on with what the other reads found: raised, it failed the whole
        timeline and threw away what was read, and the quota a retry needs again was spent on it.
        Runwarden's own lines are not refusable (without them there is no timeline) until a page of them
        was read: a page that fails after that (its 30 s spent, DEADLINE_EXCEEDED, or the quota) cuts the
        read short as its page limit does, and the timeline shows what was read under THE TIMELINE IS
        INCOMPLETE, answered 200 (before, the whole timeline failed, a 503 "try again" that
        searched from page one again with the same budget, and the lines read were thrown away). With no
        page read there is nothing to show: raised, as before (`logging_failure`)."""
        own = max_pages or self.limits.max_pages
        max_pages = min(own, self.calls_left)
        token, pages, entries = "", 0, 0
        if max_pages <= 0:
            return ReadReport(name=name, filter=query, cut_short=True,
                              why=f"stopped after 0 pages: not read, the timeline's {self.limits.max_calls} "
                                  "ListLogEntries calls (under Cloud Logging's per-minute read quota) were spent")
        while True:
            try:
                self.calls_left -= 1
                page = self.logs.read_page(project or self.project, query, page_size=self.limits.page_size,
                                           page_token=token, order_by=order_by)
            except RunwardenError as exc:
                if not refusable and not pages:
                    raise
                return ReadReport(name=name, filter=query, pages=pages, entries=entries, cut_short=True,
                                  why=f"stopped after {pages} pages ({entries} entries): " + _unread(exc, project
                                                                                                    or self.project))
            pages += 1
            for entry in page.entries:
                if _written_in(entry, project or self.project):
                    handle(entry)
                else:
                    self.routed_in[entry.log_project] = self.routed_in.get(entry.log_project, 0) + 1
            entries += len(page.entries)
            token = page.next_page_token
            if not token:
                return ReadReport(name=name, filter=query, pages=pages, entries=entries)
            if pages >= max_pages:
                # A token says more entries may match, or that the search has not finished; not that
                # more matched (ListLogEntriesResponse.next_page_token).
                spent = (f"; the timeline's {self.limits.max_calls} ListLogEntries calls (under Cloud Logging's "
                         "per-minute read quota) were spent" if max_pages < own else "")
                return ReadReport(name=name, filter=query, pages=pages, entries=entries, cut_short=True,
                                  why=f"stopped after {pages} pages ({entries} entries) with the search not "
                                      f"finished: later entries may match and were not read{spent}")


def _written_in(entry: LoggedEntry, project: str) -> bool:
    """Whether `entry` was written to `project`'s own logs. A read of projects/P may answer entries that
    other projects wrote, which a sink stores in one of P's log buckets (LogSink.destination, google/logging/
    v2/logging_config.proto; whether ListLogEntries' `resource_names` projects/P answers them is UNCONFIRMED),
    under their own logName, projects/OTHER/logs/... : another Runwarden deployment's lines under the same
    incident id read as this one's steps. A logName naming a project by its number (UNCONFIRMED that Logging
    ever writes one) or none is kept: it cannot be told apart."""
    return not entry.log_project or entry.log_project == project or entry.log_project.isdigit()


class _Once:
    """Whether a read met an entry before. Logging removes duplicates "in a single query result" ("Logging
    considers other log entries in the same project, with the same timestamp, and with the same insert_id to
    be duplicates which are removed in a single query result", LogEntry.insert_id, google/logging/v2/
    log_entry.proto); whether a paged answer, a query result over many calls, ever gives an entry again on a
    later page is UNCONFIRMED. Counted again, each such failed request raised its minute's count, the peak
    and the onset's. So every entry is known by its insertId, timestamp and log, as the timeline's other reads
    know theirs (classify.line_identity, the audit read's key), and counted once under either reading.
    Kept as one 64-bit hash per entry (a collision, about 1 in 10^10 over a 30,000-entry read, would count
    one request too few): a read's memory grows by under 100 bytes an entry, bounded by its pages
    (Limits.max_error_pages of Limits.page_size), and is freed when the read ends. An entry with no
    insertId (Logging assigns one to every entry written without: LogEntry.insert_id) is counted as read."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def first(self, entry: LoggedEntry) -> bool:
        if not entry.insert_id:
            return True
        key = hash((entry.insert_id, entry.timestamp, entry.log_id))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def _naming_unread(read: ReadReport, found: dict[str, set[str]]) -> ReadReport:
    """`read`, an audit read in another project, saying whose changes it left unread when it was cut short: a
    refusal there (a project not among the watched ones, whose role grants logging.logEntries.list) otherwise
    said only that a read stopped, not that a connector's, an instance's or a secret's changes went unseen."""
    if not read.cut_short:
        return read
    whose = ", ".join([*(f"connector {c}" for c in sorted(found["connectors"])),
                       *(f"Cloud SQL instance {i}" for i in sorted(found["sql"])),
                       *(f"secret {s}" for s in sorted(found["secrets"]))])
    how = "were not read" if not read.pages else "may not all have been read"
    return read.model_copy(update={"why": f"{read.why}; changes to {whose} {how}"})


def _unread(exc: RunwardenError, project: str) -> str:
    """Why a read ended early, in words: a refusal names its code; a used-up quota says to try again."""
    if isinstance(exc, PermanentError):
        return f"Cloud Logging refused the read in project {project} ({exc.code or 'error'}): {exc}"
    if cause_status(exc) == "RESOURCE_EXHAUSTED":
        return (f"Cloud Logging's read quota (ListLogEntries per minute) was used up; build the timeline again in "
                f"a minute to read the rest: {exc}")
    return (f"Cloud Logging did not answer the read in project {project}; build the timeline again to read the "
            f"rest: {exc}")


# At one instant: what the service showed, then the alert, then the changes, then Runwarden's steps.
_SOURCE_ORDER = {Source.PLATFORM: 0, Source.ALERT: 1, Source.AUDIT: 2, Source.RUNWARDEN: 3}


def _in_order(row: TimelineEntry) -> tuple:
    """Time, then source. Rows of one source at one instant keep the order they were read in
    (the sort is stable; each read is in Cloud Logging's time order), never sorted by their names.
    Runwarden's own lines of one process never share an instant (writer.line_time): Cloud Logging
    orders equal timestamps by insert_id, not as written."""
    return row.at, _SOURCE_ORDER[row.source]


def _bounded(rows: list[TimelineEntry], limit: int, days: bool = False) -> tuple[list[TimelineEntry], str]:
    """At most `limit` rows, in time order: the alert opening and closing, Runwarden's writes and
    decisions, the errors starting and stopping, then the earliest and the latest of the rest; and,
    when some were left out, which, in words (their times dated when `days`, words.stamp). Milestones,
    measures and people are derived from all rows before this."""
    if len(rows) <= limit:
        return rows, ""
    must = [i for i, r in enumerate(rows) if r.marker in ("alert_open", "alert_close", "action", "recovery")
            or r.kind in DECISION_STEPS or r.source is Source.PLATFORM]
    marked = set(must)
    rest = [i for i in range(len(rows)) if i not in marked]
    room = max(0, limit - len(must))
    # More of those than fit (notifications that kept coming, each answered by a row of its own): the
    # earliest and the latest of them, so that the decision that ended the incident is never the one cut.
    kept = set(_ends(must, limit)) | set(_ends(rest, room))
    left_out = [rows[i] for i in range(len(rows)) if i not in kept]
    shown = ("the alert, Runwarden's decisions and writes, and the first and last rows are" if len(must) <= limit
             else f"not all of Runwarden's decisions are: {len(must) - limit} of its {len(must)} decision and marked "
                  "rows are among them; the earliest and the latest are shown")
    words = (f"the timeline was cut short to {len(kept)} of {len(rows)} rows: {len(left_out)} rows from "
             f"{stamp(left_out[0].at, days)} to {stamp(left_out[-1].at, days)} are not shown ({shown})")
    return [rows[i] for i in sorted(kept)], words


def _ends(indexes: list[int], room: int) -> list[int]:
    """The first and the last of `indexes`, `room` in all (the earlier half first)."""
    if room <= 0:
        return []
    if len(indexes) <= room:
        return indexes
    return indexes[:room // 2] + indexes[len(indexes) - (room - room // 2):]


def _evidence(diagnosed: Step | None) -> list[EvidenceRow]:
    items = diagnosed.details.get("evidence") if diagnosed else None
    rows = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            rows.append(EvidenceRow(source=str(item.get("source", "")), query=str(item.get("query", "")),
                                    observed=str(item.get("observed", "")), threshold=str(item.get("threshold", "")),
                                    passed=item.get("passed") if isinstance(item.get("passed"), bool) else None))
    return rows


def _actions(steps: Iterable[Step]) -> list[ActionRow]:
    action, out = "", []
    for s in steps:
        if s.step == "planned":
            action = str(s.details.get("action") or "")
        elif s.step in ACTION_STEPS and (action or s.details.get("action")):
            out.append(ActionRow(at=s.at, name=str(s.details.get("action") or action), status=s.step,
                                 summary=s.message))
    return out


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
