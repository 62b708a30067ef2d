"""Commands on the commands topic: `runwarden.command/v1`.

A command is a JSON object in the Pub/Sub message's data. `command` names it; each command has
its own model, so an unknown command, an unknown field or a wrong type is rejected with an error
that names the field. The JSON Schema in docs/schemas/runwarden.command.v1.json is generated from
these models (`command_json_schema`) and a test fails when the two drift.

`requested_by` is a statement that is recorded, not a credential: who may publish at all is
decided by IAM on the commands topic (docs/commands.md).

Only `sweep` (published by Cloud Scheduler with a fixed body) may omit `command_id` and
`requested_by`: every sweep transition is a guarded update, so a repeated sweep does nothing twice.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Mapping, Union

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError,
                      model_validator)

from shared.alerts.hand_typed import as_meant, json_mistake, wrapped_said, wrapping_quote
from shared.alerts.long_numbers import NumberTooLong, whole_number
from shared.alerts.incidents import (IncidentParseError, PubSubMessage, _json_kind, _lone_surrogate,
                                     decode_message_published)
from shared.gcp.identifiers import IncidentIdCharacter, folded_incident_id, stripped_incident_id, written_name_problem
from shared.alerts.operators import CLI_SENDER
from shared.echo import quoted
from shared.outcomes import BIDI, C1, INVISIBLE
from shared.redaction import redacted

SCHEMA = "runwarden.command/v1"
MAX_COMMAND_BYTES = 64 * 1024
COMMAND_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
SERVICE_PATTERN = r"^projects/[^/]+/locations/[^/]+/services/[^/]+$"
CONNECTOR_PATTERN = r"^projects/[^/]+/locations/[^/]+/connectors/[^/]+$"
TARGET_PATTERN = r"^projects/[^/]+/locations/[^/]+/(services|connectors)/[^/]+$"
# A Cloud Run revision's short name: lowercase letters, digits and hyphens (Cloud Run's resource naming rules).
REVISION_PATTERN = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
# A revision as a command may type it: the same form in either case. Cloud Run's revisions are Knative Revisions,
# named as Kubernetes names its objects, DNS labels of lowercase letters, digits and '-' (RFC 1035 §2.3.1 labels,
# lowercase as Kubernetes takes them: "Object Names and IDs", kubernetes.io); the v2 API says only "The unique name
# for the revision" (RevisionTemplate.revision, google/cloud/run/v2/revision_template.proto), so that Cloud Run
# never writes one otherwise is UNCONFIRMED against a Google page. One typed in capitals passes the parse so that
# the command can name the revision it spells from the service's own list (shared/commands/traffic.py
# `_named_revision`): refused either way, never acted on.
REVISION_TYPED_PATTERN = r"^[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
PROPOSAL_ID_PATTERN = r"^p-[0-9a-f]{12}$"
# An escalated plan's key, INCIDENT|MESSAGE (shared/remediation/records.intent_key): at least 3 characters by itself.
INTENT_PATTERN = r"^[^|]+\|[^|]+$"
NON_BLANK = r"\S"


def readable_command_id(value: object) -> str | None:
    """`value` if it is an id a command may carry (the whole of it: `re.match` let "rb-1\n" through),
    else None: what a rejection of a message that failed validation may name, so that a sender
    waiting on that id hears it (`SentIds.answerable`)."""
    return value if isinstance(value, str) and re.fullmatch(COMMAND_ID_PATTERN, value) else None

# Characters a terminal or a page acts on instead of showing (C0 and C1 controls: ESC starts a terminal's
# escape sequences), the bidirectional marks, overrides and isolates, which reorder what is shown around them, and
# those that show as nothing at all (shared/outcomes.py: BIDI, C1, INVISIBLE; shared/timeline/words.py shows each as
# its escape). Who asks and why are recorded everywhere and shown to other operators (a pause's reason in every
# status), and an action id or a plan's key is looked up and quoted back: none may hold one. "alice\u200b@example.com"
# and a name pasted from a file saved with a byte order mark read as alice@example.com in every record, while the
# operators check and a reader of the audit trail compared another string. Beyond the lists, the class is read from
# the character's Unicode General Category (Unicode Standard, UAX #44 §5.7.1 "General Category Values", as Python's
# unicodedata.category gives it): Cc control, Cf format (byte order mark, zero-width spaces and joiners, word joiner,
# soft hyphen, bidi marks, tag characters), Zl and Zp separators, Cs surrogate, Co private use (shows as whatever a
# font puts there), Cn unassigned (in the Unicode version of this Python: a character newer than it is refused too,
# precision over recall); and the variation selectors (U+FE00-FE0F, U+E0100-E01EF: Mn, shown as nothing). Every other
# letter of any script is kept: José, 田中, Ελένη. A reason may span lines (tab, line feed, carriage return), and
# may keep U+FE0E/U+FE0F right after a symbol (the text or emoji presentation of the same symbol, "✔️": UTS #51 §4).
_UNSEEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_UNSEEN_LISTED = re.compile(f"[{C1}{BIDI}{INVISIBLE}\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_PRESENTATION = "\ufe0e\ufe0f"
_LINES = "\t\n\r"


# The zero-width non-joiner and joiner are part of how some scripts are spelled: Persian writes ZWNJ inside words
# ("می‌خواهم"), Indic scripts write ZWNJ or ZWJ after a virama to choose a conjunct's form (Unicode Standard §23.2
# "Layout Controls"; RFC 5892 Appendix A.1-A.2, CONTEXTJ, allows them there in domain names), and an emoji sequence
# joins its symbols with ZWJ (UTS #51 §2.3). In a reason, free text no one compares, they are kept there: between
# two letters or marks, and ZWJ between two symbols. A name someone is known by (`requested_by`) keeps none: one
# that differs from the operators list by a joiner reads as the same name (above).
_JOINERS = "‌‍"


def _joins_its_neighbours(value: str, index: int) -> bool:
    before, after = value[index - 1:index], value[index + 1:index + 2]
    if not before or not after:
        return False
    kinds = unicodedata.category(before)[0] + unicodedata.category(after)[0]
    if kinds in ("LL", "LM", "ML", "MM"):
        return True
    return value[index] == "‍" and (unicodedata.category(before) in ("So", "Sk") or before in _PRESENTATION) \
        and unicodedata.category(after) == "So"


def _unseen(value: str, keep: str) -> list[int]:
    """Where `value` holds a character a person is not shown as itself (above). `keep` lists the controls the
    field may hold (a reason's line breaks); a field that keeps any is free text, whose joiners are kept where a
    script or an emoji sequence puts them (`_JOINERS`)."""
    return [index for index, char in enumerate(value) if char not in keep
            and not (keep and char in _PRESENTATION and index and unicodedata.category(value[index - 1]) == "So")
            and not (keep and char in _JOINERS and _joins_its_neighbours(value, index))
            and (unicodedata.category(char) in _UNSEEN_CATEGORIES or _UNSEEN_LISTED.match(char))]


def unseen_character(value: str, keep: str = "") -> tuple[int, str] | None:
    """The first character of `value` a person is not shown as itself, with its index, or None."""
    found = _unseen(value, keep)
    return (found[0], value[found[0]]) if found else None


# Python's unicodedata names no control character; these are the names Unicode gives them as aliases
# (NameAliases.txt), and U+FEFF as what it is when it comes first in a file.
_NAMED = {"\x00": "NULL", "\x07": "BELL", "\x08": "BACKSPACE", "\t": "CHARACTER TABULATION", "\n": "LINE FEED",
          "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE", "\x7f": "DELETE", "\x9b": "CONTROL SEQUENCE INTRODUCER",
          "\ufeff": "ZERO WIDTH NO-BREAK SPACE, a byte order mark"}


def character_said(char: str) -> str:
    """A character a person is not shown, named as U+XXXX with its Unicode name ("U+200B ZERO WIDTH SPACE"), and
    what kind it is: a repr ('\u200b') said which code point but not what it does."""
    name = _NAMED.get(char) or unicodedata.name(char, "") or {
        "Cc": "a control character", "Cs": "a lone surrogate", "Co": "private use", "Cn": "unassigned in Unicode "
        + unicodedata.unidata_version}.get(unicodedata.category(char), "unnamed")
    if re.match(f"[\x00-\x1f{C1}]", char):
        kind = "the control character"
    elif re.match(f"[{BIDI}]", char):
        kind = "the bidi control"
    else:
        kind = "the invisible character"
    return f"{kind} U+{ord(char):04X} ({name})"


def _no_control(what: str, keep: str = "") -> AfterValidator:
    def check(value: str) -> str:
        found = _unseen(value, keep)
        if found:
            cleaned = "".join(c for i, c in enumerate(value) if i not in found)
            # Offered only when every one found is a character shown as nothing: a control's removal would keep the
            # text of its sequence ("[2J" after an ESC), which is no plain text either.
            offered = cleaned.strip() and not any(re.match(f"[\x00-\x1f{C1}]", value[i]) for i in found)
            raise ValueError(f"holds {character_said(value[found[0]])} at character {found[0] + 1}"
                             + (f" ({len(found)} such characters in all)" if len(found) > 1 else "")
                             + ", which a terminal or a page does not show as itself, so the record would read as "
                             f"other text than it holds: {what}"
                             + (f"; without it: {quoted(cleaned, 120)}" if offered else "") + "; nothing was run")
        return value
    return AfterValidator(check)


_PLAIN_PRINCIPAL = _no_control("send the principal as plain text, such as alice@example.com")


# A principal that shows as another: every character seen, and still not the text it reads as. Three ways, each
# its own Unicode rule: a letter and its accent sent apart ("Jose" + U+0301, as a file from macOS holds it) is not the
# composed "José" the operators list and the records compare (UAX #15, Normalization Form C); a fullwidth or other
# compatibility letter ("ａlice", U+FF41) reads as "alice" (NFKC); and a word mixing look-alike alphabets ("аlice",
# a Cyrillic а among Latin letters) reads as a word of one (UTS #39 §5.1, mixed-script detection). The script is read
# from the letter's Unicode name (unicodedata.name: "CYRILLIC SMALL LETTER A"), for the alphabets whose letters
# look like Latin ones; a word in any one script (José, 田中, Ελένη) is kept.
_LOOK_ALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC")


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    return next((s for s in _LOOK_ALIKE_SCRIPTS if name.startswith(s + " ")), None) if char.isalpha() else None


def _shown_as_another(value: str) -> str | None:
    """Why `value`, a principal, reads as another text than it is (above), or None."""
    composed = unicodedata.normalize("NFC", value)
    if composed != value:
        at = next(i for i, (a, b) in enumerate(zip(value, composed + "\0")) if a != b)
        return (f"is not written in Unicode's composed form (NFC): from character {at + 1} it shows as "
                f"{quoted(composed, 120)} and is another text, which the operators check and the records would not "
                f"match: write {quoted(composed, 120)}")
    for index, char in enumerate(value):
        if unicodedata.normalize("NFKC", char) != char and not char.isspace():
            return (f"holds {character_visible(char)} at character {index + 1}, which reads as "
                    f"{quoted(unicodedata.normalize('NFKC', char))} and is another character: write "
                    f"{quoted(unicodedata.normalize('NFKC', value), 120)}")
    for word in re.finditer(r"[^\W\d_]+", value):
        scripts = [_script(c) for c in word.group()]
        counted = [s for s in scripts if s]
        most = max(counted, key=counted.count, default=None)   # the odd letter out is named, not its neighbours
        other = next((i for i, s in enumerate(scripts) if s and s != most), None)
        if most is not None and other is not None:
            char = word.group()[other]
            return (f"holds {character_visible(char)} at character {word.start() + other + 1} among {most.title()} "
                    f"letters: a word mixing alphabets reads as another of one alphabet; write the principal in "
                    "one alphabet, as IAM knows it")
    return None


def character_visible(char: str) -> str:
    """A character as U+XXXX, its Unicode name and itself."""
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')}, {char!r})"


def _one_reading(value: str) -> str:
    problem = _shown_as_another(value)
    if problem:
        raise ValueError(problem + "; nothing was run")
    return value


_ONE_READING = AfterValidator(_one_reading)


def _nothing_around(value: str) -> str:
    """A principal as sent, refused when whitespace stands around it (" alice@example.com "), as every other field a
    command names something by is (a command_id, a target, a revision, a proposal id: docs/commands.md): a JSON
    string's spaces are data (RFC 8259 §7), and kept, the records and the audit trail held another string than the
    operators check compared. Not stripped silently either: the sender hears what to write."""
    stripped = value.strip()
    if stripped != value and stripped:
        raise ValueError(f"{quoted(value, 160)} has {_around_said(value)} around it: write {quoted(stripped, 160)}; "
                         "nothing was run")
    return value


_NOTHING_AROUND = AfterValidator(_nothing_around)
_PLAIN_REASON = _no_control("send the reason as plain text (it may span lines)", keep=_LINES)
_PLAIN_KEY = _no_control("send it as the outcome shows it")

# The incident label a manual command's writes carry in the timeline and the claims (`command:<command_id>`:
# shared/remediation/guardrails.command_incident): `runwarden timeline command:rb-1` shows it, and so does every line
# of it. Copied back as the command_id of a resend meant to hear rb-1's answer again, it is a new id, and the command
# ran a second time.
COMMAND_LABEL = "command:"


def _not_a_label(value: str) -> str:
    if value.lower().startswith(COMMAND_LABEL) and len(value) > len(COMMAND_LABEL):   # "Command:rb-1" retyped too
        meant = value[len(COMMAND_LABEL):]
        raise ValueError(f"{quoted(value, 140)} is the label the timeline gives command {quoted(meant, 130)}'s writes "
                         f"(its incident), not a command_id: to hear that command's answer again, send it with command_id "
                         f"{quoted(meant, 130)} (a resend never runs twice); for a new command, give an id of its own; "
                         "nothing was run")
    return value


CommandId = Annotated[str, Field(pattern=COMMAND_ID_PATTERN, description="The idempotency key: the same id "
                                 "again is answered `skipped` with the first result. Not `command:…`, the label a "
                                 "command's writes carry."), AfterValidator(_not_a_label)]
# A reason is free text recorded everywhere a command goes (the timeline, its outcome, a pause's record shown to other
# operators), and so is who asks: a credential pasted into either (`rotating ENCRYPTION_KEY=...`, a DSN copied from a
# runbook) is redacted as it is read, by the one function every text Runwarden writes goes through
# (shared/redaction.py).
_REDACTED = AfterValidator(redacted)
Principal = Annotated[str, Field(min_length=1, max_length=254, pattern=NON_BLANK,
                                 description="Who asks: recorded, not a credential (IAM on the topic decides who "
                                             "may publish)."), _PLAIN_PRINCIPAL, _NOTHING_AROUND, _ONE_READING,
                      _REDACTED]
Reason = Annotated[str, Field(min_length=1, max_length=1000, pattern=NON_BLANK,
                              description="Why: required for every command that writes."), _PLAIN_REASON, _REDACTED]
OptionalReason = Annotated[str, Field(default="", max_length=1000), _PLAIN_REASON, _REDACTED]


def _as_google_writes_it(value: str) -> str:
    # The pattern checks the form alone: `[^/]+` let through "backend " and "backend\n" (a name copied
    # with what followed it), "Backend-Conn" and a zone for a region. A service so named was answered
    # "not in the inventory (the inventory has <the same name, as it looks>)", and a pause of a connector
    # so named was taken on its word when VPC Access answered anything but NOT_FOUND for it (the answer
    # to a malformed name is not documented: UNCONFIRMED), `applied` while nothing was held back.
    problem = written_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


_WRITTEN = AfterValidator(_as_google_writes_it)
# The longest full name a target can have, with room: a domain-scoped project id (a domain, ":", and 6 to 30
# characters: Resource Manager, "Creating and managing projects"), a region, and an id "fewer than 50 characters"
# (CreateServiceRequest.service_id, google-cloud-run; a connector's is shorter). Longer, the name is refused by its
# length before anything else reads it, and no answer repeats it whole (shared/echo.py).
NAME_MAX = 512
ServiceName = Annotated[str, Field(pattern=SERVICE_PATTERN, max_length=NAME_MAX), _WRITTEN]
ConnectorName = Annotated[str, Field(pattern=CONNECTOR_PATTERN, max_length=NAME_MAX), _WRITTEN]
TargetName = Annotated[str, Field(pattern=TARGET_PATTERN, max_length=NAME_MAX), _WRITTEN]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- params, one model per command that takes any ------------------------------------------------


class NoParams(_Model):
    pass


# An optional field sent as null is refused, never read as left out (`_null_sent`): null is what a script sends for an
# empty variable ("revision": $REV), which meant a value. Read as left out, a rollback meant for one revision went to
# the one diagnosis chose, a scale meant to change the machine type changed max_instances alone, and an expires_at
# meant as a deadline set none. So these fields are typed without None and default to None, as a target left out
# is (`_EVERY_TARGET`): the default is not validated (pydantic's validate_default is off), a null sent is.


class RollbackParams(_Model):
    revision: str = Field(default=None, pattern=REVISION_TYPED_PATTERN,  # type: ignore[assignment]  # left out: None
                                 description="The revision to send 100% of traffic to (short name). It must exist, "
                                             "be Ready and belong to the target. Without it: the last known-good "
                                             "revision diagnosis finds.")


class RestoreParams(_Model):
    action_id: Annotated[str, _PLAIN_KEY] = Field(  # type: ignore[assignment]  # left out: None
        default=None, min_length=1, max_length=1500,
        description="The action whose recorded before-split to put back (the `action_id` an outcome shows).")
    to_latest: bool = Field(default=False, description="Send 100% to the latest Ready revision: releases the pin.")

    @model_validator(mode="after")
    def _exactly_one(self) -> "RestoreParams":
        if bool(self.action_id) == bool(self.to_latest):
            raise ValueError("give exactly one of action_id or to_latest: true")
        return self


class ScaleParams(_Model):
    max_instances: int = Field(default=None, ge=3, le=10,  # type: ignore[assignment]  # left out: None
                               description="The new max_instances (the API allows 3-10, never lower than now).")
    machine_type: Literal["f1-micro", "e2-micro", "e2-standard-4"] = None  # type: ignore[assignment]  # left out: None

    @model_validator(mode="after")
    def _something(self) -> "ScaleParams":
        if self.max_instances is None and self.machine_type is None:
            raise ValueError("give max_instances and/or machine_type")
        return self


class ProposalParams(_Model):
    proposal_id: str = Field(pattern=PROPOSAL_ID_PATTERN, description="The id a `proposed` outcome shows.")


class ApproveParams(ProposalParams):
    accept_unread_peers: bool = Field(default=False, description=(
        "For a service alert's connector scale: approve it although a managed service behind the connector could "
        "not be read again (its read refused, never answered, or not started for the approve's time), the scale "
        "then made on the alerting service's evidence alone and the unread services named in the answer. Without "
        "it such an approve is escalated and the proposal left open. A service read and found serving cleanly "
        "still refuses the approve."))


class ReleaseParams(_Model):
    intent: Annotated[str, _PLAIN_KEY] = Field(max_length=1500, pattern=INTENT_PATTERN,
                        description="The escalated plan an `escalated` outcome names (`intent INCIDENT|MESSAGE`).")


# --- the commands ----------------------------------------------------------------------------------


class _Command(_Model):
    schema_: Literal["runwarden.command/v1"] = Field(default=SCHEMA, alias="schema")
    command_id: CommandId
    requested_by: Principal
    reason: OptionalReason = ""
    dry_run: bool = Field(default=False, description="Everything but the write.")
    expires_at: AwareDatetime = Field(  # type: ignore[assignment]  # left out: None
        default=None, description="Arriving after this, the command is rejected: a backlog of stale commands never "
                                  "runs. At most 30 days after it arrives (as long as its record is kept), or it is "
                                  "rejected. Null is refused.")

    writes: ClassVar[bool] = False

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class _Writing(_Command):
    reason: Reason
    writes: ClassVar[bool] = True


class Diagnose(_Command):
    """Read-only: diagnose a managed service now, and say what Runwarden would do."""

    command: Literal["diagnose"]
    target: ServiceName
    params: NoParams = NoParams()


class RollbackTraffic(_Writing):
    """Send 100% of a service's traffic to a named (or the last known-good) revision."""

    command: Literal["rollback_traffic"]
    target: ServiceName
    params: RollbackParams = RollbackParams()
    override_limits: bool = Field(default=False, description="Skip cooldown and budgets; only for `operators`.")


class RestoreTraffic(_Writing):
    """Put back the split recorded before an action, or release the pin (to_latest)."""

    command: Literal["restore_traffic"]
    target: ServiceName
    params: RestoreParams
    override_limits: bool = False


class ScaleConnector(_Writing):
    """Set a connector's max_instances and/or machine type, within the API's rules and its policy."""

    command: Literal["scale_connector"]
    target: ConnectorName
    params: ScaleParams
    override_limits: bool = False


# Every command whose target may be left out refuses one sent as null, by one rule: null is what a script sends for
# an empty variable ("target": $TARGET), which may have meant a target. An approve's or a reject's target is a check
# that the proposal is that target's (shared/commands/approval.py): read as left out, the check the sender asked
# for was silently skipped. A status only reads, but one rule keeps a script's fix one (leave target out), and a
# status costs nothing to send again. A pause's or a resume's null would widen to every write (below). The default
# is not validated (pydantic's validate_default is off), so only a null sent is refused ("Input should be a valid
# string", answered by `_not_a_string`), and the schema says the target is a string.
_CHECKED_TARGET: Any = Field(default=None, description="Left out: the proposal's own target, not checked. Null is "
                                                       "refused.")
_READ_TARGET: Any = Field(default=None, description="Left out: every target. Null is refused.")


class Approve(_Writing):
    """Apply a proposed action, after re-reading the live state. Only for `operators`."""

    command: Literal["approve"]
    target: TargetName = _CHECKED_TARGET  # type: ignore[assignment]  # left out: None, not checked
    params: ApproveParams
    override_limits: bool = False


class Reject(_Writing):
    """Close a proposed action without applying it. Only for `operators`."""

    command: Literal["reject"]
    target: TargetName = _CHECKED_TARGET  # type: ignore[assignment]  # left out: None, not checked
    params: ProposalParams


class Release(_Writing):
    """Release the hold an escalated plan keeps on its incident's automatic writes to the target, once a
    person has checked that its write did not land. Only for `operators`."""

    command: Literal["release"]
    target: TargetName
    params: ReleaseParams


# A pause's or a resume's target left out means every write. Sent as null, it is refused, not read as left out:
# null is what a script sends for an empty variable ("target": $TARGET), and a resume meant for one target would
# release the kill switch itself. The default is not validated (pydantic's validate_default is off), so only a
# null sent is refused ("Input should be a valid string"), and the schema says the target is a string.
_EVERY_TARGET: Any = Field(default=None, description="Left out: every write. Null is refused.")


class Pause(_Writing):
    """Stop every write (no target) or every write to one target."""

    command: Literal["pause"]
    target: TargetName = _EVERY_TARGET  # type: ignore[assignment]  # left out: None, every write
    params: NoParams = NoParams()


class Resume(_Writing):
    """Allow writes again, everywhere (no target) or to one target. Needs a reason."""

    command: Literal["resume"]
    target: TargetName = _EVERY_TARGET  # type: ignore[assignment]  # left out: None, every write
    params: NoParams = NoParams()


class Status(_Command):
    """Publish a snapshot of what Runwarden holds."""

    command: Literal["status"]
    target: TargetName = _READ_TARGET  # type: ignore[assignment]  # left out: None, every target
    params: NoParams = NoParams()


class Sweep(_Model):
    """Verify pending actions, publish pin reminders, close log-based incidents. Cloud Scheduler
    publishes `{"command": "sweep"}` every few minutes."""

    schema_: Literal["runwarden.command/v1"] = Field(default=SCHEMA, alias="schema")
    command: Literal["sweep"]
    command_id: CommandId | None = None
    requested_by: Annotated[str, Field(default="scheduler", max_length=254), _PLAIN_PRINCIPAL,
                            _NOTHING_AROUND, _ONE_READING] = "scheduler"
    reason: OptionalReason = ""
    expires_at: AwareDatetime | None = None
    params: NoParams = NoParams()

    writes: ClassVar[bool] = False
    dry_run: ClassVar[bool] = False
    target: ClassVar[None] = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


AnyCommand = Union[Diagnose, RollbackTraffic, RestoreTraffic, ScaleConnector, Approve, Reject, Release, Pause,
                   Resume, Status, Sweep]
Command = Annotated[AnyCommand, Field(discriminator="command")]
_COMMAND: TypeAdapter[Any] = TypeAdapter(Command)
COMMAND_NAMES = tuple(m.model_fields["command"].annotation.__args__[0] for m in AnyCommand.__args__)


class CommandError(IncidentParseError):
    """A command that cannot be understood. The field is named; a retry will not fix it."""


class MisroutedAlert(CommandError):
    """A Cloud Monitoring notification (`{"incident": {...}, "version": ...}`) on the commands topic: a
    notification channel pointed at the wrong topic. Not an operator's typo, and nobody waits on it:
    its rejection must reach a person as an alert's does (shared/commands: `notify`), or every alert
    of that channel is lost."""

    def __init__(self, incident: Mapping[str, Any]) -> None:
        self.incident_id, refused = _misrouted_incident_id(incident.get("incident_id"))
        policy = incident.get("policy_name")
        parts = ([f"incident {self.incident_id}"] if self.incident_id else []) + \
            ([f"policy {quoted(policy, 120)}"] if policy else [])
        named = f" ({', '.join(parts)})" if parts else ""
        super().__init__("message.data", (
            f"a Cloud Monitoring notification{named} arrived on the commands topic: it was not handled as an "
            "alert; point the notification channel at the alerts topic (docs/deploy.md)"
            + (f"; its incident_id {refused}" if refused else "")))


def _misrouted_incident_id(value: Any) -> tuple[str | None, str]:
    """A misrouted notification's incident id as the alerts path reads it (one rule,
    shared/gcp/identifiers.stripped_incident_id, then folded_incident_id), and why none is named when the alerts path refuses it:
    kept as it came, an id with a zero-width space inside labelled a timeline no alert of it could share."""
    if not isinstance(value, str):
        return None, ""
    if redacted(value) != value:   # as the alerts path refuses it (shared/alerts/incidents.py `_no_credential`)
        return None, "holds a credential"
    try:
        return folded_incident_id(stripped_incident_id(value)) or None, ""
    except IncidentIdCharacter as e:
        return None, str(e)


def command_json_schema() -> dict[str, Any]:
    """The JSON Schema of `runwarden.command/v1`, as checked in under docs/schemas/."""
    schema = _COMMAND.json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA,
            "title": "Runwarden operator command", **schema}


def command_digest(command: AnyCommand) -> str:
    """What a command asks to be done (its name, target, params, dry_run, override and requester:
    `operators` is checked against the requester), hashed: a
    resend of the same command_id whose digest differs is another command reusing the id, never a
    resend (shared/commands/__init__.py answers it so, and runs neither again)."""
    import hashlib

    asked = {"command": command.command, "target": command.target, "params": command.params.model_dump(mode="json"),
             "dry_run": command.dry_run, "override_limits": bool(getattr(command, "override_limits", False)),
             "requested_by": command.requested_by.strip().lower()}
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:16]


def parse_command(body: bytes | str) -> AnyCommand:
    """A command from the message body. Raises CommandError naming the field; nothing else."""
    if len(body) > MAX_COMMAND_BYTES:
        # A command is a few hundred bytes, and no field of one takes more than 1,500 characters: one this long is
        # a file or a log pasted whole, never read (not even its command_id: no sender of a command so made waits).
        raise CommandError("message.data", f"{len(body):,} bytes, more than a command's {MAX_COMMAND_BYTES:,} (64 KiB): "
                           "a command is a few hundred bytes and its reason at most 1,000 characters; was a file or a "
                           "log pasted into it? nothing was run")
    if isinstance(body, (bytes, bytearray)):
        # UTF-8, as JSON between systems must be (RFC 8259 §8.1), a byte order mark read past (which
        # RFC 8259 lets a parser ignore). Handed bytes, Python's json guesses UTF-16 and UTF-32 too: a
        # file saved as UTF-16 ran, and bytes that were neither were answered with a codec's internals.
        try:
            body = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError("message.data", f"not UTF-8 text (byte {exc.start}, {body[exc.start:exc.start + 1]!r}): "
                               "a command is JSON in UTF-8") from None
    try:
        data = json.loads(body, object_pairs_hook=_unique_keys, parse_int=whole_number)
    except NumberTooLong as exc:
        raise CommandError("message.data", f"not JSON: {exc.said(body)}, and no field of a command takes one anywhere "
                           "near that long (max_instances is 3 to 10); nothing was run") from None
    except _DuplicateKey as exc:
        raise CommandError("message.data", f"the key {exc.key!r} appears twice{_twice_said(body)}: which value is "
                           "meant is ambiguous, so neither is used") from None
    except RecursionError:
        raise CommandError("message.data", "not JSON: nested too deeply") from None
    except ValueError as exc:   # UnicodeDecodeError, JSONDecodeError, or a number past 4,300 digits
        mistake = json_mistake(body, exc) if isinstance(exc, json.JSONDecodeError) else ""
        raise CommandError("message.data", f"not JSON: {str(exc)[:200]}" + (f": {mistake}" if mistake else "")) \
            from None
    if isinstance(data, str) and (quote := wrapping_quote(body)):
        raise CommandError("message.data", wrapped_said(quote))
    if not isinstance(data, dict):
        raise CommandError("command", _not_an_object(data))
    if "command" not in data and isinstance(data.get("incident"), dict):
        raise MisroutedAlert(data["incident"])
    if "\\ud" in body.lower():   # a UTF-16 escape: most are whole pairs (an emoji, escaped)
        lone = _lone_surrogate(data)
        if lone is not None:
            # Valid JSON and no Unicode text (a character pair cut in two on the way): kept, it failed as
            # "Invalid JSON" naming no field of the sender's.
            raise CommandError(_field(tuple(lone.split("."))), "not Unicode text: a lone UTF-16 surrogate escape (a "
                               "character pair cut in two on the way)")
    try:
        # Strict, from JSON: "yes" is not a boolean and "3" is not a number; ISO 8601 strings
        # are how JSON carries datetimes.
        return _COMMAND.validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "command.command" if first["type"].startswith("union_tag") else _field(first["loc"])
        message = _unknown_name(first, data) or _message(first)
        if first["type"] == "missing":
            # {"proposal": "p-…"} for {"proposal_id": "p-…"}: the name given instead is the likelier mistake.
            given = [e["loc"][-1] for e in exc.errors() if e["type"] == "extra_forbidden"
                     and e["loc"][:-1] == first["loc"][:-1]]
            if given:
                message += f" (given instead: {', '.join(repr(str(g)[:60]) for g in given)})"
            message += _what_to_send(first["loc"])
        message += _params_to_send(first) + _inside_params(exc.errors(), data)
        if field == "command.reason" and first["type"] in ("missing", "string_too_short", "string_pattern_mismatch"):
            message += ": a command that writes needs a reason, recorded with everything it does"
        if field == "command.requested_by" and first["type"] in _NO_WORD:
            message = _no_sender(first["type"], message)
        raise CommandError(field, message) from None
    except RecursionError:  # deeply nested JSON
        raise CommandError("message.data", "nested too deeply") from None


def _not_an_object(data: Any) -> str:
    """What a body that is JSON but no object was, in JSON's words, and what to send: "got list", "got NoneType"
    and "got str" named Python's types, and a list of commands or a command's bare name read as though the
    body had been garbled."""
    kind = _json_kind(data)
    said = f"expected a JSON object, {{\"command\": …, \"command_id\": …, …}}, got {_a(kind)}"
    if isinstance(data, list):
        named = [d["command"] for d in data if isinstance(d, Mapping) and isinstance(d.get("command"), str)]
        if named:
            return (f"{said} of {len(data)} holding {len(named)} command(s) ({', '.join(map(quoted, named[:4]))}): one "
                    "command per message, each an object with its own command_id; nothing was run")
        return f"{said} of {len(data)}: send one command, an object; nothing was run"
    if isinstance(data, str) and data.strip() in COMMAND_NAMES:
        return (f"{said}, {quoted(data, 60)}: a command is an object naming it, {{\"command\": "
                f"{json.dumps(data.strip())}, \"command_id\": …, \"requested_by\": …}}; nothing was run")
    return f"{said}{'' if data is None else ', ' + json.dumps(data)[:60]}; nothing was run"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}" if kind != "null" else "null"


# pydantic's error types for a string left out, empty, or of spaces (pydantic docs, "Validation Errors").
_NO_WORD = ("missing", "string_too_short", "string_pattern_mismatch")


def _no_sender(kind: str, message: str) -> str:
    """A command that names no sender: what requested_by is and how the CLI fills it, not pydantic's "String
    should have at least 1 character" (the blank one already reads "'   ' is blank: it needs a word")."""
    said = "'' is empty" if kind == "string_too_short" else message
    return f"{said}: it names who sends the command, recorded and checked against operators ({CLI_SENDER})"


def parse_command_published(data: Mapping[str, Any]) -> tuple[PubSubMessage, AnyCommand]:
    try:
        message = decode_message_published(data)
    except IncidentParseError as exc:
        raise CommandError(exc.field, exc.reason) from None
    if not message.data:
        # `gcloud pubsub topics publish --attribute command=...` without --message sends no data:
        # say that attributes are not read, or the sender would look for a typo in them.
        given = f" (the message has only attributes, {', '.join(sorted(message.attributes))[:200]}, which are not " \
                "read: put the command in the message body)" if message.attributes else ""
        raise CommandError("message.data", f"is required: a JSON command{given}")
    command = parse_command(message.data)
    _attributes_agree(message.attributes, command)
    return message, command


# A command's fields, as the body names them, and the attribute of the model that holds each.
_COMMAND_FIELDS = {"schema": "schema_", "command": "command", "command_id": "command_id",
                   "requested_by": "requested_by", "reason": "reason", "target": "target", "params": "params",
                   "dry_run": "dry_run", "expires_at": "expires_at", "override_limits": "override_limits"}


def _attributes_agree(attributes: Mapping[str, str], command: AnyCommand) -> None:
    """Attributes are not read: the command is the body. One naming a command's field that the body
    does not say the same way (`--attribute target=…` beside a body with none, `--attribute
    dry_run=true`) is what the sender meant as much as the body is: ignored, a `resume` meant for one
    target released the kill switch itself, and a dry run meant by its attribute wrote. Ambiguous, so
    refused, naming the attribute, as a key given twice in the body is. An attribute that says what
    the command holds (its defaults included: `schema`, `dry_run=false`), and any other attribute
    (Cloud Scheduler's `origin`), are left alone."""
    for key, name in _COMMAND_FIELDS.items():
        if key not in attributes:
            continue
        value = getattr(command, name, None)
        if _says(attributes[key], value):
            continue
        body_says = "the body has none" if value is None else f"the command's is {quoted(_said(value), 120)}"
        raise CommandError(f"message.attributes.{key}", (
            f"{quoted(attributes[key], 120)}, and {body_says}: attributes are not read, and which is meant is "
            "ambiguous, so the command was not run: send it in the message body alone"))


def _said(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json", exclude_defaults=True), sort_keys=True)
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _says(attribute: str, value: Any) -> bool:
    """The attribute's text says `value` (a time in any RFC 3339 spelling of the same instant)."""
    if value is None:
        return False
    if isinstance(value, datetime):
        try:
            return datetime.fromisoformat(attribute.replace("Z", "+00:00")) == value
        except ValueError:
            return False
    if isinstance(value, BaseModel):
        try:
            return json.loads(attribute) == value.model_dump(mode="json", exclude_defaults=True)
        except ValueError:
            return False
    return attribute == _said(value)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python's json keeps the last of a repeated key silently (RFC 8259 4: names "SHOULD be unique",
    # and receivers differ on which one wins): {"dry_run": true, ..., "dry_run": false} must not
    # write on the strength of whichever came last.
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


class _Seen(dict):
    """A JSON object as parsed, with every value each key was given (`all`), in order."""
    all: dict[str, list[Any]]


def _every_value(pairs: list[tuple[str, Any]]) -> _Seen:
    seen = _Seen(pairs)
    seen.all = {}
    for key, value in pairs:
        seen.all.setdefault(key, []).append(value)
    return seen


class _IntSent(int):
    """A JSON integer as parsed, with its text as sent (`text`): `parse_int` hands the literal over (Python
    docs, json.loads), so an id sent as a number (`"command_id": 42`) is answered under its text as sent."""
    text: str


class _FloatSent(float):
    """A JSON number with a fraction or an exponent, with its text as sent (1e3 is not "1000.0")."""
    text: str


@dataclass(frozen=True)
class _UnreadNumber:
    """A JSON integer too long to turn into a number (`NumberTooLong`), kept as its text: the lenient read of the
    ids a rejection is answered under failed on it, and the command's id was lost with it."""
    text: str


def _int_sent(text: str) -> _IntSent | _UnreadNumber:
    try:
        number = _IntSent(text)
    except ValueError:
        return _UnreadNumber(text)
    number.text = text
    return number


def _float_sent(text: str) -> _FloatSent:
    number = _FloatSent(text)
    number.text = text
    return number


# Numbers kept with their text, for the ids a rejection is answered under (`SentIds.answerable`).
_AS_SENT: dict[str, Any] = {"object_pairs_hook": _every_value, "parse_int": _int_sent, "parse_float": _float_sent}


def _loads_every_value(body: bytes | str) -> Any:
    return json.loads(body, **_AS_SENT)


def _first_twice(node: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], list[Any]] | None:
    """The path of the first key given twice in `node` (parsed by `_loads_every_value`), with its values."""
    if isinstance(node, _Seen):
        for key, values in node.all.items():
            if len(values) > 1:
                return (*path, key), values
        children: Any = [((*path, key), value) for key, value in node.items()]
    elif isinstance(node, list):
        children = [((*path, str(i)), value) for i, value in enumerate(node)]
    else:
        return None
    for where, child in children:
        found = _first_twice(child, where)
        if found is not None:
            return found
    return None


def _twice_said(body: bytes | str) -> str:
    """Where the key given twice is and what each time said ("in params: 'backend-00001-abc', then
    'backend-00002-xyz'"): "in one object" left the sender to find which of a command's objects, and
    which two values, disagreed."""
    try:
        found = _first_twice(_loads_every_value(body))
    except (ValueError, RecursionError):
        found = None
    if found is None:
        return " in one object"
    path, values = found
    where = "at the top level" if len(path) == 1 else f"in {'.'.join(path[:-1])[:80]}"
    said = ", then ".join(json.dumps(v)[:80] for v in values[:4])
    return f" ({where}: {said})"


def _read_leniently(body: bytes | str) -> Any:
    """The body parsed by `_loads_every_value`, however it fails as a command: not UTF-8 (a Latin-1 "é" in
    a reason typed in a terminal: an id and a command's name are ASCII, read the same whatever the bytes
    around them), a key given twice (every value kept), and broken by hand in a way `hand_typed.as_meant`
    undoes (read for the ids only: `parse_command` refuses it as sent). None when it is not JSON even so."""
    try:
        try:
            doc = _loads_every_value(body)   # bytes: UTF-8, or UTF-16/32 by their byte order marks
        except UnicodeDecodeError:
            doc = _loads_every_value(bytes(body).decode("utf-8", errors="replace"))
        if not isinstance(doc, str):
            return doc
    except (ValueError, RecursionError):
        pass
    # Broken by hand (a trailing comma, single quotes, the shell's quotes sent with it, making it one JSON
    # string): read as meant, for the ids its rejection is answered under only (shared/alerts/hand_typed.py);
    # the command is refused as sent.
    if len(body) > MAX_COMMAND_BYTES:
        return None
    text = body if isinstance(body, str) else bytes(body).decode("utf-8-sig", errors="replace")
    meant = as_meant(text)
    try:
        return json.loads(meant, strict=False, **_AS_SENT) if meant is not None else None
    except (ValueError, RecursionError):
        return None


@dataclass(frozen=True)
class SentIds:
    """Every `command_id` a body gives at its top level, in order, for the rejection of a body that is not a
    valid command to be answered under (shared/commands `_reject_malformed`, shared/pipeline `_reject`)."""
    given: tuple[Any, ...] = ()
    # Read from the message's attributes, the body giving none (`sent_or_attribute_ids`).
    from_attributes: bool = False
    # Read from the commands of a JSON array (`sent_ids`): how many objects it holds.
    from_array: int = 0

    @property
    def answerable(self) -> tuple[str, ...]:
        """The distinct ids given that a command may carry, in order: one answer under each. Given twice with
        different values, the sender may wait on either: Python's json kept the last silently, and the
        rejection named an id the sender may never have meant; naming none left both senders to time out.
        An id no command may carry is answered under none: no outcome can carry it, so no sender waits on it.
        An id sent as a JSON number (`"command_id": 42`, a script's `$ID` unquoted) is answered under its text as
        sent ("42", `said()` tells so): its sender waits on that text, and answered under none it timed out."""
        return tuple(dict.fromkeys(i for i in map(_answerable_id, self.given) if i is not None))

    def said(self) -> str:
        """What a rejection's answer adds about the ids it is answered under: several given (`ambiguity`), or
        one sent as a number, answered under its text."""
        if self.from_attributes:
            return (f"; the body gives no command_id, and the message's attributes give command_id "
                    f"{', '.join(repr(str(i)[:60]) for i in self.answerable)}: answered under it, so that its sender "
                    "hears it; nothing was run")
        numbers = [v.text for v in self.given if _number_text(v) is not None and readable_command_id(v.text)]
        if self.from_array and self.answerable:   # none usable: said as any other ids below
            answered = ", ".join(quoted(i, 60) for i in self.answerable[:6])
            sent_as = (f"; command_id was sent as a JSON number ({', '.join(numbers[:4])}): answered under its text "
                       f"as sent, {', '.join(json.dumps(n) for n in numbers[:4])}" if numbers else "")
            return (f"; the array's commands give command_id {answered}: answered under each, so that each sender hears "
                    "it; none was recorded, so each may be sent again under its id, as a message of its own" + sent_as)
        as_text = (f"; command_id was sent as a JSON number ({', '.join(numbers[:4])}): answered under its text "
                   f"as sent, {', '.join(json.dumps(n) for n in numbers[:4])}, so that its sender hears it"
                   + ("" if self.ambiguity() else "; nothing was run") if numbers else "")
        inside = [(v, i) for v in self.given if isinstance(v, str) and (i := id_as_meant(v)) is not None]
        stripped = "".join(f"; answered under command_id {quoted(i)}, so that its sender hears it" for _, i in inside[:2])
        return self.ambiguity() + as_text + stripped

    def ambiguity(self) -> str:
        """What the answer says when the body gives different ids ("" when it gives one, or one again)."""
        if len(set(map(repr, self.given))) < 2:
            return ""
        answered = ", ".join(repr(i) for i in self.answerable) or "none: no command may carry any of them"
        return (f"; command_id is given more than once, with different values "
                f"({', '.join(repr(v)[:60] for v in self.given[:4])}): which is meant is ambiguous, so this is "
                f"answered under each id a command may carry ({answered}), once, as its sender may wait on any; "
                "nothing was run")


def _number_text(value: Any) -> str | None:
    """The text a JSON number was sent as (parsed by `_loads_every_value`); None for anything else."""
    return value.text if isinstance(value, (_IntSent, _FloatSent, _UnreadNumber)) else None


def _answerable_id(value: Any) -> str | None:
    """The id a rejection is answered under for one `command_id` given: the string, or a number's text as sent,
    when a command may carry it; a string with whitespace or a byte order mark around it, under the id inside
    (`id_as_meant`): its sender, whose script or file added them, waits on that id, and answered under none it timed
    out."""
    given = _number_text(value) or value
    return readable_command_id(given) or (id_as_meant(given) if isinstance(given, str) else None)


def sent_target(body: bytes | str) -> str | None:
    """The `target` a body gives at its top level as text, read as leniently as `sent_ids` reads its ids (for a
    refusal of it to name the full names it may mean); None when it gives none, or not one string."""
    doc = _read_leniently(body)
    given = doc.all.get("target", []) if isinstance(doc, _Seen) else []
    return given[0] if len(given) == 1 and isinstance(given[0], str) else None


def sent_ids(body: bytes | str) -> SentIds:
    """The `command_id`s a body gives at its top level, read as leniently as `_read_leniently` reads."""
    doc = _read_leniently(body)
    if isinstance(doc, list):
        # Several commands in one message (`_not_an_object` refuses it): each object's senders wait on its own id,
        # and answered under none, every one of them timed out.
        given = tuple(i for item in doc if isinstance(item, _Seen) for i in item.all.get("command_id", []))
        return SentIds(given, from_array=len(doc)) if given else SentIds()
    return SentIds(tuple(doc.all.get("command_id", []))) if isinstance(doc, _Seen) else SentIds()


def sent_or_attribute_ids(body_ids: SentIds, event_data: Any) -> SentIds:
    """The ids a rejection is answered under: the body's, or, when the body gives none a command may carry (no
    body: `gcloud pubsub topics publish --attribute command=…,command_id=…`; or a body without one), the
    message's `command_id` attribute when a command may carry it. Attributes are never read as the command
    (`_attributes_agree`): this only names whom the refusal answers. Before, such a refusal was published under
    no id, and a sender waiting on the id it had set (the outcome's `command_id` attribute, as the CLI waits)
    never heard it."""
    if body_ids.answerable:
        return body_ids
    message = event_data.get("message") if isinstance(event_data, Mapping) else None
    attributes = message.get("attributes") if isinstance(message, Mapping) else None
    given = attributes.get("command_id") if isinstance(attributes, Mapping) else None
    return SentIds((given,), from_attributes=True) if readable_command_id(given) else body_ids


def published_body(event_data: Any) -> bytes | None:
    """A messagePublished event's `message.data`, decoded from base64; None when there is none to read."""
    import base64

    try:
        return base64.b64decode(event_data["message"]["data"])
    except Exception:  # noqa: BLE001 - any malformed shape simply has no body to read
        return None


@dataclass(frozen=True)
class SentCommand:
    """A body shaped as a command (its top level names a `command`, or its `schema` is a command's, and it has no
    `incident`), or a JSON array of such objects, read as far as it can be: what it names, the ids it gives, and the
    commands path's own rejection of it as sent (`problem`, None when it is a valid command)."""
    name: str
    ids: SentIds
    problem: str | None
    # An array of commands (the manual trigger's shape, several at once): how many objects it holds, and the
    # commands they name, in order; 0 and () for one command object.
    count: int = 0
    names: tuple[str, ...] = ()


def _shaped_as_command(doc: Any) -> bool:
    """An object that says it is a command: it names a `command` as text, or its `schema` is a command's
    (`runwarden.command/v1`, the CLI writes it), and it carries no `incident` (a notification's)."""
    if not isinstance(doc, _Seen) or "incident" in doc:
        return False
    return any(isinstance(name, str) for name in doc.all.get("command", [])) or SCHEMA in doc.all.get("schema", [])


def _command_name(doc: _Seen) -> str:
    return next((name for name in doc.all.get("command", []) if isinstance(name, str)), "")


def sent_command(body: bytes | None) -> SentCommand | None:
    """The command a body on the alerts topic holds (an operator's mistake: the topics swapped), or None
    when it is not shaped as one. Read with the commands path's own parsing (`parse_command`), so the alert
    path answers it as the commands path would, whatever keeps it from being a notification (not UTF-8, a
    key given twice), never losing the ids its sender waits on. A JSON array whose every item is an object and
    one of them at least shaped as a command is commands too (several sent at once, as a script or the manual
    trigger's file may hold them): before, it was answered "expected a JSON object, got array", a bad notification,
    and its senders were never told where commands go."""
    doc = _read_leniently(body) if body is not None else None
    items = doc if isinstance(doc, list) else [doc]
    if not items or not all(isinstance(item, _Seen) and "incident" not in item for item in items) \
            or not any(map(_shaped_as_command, items)):
        return None
    try:
        parse_command(body)   # type: ignore[arg-type]  # body is not None here
        problem = None
    except CommandError as exc:
        problem = str(exc)
    names = tuple(name for name in map(_command_name, items) if name)
    if isinstance(doc, list):
        return SentCommand(names[0] if names else "", sent_ids(body), problem,   # type: ignore[arg-type]
                           count=len(doc), names=names)
    return SentCommand(names[0] if names else "", sent_ids(body), problem)   # type: ignore[arg-type]


# What each pattern asks for, in words: an operator who typed a short name or a URL reads what to
# send instead of a regular expression.
_PATTERN_WORDS = {
    SERVICE_PATTERN: "a full service name, projects/PROJECT/locations/REGION/services/SERVICE (not a short name "
                     "or a URL)",
    CONNECTOR_PATTERN: "a full connector name, projects/PROJECT/locations/REGION/connectors/CONNECTOR",
    TARGET_PATTERN: "a full resource name, projects/PROJECT/locations/REGION/services/SERVICE or "
                    ".../connectors/CONNECTOR (not a short name or a URL)",
    REVISION_PATTERN: "a revision's short name, such as backend-00041-kux (lowercase letters, digits and hyphens)",
    REVISION_TYPED_PATTERN: "a revision's short name, such as backend-00041-kux (lowercase letters, digits and "
                            "hyphens)",
    PROPOSAL_ID_PATTERN: "a proposal id as a `proposed` outcome shows it, such as p-3f9c2a1b7d40",
    COMMAND_ID_PATTERN: "1-128 letters, digits or . _ : @ -, starting with a letter or a digit",
    INTENT_PATTERN: "an escalated plan's key, INCIDENT|MESSAGE, as an `escalated` outcome names it after `intent` "
                    "(such as 0.nrwotmyokd9n|1234567890: the incident's id and the notification's message id, one "
                    "'|' between them)",
    NON_BLANK: "blank: it needs a word",
}


def connector_one_way(connector: str) -> str:
    """Why no command undoes a connector's scale, for a restore_traffic aimed at one: VPC Access only raises a
    connector's instances ("--min-instances … must be greater than or equal to the currently set minimum", the
    same for --max-instances: gcloud reference, compute networks vpc-access connectors update), and Runwarden
    refuses to scale one down or to a smaller machine (scale_connector's bounds)."""
    return (f"a scale of {connector} is one-way and cannot be undone: VPC Access only raises a connector's min and "
            "max instances (gcloud compute networks vpc-access connectors update: each at least the value set now), "
            "and no command scales a connector down or to a smaller machine; restore_traffic puts back a service's "
            "traffic only: nothing written. Going back means recreating the connector, a person's change outside "
            "Runwarden")


_MODELS: dict[str, type[BaseModel]] = {m.model_fields["command"].annotation.__args__[0]: m for m in AnyCommand.__args__}


def _unknown_name(error: Any, data: Mapping[str, Any] | None = None) -> str | None:
    """A name the schema does not know (a command, a field, a param), answered with the closest one it
    does and the names it takes: pydantic's own words ("Unable to extract tag using discriminator",
    "Extra inputs are not permitted") do not say what to send instead. The closest is sought among the
    names not given beside it in `data`: `{"min_instances": 3, "max_instances": 6}` was answered "did
    you mean 'max_instances'?", a name the operator had sent, as though it were missing. None for any
    other error."""
    kind, loc = error["type"], error["loc"]
    if kind == "union_tag_not_found":
        # {"Command": "pause"}: the key given instead is the likelier mistake, as for any field missing.
        known = {f.alias or n for m in _MODELS.values() for n, f in m.model_fields.items()}
        instead = [k for k in (data or {}) if k not in known and _closest(str(k), ["command"])]
        given = f" (given instead: {', '.join(repr(str(k)[:60]) for k in instead)})" if instead else ""
        return f"is required{given}: one of {', '.join(COMMAND_NAMES)}"
    if kind == "union_tag_invalid":
        given = (error.get("ctx") or {}).get("tag", error.get("input"))
        sent = (data or {}).get("command", given)
        if not isinstance(sent, str):
            # pydantic's tag is the value as Python prints it: null was answered "'None' is not a command".
            return (f"{json.dumps(sent)[:60]} is not a command: the command is named by a JSON string, one of "
                    f"{', '.join(COMMAND_NAMES)}")
        return not_a_command(str(given), data)
    if kind != "extra_forbidden" or not loc:
        return None
    fields = _fields_at(loc[:-1])
    if fields is None:
        return None
    what = "a param of" if "params" in loc[:-1] else "a field of"
    taken = ", ".join(fields) if fields else "none"
    given = _given_at(data, loc[1:-1])
    unsent = [f for f in fields if f not in given]
    # A name meaning the opposite of a known one is answered as such even beside it ({"min_instances": 3,
    # "max_instances": 6}); any other likely meaning is sought among the names not sent.
    hint = (_share_asked(str(loc[-1]), loc) or _opposite_of(str(loc[-1]), fields, str(loc[0]))
            or _closest(str(loc[-1]), unsent))
    return f"{quoted(loc[-1], 60)} is not {what} {loc[0]}{hint}; it takes: {taken}"


# Words of a param asking for a share of a service's traffic ({"revision": …, "percent": 50}): no command sends
# part of it, and "it takes: revision" read as though the share had been left out by a typo.
_SHARE_WORDS = frozenset({"percent", "percentage", "pct", "split", "weight", "share", "traffic", "canary", "ratio"})


def _share_asked(given: str, loc: tuple[Any, ...]) -> str:
    """What a traffic command does instead of a share asked for in its params, or "". Cloud Run's own way to
    split traffic is `gcloud run services update-traffic SERVICE --to-revisions REVISION=PERCENT` (gcloud
    reference, run services update-traffic)."""
    if str(loc[0]) not in ("rollback_traffic", "restore_traffic") or "params" not in loc[:-1]:
        return ""
    if not any(w in _SHARE_WORDS for w in _words(given)):
        return ""
    return (" (no command sends part of a service's traffic: rollback_traffic sends 100% to one revision, its tags "
            "kept at 0%, and restore_traffic puts back a recorded split or sends 100% to LATEST; a split of your own "
            "is a person's change, gcloud run services update-traffic SERVICE --to-revisions REVISION=PERCENT; "
            "nothing was written)")


def not_a_command(given: str, data: Mapping[str, Any] | None = None) -> str:
    """The answer to a command's name the schema does not know, in one place for the message's body and the
    CLI's COMMAND: the name it misspells (`_closest`), what to send for a reversal ('unpause') or for the kill
    switch named as a command (`_switch_named`), and every name taken."""
    hint = _switch_named(given, data) or _closest(given, COMMAND_NAMES, scope='command')
    return f"{quoted(given, 60)} is not a command{hint}; one of {', '.join(COMMAND_NAMES)}"


# The kill switch named as a command ('kill_switch', 'killSwitch', 'disable_kill_switch'), as the config names
# it (guardrails.kill_switch), with the way it is to be turned: its name's words, or a flag sent beside it
# ({"params": {"enabled": "false"}}). No command is named so: `pause` without a target engages it and `resume`
# releases it. Such a command was answered with the list of commands alone; and "did you mean" either would be
# a guess at the one thing that must not be guessed.
_SWITCH_WORDS = (("kill", "switch"), ("killswitch",))
_ON_WORDS = frozenset({"on", "enable", "enabled", "engage", "engaged", "set", "activate", "true"})
_OFF_WORDS = frozenset({"off", "disable", "disabled", "disengage", "release", "unset", "clear", "deactivate", "false"})
_FLAG_KEYS = ("enabled", "engaged", "enable", "on", "value", "state", "active")


def _switch_named(given: str, data: Mapping[str, Any] | None) -> str:
    """What to send instead of a command named after the kill switch (`_SWITCH_WORDS`), or ""."""
    words = _words(given)
    if not any(all(w in words for w in switch) for switch in _SWITCH_WORDS):
        return ""
    ways = {"pause" for w in words if w in _ON_WORDS} | {"resume" for w in words if w in _OFF_WORDS}
    flag, sent = _switch_flag(data)
    if flag is not None:
        ways.add("pause" if flag else "resume")
    how = ("the kill switch is engaged by 'pause' without a target and released by 'resume' (with a reason); "
           "this runs neither")
    if len(ways) != 1:
        return f" ({how}{'; its name and ' + sent + ' ask for both' if len(ways) > 1 else ''})"
    [way] = ways
    asked = f"{sent} asks to {'engage' if way == 'pause' else 'release'} it" if sent else (
        f"its name asks to {'engage' if way == 'pause' else 'release'} it")
    return f" ({how}; {asked}: send {{\"command\": \"{way}\", \"reason\": \"...\"}}, or runwarden {way})"


def _switch_flag(data: Mapping[str, Any] | None) -> tuple[bool | None, str]:
    """The on/off flag sent beside a kill-switch command (top level or in params), and how it was sent; a
    string ('false') or a number is read for what it says, and said to be one."""
    for where, node in (("", data), ("params.", (data or {}).get("params"))):
        if not isinstance(node, Mapping):
            continue
        for key in _FLAG_KEYS:
            if key not in node:
                continue
            value = node[key]
            said = f"{where}{key} {json.dumps(value)[:40]}"
            if isinstance(value, bool):
                return value, said
            text = str(value).strip().lower()
            if text in _ON_WORDS or text == "1":
                return True, f"{said} (a {type(value).__name__}, not a JSON boolean)"
            if text in _OFF_WORDS or text == "0":
                return False, f"{said} (a {type(value).__name__}, not a JSON boolean)"
    return None, ""


def _given_at(data: Mapping[str, Any] | None, path: tuple[Any, ...]) -> set[str]:
    """The keys the message gives in the object at `path` (none when it cannot be followed)."""
    node: Any = data
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return set(node) if isinstance(node, Mapping) else set()


def _model_at(loc: tuple[Any, ...]) -> Any:
    """The model at `loc` (a command's name, then its fields), or None where `loc` names no model."""
    model: Any = _MODELS.get(str(loc[0])) if loc else None
    for part in loc[1:]:
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = next((a for a in (annotation, *getattr(annotation, "__args__", ())) if isinstance(a, type)
                      and issubclass(a, BaseModel)), None)
    return model


def _fields_at(loc: tuple[Any, ...]) -> list[str] | None:
    """The names the model at `loc` (a command's name, then its fields) takes, as sent (aliases)."""
    model = _model_at(loc)
    if model is None:
        return None
    return [f.alias or name for name, f in model.model_fields.items()]


def _what_to_send(loc: tuple[Any, ...]) -> str:
    """What a required field left out takes, in the words its wrong form is answered with (`_PATTERN_WORDS`):
    pydantic's "Field required" named the field and nothing of what to send there (a target, a proposal id, a
    release's intent, a command_id). "" for a field said elsewhere (reason, requested_by and params have their
    own words) or of no known form."""
    model = _model_at(loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model is not None else None
    patterns = [getattr(m, "pattern", None) for m in (field.metadata if field is not None else ())]
    words = next((_PATTERN_WORDS[p] for p in patterns if p in _PATTERN_WORDS), "")
    if not words or words.startswith("blank"):
        return ""
    return f": send {field.alias or loc[-1]}, {words}"


def _closest(given: str, known: Any, scope: str = "") -> str:
    """" (did you mean X?)" when `given` is a misspelling of X (`_misspelt`), or what to send instead when
    the name nearest it means its opposite; "" when neither: the caller then lists every name taken. Nearest by
    letters alone (difflib's ratio, 0.6) offered names that only look alike: 'freeze' was answered "did you
    mean 'release'?" (which lets writes happen again), 'revert' "'reject'?", 'start' "'status'?"."""
    known = list(known)
    reversal = _opposite_of(given, known, scope)
    if reversal:
        return reversal
    found = _misspelt(given, known)
    if found is None:
        return ""
    return _reversal(given, found, scope) or f" (did you mean {found!r}?)"


def _edits(a: str, b: str) -> int:
    """The optimal string alignment distance: insertions, deletions, substitutions and transpositions of two
    adjacent letters (the typos of a hand on a keyboard: 'puase', 'stauts')."""
    rows = [list(range(len(b) + 1))]
    for i, x in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _allowed(word: str) -> int:
    """The typos a known word of this length may carry and still be taken for it: none in a word of three
    letters or fewer (min/max, to/no differ by fewer), one up to six, two beyond."""
    return 0 if len(word) <= 3 else 1 if len(word) <= 6 else 2


def _typo_cost(given: list[str], known: list[str]) -> int | None:
    """How far the words `given` are from the name made of `known`, when `given` is that name misspelt
    (whole: 'scaleconnector', 'trget') or that name's words, each misspelt at most `_allowed`, some left out
    ('rollback', 'proposal') and at most one word added ('old_revision', 'resume_writes'); None otherwise.
    A whole-name misspelling ranks before a name matched word by word."""
    whole = _edits("".join(given), "".join(known))
    if whole <= _allowed("".join(known)):
        return whole
    joined = "".join(given)
    if len(given) > 1 and any(_edits(joined, k) <= _allowed(k) for k in known):
        return 10 + len(known) - 1          # one word of the name split ('roll_back')
    cost, matched, added = 10, 0, 0
    for word in given:
        distance, nearest = min(((_edits(word, k), k) for k in known), default=(99, ""))
        if distance <= _allowed(nearest):
            cost, matched = cost + distance, matched + 1
        else:
            added += 1
    if matched == 0 or added > 1:
        return None
    return cost + added + len(known) - matched


def _misspelt(given: str, known: list[str]) -> str | None:
    """The one known name `given` is a misspelling or a shortening of (`_typo_cost`); None when none is, or
    when two are equally near ('traffic': rollback_traffic or restore_traffic), as a guess could be either."""
    words = _words(given)
    costs = {name: c for name in known if (c := _typo_cost(words, _words(name))) is not None}
    if not costs:
        return None
    least = min(costs.values())
    nearest = [name for name, c in costs.items() if c == least]
    return nearest[0] if len(nearest) == 1 else None


# What to send instead of a name whose nearest known name means the opposite, by (command or
# "command", that name). "did you mean 'max_instances'?" for min_instances, or "'pause'?" for unpause,
# would have the sender do the reverse of what was asked.
_INSTEAD = {
    ("scale_connector", "max_instances"): (
        "{given} is not settable by scale_connector, and max_instances means otherwise: the command "
        "only raises max_instances (the most instances the connector may scale out to) and/or the machine type, "
        "and keeps min_instances as read (shared/remediation/actions/scale_connector.py), since VPC Access never "
        "lowers either again: gcloud `compute networks vpc-access connectors update` wants each at least its "
        "current value; for more room send max_instances above the current one, or machine_type; a new minimum "
        "is a person's change with that gcloud command"),
    ("command", "scale_connector"): (
        "no command scales a connector down: VPC Access only raises its instances and machine type (gcloud "
        "`compute networks vpc-access connectors update`); scale_connector only raises them"),
    ("command", "pause"): "to allow writes again, send 'resume'",
    ("command", "approve"): "to close a proposal without applying it, send 'reject'",
    ("command", "rollback_traffic"): "to send traffic back to the latest revision, send 'restore_traffic' with "
                                     "params {\"to_latest\": true}",
    ("restore_traffic", "to_latest"): "to put back the split before an action, send 'action_id'; to send traffic "
                                      "to an older revision, send 'rollback_traffic' with its 'revision'",
}

# Words that reverse the name they are added to or that stand for its opposite ("min" for "max").
# Words of age (old, previous) reverse only "latest" (_PAIRS): rollback_traffic's `revision` is an older one.
_REVERSING = frozenset({"no", "not", "non", "dont", "never", "without", "skip", "min", "minimum", "down", "lower",
                        "decrease", "reduce", "off", "undo", "reverse"})
_NEGATING_PREFIXES = ("un", "dis", "non", "de", "no")
_PAIRS = (("min", "max"), ("down", "up"), ("forward", "back"), ("old", "latest"), ("early", "latest"),
          ("previous", "latest"), ("first", "latest"),
          ("from", "to"))


def _opposite_of(given: str, known: Any, scope: str) -> str | None:
    """When the known name nearest `given` means its opposite, say so and what to send instead (never
    "did you mean" it); None otherwise."""
    import difflib

    found = difflib.get_close_matches(given.lower(), list(known), n=1, cutoff=0.6)
    return _reversal(given, found[0], scope) if found else None


def _reversal(given: str, found: str, scope: str) -> str | None:
    """What to send instead of `given`, which reverses the known name `found`; None when it does not."""
    if not _reverses(given, found):
        return None
    instead = _INSTEAD.get((scope, found), "").replace("{given}", given[:60])
    return (f" ({instead})" if instead
            else f" (not {found!r}, which means the opposite)")


def _words(name: str) -> list[str]:
    """A name's words, however written: minInstances, min-instances, MIN_INSTANCES."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _reverses(given: str, found: str) -> bool:
    """Whether `given` is `found` negated or turned round (unpause/pause, min_instances/max_instances,
    scale_down_connector/scale_connector, to_oldest/to_latest), not a misspelling of it."""
    theirs = _words(found)
    for word in (w for w in _words(given) if w not in theirs):
        # A reversing word alone ('un-pause', 'de_scale'), or glued before or after a word of the name
        # ('unpause', 'downscale', 'scaledown'): 'un-pause' was answered "did you mean 'pause'?".
        if word in _REVERSING or word in _NEGATING_PREFIXES:
            return True
        if any(word in (r + t, t + r) for r in (*_REVERSING, *_NEGATING_PREFIXES) for t in theirs):
            return True
        if any(a in word and b in t and a not in t for a, b in _PAIRS for t in theirs):
            return True
    return False


def _message(error: Any) -> str:
    null = _null_sent(error)
    if null:
        return null
    if error["type"] == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")    # the model's own words (`_no_control`)
    if error["type"].startswith("datetime") or error["type"] == "timezone_aware":
        # Epoch milliseconds, a date alone, a time without its zone: say what is read.
        return f"{error['msg']}: send an RFC 3339 time with a zone, such as 2026-11-30T09:10:00Z"
    if error["type"] == "literal_error":
        return error["msg"] + _not_one_of(error)
    pattern = (error.get("ctx") or {}).get("pattern", "")
    words = _PATTERN_WORDS.get(pattern) if error["type"] == "string_pattern_mismatch" else None
    if words is None:
        return error["msg"] + _sent_as(error) + _out_of_range(error) + _length_sent(error)
    near = _nearly_a_name(str(error.get("input")), pattern)
    if near:
        return near
    swapped = _other_kind(str(error.get("input"))[:120], pattern, str(error["loc"][0]) if error["loc"] else "")
    if swapped:
        return swapped
    if words.startswith("blank"):
        return f"{quoted(error.get('input'), 120)} is {words}"
    return f"{quoted(error.get('input'), 120)} is not {words}"


# What a value outside a fixed list means, by field. The machine types a connector can be updated to are the ones
# `gcloud compute networks vpc-access connectors update --machine-type` takes (gcloud reference; ScaleParams).
_ONE_OF_SAID = {
    "machine_type": "a connector's machine type is one of these three (gcloud compute networks vpc-access connectors "
                    "update --machine-type); nothing was scaled",
    "schema": "this version reads runwarden.command/v1 only: send that, or leave schema out",
}


def _not_one_of(error: Any) -> str:
    """What was sent where one of a fixed list of values is taken (a machine type, the schema), and the one it
    names when it differs from one only by letter case, spaces or '_' for '-' ('E2-MICRO', 'e2_micro') or by a
    typo of a letter ('e2-standad-4'): "Input should be 'f1-micro', 'e2-micro' or 'e2-standard-4'" said neither
    what was read nor which was meant. A value whose digits differ ('e2-standard-8', 'e2-standard-2') is another
    size, never guessed at: only named as not one of them."""
    allowed = re.findall(r"'([^']*)'", str((error.get("ctx") or {}).get("expected", "")))
    given, field = error.get("input"), str(error["loc"][-1]) if error["loc"] else ""
    why = _ONE_OF_SAID.get(field, "")
    if not isinstance(given, str):
        return f" (got {json.dumps(given)[:60]}, a JSON {_json_kind(given)}){': ' + why if why else ''}"
    meant = _one_meant(given, allowed)
    if meant is not None:
        return f" (got {quoted(given, 60)}: did you mean {meant!r}? send it again with {json.dumps(meant)})"
    return f" (got {quoted(given, 60)}){': ' + why if why else ''}"


def _one_meant(given: str, allowed: list[str]) -> str | None:
    """The one allowed value `given` is written otherwise (case, spaces, '_') or misspelt by letters alone (its
    digits the same, `_edits` within `_allowed`); None when none or several are."""
    folded = re.sub(r"[\s_]+", "-", given.strip().lower())
    if folded in allowed:
        return folded
    digits = re.sub(r"\D", "", folded)
    near = [a for a in allowed if re.sub(r"\D", "", a) == digits and _edits(folded, a) <= _allowed(a)]
    return near[0] if len(near) == 1 else None


# What each command's `params` holds, as docs/commands.md ("`params` by command") gives it: said when `params`
# is left out where it is required, or is not an object (null, a list, the revision as a bare string).
_PARAMS_SENT = {
    "rollback_traffic": '{"revision": "backend-00041-kux"}, or leave params out for the last known-good revision',
    "restore_traffic": '{"action_id": "..."} (the action_id an outcome shows) or {"to_latest": true}',
    "scale_connector": '{"max_instances": 3..10} and/or {"machine_type": "f1-micro" | "e2-micro" | "e2-standard-4"}',
    "approve": '{"proposal_id": "p-3f9c2a1b7d40"} (the id a `proposed` outcome shows)',
    "reject": '{"proposal_id": "p-3f9c2a1b7d40"} (the id a `proposed` outcome shows)',
    "release": '{"intent": "INCIDENT|MESSAGE"} (the plan an `escalated` outcome names after `intent`)',
}


def _inside_params(errors: list[Any], data: Mapping[str, Any]) -> str:
    """Where a param sent at the top level goes (`{"command": "reject", "proposal_id": "p-…"}`): inside params,
    shown with the values sent. pydantic answers it as `params` missing, a param missing, or a field it does not
    know, whichever comes first; none said to move it. "" when no param is at the top level."""
    model = _MODELS.get(str(data.get("command")))
    params = getattr(model.model_fields["params"].annotation, "model_fields", None) if model else None
    moved = {e["loc"][-1]: data[e["loc"][-1]] for e in errors if e["type"] == "extra_forbidden"
             and len(e["loc"]) == 2 and params and e["loc"][-1] in params}
    if not moved:
        return ""
    sent = data.get("params") if isinstance(data.get("params"), dict) else {}
    shape = json.dumps({**sent, **moved})[:300]
    names = ", ".join(map(str, moved))
    return (f"; {names} {'is a param' if len(moved) == 1 else 'are params'} of {data['command']}, sent at the top "
            f"level: put {'it' if len(moved) == 1 else 'them'} inside params, \"params\": {shape}, beside "
            f"\"command\": {json.dumps(data['command'])}")


# pydantic's error types for a field left out and for a value that is not an object where a model is wanted
# (pydantic docs, "Validation Errors").
_NOT_AN_OBJECT = ("missing", "model_type", "model_attributes_type", "dict_type")


def _params_to_send(error: Any) -> str:
    """What `params` is, for a command's `params` left out or not an object: "Field required" and "Input should be
    an object" did not say what the command takes (`{"command": "approve", "params": "p-…"}`). "" for any other
    error; a command that takes no params is told to send none."""
    loc = error["loc"]
    if len(loc) != 2 or loc[1] != "params" or error["type"] not in _NOT_AN_OBJECT:
        return ""
    got = "" if error["type"] == "missing" else f" (got {json.dumps(error.get('input'))[:60]})"
    wanted = _PARAMS_SENT.get(str(loc[0]))
    if wanted is None:
        return f"{got}: {loc[0]} takes no params; leave params out, or send {{}}"
    return f"{got}: send params{' as an object' if got else ''}, {wanted}"


# What to send instead of a scale_connector's max_instances beyond the API's range (gcloud reference, `compute
# networks vpc-access connectors update`: --max-instances 3-10, at least the currently set maximum). Only raising
# it is ever sent (ScaleParams). A larger machine_type as more room: the Serverless VPC Access docs' throughput
# table (e2-micro 200-1000 Mbps, e2-standard-4 3200-16000 Mbps; shared/remediation/planning.py reads it so).
_INSTANCES_RANGE = {
    "less_than_equal": "VPC Access allows at most 10 instances: send max_instances 10 at most, or, for more room "
                       "past 10, a larger machine_type (e2-standard-4)",
    "greater_than_equal": "VPC Access allows 3 to 10 instances, and scale_connector only raises the connector's "
                          "max_instances: send a value from 3 to 10, no lower than its max_instances now",
}


# pydantic's error types for a number or a flag of another JSON type (pydantic docs, "Validation Errors").
_WANTED = {"int_type": int, "int_from_float": int, "bool_type": bool}

# What an optional field sent as null may have meant, by field: (what leaving it out does, what to send for a value).
# The target has its own words (`_NULL_TARGET`); a flag's are `_NULL_FLAG`.
_NULL_SAID = {
    "revision": ("to roll back to the last known-good revision diagnosis finds, leave revision out",
                 "to name one, send its short name, such as backend-00041-kux"),
    "action_id": ("to send 100% to LATEST, send to_latest: true instead",
                  "to put back the split recorded before an action, send the action_id its outcome shows"),
    "max_instances": ("to keep the connector's max_instances as it is, leave max_instances out",
                      "to raise it, send a whole number from 3 to 10"),
    "machine_type": ("to keep the connector's machine type as it is, leave machine_type out",
                     "to change it, send one of 'f1-micro', 'e2-micro', 'e2-standard-4'"),
    "expires_at": ("for no deadline of its own, leave expires_at out (a write then still expires after "
                   "guardrails.command_max_age_seconds)",
                   "for one, send an RFC 3339 time with a zone, such as 2026-11-30T09:10:00Z"),
}
_FLAGS = ("dry_run", "override_limits", "to_latest", "accept_unread_peers")


def _null_sent(error: Any) -> str:
    """The answer to an optional field or a flag sent as null (`_NULL_SAID`: typed without None, so that a null sent
    is refused, never read as left out): what was sent, how to say each thing it may have meant. "" for any other
    error, and for a target (`_not_a_string` words its null by command)."""
    loc = tuple(str(p) for p in error["loc"])
    if error["type"] == "missing" or "input" not in error or error["input"] is not None or not loc:
        return ""
    field = loc[-1]
    if field in _FLAGS:
        return (f"{error['msg']} (got null: a flag is true or false, a JSON boolean without quotes; leave {field} out "
                "for false); nothing was done")
    said = _NULL_SAID.get(field)
    if said is None:
        return ""
    left_out, value = said
    return f"got null, as a script sends an empty variable: {left_out}; {value}; nothing was done"


# Text a person may write for a flag's true or false (a shell's, YAML's, an environment variable's habits). Never read
# as the flag: named, so that the answer says which JSON boolean to send if that is what was meant.
_TRUE_WORDS = frozenset({"yes", "y", "on", "1", "t", "enable", "enabled"})
_FALSE_WORDS = frozenset({"no", "n", "off", "0", "f", "disable", "disabled"})
# Why each flag is never read from text: what reading it wrongly would do. dry_run only narrows a command (a "yes"
# read as true writes nothing), but it is read as strictly as the others: a lenient reading would read "no" or "0" as
# false too, which writes, and one rule for every flag keeps what a command does what its JSON says.
_FLAG_WIDENS = {
    "dry_run": "dry_run is read as strictly as every flag: text read leniently would read 'no' as false, which writes",
    "override_limits": "override_limits sets aside the cooldown and the budgets, so text is never read as it",
    "to_latest": "to_latest sends 100% of the service's traffic to LATEST, so text is never read as it",
    "accept_unread_peers": "accept_unread_peers approves a scale without the peers read again, so text is never read "
                           "as it",
}


def _flag_text(given: str, field: str) -> str:
    """The answer to a flag sent as text other than "true" or "false" ("yes", "1", "TRUE", "no"): what it is, which
    JSON boolean it reads as if any, and why it is not taken so (`_FLAG_WIDENS`)."""
    meant = _flag_meant(given)
    instead = f": if {json.dumps(meant)} is meant, send {json.dumps(meant)}" if meant is not None else \
        ": send true or false"
    why = _FLAG_WIDENS.get(field, "")
    return (f" (got the string {quoted(given, 60)}, not a JSON boolean; a flag is true or false without quotes, and no "
            f"text is read as one{instead}{'; ' + why if why else ''}); nothing was done")


def _flag_meant(given: str) -> bool | None:
    """The JSON boolean text written for a flag says, if any ("TRUE", "yes", "0"): never read as it, only named."""
    word = given.strip().lower()
    return True if word in _TRUE_WORDS or word == "true" else False if word in _FALSE_WORDS or word == "false" \
        else None


def _flag_text_said(given: str, key: str) -> str:
    """The CLI's answer to `--param KEY=TEXT` for a flag, TEXT other than `true` or `false`: the words of the JSON
    path's (`_flag_text`), in the CLI's terms."""
    meant = _flag_meant(given)
    instead = (f": if {json.dumps(meant)} is meant, write {key}={json.dumps(meant)}" if meant is not None else
               f": write {key}=true or {key}=false")
    why = _FLAG_WIDENS.get(key, "")
    return (f"{quoted(given, 120)} is not true or false: a flag is written true or false, in lowercase, as the "
            f"message's JSON takes it, and no other text is read as one{instead}{'; ' + why if why else ''}; "
            "nothing was sent")


def _sent_as(error: Any) -> str:
    """What was sent where a whole number or a flag was wanted, and what to send: a value quoted by the shell or
    by habit ("10", "true") is the likeliest, and "Input should be a valid integer" read as though 10 were wrong.
    "" for any other error."""
    if error["type"] == "string_type" and "input" in error:
        return _not_a_string(error["input"], tuple(str(p) for p in error["loc"]))
    wanted = _WANTED.get(error["type"])
    if wanted is None or "input" not in error:
        return ""
    given = error["input"]
    if isinstance(given, str):
        try:
            meant = json.loads(given)
        except ValueError:
            meant = None
        if wanted is int and isinstance(meant, float) and meant.is_integer():
            meant = int(meant)                      # "6.0": the whole number it spells
        if type(meant) is wanted:
            refused = _whole_refused(error["loc"], meant)
            if refused:
                return f" (got the string {quoted(given)}, and {meant} without quotes is refused too: {refused})"
            return f" (got the string {quoted(given)}: send {json.dumps(meant)}, without quotes)"
        if wanted is bool:
            return _flag_text(given, str(error["loc"][-1]) if error["loc"] else "")
        return f" (got the string {quoted(given, 60)}{_number_said(given) if wanted is int else ''})"
    if wanted is int and isinstance(given, float) and given.is_integer():
        refused = _whole_refused(error["loc"], int(given))
        if refused:
            return f" (got {given}, and the whole number {int(given)} is refused too: {refused})"
        return f" (got {given}: send a whole number, {int(given)})"
    if wanted is bool and type(given) is int and given in (0, 1):
        # 1 and 0 for true and false, as many languages and shells write them: JSON has its own.
        return f" (got {given}, a JSON number: send {json.dumps(bool(given))}, a JSON boolean)"
    return f" (got {json.dumps(given)[:60]})"


def _number_said(given: str) -> str:
    """What a whole number's text that is no number says instead: a percent, or a change to the value ('+2').
    Both are a number of a kind no param takes (the only whole number, max_instances, is the connector's new
    maximum itself); "" for any other text."""
    if re.fullmatch(r"\s*[0-9.]+\s*%\s*", given):
        return ": a percent is taken nowhere; send the whole number itself, without quotes or '%' (max_instances is " \
               "the connector's new maximum number of instances, 3 to 10)"
    if re.fullmatch(r"\s*[+-]\s*[0-9]+\s*", given):
        return ": a change to the value is taken nowhere; send the new value itself, without quotes (max_instances " \
               "is the connector's new maximum number of instances, 3 to 10)"
    return ""


# What a target left out means, by command, for a target sent as null (`_EVERY_TARGET`, `_CHECKED_TARGET`,
# `_READ_TARGET`): "to MEANT, leave target out; to OTHER, name it".
_NULL_TARGET = {
    "pause": ("pause every write", "pause one target"),
    "resume": ("resume every write", "resume one target"),
    "approve": ("approve the proposal whatever its target", "check that it is one target's"),
    "reject": ("reject the proposal whatever its target", "check that it is one target's"),
    "status": ("read every target", "read one target"),
}
_FULL_NAME = "projects/PROJECT/locations/REGION/services/SERVICE or .../connectors/CONNECTOR"


def _not_a_string(given: Any, loc: tuple[str, ...]) -> str:
    """What was sent where a string was wanted ("Input should be a valid string" said neither): a number or a flag
    is the likeliest (`"command_id": 42`, unquoted by hand), and its quoted form is what to send; a target sent as
    null (`_NULL_TARGET`), how to say each thing it may have meant; a list of targets, one command each."""
    if given is None and len(loc) == 2 and loc[1] == "target" and loc[0] in _NULL_TARGET:
        left_out, named = _NULL_TARGET[loc[0]]
        return (f" (got null, as a script sends an empty variable: to {left_out}, leave target out; to {named}, name "
                f"it, {_FULL_NAME}); nothing was done")
    if isinstance(given, list) and loc[-1:] == ("target",):
        return (f" (got a list of {len(given)}): one target per command, a string, {_FULL_NAME}; for several, send "
                "one command for each, each with its own command_id; nothing was done")
    if isinstance(given, (bool, int, float)):
        return f" (got {json.dumps(given)}, a JSON {'boolean' if isinstance(given, bool) else 'number'}: send " \
               f"\"{json.dumps(given)}\", in quotes)"
    return f" (got {json.dumps(given)[:60]})"


def _length_sent(error: Any) -> str:
    """How long a string past its limit was, and how it starts (shared/echo.py: never the whole of it): "String
    should have at most 1000 characters" named the limit alone, and a reason pasted from a log read as though its
    length were fine. "" for any other error."""
    given = error.get("input")
    if error["type"] != "string_too_long" or not isinstance(given, str):
        return ""
    return f" (got {len(given)} characters, starting {quoted(given[:60])})"


def _whole_refused(loc: Any, whole: int) -> str:
    """Why the whole number a value of another type spells ("50", 1e9, 2.0) would be refused all the same, by the
    range of the param it was sent for (`_INSTANCES_RANGE`, read from ScaleParams' own bounds): a hint to send it
    without quotes or without its decimal point named a number the next attempt was refused for. "" when it is in
    range, or the param has no range."""
    if tuple(str(p) for p in loc[-2:]) != ("params", "max_instances"):
        return ""
    bounds = {type(m).__name__: m for m in ScaleParams.model_fields["max_instances"].metadata}
    kind = ("less_than_equal" if whole > bounds["Le"].le else "greater_than_equal" if whole < bounds["Ge"].ge
            else "")
    return _INSTANCES_RANGE.get(kind, "")


def _out_of_range(error: Any) -> str:
    """What was sent, and what to send, for a scale_connector's max_instances out of the API's range: "Input should
    be less than or equal to 10" did not say what was read (a huge number, a typo) nor how to get more room. ""
    for any other error."""
    said = _INSTANCES_RANGE.get(error["type"])
    if said is None or tuple(error["loc"][-2:]) != ("params", "max_instances"):
        return ""
    return f" (got {json.dumps(error.get('input'))[:40]}): {said}"


def _other_kind(value: str, pattern: str, command: str) -> str:
    """A well-formed name of the other kind (a connector where a service is taken, or the reverse): said as
    such, with what the command takes, rather than "is not a full service name", which read as a typo. For
    restore_traffic aimed at a connector, why no command undoes a connector's scale (`connector_one_way`). A
    revision names its connector in `vpc_access.connector` (google/cloud/run/v2/vendor_settings.proto,
    VpcAccess). "" for anything else."""
    if pattern == SERVICE_PATTERN and re.match(CONNECTOR_PATTERN, value):
        if command == "restore_traffic":
            return f"{quoted(value)} is a connector, not a service: " + connector_one_way(value)
        return (f"{quoted(value)} is a connector, not a service: {command} takes a service, "
                "projects/PROJECT/locations/REGION/services/SERVICE (one that uses the connector)")
    if pattern == CONNECTOR_PATTERN and re.match(SERVICE_PATTERN, value):
        return (f"{quoted(value)} is a service, not a connector: {command} takes the connector, "
                "projects/PROJECT/locations/REGION/connectors/CONNECTOR (the service's revision names the one it "
                "uses: vpc_access.connector)")
    return ""


def _nearly_a_name(value: str, pattern: str) -> str | None:
    """What to fix in a full resource name that only a trailing slash or the spaces around it keep from its
    form (a name copied from a URL path, or with what surrounded it): "is not a full service name … (not a
    short name or a URL)" read as though the name itself were wrong. None for anything else."""
    if pattern in (REVISION_PATTERN, REVISION_TYPED_PATTERN):
        return _nearly_a_revision(value)
    if pattern == PROPOSAL_ID_PATTERN:
        return _nearly_a_proposal_id(value)
    if pattern == COMMAND_ID_PATTERN:
        return _nearly_a_command_id(value)
    if pattern not in (SERVICE_PATTERN, CONNECTOR_PATTERN, TARGET_PATTERN):
        return None
    stripped = value.strip().strip(_INVISIBLE_AROUND).strip()
    if stripped != value and re.fullmatch(pattern, stripped):
        return f"{quoted(value, 160)} has {_around_said(value)} around it: write {quoted(stripped)}"
    trimmed = stripped.rstrip("/")
    if trimmed != stripped and re.fullmatch(pattern, trimmed):
        return f"{quoted(value, 160)} ends with '/': write {quoted(trimmed)}"
    return None


# Invisible characters a copy or an editor leaves around a word: a byte order mark (a file saved "with BOM", its
# first field), a zero-width space or joiner, a word joiner. Not whitespace to str.strip.
_INVISIBLE_AROUND = "\ufeff\u200b\u200c\u200d\u2060"


def id_as_meant(value: str) -> str | None:
    """The command_id `value` names once the whitespace and invisible characters around it (`_INVISIBLE_AROUND`) are
    dropped, when that differs from `value` and a command may carry it; None otherwise. Only for naming: the command
    is refused as sent (`_nearly_a_command_id`), and its refusal answered under this id (`SentIds.answerable`)."""
    meant = value.strip().strip(_INVISIBLE_AROUND).strip()
    return meant if meant != value and readable_command_id(meant) else None


def _nearly_a_command_id(value: str) -> str | None:
    """What a command_id with whitespace or an invisible character around it is, and the id to write: "is not 1-128
    letters…" did not say which character, and a byte order mark or a trailing space is not seen in a terminal.
    None for anything else."""
    meant = id_as_meant(value)
    if meant is None:
        return None
    return f"{quoted(value, 160)} has {_around_said(value)} around it, which no command_id holds: send it again with " \
        f"command_id {quoted(meant)}"


def _around_said(value: str) -> str:
    """What stands around a word that should not (`_INVISIBLE_AROUND` or whitespace), named as a person sees it."""
    odd = next((c for c in value if c.isspace() or c in _INVISIBLE_AROUND), " ")
    return "spaces" if odd == " " else "a byte order mark (U+FEFF)" if odd == "\ufeff" else f"the invisible {ascii(odd)}"


def _nearly_a_proposal_id(value: str) -> str | None:
    """The proposal id a value typed in capitals (or with spaces around it) names. Ids are "p-" and 12 hex
    digits of a sha256 (`proposal_id_for`, shared/remediation/guardrails.py), and only an id matching
    PROPOSAL_ID_PATTERN, lower case alone, can be approved or rejected: so the lower-case form is the one id it
    can name. Only said, never acted on: the sender sends it again. None for anything else."""
    meant = value.strip().lower()
    if meant == value or not re.fullmatch(PROPOSAL_ID_PATTERN, meant):
        return None
    why = " (proposal ids are lower case)" if meant != value.strip() else " (without the spaces)"
    return (f"{quoted(value, 120)} is not {_PATTERN_WORDS[PROPOSAL_ID_PATTERN]}: did you mean {meant!r}? send it again "
            f"with that id{why}")


def _nearly_a_revision(value: str) -> str | None:
    """What to write for a revision given by its full name (`projects/P/locations/L/services/S/revisions/R`, as
    the console and `gcloud run revisions describe` show it: Revision.name, google/cloud/run/v2/revision.proto),
    or with spaces around it: its short name. None for anything else."""
    stripped = value.strip()
    short = stripped.rsplit("/revisions/", 1)[-1] if stripped.startswith("projects/") else stripped
    if short == value or not re.fullmatch(REVISION_TYPED_PATTERN, short):
        return None
    if short != stripped:
        return f"{quoted(value, 200)} is the revision's full name: write its short name, {quoted(short)}"
    return f"{quoted(value, 160)} has spaces around it: write {quoted(short)}"


def _field(loc: tuple[Any, ...]) -> str:
    # The first element of a tagged union's error location is the tag (the command's name).
    parts = [str(p) for p in loc]
    if parts and parts[0] in COMMAND_NAMES:
        parts = parts[1:]
    return "command." + ".".join(parts) if parts else "command"


# --- a resend's answer, written by shared/commands and read back by the CLI --------------------------
# A resend of an answered command_id is answered with a `duplicate` reason quoting the first
# answer's status, and names that status in the outcome's `first_status`. The CLI exits by it (a resend
# after a timed-out wait whose first answer was `applied` is done: `first_answer`); the words are read
# back only from outcomes published before that field, so the text is made and read here, in one place.

_DUPLICATE = re.compile(r"^duplicate: command (?P<id>\S+) (?:was already handled at [^:]+:\d\d:\d\d: (?P<status>[a-z_]+):"
                        r"|(?P<made>already made its change): )")


def duplicate_reason(command_id: str, handled_at: datetime, first_status: object, first_reason: object) -> str:
    """The reason of the answer to a resend: the first answer's time, status and reason."""
    return (f"duplicate: command {command_id} was already handled at {handled_at:%Y-%m-%d %H:%M:%S}: "
            f"{first_status}: {first_reason}")


def recorded_duplicate_reason(command_id: str, change: str) -> str:
    """The reason of the answer to a resend whose first answer is lost but whose write is recorded."""
    return f"duplicate: command {command_id} already made its change: {change}"


def first_answer(outcome: Mapping[str, Any]) -> str | None:
    """The status of the first answer a resend's outcome repeats, as the outcome names it (`first_status`), or
    None when it is no resend's answer. An outcome published by a version before that field (no such key) is
    read by its reason's words (`first_status`), as those versions wrote them."""
    if "first_status" in outcome:
        named = outcome["first_status"]
        return str(named) if named else None
    return first_status(str(outcome.get("reason", "")), str(outcome.get("command_id") or ""))


def first_status(reason: str, command_id: str) -> str | None:
    """The status of the first answer a duplicate's reason quotes ("applied" when it names the change
    the command made), or None when the reason is not a duplicate's answer for this command_id."""
    found = _DUPLICATE.match(reason or "")
    if found is None or found["id"] != command_id:
        return None
    return "applied" if found["made"] else found["status"]


# --- a param given as text (the CLI's --param KEY=VALUE) ---------------------------------------------
# Read as JSON, a revision or action_id made only of digits became a number, and `true`/`null` a
# boolean or nothing, which the schema then refused: the text is typed by what the command's own
# params model declares for that key, so a string param stays a string whatever it spells.

# The whitespace JSON allows around a value (RFC 8259 §2: space, tab, line feed, carriage return); str.strip() with
# no argument strips every Unicode space (a no-break space, an ideographic space), which the message's JSON refuses.
_JSON_SPACE = " \t\n\r"


def param_from_text(command: str, key: str, text: str) -> Any:
    """`text` as the JSON type `command`'s params model declares for `key`: a string param as it is,
    an integer from its digits, a boolean from true/false. Raises CommandError naming the param when
    the text cannot be that type. A key the command does not take is returned as text: the schema's
    check then names the params it takes."""
    model = _MODELS.get(command)
    params = model.model_fields.get("params") if model else None
    annotation = params.annotation if params else None
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return text
    declared = annotation.model_json_schema().get("properties", {}).get(key)
    if declared is None:
        return text
    types = {d.get("type") for d in (declared, *declared.get("anyOf", ()))} - {None, "null"}
    if "string" in types:
        return text
    # Read as the message's JSON reads the same value, and no more leniently: a whole number as JSON writes one
    # (RFC 8259 §6: no leading zero, no sign, no fraction), a flag as `true` or `false` alone (§3: the literal names
    # are lowercase), whitespace around either insignificant, as around a JSON value (§2). "TRUE" and "True" were
    # read as true here while the JSON path refused them, so one command was read two ways by how it was sent.
    if "integer" in types and re.fullmatch(r"0|[1-9][0-9]*", text.strip(_JSON_SPACE)):
        return int(text.strip(_JSON_SPACE))
    if "integer" in types and _number_said(text):
        # "+2" was read as 2 and "+5" as 5: a change asked for ("two more") sent as the new value itself, a scale
        # on a guess. Refused as the same text in a message's body is (`_number_said`).
        raise CommandError(f"command.params.{key}", f"{quoted(text, 60)} is not a whole number{_number_said(text)}")
    whole = re.fullmatch(r"\s*([0-9]+)(?:\.0*)?\s*", text) if "integer" in types else None
    if whole:   # " 6", "06", "6.0": the JSON path names the number too ("got 6.0: send a whole number, 6")
        refused = _whole_refused(("params", key), int(whole[1]))
        instead = (f", and {int(whole[1])} is refused too: {refused}" if refused else
                   f": write {key}={int(whole[1])}")
        raise CommandError(f"command.params.{key}", f"{quoted(text, 60)} is not a whole number as JSON writes one "
                                                    f"(no leading zero, no decimal point){instead}; nothing was sent")
    if "boolean" in types and text.strip(_JSON_SPACE) in ("true", "false"):
        return text.strip(_JSON_SPACE) == "true"
    if "boolean" in types:
        raise CommandError(f"command.params.{key}", _flag_text_said(text, key))
    wanted = " or ".join(sorted({"integer": "a whole number", "boolean": "true or false"}.get(t, str(t))
                                for t in types))
    raise CommandError(f"command.params.{key}", f"{quoted(text, 120)} is not {wanted}, as {command}'s {key} must be")
