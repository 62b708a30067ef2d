"""The outcome message: what Runwarden concluded and did about one event.

Published as JSON on the outcomes topic, schema `runwarden.outcome/v1`, with attributes for
subscription filters and the incident id as ordering key.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.alerts.relayed import Relayed, shown_attributes
from shared.diagnosis.evidence import EvidenceItem
# Credentials are redacted by one function with one list of shapes (shared/redaction.py), named here too.
from shared.redaction import CREDENTIAL, REDACTED, SHAPES, redacted  # noqa: F401
from shared.remediation.refusals import Held
from shared.timeline.writer import Timeline, sorted_json

SCHEMA = "runwarden.outcome/v1"
# `json.dumps(..., sort_keys=True)`, built once (shared/timeline/writer.py `sorted_json`).
_JSON = sorted_json()


# The namespace of the outcome ids derived from a message (`message_outcome_id`).
_MESSAGE_ANSWERS = uuid.uuid5(uuid.NAMESPACE_URL, "https://runwarden/outcome/v1/message-answer")


def message_outcome_id(key: str, answer: str, part: str | None = None) -> str:
    """The outcome_id of an answer that the message alone decides (a rejection of what it carries, a give-up on
    it), derived from the message's `key` (shared.alerts.delivery `message_key`: its Pub/Sub message id and a
    digest of what it carries, the same on every delivery), the kind of `answer`, and `part` (the command_id it
    is answered under, when a body gives several). Such an answer is published again whenever the message is
    delivered again: a publish whose answer was lost (DEADLINE_EXCEEDED after Pub/Sub took it) raises, so that
    Pub/Sub delivers the message again, and "the service may redeliver the message, even after a successful ack"
    (google-cloud-cpp pubsub, PullResponse). Under one id each time, a reader drops the repeat, as it drops a
    kept answer published again (shared/commands/answers.py); under a fresh uuid4 each time it read as a second
    rejection. A name-based UUID ("generate a UUID based on the SHA-1 hash of a namespace identifier ... and a
    name", Python docs, uuid.uuid5), as hex: the shape of the uuid4 hex of every other outcome."""
    name = json.dumps([key, answer, part or ""])   # the parts kept apart: "a/b" + "c" is not "a" + "b/c"
    return uuid.uuid5(_MESSAGE_ANSWERS, name).hex


class OutcomeStatus(str, Enum):
    APPLIED = "applied"        # the write happened and was verified
    DRY_RUN = "dry_run"        # everything but the write
    SKIPPED = "skipped"        # deliberately nothing: duplicate, cooldown, kill switch, not managed, test
    REJECTED = "rejected"      # the input was malformed; acknowledged so it is not redelivered forever
    FAILED = "failed"          # the write was refused or did not take; the API's error is in `reason`
    ESCALATED = "escalated"    # a person must decide; the evidence says why
    RESOLVED = "resolved"      # the incident closed
    PROPOSED = "proposed"      # a one-way action the policy does not allow alone: the exact change, for a person
    VERIFIED = "verified"      # a sweep found the service healthy after the action settled
    UNDONE = "undone"          # not healthy by the deadline: the before-state was restored, and a person called
    REPORTED = "reported"      # a read-only command's answer (diagnose, status): nothing written
    REMINDER = "reminder"      # a sweep found traffic pinned too long while a newer Ready revision exists, or a
                               # pin asked for and not serving (shared/remediation/pins.py), or serving since,
                               # or released once its revision asked for no longer exists


# Outcomes a person must hear about: each is also written as a `notify` log line, which a
# log-based alert policy on labels.runwarden_step="notify" turns into a page (docs/commands.md).
NOTIFY_STATUSES = {"escalated": "WARNING", "proposed": "WARNING", "reminder": "WARNING",
                   "failed": "ERROR", "undone": "ERROR", "rejected": "WARNING"}   # rejected: an alert's only
NOTIFY_STEP = "notify"


class DiagnosisReport(BaseModel):
    signature: str
    confidence: float
    rule: str
    summary: str
    evidence: list[EvidenceItem] = []
    competing: list[str] = []       # signatures that matched together
    stand_down: str = ""            # a recent human change that stopped automation
    recommendation: str = ""        # what a person should do
    api_calls: int = 0              # what the evidence cost


class ActionReport(BaseModel):
    # Empty containers by factory, not by a default pydantic deep-copies for every report.
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    reversible: bool = True
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    # On a `proposed` outcome the state the change would produce; `after` stays empty, since
    # nothing was applied.
    proposed_change: dict[str, Any] | None = None
    action_id: str | None = None        # the action record's key (restore_traffic's params.action_id)
    proposal_id: str | None = None      # what `approve` and `reject` name
    proposal_expires_at: datetime | None = None
    overrides: list[str] = Field(default_factory=list)   # limits an operator's override_limits skipped


# Characters that are input but must not act when a person is shown them: one list for what a command
# refuses (shared/alerts/commands.py) and what every output shows as its escape
# (shared/timeline/words.py). Each is a regex character-class body.
#
# C1 controls and DEL. With the C0 controls (U+0000-U+001F; each user says which of tab, line feed and
# carriage return it keeps) these are what a terminal acts on: ESC starts its escape sequences (colours,
# the window title, OSC 8 links, OSC 52 writes the clipboard).
C1 = "\x7f-\x9f"
# The bidirectional marks, embeddings, overrides and isolates, which reorder what is shown around them
# (Unicode Bidirectional Algorithm, UAX #9).
BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# What shows as nothing at all: zero-width spaces and joiners, the soft hyphen, word joiners, the
# byte-order mark, Hangul fillers, the line and paragraph separators, and the invisible "tag" characters
# U+E0000..E007F ("alice\u200b@example.com" reads as alice@example.com; tags can carry a hidden message).
INVISIBLE = ("\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200d\u2028\u2029\u2060-\u2065\u206a-\u206f"
             "\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f")


# Pub/Sub's limits on a message's attributes: "Attributes per message: 100", "Attribute key size: 256
# bytes", "Attribute value size: 1024 bytes" (Pub/Sub, "Quotas and limits", resource limits; the numbers
# UNCONFIRMED against the page's text, cloud.google.com/pubsub/quotas#resource_limits; the limits themselves
# are named by the API's own IngestionFailureEvent.ApiViolationReason: "the API message limits ... Other
# attribute limits"). A publish over them is refused (INVALID_ARGUMENT) by Pub/Sub; the emulator does not
# check them.
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_KEY_BYTES = 256
MAX_ATTRIBUTE_VALUE_BYTES = 1024
_CUT_MARK = "..."


def attribute_value(value: str) -> str:
    """`value` within MAX_ATTRIBUTE_VALUE_BYTES of UTF-8, cut at a character and marked "..." when
    longer. The whole value stays in the outcome's body; a filter on a cut value matches nothing."""
    data = value.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_ATTRIBUTE_VALUE_BYTES:
        return value
    kept = data[:MAX_ATTRIBUTE_VALUE_BYTES - len(_CUT_MARK)].decode("utf-8", "ignore")
    return kept + _CUT_MARK


class Received(BaseModel):
    """A rejected message as it arrived, so that rejecting it loses nothing: its content reaches a
    person on the outcome (whole) and in the timeline (an excerpt). Built by
    shared/alerts/received.py."""

    message_id: str | None = None
    publish_time: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    # `text`: the message's data, decoded from base64 and read as UTF-8; `base64`: the data as it
    # arrived, when it is not valid base64 or not UTF-8 text; `event`: no readable message, so the
    # event's data as JSON (a push envelope without `message`, a `message` that is not an object).
    data_form: Literal["text", "base64", "event", "none"] = "none"
    data: str = ""
    data_bytes: int = 0     # the size of the data, in bytes as received (before any credential is redacted)
    # Past the outcome's bound (shared/alerts/received.py MAX_KEPT_BYTES) the data is cut, said here and in the
    # rejection's reason. It is cut as received, where no credential is split, and only what is kept is redacted:
    # `data_cut_bytes` the bytes as received not kept (the tail, never redacted), `data_kept_bytes` the
    # UTF-8 bytes `data` keeps of the rest, with credentials redacted (a redaction changes lengths). Both 0 when
    # `data` is whole.
    data_kept_bytes: int = 0
    data_cut_bytes: int = 0

    def excerpt(self, limit: int = 4096) -> dict[str, Any]:
        """The same, with `data` cut to `limit` characters (a log entry is at most 256 KB: Cloud
        Logging quotas): said so in `data_cut`, with what the outcome holds (the whole, or its cut)."""
        shown = self.model_dump(mode="json")
        if len(self.data) > limit:
            shown["data"] = self.data[:limit]
            held = (f"the outcome holds it cut, the last {self.data_cut_bytes} of its {self.data_bytes} bytes as "
                    "received not kept"
                    if self.data_cut_bytes
                    else "the whole is on the outcome")
            shown["data_cut"] = f"first {limit} of {len(self.data)} characters; {held}"
        # Pub/Sub's 100 attributes of 1 KiB each, escaped, may pass a log entry's 256 KB: cut as a relay's are.
        attributes = shown_attributes(self.attributes)
        if attributes != self.attributes:
            shown["attributes"] = attributes
            shown["attributes_cut"] = "cut as a relay's are shown; the whole is on the outcome"
        return shown


class Timestamps(BaseModel):
    received_at: datetime
    decided_at: datetime | None = None
    completed_at: datetime | None = None


class Outcome(BaseModel):
    model_config = ConfigDict(use_enum_values=False)

    schema_: Literal["runwarden.outcome/v1"] = Field(default=SCHEMA, alias="schema")
    outcome_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    incident_id: str | None = None
    trigger: Literal["alert", "command"] = "alert"
    target: str | None = None
    diagnosis: DiagnosisReport | None = None
    action: ActionReport | None = None
    status: OutcomeStatus
    reason: str = ""
    notes: list[str] = []
    message_id: str | None = None       # the Pub/Sub message that triggered it
    command_id: str | None = None       # the operator's command, when one triggered it
    requested_by: str | None = None     # as the command stated it (recorded, not authenticated)
    # A resend's answer (a `duplicate: …` of a command_id already answered, shared/commands): the status of the
    # first answer it repeats, `applied` when that answer is lost and the write it made is recorded. None on
    # every other outcome, a command_id reused for another command's included. What the CLI exits by.
    first_status: OutcomeStatus | None = None
    snapshot: dict[str, Any] | None = None   # the `status` command's answer
    received: Received | None = None    # a rejected message's content, as it arrived
    # The wrappings a relay put around the alert's notification, outermost first (shared/alerts/relayed.py): the
    # path it took (the relay's subscription, message id, attributes); [] when Monitoring's own message came.
    relayed: list[Relayed] = Field(default_factory=list)
    # What held the write back, or why this attempt wrote nothing of its own, as the gate decided it (GateResult.held,
    # refusals.Held: `kill_switch`, `paused`, `cooldown`, `budget`, `approval`, ...), so that a subscriber tells a
    # kill switch from a cooldown from a budget without reading `reason`, whose words are said to people and may be
    # reworded. None on every other outcome (a write sent, a failure of the API, a diagnosis that planned nothing)
    # and on one published before the field was (it is optional: the schema is unchanged).
    held: Held | None = None
    timestamps: Timestamps

    @field_validator("held", mode="before")
    @classmethod
    def _known_hold(cls, value: Any) -> Any:
        """A hold this version does not know (an outcome kept by a later version: a kept report published again,
        shared/remediation/kept_reports.py) read as none, never as a refusal to read the whole outcome: its
        `reason` still says it to a person."""
        if value is None or isinstance(value, Held):
            return value
        try:
            return Held(value)
        except ValueError:
            return None

    @model_validator(mode="after")
    def _proposed_is_not_after(self) -> "Outcome":
        if self.status is OutcomeStatus.PROPOSED and self.action and self.action.after is not None:
            self.action = self.action.model_copy(
                update={"proposed_change": self.action.proposed_change or self.action.after, "after": None})
        return self

    def to_json(self) -> bytes:
        return _JSON(self.model_dump(mode="json", by_alias=True)).encode()

    def attributes(self) -> dict[str, str]:
        """Pub/Sub attributes, for subscription filters, each value within Pub/Sub's limit
        (`attribute_value`): the target comes from the alert's resource labels, which a log entry's
        writer may set to anything, and one attribute over the limit refuses the whole outcome."""
        attrs = {"status": self.status.value, "schema": SCHEMA}
        if self.diagnosis:
            attrs["signature"] = self.diagnosis.signature
        if self.action:
            attrs["action"] = self.action.name
        if self.target:
            attrs["service"] = self.target.rsplit("/", 1)[-1]
        if self.command_id:
            attrs["command_id"] = self.command_id
        if self.held is not None:
            attrs["held"] = self.held.value
        return {key: attribute_value(value) for key, value in attrs.items()}

    @property
    def ordering_key(self) -> str:
        return self.incident_id or ""


def applied_record(outcome: Outcome) -> dict[str, str]:
    """What an `applied` decision line names of the write (its action, and `key`: the action record it made,
    the gate's claim key), for the incident timeline to match the sweep's verdict on that record to it
    (shared/timeline/classify.written_on). The alert path writes a `planned` line before its attempt, but
    an approved proposal's write has none (shared/commands/approval.py), so the line itself says it. {} for
    any other decision: only a write the gate applied made a record the sweep judges."""
    action = outcome.action
    if outcome.status is not OutcomeStatus.APPLIED or action is None or not action.action_id:
        return {}
    return {"action": action.name, "key": action.action_id}


def held_detail(outcome: Outcome) -> dict[str, str]:
    """The hold an outcome names, for its timeline lines (the decision and the `notify` line): {"held": KIND}, {}
    when it names none (a line that names no hold stays as it was)."""
    return {"held": outcome.held.value} if outcome.held is not None else {}


def notify_severity(outcome: Outcome) -> str | None:
    """The notify line's severity, or None when no person need hear of the outcome. A rejected
    alert is heard too: the alert could not be handled at all (a malformed notification, a policy
    that must be fixed) while its policy keeps firing. A rejected command is not: its sender
    reads the answer."""
    if outcome.status is OutcomeStatus.REJECTED and outcome.trigger != "alert":
        return None
    return NOTIFY_STATUSES.get(outcome.status.value)


def notify(outcome: Outcome, timeline: Timeline | None = None) -> bool:
    """Writes the `notify` log line for an outcome a person must hear about; False for the rest.

    One line, severity WARNING (ERROR for failed and undone), labels runwarden_step="notify" and
    runwarden_status, and the incident's label when there is one, so that one log-based alert
    policy (filter `labels.runwarden_step="notify"`) pages a human channel.
    """
    severity = notify_severity(outcome)
    if severity is None:
        return False
    timeline = timeline or Timeline(outcome.incident_id, outcome.trigger)
    target = outcome.target or "runwarden"
    timeline.step(NOTIFY_STEP, f"{target}: {outcome.status.value}: {outcome.reason}", severity=severity,
                  extra_labels={"runwarden_status": outcome.status.value}, status=outcome.status.value,
                  target=outcome.target, reason=outcome.reason, outcome_id=outcome.outcome_id,
                  command_id=outcome.command_id,
                  proposal_id=outcome.action.proposal_id if outcome.action else None,
                  **held_detail(outcome),
                  **({"received": outcome.received.excerpt()} if outcome.received is not None else {}))
    return True
