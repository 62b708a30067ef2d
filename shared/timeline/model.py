"""The incident timeline as typed data: what the builder produces and every renderer reads."""
from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.redaction import redacted
from shared.remediation.idle import is_idle
from shared.remediation.refusals import Held


def _as_utc(at: datetime) -> datetime:
    """Every time in UTC: the renderers print hours and minutes labelled UTC, and entries from
    sources in other zones (an offset in a notification, a naive time) are ordered as instants.
    A naive time is taken as UTC (Cloud Logging's and Monitoring's are)."""
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


Utc = Annotated[datetime, AfterValidator(_as_utc)]

# Words a timeline prints, with every credential in them redacted (shared/redaction.py) as the timeline is made:
# they quote what Cloud Logging holds (Runwarden's step lines, audit entries, notifications) for up to 30 days, and
# a line may carry one that nothing redacted when it was written (a line of an earlier version, whose reason or
# quoted log text redaction did not yet read as one; another writer's line under Runwarden's labels). Every
# renderer (text, JSON, Markdown, the page, the HTTP function) reads this model, so none can print one.
Said = Annotated[str, AfterValidator(redacted)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(str, Enum):
    RUNWARDEN = "runwarden"   # Runwarden's own step lines
    AUDIT = "audit"           # Cloud Audit Logs (Admin Activity)
    ALERT = "alert"           # the Monitoring notifications Runwarden received
    PLATFORM = "platform"     # what the service itself showed: its errors starting and stopping


class ActorKind(str, Enum):
    RUNWARDEN = "runwarden"
    PERSON = "person"         # a principal other than Runwarden: a person, or their own automation
    MONITORING = "monitoring"
    PLATFORM = "platform"


class Actor(_Model):
    kind: ActorKind
    name: Said                # "Runwarden (on_alert)", "alice@example.com", "Cloud Monitoring", "Cloud Run"

    def __str__(self) -> str:
        return self.name


class TimelineEntry(_Model):
    """One row of the timeline. Repeats of the same event collapse into one, with a count."""

    at: Utc
    source: Source
    actor: Actor
    kind: str                 # e.g. alert_opened, diagnosed, applied, deploy, traffic_change, errors_started
    summary: Said             # one line
    link: str = ""            # the entry (or the query) in the Cloud Console's Logs Explorer
    count: int = 1            # how many times it was written (redeliveries, LRO start and end)
    last_at: Utc | None = None   # the last repeat, when count > 1
    severity: str = "INFO"
    target: str = ""          # the resource the event concerns, when it names one
    marker: str = ""          # chart marker: alert_open | alert_close | action | human | recovery | ""
    # A write of Runwarden's and the sweep's verdict on it, matched by the action record's key (its claim
    # key, shared/remediation/records.claim_key): on an `applied` row, the record that write made (from the
    # `planned` line before it); on a `verified`, `undone` or `escalated` row, the record it judged, when
    # the line leaves that record judged (`record_state`, shared/remediation/verification.step_on_record).
    # "" when not known, or not a verdict (an alert escalated for another reason, an escalation that keeps
    # the record pending).
    action_key: str = ""
    verdict_on: str = ""
    # On a decision row of Runwarden's, what held its write back, as its line names it (`held`, the outcome's:
    # shared/outcomes.held_detail): a kill switch told from a cooldown from a budget without reading the summary.
    # None for any other row, for a line naming a hold this version does not know, and for a line of an earlier
    # version, which names none.
    held: Held | None = None


class ErrorMinute(_Model):
    minute: Utc          # the start of the minute (UTC)
    errors: int
    # Every request that minute, whatever its answer (Monitoring's run.googleapis.com/request_count):
    # 0 for a minute with none (idle: neither failing nor clean, shared/remediation/idle.py), None where
    # they were not read or not readable yet (a minute with no failed request is then taken as clean).
    requests: int | None = None

    @property
    def idle(self) -> bool:
        return is_idle(self.errors, self.requests)


class ErrorSeries(_Model):
    source: str = ""          # the query the counts came from
    metric: str = "5xx responses per minute"
    minutes: list[ErrorMinute] = Field(default_factory=list)

    @property
    def peak(self) -> int:
        return max((m.errors for m in self.minutes), default=0)


class Milestone(_Model):
    at: Utc
    what: Said                # how it was determined, in words
    by: Said = ""             # who, when someone acted
    link: str = ""            # its evidence: the Logs Explorer link of the row (or the request-log query) read


class Milestones(_Model):
    onset: Milestone | None = None
    detection: Milestone | None = None
    decision: Milestone | None = None
    mitigation: Milestone | None = None
    recovery: Milestone | None = None


class Durations(_Model):
    """Seconds from onset (the SRE book's measures; None when either end is unknown)."""

    ttd_seconds: float | None = None   # time to detect: onset -> alert opened
    ttm_seconds: float | None = None   # time to mitigate: onset -> the first fix applied
    ttr_seconds: float | None = None   # time to recover: onset -> recovery


class ReadReport(_Model):
    """One ListLogEntries query and how much of it was read."""

    # The builder words `why` as its reads end, by model_copy, which validates nothing: validated again as the
    # timeline takes it, so `why` is redacted as every printed word is (`Said`).
    model_config = ConfigDict(extra="forbid", revalidate_instances="always")

    name: str                 # runwarden | audit | request_errors | request_count
    filter: str
    pages: int = 0
    entries: int = 0
    cut_short: bool = False
    why: Said = ""            # why it was cut short, in words


class EvidenceRow(_Model):
    source: str
    query: str
    observed: Said
    threshold: str = ""
    passed: bool | None = None


class ActionRow(_Model):
    at: Utc
    name: str
    status: str               # applied, dry_run, proposed, verified, undone, escalated, failed ...
    summary: Said
    by: Said = "Runwarden"


class FollowUp(_Model):
    """Something still open: in words (`text`, shown as written by every renderer, whatever it quotes
    from the logs) and the commands that settle it (Runwarden's own, each shown as code to copy:
    Markdown's code spans, HTML's <code>). Plain words are a follow-up with no command."""

    text: Said
    commands: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_words(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value


class IncidentTimeline(_Model):
    incident_id: str
    project: str
    service: str = ""                 # projects/P/locations/L/services/S, when known
    built_at: Utc
    window_start: Utc
    window_end: Utc
    entries: list[TimelineEntry] = Field(default_factory=list)
    errors: ErrorSeries = Field(default_factory=ErrorSeries)
    milestones: Milestones = Field(default_factory=Milestones)
    durations: Durations = Field(default_factory=Durations)
    signature: str = ""               # the diagnosis
    diagnosis: Said = ""              # its one-line summary
    evidence: list[EvidenceRow] = Field(default_factory=list)
    actions: list[ActionRow] = Field(default_factory=list)
    people: list[Said] = Field(default_factory=list)       # principals other than Runwarden who acted
    people_acted_first: bool = False  # someone changed the target or what it depends on before Runwarden did
    follow_ups: list[FollowUp] = Field(default_factory=list)
    reads: list[ReadReport] = Field(default_factory=list)
    notes: list[Said] = Field(default_factory=list)
    rows_not_shown: Said = ""          # when the rows were too many to show: which were left out, in words
    # The alert's last opening, when no close of it follows among the entries read: the incident was still
    # open when the timeline was built, so its recovery and TTR are not final (derive.open_since).
    open_since: Utc | None = None

    @property
    def cut_short(self) -> bool:
        return any(r.cut_short for r in self.reads) or bool(self.rows_not_shown)

    @property
    def incomplete(self) -> str:
        """Why the timeline is incomplete, in words ("" when it is not)."""
        return "; ".join([f"{r.name} {r.why}" for r in self.reads if r.cut_short]
                         + ([self.rows_not_shown] if self.rows_not_shown else []))

    @property
    def service_short(self) -> str:
        return self.service.rsplit("/", 1)[-1] if self.service else ""

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["cut_short"] = self.cut_short
        return data
