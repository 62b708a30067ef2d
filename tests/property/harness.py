"""Run a generated event program against one fresh Runwarden on real parts, and record what it did.

One example = one `Run`: fresh stand-ins (Run, Monitoring, Logging, VPC Access), an emptied
Firestore emulator, a Pub/Sub namespace of its own, and a `World` whose pinned clock the program
moves. Runwarden is driven only through `handle_alert` / `handle_command` (World.handle and
World.command); the program's other steps are things the outside world does: an operator's kill
switch, API faults injected through the stand-ins, time passing, Google finishing an operation.

After every step the run notes what the stand-ins received and which writes took effect, so the
invariants in test_invariants.py can be checked against the whole trace:
- write *calls*: requests received by UpdateService / PatchConnector (even refused ones);
- writes that *took effect*: the Run service's generation moved (one per accepted UpdateService),
  or the VPC stand-in accepted a patch and started an operation.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from sandbox.emulators import PubSubNamespace
from sandbox.scenarios import seed
from sandbox.standins.server import StandIns, start_standins
from sandbox.standins.vpcaccess import RestRequest
from shared.errors import AttemptInProgress, TransientError, WriteInFlight
from shared.outcomes import Outcome
from shared.pipeline import handle_alert
from shared.remediation.records import ACTIONS
from tests.integration.world import SERVICE, World

# Long enough for any claim to lapse: the longest claim lease the generated configs allow
# (guardrails.claim_ttl_seconds, at most 3,600 s) plus the clock-skew allowance (5 min).
LEASE_LAPSED_MINUTES = 66

# T0 of every seeded scenario (as tests/integration/conftest.py's `anchor`).
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
START_MINUTES = 2.0  # World's pinned clock starts at T0 + 2 minutes
INCIDENTS = ("0.alpha", "0.bravo")

TARGET_OF = {"rollback_traffic": SERVICE, "restore_traffic": SERVICE, "scale_connector": CONNECTOR}


# --- the steps of a program -------------------------------------------------------------------


@dataclass(frozen=True)
class Open:
    """Deliver an OPEN notification (message ids come from a small pool: duplicates happen)."""
    incident: int
    message: int

    def __str__(self) -> str:
        return f"open({INCIDENTS[self.incident]}, msg {self.message})"


@dataclass(frozen=True)
class Concurrent:
    """Deliver the same OPEN alert from `threads` threads at once (same message id, or one each)."""
    incident: int
    message: int
    threads: int
    same_message: bool

    def __str__(self) -> str:
        return (f"concurrent×{self.threads}({INCIDENTS[self.incident]}, "
                f"{'same msg' if self.same_message else 'distinct msgs'} {self.message})")


@dataclass(frozen=True)
class Crossing(Concurrent):
    """Both incidents' OPENs delivered at once from `threads` threads (thread i: incident i % 2, each its own
    message id): two incidents writing one target at the same moment, which the target's write claim
    (guardrails.WRITING) must keep apart at any cooldown. Observed as one Concurrent step per incident
    (`Run._split_crossing`), each with the writes its own threads made."""

    def __str__(self) -> str:
        return f"crossing×{self.threads}(both incidents, msg {self.message})"


@dataclass(frozen=True)
class Close:
    """Deliver the CLOSED notification of an incident (may come before its OPEN)."""
    incident: int
    message: int

    def __str__(self) -> str:
        return f"closed({INCIDENTS[self.incident]}, msg {self.message})"


@dataclass(frozen=True)
class Sweep:
    """Advance the clock, then the scheduler's sweep command."""
    minutes: int

    def __str__(self) -> str:
        return f"sweep(+{self.minutes}m)"


@dataclass(frozen=True)
class KillSwitch:
    engaged: bool

    def __str__(self) -> str:
        return f"kill_switch({'on' if self.engaged else 'off'})"


@dataclass(frozen=True)
class Fault:
    """Through a stand-in: the next `n` calls of `method` fail with UNAVAILABLE, or (deny) every
    call of it fails with PERMISSION_DENIED until the faults are cleared."""
    standin: str   # run | monitoring | logging | vpcaccess
    method: str
    n: int = 0     # 0: deny
    clear: bool = False
    code: str = "UNAVAILABLE"   # of the `n` failures: UNAVAILABLE or DEADLINE_EXCEEDED

    def __str__(self) -> str:
        if self.clear:
            return "clear_faults()"
        what = "deny" if self.n == 0 else f"{self.code.lower()}×{self.n}"
        return f"fault({self.standin}.{self.method}: {what})"


@dataclass(frozen=True)
class QuotaFault:
    """Through a stand-in: the next `n` calls of `method` are refused RESOURCE_EXHAUSTED for a rate quota
    (Faults.rate_limit: an ErrorInfo RATE_LIMIT_EXCEEDED naming a per-minute limit, a QuotaFailure, and a RetryInfo
    of `retry_delay` seconds when set), as Google's front end refuses a call over its quota (sandbox/standins/
    faults.py QuotaRefusal). A write so refused is sent again at most once within its call, after the wait the
    answer asks for when it is at most CallPolicy.longest_quota_wait (a RetryInfo of 0.05 s), else (the limit's
    minute, no RetryInfo) left to the redelivery (shared/gcp/endpoints.py quota_wait). Count-bound, not
    time-bound (`times`), so both tiers refuse the same calls whatever their speed."""
    standin: str   # run | monitoring | logging | vpcaccess
    method: str
    n: int
    retry_delay: float | None = None

    def __str__(self) -> str:
        wait = f", retry in {self.retry_delay:g}s" if self.retry_delay is not None else ""
        return f"quota({self.standin}.{self.method}: resource_exhausted×{self.n}{wait})"


# The API each stand-in stands for, and a per-minute rate limit of it (its ErrorInfo's metadata; the names are
# made up in Google's style: "ReadRequestsPerMinutePerProject", google/api/error_reason.proto's example).
QUOTA_SERVICES = {"run": "run.googleapis.com", "monitoring": "monitoring.googleapis.com",
                  "logging": "logging.googleapis.com", "vpcaccess": "vpcaccess.googleapis.com"}
QUOTA_WRITES = ("UpdateService", "PatchConnector")


# A field of a notification given twice, in Monitoring's spelling and another (a relay that rewrote one and not
# the other; shared/alerts/incidents.py, CHANGELOG 0.2.0 "a notification field or resource label given in another
# spelling"): with another value the notification is refused, neither value used; with the same value it is read
# as before. (field, the other spelling, the value it is given: "early" an hour before started_at, "other" the
# other incident's id, "frontend" another service, "same" the field's own value.)
RESPELLINGS = (("started_at", "startedAt", "early"), ("incident_id", "incidentId", "other"),
               ("service_name", "serviceName", "frontend"), ("started_at", "startedAt", "same"))


@dataclass(frozen=True)
class Respelled:
    """An OPEN of `incident` whose notification gives a field twice (RESPELLINGS[kind]), under a message id of its
    own: refused (`rejected`, nothing written) unless both spellings carry one value. Redelivered as it was sent."""
    incident: int
    kind: int

    @property
    def differs(self) -> bool:
        return RESPELLINGS[self.kind][2] != "same"

    @property
    def message_id(self) -> str:
        return f"{INCIDENTS[self.incident]}-respelled-{self.kind}"

    def __str__(self) -> str:
        field_name, other, value = RESPELLINGS[self.kind]
        return f"open({INCIDENTS[self.incident]}, {field_name} and {other} ({value}))"


@dataclass(frozen=True)
class StoreFault:
    """Runwarden's state store (Firestore) fails its next `n` calls of a group: `read` (reads),
    `claim` (the claim's commit) or `write` (completing a claim, records); with `lost`, a commit
    lands and its answer is lost; with `method`, only that method's calls of the group fail (e.g.
    `complete`: the claim's completion after a write, past the intent stored before it). Injected
    by FaultyStateStore (tests/unit/fakes.py) around the port, in both tiers."""
    group: str     # read | claim | write
    n: int
    code: str = "UNAVAILABLE"
    lost: bool = False
    method: str = ""

    def __str__(self) -> str:
        only = f" {self.method}" if self.method else ""
        return (f"store_fault({self.group}{only}: {self.code.lower()}×{self.n}"
                f"{', answer lost' if self.lost else ''})")


@dataclass(frozen=True)
class PublishFault:
    """The next `n` outcome publishes fail (Pub/Sub UNAVAILABLE): nothing is published, the handler raises."""
    n: int

    def __str__(self) -> str:
        return f"publish_fault(×{self.n})"


@dataclass(frozen=True)
class Advance:
    minutes: int

    def __str__(self) -> str:
        return f"advance(+{self.minutes}m)"


@dataclass(frozen=True)
class Settle:
    """Google finishes every operation in flight (a real LRO ends whether anyone polls it or not)."""

    def __str__(self) -> str:
        return "settle_operations()"


@dataclass(frozen=True)
class Skewed:
    """Deliver an OPEN to an instance whose clock is `seconds` off the others' (±2 min is what
    unsynchronised instances may show)."""
    incident: int
    message: int
    seconds: int

    def __str__(self) -> str:
        return f"open({INCIDENTS[self.incident]}, msg {self.message}, clock {self.seconds:+d}s)"


@dataclass(frozen=True)
class Jump:
    """Every instance's clock steps back `minutes` (an NTP correction)."""
    minutes: int

    def __str__(self) -> str:
        return f"clock_jump(-{self.minutes}m)"


@dataclass(frozen=True)
class Pause:
    """An operator pauses (or resumes) writes to one target: `service` or `connector`."""
    target: str
    engaged: bool

    def __str__(self) -> str:
        return f"{'pause' if self.engaged else 'resume'}({self.target})"


@dataclass(frozen=True)
class OperatorRollback:
    """An operator's rollback_traffic command (ids from a small pool: a repeated id is a resend),
    to the last known-good revision or to the oldest one by name."""
    command: int
    named: bool

    def __str__(self) -> str:
        return f"rollback_command(#{self.command}{', named revision' if self.named else ''})"


@dataclass(frozen=True)
class OperatorScale:
    """An operator's scale_connector command to `max_instances` (maybe above the policy's ceiling)."""
    command: int
    max_instances: int

    def __str__(self) -> str:
        return f"scale_command(#{self.command}, max {self.max_instances})"


@dataclass(frozen=True)
class OperatorRestore:
    """An operator's restore_traffic command (ids from a small pool: a repeated id is a resend): `to_latest`,
    100% to the latest Ready revision, which releases a rollback's pin; or the split recorded before incident
    `of`'s rollback (its action id, `claim_key(incident, service, rollback_traffic)`: rejected when there is
    no such record). A corrective write: not held back by cooldown or budgets, and recorded by no action
    record (docs/actions.md)."""
    command: int
    to_latest: bool
    of: int = 0

    def __str__(self) -> str:
        what = "to latest" if self.to_latest else f"before {INCIDENTS[self.of]}'s rollback"
        return f"restore_command(#{self.command}, {what})"


@dataclass(frozen=True)
class Approve:
    """An operator approves the incident's proposed connector change (by its proposal id); with
    `dry_run`, asks what would be done, under a command id of its own (a new one each pool entry).
    `when`: at once (""), or once the clock has moved to just before (`before_expiry`, 1 min) or
    just after (`after_expiry`, 1 min) the proposal's expiry, when a proposal open then exists.
    `person`: a person's change lands at the gate's claim within this approval, after its check and
    before the gate's read right before the write: of the connector (PersonConnector's `change`, 0-1),
    or of the service's traffic (2-3: PersonTraffic's split 0-1)."""
    incident: int
    command: int
    dry_run: bool = False
    when: str = ""
    person: int | None = None

    def __str__(self) -> str:
        person = "" if self.person is None else f", person {PERSON_DURING_APPROVAL[self.person]} at the gate claim"
        return (f"approve({INCIDENTS[self.incident]} scale_connector, #{self.command}"
                f"{', dry run' if self.dry_run else ''}{f', {self.when}' if self.when else ''}{person})")


@dataclass(frozen=True)
class Reject:
    """An operator rejects the incident's proposed connector change (by its proposal id): a
    decision an approval after it must find already made."""
    incident: int
    command: int

    def __str__(self) -> str:
        return f"reject({INCIDENTS[self.incident]} scale_connector, #{self.command})"


@dataclass(frozen=True)
class Release:
    """An operator releases the hold an escalated plan of the incident keeps on its automatic writes
    (`release`, operators only; ids from a small pool: a repeated id is a resend): the incident's
    escalated alert plan found in state, or, with none, the plan its first message would have stored
    (rejected: no such plan). A state write, nothing written to Google Cloud; once it applies, the
    incident's next notification is diagnosed afresh and may write again (invariants.once_per_claim
    counts its writes afresh from there)."""
    incident: int
    command: int

    def __str__(self) -> str:
        return f"release({INCIDENTS[self.incident]} escalated plan, #{self.command})"


@dataclass(frozen=True)
class ApproveRace:
    """Approvals of the incident's proposal sent at once on threads: `approvals` of them (each under
    its own command id from the pool, or all under one: a duplicated command), beside an alert of
    the same incident (`with_alert`: a new message id, the automatic path on the same incident)."""
    incident: int
    approvals: int
    same_command: bool
    with_alert: bool

    def __str__(self) -> str:
        return (f"approve_race({INCIDENTS[self.incident]}, {self.approvals} approval(s) "
                f"{'under one command id' if self.same_command else 'under distinct ids'}"
                f"{', with an alert' if self.with_alert else ''})")


# What a person changes on the connector by hand (gcloud ... connectors update): one more instance
# at most, or the larger machine type. Both are scale-ups, as the API allows.
PERSON_CONNECTOR_CHANGES = ("max+1", "machine")
# Beyond the drawn ones (directed programs only): the machine type put back to e2-micro, as Terraform
# applying its own `machine_type` (the provider's default is e2-micro) does after a scale-up by another hand.
CONNECTOR_CHANGE_NAMES = (*PERSON_CONNECTOR_CHANGES, "machine back to e2-micro")
# What a person changes within an approval (Approve.person): the connector (PERSON_CONNECTOR_CHANGES), or
# the service's traffic (PERSON_SPLITS), landing at the approval's gate claim.
PERSON_DURING_APPROVAL = (*PERSON_CONNECTOR_CHANGES, "traffic 90/10", "traffic 50/50")


@dataclass(frozen=True)
class PersonConnector:
    """A person changes the connector outside Runwarden (`change` indexes PERSON_CONNECTOR_CHANGES):
    now, or (`at_claim`) landing just after the gate's next claim commit, from here: after an
    approval's check (or an alert's evidence) and before the gate's check right before its write;
    or (`after_patch`) landing as the next patch's operation is answered done without an error, from
    here: between the end of Runwarden's patch and its read-back of the connector (a person's
    update is refused while the connector is UPDATING, so this is the first moment one can land).
    The v1 Connector has no etag, so the gate sees the change only by reading the connector."""
    change: int
    at_claim: bool
    after_patch: bool = False

    def __str__(self) -> str:
        when = ", right after a patch's operation" if self.after_patch else ", at the gate claim" if self.at_claim else ""
        return f"person_connector({CONNECTOR_CHANGE_NAMES[self.change]}{when})"


@dataclass(frozen=True)
class Renotify:
    """Cloud Monitoring notifies the same incident again `minutes` later (same incident_id and
    started_at, a new Pub/Sub message): an incident left open re-notifies at the policy's
    notification_rate_limit (docs/behaviour.md). Past `claim_retention_seconds` the completed
    claim is gone, and only the incident's action record answers."""
    incident: int
    minutes: int

    def __str__(self) -> str:
        return f"renotify({INCIDENTS[self.incident]}, +{self.minutes}m, new msg)"


# What a person writes to the service's traffic by hand (gcloud, the console): a split that is
# neither the rollback's (100 % to the known-good revision) nor the recorded before-state.
PERSON_SPLITS = ((90, 10), (50, 50))
# Beyond the drawn ones (directed programs only): 100% back to the newest revision, which on bad_revision
# is the split before the rollback (a person undoing it by hand). A share of 0 is left out of the split.
PERSON_SPLITS_BACK = (*PERSON_SPLITS, (0, 100))


@dataclass(frozen=True)
class PersonTraffic:
    """A person changes the service's traffic outside Runwarden: now (`after_reads` 0), or landing
    just after Runwarden's `after_reads`-th read of the service (GetService) from here, between that
    read and whatever it does on it next: the sweep's judgement, the undo's check and its write (the
    race the undo's etag closes), or a rollback's evidence and its write. `split` indexes
    PERSON_SPLITS (known-good %, newest %)."""
    split: int
    after_reads: int

    def __str__(self) -> str:
        good, newest = PERSON_SPLITS_BACK[self.split]
        return f"person_traffic({good}/{newest}{f', after read {self.after_reads}' if self.after_reads else ''})"


# The revision a person's deploy after the incident began creates (LateDeploy): newer than every seeded one.
LATE_REVISION = "backend-00009-late"


@dataclass(frozen=True)
class LateDeploy:
    """A person's deploy made after the incident began (`bad_revision` only): a revision created `minutes` after
    T0, the incidents' start, serving `share` % of the traffic beside the newest seeded revision (100: all of it),
    written straight into the Run stand-in as `PersonTraffic` is (generation and etag move). Sending traffic back
    would write over a change made since: the diagnosis stands down (rules/bad_revision.py, `_no_rollback_target`),
    `late_deploys_never_overwritten`."""
    share: int
    minutes: int = 1

    def __str__(self) -> str:
        return f"late_deploy({self.share}% to a revision of T0+{self.minutes}m)"


@dataclass(frozen=True)
class Unreadable:
    """The sweep's evidence (Monitoring's ListTimeSeries) fails UNAVAILABLE for `minutes`, while
    the scheduler sweeps every SWEEP_EVERY minutes; then it reads again. Long enough, an action
    pending through it passes its deadline by more than a verification period unjudged."""
    minutes: int

    def __str__(self) -> str:
        return f"unreadable_evidence({self.minutes}m, sweeping every {SWEEP_EVERY}m)"


SWEEP_EVERY = 10


@dataclass(frozen=True)
class SlowPages:
    """From now until the faults are cleared, the evidence `standin` (monitoring: ListTimeSeries; logging:
    ListLogEntries) answers in many pages (SLOW_PAGE_SHAPES: a few points a page, or a search that stops after a
    few entries with a token to go on, as the API may: ListLogEntriesResponse.next_page_token, logging.proto),
    each taking `seconds` of simulated network time (Faults.slow_pages; nothing sleeps). The pages of one read
    share the call's total (endpoints.PageCursor; 30 s in process, pages of at most 5 s): a read whose pages
    outlast it is cut (WaitDeadline.page_timeout), one page slower than its own deadline too. In process only:
    the real-parts tier's gRPC servers page the same way but ignore the time."""
    standin: str   # monitoring | logging | run (ListRevisions: a service's revisions a page each)
    seconds: int

    def __str__(self) -> str:
        return f"slow_pages({self.standin}, {self.seconds}s a page)"


# The paging a SlowPages step gives its stand-in: Monitoring's points a page (MonitoringStandIn.max_page_size),
# Logging's entries examined per call (LoggingStandIn.search_budget).
# Cloud Run's revisions a page (RunStandIn.revisions_page_size): one, so that a service's few revisions take a page
# each, and a slow page spends the read's total (InProcessRun.list_revisions pages as the wire adapter does).
SLOW_PAGE_SHAPES = {"monitoring": ("max_page_size", 4), "logging": ("search_budget", 4),
                    "run": ("revisions_page_size", 1)}
PAGED_METHODS = {"monitoring": "ListTimeSeries", "logging": "ListLogEntries", "run": "ListRevisions"}

# The connector by its project's number: "{project} can be project id or number" (VpcAccess.connector,
# google/cloud/run/v2/vendor_settings.proto). One connector, two names; the config names it by id (shared/config.py
# refuses a number), so a pause by number is keyed apart (guardrails.pause_key) and found by the gate's query of
# the engaged pauses (Gate._pauses_ahead, guardrails.paused_otherwise). The project number is made up.
NUMBER_CONNECTOR = "projects/123456789012/locations/us-central1/connectors/backend-conn"
# The commands OtherShape sends, and their shapes. "number_name": the connector named by its project's number
# (pause, resume); "null_target": `"target": null`, as a script sends an empty variable; "number_id": the
# command_id a JSON number (a script's `$ID` unquoted). CHANGELOG 0.2.0, "operators' commands": null and a
# numeric id are rejected, nothing done; the numeric id's answer is under its text as sent ("7").
SHAPES = ("number_name", "null_target", "number_id", "array")
REFUSED_SHAPES = ("null_target", "number_id", "array")
# "array": two commands sent as one JSON array, each an object with its own command_id ("array-N-a", "array-N-b",
# from a pool of two, so a repeat is a resend): refused, nothing run, answered once under each id
# (docs/commands.md, "an array of commands is answered once under each command_id its objects give").
ARRAY_IDS = ("a", "b")
NUMBER_ID = 7   # a numeric command_id is NUMBER_ID + OtherShape.command


@dataclass(frozen=True)
class OtherShape:
    """An operator's command sent in another shape than the tool's (SHAPES): `command` is pause, resume,
    approve, reject, status, rollback_traffic or scale_connector. A pause or resume by the number name
    brakes or releases that name's pause (never the id's); a refused shape is answered `rejected` once,
    under its id's text, and does nothing (invariants.other_shapes_refused). `command` ids from a pool of
    two: a repeated numeric id is a resend."""
    shape: str
    command: str
    id: int = 0

    def __str__(self) -> str:
        if self.shape == "array":
            return f"[{self.command}, {self.command}](array, #{self.id})"
        return f"{self.command}({self.shape}{f', #{NUMBER_ID + self.id}' if self.shape == 'number_id' else ''})"


@dataclass(frozen=True)
class ExactNameLease:
    """An instance of a version before `bound_key` (guardrails.bound_keys, ExactNameLeases) left a lease under
    the connector's exact name, live for `minutes` from now: its cooldown (`cooldowns`) or its write claim
    (`writing`). Until it lapses it holds every write to the connector back as the keyed one would (a cooldown
    only where the config has one: a zero cooldown holds nothing, `Gate._cooldown`); a write claim holds
    alerts as a write in flight, redelivered until it lapses (Run.finish). invariants.exact_name_leases_hold."""
    kind: str
    minutes: int

    def __str__(self) -> str:
        return f"exact_name_{'cooldown' if self.kind == 'cooldowns' else 'write_claim'}({self.minutes}m left)"


@dataclass(frozen=True)
class LegacySlot:
    """An instance of a version before `bound_key` took slot `index` of the connector's budget for the hour
    (`hour`) or the day (`day`) at the pinned clock, under the exact name (guardrails.legacy_slot), as such a
    version's write did: kept as long as this version keeps its own (2 days). Stored only where its place is free
    (neither name's slot `index` taken: that version took it before this one wrote there), so each such slot below
    the budget's capacity is one place of the budget taken, counted with this version's writes
    (invariants.cooldown_and_budgets: never N + 1). A slot at or past the capacity takes no place."""
    bucket: str   # hour | day
    index: int

    def __str__(self) -> str:
        return f"exact_name_budget_slot({self.bucket} #{self.index})"


Step = (Open | Concurrent | Close | Sweep | KillSwitch | Fault | StoreFault | PublishFault | Advance | Settle
        | Skewed | Jump | Pause | OperatorRollback | OperatorScale | OperatorRestore | Approve | Reject | ApproveRace
        | Renotify | Release
        | PersonTraffic | PersonConnector | Unreadable | OtherShape | ExactNameLease | LegacySlot | SlowPages
        | QuotaFault | Respelled)
OPERATOR = "oncall@example.com"   # named in every generated config's `operators`
PAUSE_TARGETS = {"service": SERVICE, "connector": CONNECTOR}


class SkewedClock:
    """Another instance's clock: `base` plus a constant offset."""

    def __init__(self, base: Any, seconds: float) -> None:
        self._base, self._offset = base, timedelta(seconds=seconds)

    def now(self) -> datetime:
        return self._base.now() + self._offset


# --- what a run records ---------------------------------------------------------------------


@dataclass
class ApprovalTry:
    """One approve command sent (a step's, a race's thread, a resend): what it found and got."""
    command_id: str
    incident: str
    dry_run: bool
    at: datetime                             # the pinned clock when it was sent
    proposal: dict[str, Any] | None          # the proposal record right before it was sent
    outcomes: list[Outcome] = field(default_factory=list)
    raised: bool = False                     # TransientError: the platform resends it


@dataclass
class Observation:
    index: int
    step: Any
    at: datetime
    incident: str | None                     # the incident an alert step delivered
    update_calls: int = 0                    # UpdateService requests received in this step
    patch_calls: int = 0                     # PatchConnector requests received in this step
    run_writes: int = 0                      # accepted UpdateService (generation moved)
    vpc_writes: int = 0                      # accepted PatchConnector (operation started)
    outcomes: list[Outcome] = field(default_factory=list)
    transient: int = 0                       # deliveries that raised TransientError (to be retried)
    errors: list[str] = field(default_factory=list)   # anything else raised: always a failure
    restored: list[str] = field(default_factory=list)  # sweep: action keys whose undo was attempted
    kill_switch_on: bool = False             # the operator's flag was engaged during this step
    closed_before: frozenset[str] = frozenset()        # incidents whose CLOSED had been handled
    paused: frozenset[str] = frozenset()               # targets an operator had paused
    skew: float = 0                                    # seconds the acting instance's clock was off
    claim_incident: str | None = None                  # a command's writes: the incident its claim names
    store_faults: int = 0                              # state-store faults raised to Runwarden in this step
    late_serving: bool = False   # a revision deployed after the incident began served as the step began (LateDeploy)
    person_writes: int = 0                             # traffic changes a person made (not Runwarden's)
    person_generation: int = 0                         # the service's generation right after the last of them
    final_generation: int = 0                          # the service's generation at the end of the step
    approvals: list[ApprovalTry] = field(default_factory=list)   # every approve sent in this step
    person_connector: int = 0                          # changes a person made to the connector
    vpc_ops_before: int = 0                            # Runwarden's accepted patches before the step
    command_id: str = ""                               # an operator command step's command_id, as text
    ended: datetime | None = None                      # the pinned clock at the end of the step
    reads_cut: int = 0                                 # paged reads refused a page: their shared deadline spent
    pending_before: int = 0                            # sweep: action records pending (or undoing) at its start
    judged: list[str] = field(default_factory=list)    # sweep: action keys it verified, undid or began to undo
    crossing: bool = False                             # one incident's part of a Crossing step (_split_crossing)

    @property
    def write_calls(self) -> int:
        return self.update_calls + self.patch_calls

    def describe(self) -> str:
        bits = [f"#{self.index} {self.step} @T0+{(self.at - ANCHOR).total_seconds() / 60:g}m"]
        if self.write_calls or self.run_writes or self.vpc_writes:
            bits.append(f"UpdateService {self.update_calls} call(s)/{self.run_writes} took effect, "
                        f"PatchConnector {self.patch_calls}/{self.vpc_writes}")
        if self.outcomes:
            bits.append("outcomes " + ", ".join(
                f"{o.status.value}{'(' + o.action.name + ')' if o.action else ''}" for o in self.outcomes))
        if self.transient:
            bits.append(f"{self.transient} transient")
        if self.store_faults:
            bits.append(f"{self.store_faults} state-store fault(s) raised")
        if self.person_writes or self.person_connector:
            bits.append(f"{self.person_writes + self.person_connector} change(s) by a person")
        if self.errors:
            bits.append(f"errors {self.errors}")
        return " | ".join(bits)


@dataclass
class Run:
    world: World
    scenario: str
    settings: dict[str, Any]
    trace: list[Observation] = field(default_factory=list)
    failed_deliveries: list[tuple[int, str, bool]] = field(default_factory=list)  # (incident, msg id, closed)
    # Final redeliveries that an earlier attempt's claim held back (AttemptInProgress).
    waiting_deliveries: list[tuple[int, str, bool]] = field(default_factory=list)
    _commands: int = 0
    _kill_switch: bool = False
    _closed: set[str] = field(default_factory=set)
    _paused: set[str] = field(default_factory=set)
    failed_commands: list[dict[str, Any]] = field(default_factory=list)   # bodies that raised TransientError
    # Final resends that an earlier attempt's claim held back (CommandInProgress, or the gate's InProgress).
    waiting_commands: list[dict[str, Any]] = field(default_factory=list)
    failed_sweeps: int = 0                   # sweeps that raised TransientError (the scheduler's next one follows)
    # Sweeps the state store failed, raised or not: each may have left work to the sweep past its lease (`finish`).
    faulted_sweeps: int = 0
    late_deployed: bool = False              # a LateDeploy step ran: each step notes whether its revision serves
    sent_commands: list[str] = field(default_factory=list)   # every operator command's id sent, in order
    dead_lettered: bool = False              # ended by dead_letter(): nothing raised was delivered again
    _renotified: int = 0
    # A person's connector changes: (step index, Runwarden's accepted patches so far) when each landed.
    person_connector_log: list[tuple[int, int]] = field(default_factory=list)
    # The connector as stored right before each PatchConnector the stand-in accepted, in order:
    # (machine type, min, max instances).
    patched_on: list[tuple[str, int, int]] = field(default_factory=list)
    _person_armed: PersonTraffic | None = None   # a person's change to land after a later GetService
    _connector_armed: PersonConnector | None = None   # a person's connector change to land after a patch
    _person_reads: int = 0                        # GetService answers until it lands
    _current: Observation | None = None         # the step being run
    # When the world began to answer the rollback's traffic (`_follow_rollback`): T0 + minutes, or None.
    rolled_back_from: int | None = None
    # Two of Runwarden's writes to one target in flight at once (set_traffic, update_connector), as seen
    # around the adapters' write methods (`_note_writes`): each a description; never any (writes_never_overlap).
    overlaps: list[str] = field(default_factory=list)
    # Every alert delivery held back by another write in flight (WriteInFlight): (step index, message id, holder).
    held_alerts: list[tuple[int, str, str]] = field(default_factory=list)
    # Each alert delivery's end, by message id, in order: (step index, answered: an outcome, not raised).
    delivery_ends: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    _in_flight: Counter = field(default_factory=Counter)
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _writer: threading.local = field(default_factory=threading.local)
    # During a Crossing step: each incident's writes, (UpdateService, PatchConnector calls, Run writes, VPC writes).
    _crossed: dict[int, list[int]] | None = None
    # Leases an earlier version left under the connector's exact name (ExactNameLease): (step index, kind, lapse).
    exact_name_leases: list[tuple[int, str, datetime]] = field(default_factory=list)
    # Budget slots an earlier version took under the connector's exact name (LegacySlot), each stored where its
    # place was free: (step index, the bucket as its key names it: an hour or a day, the slot's index).
    legacy_slots: list[tuple[int, str, int]] = field(default_factory=list)
    # Message ids whose notification gives a field twice (Respelled): the RESPELLINGS index, kept so that a
    # redelivery carries the same bytes, as Pub/Sub's does.
    respellings: dict[str, int] = field(default_factory=dict)
    # Once a QuotaFault was injected: each write (set_traffic, update_connector) whose calls were refused for quota
    # more than twice (its send and its one retry), or that took effect more than once (quota_refusals_sent_again_once).
    quota_armed: bool = False
    quota_problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._note_patches()
        self._note_writes()

    def _note_writes(self) -> None:
        """Runwarden's writes watched at the adapters (an instance attribute over each write method): two to
        one target in flight at once are noted in `overlaps`. Within a Crossing step each write is held a
        moment (2 ms) once counted, so that two let through together are seen together, and what it did is
        counted for the incident of the thread that made it."""
        for adapter, method, target in ((self.world.adapters.run, "set_traffic", SERVICE),
                                        (self.world.adapters.vpcaccess, "update_connector", CONNECTOR)):
            setattr(adapter, method, self._watched(getattr(adapter, method), target))

    def _watched(self, write: Any, target: str) -> Any:
        def watched(*args: Any, **kwargs: Any) -> Any:
            if self.quota_armed:
                return self._quota_watched(write, target, *args, **kwargs)
            return self._watched_write(write, target, *args, **kwargs)
        return watched

    def _quota_watched(self, write: Any, target: str, *args: Any, **kwargs: Any) -> Any:
        """A write once quota refusals are drawn: the refusals of its calls and what took effect counted around it.
        One write to a target is in flight at a time (writes_never_overlap), so the counts are its own."""
        standin, method = ((self.standins.run, "UpdateService") if target == SERVICE
                           else (self.standins.vpcaccess, "PatchConnector"))
        refused, took = standin.faults.quota_refused.get(method, 0), self._counters()
        try:
            return self._watched_write(write, target, *args, **kwargs)
        finally:
            refusals = standin.faults.quota_refused.get(method, 0) - refused
            after = self._counters()
            effects = (after[2] - took[2]) if target == SERVICE else (after[3] - took[3])
            where = f"step #{len(self.trace)} {self._current.step if self._current else ''}"
            if refusals > 2:
                self.quota_problems.append(f"{where}: one {method} refused for quota {refusals} times within its call "
                                           "(sent again more than once)")
            if refusals and effects > 1:
                self.quota_problems.append(f"{where}: one {method} refused for quota took effect {effects} times")

    def _watched_write(self, write: Any, target: str, *args: Any, **kwargs: Any) -> Any:
        crossing = self._crossed is not None
        with self._write_lock:
            self._in_flight[target] += 1
            if self._in_flight[target] > 1:
                self.overlaps.append(f"step #{len(self.trace)} {self._current.step if self._current else ''}: "
                                     f"{self._in_flight[target]} writes to {target} in flight at once")
            before = self._counters() if crossing else ()
        try:
            if crossing:
                time.sleep(0.002)
            return write(*args, **kwargs)
        finally:
            with self._write_lock:
                self._in_flight[target] -= 1
                if crossing and self._crossed is not None:
                    after = self._counters()
                    calls = self._new_calls(before, after)
                    done = self._crossed[getattr(self._writer, "incident", 0)]
                    for i, n in enumerate((*calls, after[2] - before[2], after[3] - before[3])):
                        done[i] += n

    def _ended(self, message_id: str, answered: bool, exc: BaseException | None = None) -> None:
        """A delivery's end noted (under the caller's lock where threads deliver)."""
        self.delivery_ends.setdefault(message_id, []).append((len(self.trace), answered))
        if isinstance(exc, WriteInFlight):
            self.held_alerts.append((len(self.trace), message_id, exc.holder))

    @property
    def standins(self) -> StandIns:
        return self.world.standins

    def _note_patches(self) -> None:
        """`patched_on` kept: the VPC stand-in's PATCH handler (looked up on the instance for each
        request, run under its lock) wrapped to note the stored connector of each patch it accepts."""
        vpc = self.standins.vpcaccess
        handler = vpc._patch_connector

        def noted(request: Any, name: str) -> Any:
            stored = vpc._require_connector(name)
            found = (stored.get("machineType", "e2-micro"), int(stored.get("minInstances", 0)),
                     int(stored.get("maxInstances", 0)))
            answer = handler(request, name)
            self.patched_on.append(found)
            return answer

        vpc._patch_connector = noted

    # --- reading the stand-ins ----------------------------------------------------------------

    def _run_generation(self) -> int:
        # Read in place, under the stand-in's lock: `service()` would copy the whole service (twice
        # per step) for one number. (Read-only peek into the test double, as _vpc_operations.)
        # The raw protobuf's field: proto-plus's attribute access costs more than the rest of the read.
        run = self.standins.run
        with run.lock:
            service = run._require_service(SERVICE)
            return type(service).pb(service).generation

    def _vpc_operations(self) -> int:
        # Accepted patches: the VPC stand-in keeps one operation per accepted PatchConnector.
        # (Read-only peek into the test double; the call log also records refused requests.)
        vpc = self.standins.vpcaccess
        with vpc.lock:
            return len(vpc._operations)

    def _counters(self) -> tuple[int, int, int, int]:
        """(calls logged by Run, by VPC Access, Run's generation, VPC's operations), before and after a step."""
        return (_logged(self.standins.run), _logged(self.standins.vpcaccess), self._run_generation(),
                self._vpc_operations())

    def _new_calls(self, before: tuple[int, ...], after: tuple[int, ...]) -> tuple[int, int]:
        """UpdateService and PatchConnector requests received during the step: only the calls logged
        since it began are looked at (the logs only grow), not the whole program's twice per step."""
        return (_since(self.standins.run, before[0], after[0], "UpdateService"),
                _since(self.standins.vpcaccess, before[1], after[1], "PatchConnector"))

    def _deadlines_spent(self) -> int:
        """Paged reads so far given no page because their shared deadline was spent (in process only: the
        in-process transports count them, sandbox/inprocess.py `Transport.page_deadline`; 0 on real parts)."""
        adapters = self.world.adapters
        return sum(getattr(getattr(adapter, "_transport", None), "deadline_spent", 0)
                   for adapter in (adapters.monitoring, adapters.logging, adapters.run))

    def _slow_pages(self, step: SlowPages) -> None:
        """SlowPages: the stand-in's paging narrowed (its own attribute: a copy's, never the seeded template's)
        and its pages slowed. Its answers then differ from the seeded state's: in process they are kept by
        request under that shape instead (FastWorld.page_shape)."""
        standin = getattr(self.standins, step.standin)
        attribute, value = SLOW_PAGE_SHAPES[step.standin]
        if hasattr(self.world, "page_shape") and step.standin != "run":   # in process: kept answers follow the shape
            self.world.page_shape(step.standin, attribute, value)
        else:
            setattr(standin, attribute, value)
        standin.faults.slow_pages(step.seconds, PAGED_METHODS[step.standin])

    def _store_faults(self) -> int:
        return len(getattr(self.world.adapters.state, "injected", ()))

    def _records(self) -> dict[str, dict[str, Any]]:
        return {r["key"]: r for r in self.action_records()}

    def action_records(self) -> list[dict[str, Any]]:
        """Every action record: those of the service, and an operator's on the connector itself."""
        return [r for target in (SERVICE, CONNECTOR) for r in self.world.state.find_records(ACTIONS, "service", target)]

    # --- running a program --------------------------------------------------------------------

    def execute(self, program: list[Any]) -> None:
        for step in program:
            self.step(step)
        self.finish()

    def finish(self) -> None:
        """The outage ends and the platform redelivers every delivery that raised (once)."""
        self.step(Fault("run", "", clear=True))   # also the state store's and the publisher's faults
        self.step(Settle())
        pending, self.failed_deliveries = self.failed_deliveries, []
        for incident, message_id, closed in pending:
            self.step(_Redeliver(incident, message_id, closed))
        waiting, self.waiting_deliveries = self.waiting_deliveries, []
        if waiting:
            # An earlier attempt's claim held them back (AttemptInProgress): Pub/Sub goes on
            # redelivering until it lapses, by when that attempt has certainly ended.
            self.step(Advance(LEASE_LAPSED_MINUTES))
            for incident, message_id, closed in waiting:
                self.step(_Redeliver(incident, message_id, closed))
        commands, self.failed_commands = self.failed_commands, []
        for body in commands:
            self.step(_Resend(body))
        waiting, self.waiting_commands = self.waiting_commands, []
        if waiting:
            # As for deliveries: Pub/Sub goes on redelivering a command an earlier attempt's claim
            # holds back, and by the time that claim has lapsed the attempt has certainly ended.
            self.step(Advance(LEASE_LAPSED_MINUTES))
            for body in waiting:
                self.step(_Resend(body))
        sweeps, self.failed_sweeps = self.failed_sweeps, 0
        for _ in range(sweeps):
            self.step(Sweep(0))
        if self.faulted_sweeps:
            # A sweep the state store failed defers what it could not do to the scheduler's next sweeps, without
            # raising (Sweep._step, `_unrecorded_intents`): an unrecorded write whose adoption failed stays open
            # under the incident's claim that sweep took over, and every sweep within that claim's lease leaves it
            # (intents.swept_standing: held). The scheduler goes on sweeping: the first past the lease records it.
            self.faulted_sweeps = 0
            self.step(Advance(LEASE_LAPSED_MINUTES))
            self.step(Sweep(0))

    def dead_letter(self) -> None:
        """The outage ends and nothing is delivered again: every delivery or command that raised is
        dead-lettered (a subscription with few `max_delivery_attempts`, while an attempt's claim is
        still held). Then, past every lease, the scheduler's sweep is all that is left to find a
        write no attempt recorded (docs/behaviour.md, "The sweep's backstop")."""
        self.dead_lettered = True
        self.step(Fault("run", "", clear=True))   # also the state store's and the publisher's faults
        self.step(Settle())
        self.failed_deliveries, self.waiting_deliveries = [], []
        self.failed_commands, self.waiting_commands, self.failed_sweeps = [], [], 0
        self.step(Advance(LEASE_LAPSED_MINUTES + 5))   # the lease, the sweep's margin, any skew or clock jump
        self.step(Sweep(0))

    def step(self, step: Any) -> Observation:
        world = self.world
        before, faults_before, spent_before = self._counters(), self._store_faults(), self._deadlines_spent()
        records_before = self._records() if isinstance(step, Sweep) else {}
        obs = Observation(len(self.trace), step, world.clock.now(), None, kill_switch_on=self._kill_switch,
                          closed_before=frozenset(self._closed), paused=frozenset(self._paused),
                          vpc_ops_before=before[3])
        self._current = obs
        obs.late_serving = self.late_deployed and self._late_serving()
        if isinstance(step, Renotify):
            world.clock.advance(step.minutes * 60)
            obs.at, obs.incident = world.clock.now(), INCIDENTS[step.incident]
            self._renotified += 1
            self._deliver(obs, step.incident, f"{obs.incident}-renotify-{self._renotified}", False)
        elif isinstance(step, PersonTraffic):
            if step.after_reads and self._hook_reads():
                self._person_armed, self._person_reads = step, step.after_reads
            else:
                self._person_change(step, obs)
        elif isinstance(step, Unreadable):
            self._unreadable(obs, step)
        elif isinstance(step, LateDeploy):
            self._late_deploy(step, obs)
        elif isinstance(step, Skewed):
            obs.incident, obs.skew = INCIDENTS[step.incident], step.seconds
            self._deliver(obs, step.incident, _message_id(step, False), False, skew=step.seconds)
        elif isinstance(step, Jump):
            world.clock.advance(-step.minutes * 60)
        elif isinstance(step, PersonConnector):
            if step.after_patch:
                self._after_next_patch(step)
            elif step.at_claim:
                self.step_within(step)
            else:
                self._connector_change(step, obs)
        elif isinstance(step, ApproveRace):
            obs.incident = INCIDENTS[step.incident]
            self._approve_race(obs, step)
        elif isinstance(step, (Pause, OperatorRollback, OperatorScale, OperatorRestore, Approve, Reject, Release,
                               OtherShape, _Resend)):
            self._operator(obs, step)
        elif isinstance(step, ExactNameLease):
            self._exact_name_lease(step)
        elif isinstance(step, LegacySlot):
            self._legacy_slot(step)
        elif isinstance(step, SlowPages):
            self._slow_pages(step)
        elif isinstance(step, (Open, Close, _Redeliver)):
            closed = isinstance(step, Close) or (isinstance(step, _Redeliver) and step.closed)
            obs.incident = INCIDENTS[step.incident]
            message_id = step.message_id if isinstance(step, _Redeliver) else _message_id(step, closed)
            self._deliver(obs, step.incident, message_id, closed)
            if closed and not obs.transient and not obs.errors:
                self._closed.add(obs.incident)
        elif isinstance(step, Crossing):
            self._crossed = {0: [0, 0, 0, 0], 1: [0, 0, 0, 0]}
            try:
                self._deliver_concurrently(obs, step)
            finally:
                crossed, self._crossed = self._crossed, None
        elif isinstance(step, Concurrent):
            obs.incident = INCIDENTS[step.incident]
            self._deliver_concurrently(obs, step)
        elif isinstance(step, Sweep):
            world.clock.advance(step.minutes * 60)
            obs.at = world.clock.now()
            obs.outcomes = list(self._command({"command": "sweep"}, obs, sweep=True))
            after_sweep = self._records()
            obs.restored = _restore_attempts(records_before, after_sweep)
            obs.pending_before = sum(1 for r in records_before.values() if r.get("state") in ("pending", "undoing"))
            obs.judged = _judged(records_before, after_sweep)
        elif isinstance(step, KillSwitch):
            obs.command_id = f"switch-{uuid.uuid4().hex}"
            self._command({"command": "pause" if step.engaged else "resume", "requested_by": "property-test",
                           "command_id": obs.command_id, "reason": "generated program",
                           "_effect": ("kill_switch", step.engaged)}, obs, into=obs.outcomes, retry=True)
            if not obs.errors and not obs.transient and any(o.status.value == "applied" for o in obs.outcomes):
                self._kill_switch = step.engaged
        elif isinstance(step, Fault):
            self._inject(step)
        elif isinstance(step, QuotaFault):
            self._quota(step)
        elif isinstance(step, Respelled):
            obs.incident = INCIDENTS[step.incident]
            self.respellings[step.message_id] = step.kind
            self._deliver(obs, step.incident, step.message_id, False)
        elif isinstance(step, StoreFault):
            self.world.adapters.state.fail_next(step.group, step.n, step.code, lost=step.lost, method=step.method)
        elif isinstance(step, PublishFault):
            self.world.adapters.publisher.fail_next(step.n)
        elif isinstance(step, Advance):
            world.clock.advance(step.minutes * 60)
        elif isinstance(step, Settle):
            settle_operations(self.standins)
        else:  # pragma: no cover - a generator bug
            raise TypeError(f"unknown step {step!r}")
        after = self._counters()
        obs.update_calls, obs.patch_calls = self._new_calls(before, after)
        obs.run_writes, obs.vpc_writes = after[2] - before[2] - obs.person_writes, after[3] - before[3]
        obs.final_generation, obs.ended = after[2], world.clock.now()
        obs.store_faults = self._store_faults() - faults_before
        if isinstance(step, Sweep) and obs.store_faults:
            self.faulted_sweeps += 1
        obs.reads_cut = self._deadlines_spent() - spent_before
        self._follow_rollback()
        if isinstance(step, Crossing):
            self.trace += self._split_crossing(obs, step, crossed)
            return obs
        self.trace.append(obs)
        return obs

    def _split_crossing(self, obs: Observation, step: Crossing, crossed: dict[int, list[int]]) -> list[Observation]:
        """A Crossing step as one Concurrent observation per incident, each with its own threads' outcomes and
        writes, so that every invariant counting an incident's writes reads them as before. A write not seen at
        the adapters (none is expected) is counted for the first incident, never dropped."""
        split = []
        for i in (0, 1):
            threads = len(range(i, step.threads, 2))
            calls, patches, run_writes, vpc_writes = crossed[i]
            split.append(dataclasses.replace(
                obs, index=len(self.trace) + i, step=Concurrent(i, step.message, threads, False),
                incident=INCIDENTS[i], outcomes=[o for o in obs.outcomes if o.incident_id == INCIDENTS[i]],
                update_calls=calls, patch_calls=patches, run_writes=run_writes, vpc_writes=vpc_writes,
                transient=sum(1 for n, *_ in self.failed_deliveries[-obs.transient:] if n == i) if obs.transient
                else 0, errors=obs.errors if i == 0 else [], crossing=True))
        first = split[0]
        first.update_calls += obs.update_calls - sum(o.update_calls for o in split)
        first.patch_calls += obs.patch_calls - sum(o.patch_calls for o in split)
        first.run_writes += obs.run_writes - sum(o.run_writes for o in split)
        first.vpc_writes += obs.vpc_writes - sum(o.vpc_writes for o in split)
        first.outcomes += [o for o in obs.outcomes if o.incident_id not in INCIDENTS]
        return split

    def _follow_rollback(self) -> None:
        """In a sustained bad_revision world, once the service serves all its traffic from the revision a
        rollback goes back to (Runwarden's rollback, an operator's, a person's), that revision answers it
        from the next minute on, and fails as the revision rolled back from does: a cause both share (a
        schema migration the deploy ran, say). So the sweep's undo is judged on the revision's own
        requests, as it must be (judging.others_failing: a rollback is shown failing only by the
        requests of the revision it sent the traffic to); a world in which that revision served nothing
        after the rollback while the other kept failing was no rollback failing at all. The revision
        rolled back from keeps answering as before (the leftovers of a long request timeout, or its
        tagged URL). Checked after every step: the minute is the step's, within one step of the write."""
        sustain = self.settings.get("sustain")
        if self.rolled_back_from is not None or self.scenario != "bad_revision" or not sustain:
            return
        target = _oldest_revision(self.scenario)
        if self.world.serving() != {target: 100}:
            return
        since = int((self.world.clock.now() - ANCHOR) / timedelta(minutes=1)) + 1
        if since >= sustain:
            return
        self.rolled_back_from = since
        self.world.add_series_group(("rolled back", self.scenario, target, since, sustain),
                                    rolled_back_series(self.scenario, target, since, sustain))

    def _person_change(self, step: PersonTraffic, obs: Observation) -> None:
        """The person's split written straight into the Run stand-in (as gcloud would: generation
        and etag move), between the known-good revision and the newest one."""
        from sandbox.standins.run import TrafficSeed

        good, newest = PERSON_SPLITS_BACK[step.split]
        known_good, latest = _person_revisions(self.scenario)
        # One revision only (connector_saturation): its share split with LATEST, the same revision.
        split = [TrafficSeed(good, known_good), TrafficSeed(newest, latest if latest != known_good else None)]
        self.standins.run.set_traffic(SERVICE, [seed for seed in split if seed.percent])
        obs.person_writes += 1
        obs.person_generation = self._run_generation()

    def _late_deploy(self, step: LateDeploy, obs: Observation) -> None:
        """The late revision (created once, at T0 + `minutes`) given `share` % beside the newest seeded one."""
        from sandbox.standins.run import TrafficSeed

        run = self.standins.run
        if LATE_REVISION not in {r.name.rpartition("/")[2] for r in run._revisions.values()}:
            run.add_revision(SERVICE, LATE_REVISION, ANCHOR + timedelta(minutes=step.minutes))
        latest = _person_revisions(self.scenario)[1]
        split = [TrafficSeed(step.share, LATE_REVISION), TrafficSeed(100 - step.share, latest)]
        run.set_traffic(SERVICE, [seed for seed in split if seed.percent], by="person@example.com")
        obs.person_writes += 1
        obs.person_generation = self._run_generation()
        self.late_deployed = True

    def _late_serving(self) -> bool:
        """Whether the service's traffic names the late revision now."""
        return any(target.revision.rpartition("/")[2] == LATE_REVISION
                   for target in self.standins.run.service(SERVICE).traffic)

    def traffic_within(self, step: PersonTraffic) -> None:
        """A person's traffic change armed from inside another step (it lands at that step's gate claim)."""
        if hasattr(self.world.adapters.state, "after_next_claim"):
            self.world.adapters.state.after_next_claim(lambda: self._person_change(step, self._current))
        else:
            self._person_change(step, self._current)

    def step_within(self, step: PersonConnector) -> None:
        """A person's change armed from inside another step (it lands at that step's gate claim)."""
        if hasattr(self.world.adapters.state, "after_next_claim"):
            self.world.adapters.state.after_next_claim(lambda: self._connector_change(step, self._current))
        else:
            self._connector_change(step, self._current)

    def _after_next_patch(self, step: PersonConnector) -> None:
        """Arms a person's connector change to land as the VPC Access stand-in answers the next
        GetOperation that finds a patch's operation done without an error, before Runwarden's
        read-back of the connector. The stand-in's `handle` (the one entry of its HTTP server and of
        the in-process transport) is wrapped once; not within settle_operations, which is Google
        finishing an operation nobody is waiting on."""
        vpc = self.standins.vpcaccess
        self._connector_armed = step
        if getattr(vpc, "_person_hook", False):
            return
        handle = vpc.handle

        def hooked(request: RestRequest) -> tuple[int, dict[str, Any]]:
            status, body = handle(request)
            armed = self._connector_armed
            if (armed is not None and status == 200 and body.get("done") and "error" not in body
                    and "/operations/" in request.path and not isinstance(self._current.step, Settle)):
                self._connector_armed = None
                self._connector_change(armed, self._current)
            return status, body

        vpc.handle, vpc._person_hook = hooked, True

    def _connector_change(self, step: PersonConnector, obs: Observation) -> None:
        """The person's update written straight into the VPC Access stand-in (as a finished
        `gcloud ... connectors update`): one more max instance (up to the API's 10), or e2-standard-4."""
        vpc = self.standins.vpcaccess
        stored = vpc.connector(CONNECTOR)
        change = CONNECTOR_CHANGE_NAMES[step.change]
        if change == "machine" and stored.get("machineType") != "e2-standard-4":
            vpc.set_connector(CONNECTOR, machineType="e2-standard-4")
        elif change.startswith("machine back"):
            if stored.get("machineType") == "e2-micro":
                return
            vpc.set_connector(CONNECTOR, machineType="e2-micro")
        elif int(stored.get("maxInstances", 10)) < 10:
            vpc.set_connector(CONNECTOR, maxInstances=int(stored["maxInstances"]) + 1)
        else:
            return   # nothing left to raise: no change
        obs.person_connector += 1
        self.person_connector_log.append((obs.index, self._vpc_operations()))

    def _approve_race(self, obs: Observation, step: ApproveRace) -> None:
        """The approvals (and the alert) on threads released together; each answers or raises as
        when sent alone, and what raised is sent again by finish()."""
        bodies = [self._approve_body(Approve(step.incident, 0 if step.same_command else i % 3))
                  for i in range(step.approvals)]
        tries = [self._approval_try(body) for body in bodies]
        ids = []
        for body in bodies:
            self._commands += 1
            ids.append(f"cmd-{self._commands}")
            self.sent_commands.append(body["command_id"])
        self._renotified += 1
        alert_id = f"{obs.incident}-race-{self._renotified}"
        calls = len(bodies) + (1 if step.with_alert else 0)
        lock, start = threading.Lock(), threading.Barrier(calls)

        def approve(i: int) -> None:
            body = dict(bodies[i])
            claims = body.pop("_claims", None)
            start.wait()
            try:
                answer = self.world.command(body, message_id=ids[i])
                with lock:
                    tries[i].outcomes.extend(answer)
                    obs.outcomes.extend(answer)
            except TransientError:
                with lock:
                    obs.transient += 1
                    tries[i].raised = True
                    self.failed_commands.append(dict(body, _claims=claims))
            except Exception as exc:  # noqa: BLE001 - a command must answer, never raise
                with lock:
                    obs.errors.append(f"{type(exc).__name__}: {exc}")

        def alert() -> None:
            event = self._alert(step.incident, alert_id, False)
            start.wait()
            try:
                outcome = self.world.handle(event)
                with lock:
                    obs.outcomes.append(outcome)
            except TransientError:
                with lock:
                    obs.transient += 1
                    self.failed_deliveries.append((step.incident, alert_id, False))
            except Exception as exc:  # noqa: BLE001
                with lock:
                    obs.errors.append(f"{type(exc).__name__}: {exc}")

        targets = [lambda i=i: approve(i) for i in range(len(bodies))] + ([alert] if step.with_alert else [])
        threads = [threading.Thread(target=target, daemon=True) for target in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
            if t.is_alive():
                obs.errors.append("a racing approval or alert did not finish within 60 s")
        obs.approvals.extend(tries)

    def _approval_try(self, body: dict[str, Any]) -> ApprovalTry:
        from shared.remediation.records import PROPOSALS

        proposal_id = body["params"]["proposal_id"]
        return ApprovalTry(str(body["command_id"]), self._proposal_incident(proposal_id), bool(body.get("dry_run")),
                           self.world.clock.now(), self.world.state.get_record(PROPOSALS, proposal_id))

    @staticmethod
    def _proposal_incident(proposal_id: str) -> str:
        from shared.remediation.guardrails import claim_key, proposal_id_for

        return next(i for i in INCIDENTS if proposal_id_for(claim_key(i, CONNECTOR, "scale_connector")) == proposal_id)

    def _hook_reads(self) -> bool:
        """On in-process parts, a person's change armed by PersonTraffic(after_reads) lands as that
        GetService is answered. False where the transport cannot be reached (the real-parts tier):
        the change then lands at once."""
        transport = getattr(self.world.adapters.run, "_transport", None)
        if transport is None:
            return False
        if not getattr(transport, "_person_hook", False):
            call = transport.call

            def hooked(method: str, request: Any, answer: Any, cursor: Any = None) -> Any:
                result = call(method, request, answer, cursor=cursor)   # a paged read's page (InProcessTransport.call)
                if method == "GetService" and self._person_armed is not None:
                    self._person_reads -= 1
                    if self._person_reads <= 0:
                        armed, self._person_armed = self._person_armed, None
                        self._person_change(armed, self._current)
                return result

            transport.call, transport._person_hook = hooked, True
        return True

    def _unreadable(self, obs: Observation, step: Unreadable) -> None:
        """ListTimeSeries fails for `step.minutes`, with the scheduler's sweep every SWEEP_EVERY minutes."""
        faults = self.standins.monitoring.faults
        faults.fail_next(10**6, grpc.StatusCode.UNAVAILABLE, method="ListTimeSeries")
        with faults._lock:   # (the rule just added, to lift it when the outage ends)
            rule = faults._failures[-1]
        records_before = self._records()
        try:
            for _ in range(step.minutes // SWEEP_EVERY):
                self.world.clock.advance(SWEEP_EVERY * 60)
                obs.outcomes += self._command({"command": "sweep"}, obs, sweep=True)
        finally:
            with faults._lock:
                rule.remaining = 0
        obs.at = self.world.clock.now()
        obs.restored = _restore_attempts(records_before, self._records())

    def _operator(self, obs: Observation, step: Any) -> None:
        """An operator's command; one that raised TransientError is resent by finish()."""
        if isinstance(step, Approve) and step.when:
            self._to_expiry(step)
            obs.at = self.world.clock.now()
        if isinstance(step, Approve) and step.person is not None:
            if step.person < len(PERSON_CONNECTOR_CHANGES):
                self.step_within(PersonConnector(step.person, at_claim=True))
            else:
                self.traffic_within(PersonTraffic(step.person - len(PERSON_CONNECTOR_CHANGES), 0))
        body = step.body if isinstance(step, _Resend) else self._operator_body(step)
        obs.claim_incident = body.pop("_claims", None) if not isinstance(step, _Resend) else step.claims
        effect = body.pop("_effect", None) if not isinstance(step, _Resend) else step.effect
        obs.command_id = str(body.get("command_id", ""))
        approval = self._approval_try(body) if body.get("command") == "approve" else None
        sent = len(obs.outcomes)
        self._command(dict(body, _effect=effect) if effect else body, obs, into=obs.outcomes, retry=True)
        if approval is not None:
            approval.outcomes, approval.raised = obs.outcomes[sent:], bool(obs.transient)
            obs.approvals.append(approval)
        if effect and not obs.errors and not obs.transient and any(o.status.value == "applied" for o in obs.outcomes):
            self._take_effect(effect)   # a pause refused (rejected, a dry run) pauses nothing

    def _take_effect(self, effect: tuple) -> None:
        """What an operator's pause, resume or kill switch changes, once its command answered."""
        if effect[0] == "kill_switch":
            self._kill_switch = effect[1]
        else:
            _, target, engaged = effect
            (self._paused.add if engaged else self._paused.discard)(target)

    def _operator_body(self, step: Any) -> dict[str, Any]:
        from shared.remediation.guardrails import claim_key, command_incident, proposal_id_for

        common = {"requested_by": OPERATOR, "reason": "generated program"}
        if isinstance(step, Pause):
            return common | {"command": "pause" if step.engaged else "resume", "target": PAUSE_TARGETS[step.target],
                             "command_id": f"pause-{uuid.uuid4().hex}",
                             "_effect": ("pause", PAUSE_TARGETS[step.target], step.engaged)}
        if isinstance(step, OperatorRollback):
            command_id = f"op-rollback-{step.command}"
            params = {"revision": _oldest_revision(self.scenario)} if step.named else {}
            return common | {"command": "rollback_traffic", "target": SERVICE, "command_id": command_id,
                             "params": params, "_claims": command_incident(command_id)}
        if isinstance(step, OperatorScale):
            command_id = f"op-scale-{step.command}"
            return common | {"command": "scale_connector", "target": CONNECTOR, "command_id": command_id,
                             "params": {"max_instances": step.max_instances}, "_claims": command_incident(command_id)}
        if isinstance(step, OperatorRestore):
            command_id = f"op-restore-{step.command}"
            params = ({"to_latest": True} if step.to_latest
                      else {"action_id": claim_key(INCIDENTS[step.of], SERVICE, "rollback_traffic")})
            return common | {"command": "restore_traffic", "target": SERVICE, "command_id": command_id,
                             "params": params, "_claims": command_incident(command_id)}
        if isinstance(step, Reject):
            proposal = proposal_id_for(claim_key(INCIDENTS[step.incident], CONNECTOR, "scale_connector"))
            return common | {"command": "reject", "command_id": f"reject-{step.command}",
                             "params": {"proposal_id": proposal}}
        if isinstance(step, Release):
            return self._release_body(step, common)
        if isinstance(step, OtherShape):
            return self._shape_body(step, common)
        return self._approve_body(step)

    def _shape_body(self, step: OtherShape, common: dict[str, Any]) -> dict[str, Any]:
        """OtherShape's command: the usual body of `step.command` (its target, params), then its shape."""
        from shared.remediation.guardrails import claim_key, proposal_id_for

        targets = {"pause": CONNECTOR, "resume": CONNECTOR, "rollback_traffic": SERVICE, "scale_connector": CONNECTOR}
        body = common | {"command": step.command, "command_id": f"{step.shape}-{uuid.uuid4().hex}"}
        if step.command in targets:
            body["target"] = targets[step.command]
        if step.command in ("approve", "reject"):
            body["params"] = {"proposal_id": proposal_id_for(claim_key(INCIDENTS[0], CONNECTOR, "scale_connector"))}
        elif step.command == "scale_connector":
            body["params"] = {"max_instances": 4}
        if step.shape == "number_name":   # pause or resume by the other name: it brakes (or releases) that name
            self._know_number_name()
            return body | {"target": NUMBER_CONNECTOR, "_effect": ("pause", NUMBER_CONNECTOR, step.command == "pause")}
        if step.shape == "null_target":
            return body | {"target": None}
        if step.shape == "array":   # sent as the list `_array` holds (`_command`), each under an id of its own
            ids = [f"array-{step.id}-{one}" for one in ARRAY_IDS]
            return {"command_id": ids[0], "_array": [body | {"command_id": one} for one in ids]}
        return body | {"command_id": NUMBER_ID + step.id}   # number_id: refused before it is claimed

    def _know_number_name(self) -> None:
        """VPC Access answers GetConnector by the project's number as by its id ("{project} can be project id or
        number", VpcAccess.connector, vendor_settings.proto; which form its answer names is UNCONFIRMED): the
        stand-in, which knows one name per connector, is given a copy under the number name for the pause's
        existence check (commands.pause `_connector_exists`), made as the first such pause is sent. Nothing
        Runwarden writes goes by that name (the config names the connector by id)."""
        vpc = self.standins.vpcaccess
        try:
            vpc.connector(NUMBER_CONNECTOR)
            return
        except KeyError:
            pass
        try:
            known = vpc.connector(CONNECTOR)
        except KeyError:   # a scenario without the connector: the pause is rejected, as VPC Access would
            return
        vpc.add_connector(NUMBER_CONNECTOR, machine_type=known["machineType"], min_instances=known["minInstances"],
                          max_instances=known["maxInstances"], state=known["state"])

    def _exact_name_lease(self, step: ExactNameLease) -> None:
        """ExactNameLease: stored under the exact name as that version's gate stored it (a claim record, by
        another owner), straight into the store (no fault of the program's applies: another instance wrote it)."""
        now = self.world.clock.now()
        self.world.state.claim(step.kind, CONNECTOR, "runwarden-before-bound-key", timedelta(minutes=step.minutes), now)
        self.exact_name_leases.append((len(self.trace), step.kind, now + timedelta(minutes=step.minutes)))

    def _legacy_slot(self, step: LegacySlot) -> None:
        """LegacySlot: the slot stored under the exact name as that version's gate stored it (a claim record, by
        another owner, kept 2 days), straight into the store (no fault of the program's applies), where neither
        name's slot of that place is taken; else nothing (that version would have found its place taken only if it
        read this version's slots, which it does not: a slot stored over a taken place is the upgrade's gap the kill
        switch closes, docs/behaviour.md, not what the gate must hold)."""
        from shared.remediation.guardrails import BUDGETS, bound_key

        now = self.world.clock.now()
        bucket = f"{now:%Y-%m-%dT%H}" if step.bucket == "hour" else f"{now:%Y-%m-%d}"
        slot = f"target|{bound_key(CONNECTOR)}|{bucket}#{step.index}"
        old = f"target|{CONNECTOR}|{bucket}#{step.index}"   # spelled out here: the gate's `legacy_slot` is under test
        state = self.world.state
        if any(found is not None for found in state.get_many([(BUDGETS, slot), (BUDGETS, old)])):
            return   # slots are kept past their bucket: one stored is one taken
        state.claim(BUDGETS, old, "runwarden-before-bound-key", timedelta(days=2), now)
        self.legacy_slots.append((len(self.trace), bucket, step.index))

    def _release_body(self, step: Release, common: dict[str, Any]) -> dict[str, Any]:
        """The incident's escalated alert plan, as a person finds it in the escalation's answer (its intent
        key and target); with none, the plan its first message would have stored, on the scenario's target."""
        from shared.remediation.records import INTENTS, intent_key

        incident = INCIDENTS[step.incident]
        plans = [p for p in self.world.state.find_records(INTENTS, "incident_id", incident)
                 if p.get("state") == "escalated" and not p.get("command_id")]
        plan = max(plans, key=lambda p: str(p.get("noted_at")), default=None)
        key = (intent_key(incident, str(plan["message_id"])) if plan
               else intent_key(incident, _message_id(Open(step.incident, 0), False)))
        target = str(plan["target"]) if plan else (CONNECTOR if self.scenario == "connector_saturation" else SERVICE)
        return common | {"command": "release", "command_id": f"release-{step.command}", "target": target,
                         "params": {"intent": key}}

    def _approve_body(self, step: Approve) -> dict[str, Any]:
        from shared.remediation.guardrails import claim_key, proposal_id_for

        common = {"requested_by": OPERATOR, "reason": "generated program"}
        incident = INCIDENTS[step.incident]
        proposal = proposal_id_for(claim_key(incident, CONNECTOR, "scale_connector"))
        if step.dry_run:   # a dry run claims on its own command id and writes nothing
            return common | {"command": "approve", "command_id": f"approve-dry-{step.command}", "dry_run": True,
                             "params": {"proposal_id": proposal}}
        return common | {"command": "approve", "command_id": f"approve-{step.command}",
                         "params": {"proposal_id": proposal}, "_claims": incident}

    def _to_expiry(self, step: Approve) -> None:
        """The clock moved to 1 min before or after the proposal's expiry, if it is open and ahead."""
        from shared.remediation.guardrails import claim_key, proposal_id_for
        from shared.remediation.records import PROPOSALS

        proposal = self.world.state.get_record(
            PROPOSALS, proposal_id_for(claim_key(INCIDENTS[step.incident], CONNECTOR, "scale_connector")))
        if not proposal or proposal.get("state") != "open":
            return
        at = proposal["expires_at"] + timedelta(minutes=-1 if step.when == "before_expiry" else 1)
        if at > self.world.clock.now():
            self.world.clock.set(at)

    def _command(self, body: dict[str, Any], obs: Observation, into: list[Outcome] | None = None,
                 retry: bool = False, sweep: bool = False) -> list[Outcome]:
        self._commands += 1
        effect = body.pop("_effect", None)
        if body.get("command_id"):
            self.sent_commands.append(str(body["command_id"]))
        sent = self._sent()
        try:
            outcomes = self.world.command(body.get("_array", body), message_id=f"cmd-{self._commands}")
        except TransientError as exc:
            if sweep:   # the state store failed: the scheduler's next sweep (at the end) does the work
                obs.transient += 1
                self.failed_sweeps += 1
                # A sweep publishes every outcome even after one publish failed, then raises: those
                # published reached a person (and are compared with what was published).
                return self._published_since(sent)
            if not retry:
                obs.errors.append(f"TransientError from a command that must answer: {exc}")
                return []
            obs.transient += 1   # raised so that Pub/Sub redelivers the command
            resend = dict(body, _claims=obs.claim_incident, _effect=effect)
            self.failed_commands.append(resend)
            if isinstance(obs.step, _Resend) and isinstance(exc, AttemptInProgress):
                self.waiting_commands.append(resend)
            if effect and not effect[-1]:
                # A resume (or the switch turned off) that raised may still have taken (its flag
                # written, a later write failing): from here on, writes are no longer expected off.
                self._take_effect(effect)
            return []
        except Exception as exc:  # noqa: BLE001 - a command must answer, never raise
            obs.errors.append(f"{type(exc).__name__}: {exc}")
            return []
        if into is not None:
            into.extend(outcomes)
        return outcomes

    def _sent(self) -> int:
        messages = getattr(getattr(self.world, "publisher", None), "messages", None)
        return len(messages) if messages is not None else 0

    def _published_since(self, start: int) -> list[Outcome]:
        """The outcomes published since `start` (in-process publisher only; none on real parts)."""
        messages = getattr(getattr(self.world, "publisher", None), "messages", None)
        return [Outcome.model_validate_json(data) for _, data, _ in (messages or [])[start:]]

    def _deliver(self, obs: Observation, incident: int, message_id: str, closed: bool, skew: float = 0) -> None:
        try:
            event = self._alert(incident, message_id, closed)
            if skew:   # the same Runwarden, on an instance whose clock is off
                adapters = dataclasses.replace(self.world.adapters, clock=SkewedClock(self.world.clock, skew))
                obs.outcomes.append(handle_alert(event, self.world.config, adapters))
            else:
                obs.outcomes.append(self.world.handle(event))
            self._ended(message_id, True)
        except TransientError as exc:
            self._ended(message_id, False, exc)
            obs.transient += 1  # the contract: raised so that the platform redelivers
            self.failed_deliveries.append((incident, message_id, closed))
            if isinstance(obs.step, _Redeliver) and isinstance(exc, AttemptInProgress):
                self.waiting_deliveries.append((incident, message_id, closed))
        except Exception as exc:  # noqa: BLE001 - anything else is a failure of the product
            obs.errors.append(f"{type(exc).__name__}: {exc}")

    def _deliver_concurrently(self, obs: Observation, step: Concurrent) -> None:
        crossing = isinstance(step, Crossing)   # thread i delivers incident i % 2, each its own message
        incidents = [i % 2 if crossing else step.incident for i in range(step.threads)]
        ids = [_message_id(Open(incidents[i], step.message), False)
               + (f"-x{i}" if crossing else "" if step.same_message else f"-t{i}") for i in range(step.threads)]
        events = [self._alert(incidents[i], ids[i], False) for i in range(step.threads)]
        lock, start = threading.Lock(), threading.Barrier(step.threads)

        def deliver(i: int) -> None:
            self._writer.incident = incidents[i]
            start.wait()
            try:
                outcome = self.world.handle(events[i])
                with lock:
                    obs.outcomes.append(outcome)
                    self._ended(ids[i], True)
            except TransientError as exc:
                with lock:
                    obs.transient += 1
                    self.failed_deliveries.append((incidents[i], ids[i], False))
                    self._ended(ids[i], False, exc)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    obs.errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=deliver, args=(i,), daemon=True) for i in range(step.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
            if t.is_alive():
                obs.errors.append("a delivery did not finish within 60 s")

    def _alert(self, incident: int, message_id: str, closed: bool) -> dict:
        args: dict[str, Any] = {"incident_id": INCIDENTS[incident]}
        if closed:
            args |= {"state": "closed", "ended_at": self.world.clock.now()}
        event = self.world.alert(self.scenario, message_id=message_id, **args)
        kind = self.respellings.get(message_id) if self.respellings else None
        return event if kind is None else respelled(event, kind, incident)

    def _quota(self, step: QuotaFault) -> None:
        self.quota_armed = True
        limit = ("WriteRequestsPerMinutePerProject" if step.method in QUOTA_WRITES
                 else "ReadRequestsPerMinutePerProject")
        # A window no program outlasts: the `n` refusals are what ends it (or clear_faults()).
        getattr(self.standins, step.standin).faults.rate_limit(
            24 * 3600, step.method, service=QUOTA_SERVICES[step.standin], quota_limit=limit,
            retry_delay=step.retry_delay, times=step.n)

    def _inject(self, step: Fault) -> None:
        if step.clear:
            for part in (self.standins.run, self.standins.monitoring, self.standins.logging, self.standins.vpcaccess):
                part.faults.clear()
            for port in (self.world.adapters.state, self.world.adapters.publisher):
                if hasattr(port, "fail_next"):   # FaultyStateStore, FaultyPublisher
                    port.clear()
            return
        faults = getattr(self.standins, step.standin).faults
        if step.n == 0:
            faults.deny(method=step.method)
        else:
            faults.fail_next(step.n, grpc.StatusCode[step.code], method=step.method)

    # --- what was published -------------------------------------------------------------------

    def returned_outcomes(self) -> list[Outcome]:
        return [o for obs in self.trace for o in obs.outcomes]

    def published(self, expected: int) -> list[dict]:
        import json

        if expected == 0:
            return []
        if not hasattr(self.world, "pubsub"):   # the fast tier's world keeps what it published
            return self.world.published(expected)
        messages = self.world.pubsub.pull(self.world.subscription, expected, timeout=15)
        return [json.loads(m.data) for m in messages]

    def describe(self) -> str:
        return "\n".join(obs.describe() for obs in self.trace)


@dataclass(frozen=True)
class _Redeliver:
    """The platform's retry of a delivery that raised TransientError (same message id)."""
    incident: int
    message_id: str
    closed: bool

    def __str__(self) -> str:
        return f"redeliver({INCIDENTS[self.incident]}, {self.message_id})"


class _Resend:
    """The platform's redelivery of an operator's command that raised TransientError."""

    def __init__(self, body: dict[str, Any]) -> None:
        body = dict(body)
        self.claims: str | None = body.pop("_claims", None)
        self.effect: tuple | None = body.pop("_effect", None)   # a pause's or the kill switch's, once it answers
        self.body = body

    def __str__(self) -> str:
        if "_array" in self.body:   # an array of commands (OtherShape "array"), sent again as it was
            return f"resend(array {[one.get('command_id') for one in self.body['_array']]})"
        return f"resend({self.body.get('command')} {self.body.get('command_id')})"


def is_operator_scale(step: Any) -> bool:
    """An operator's scale_connector command, or the platform's resend of one: made for no alert, so a
    pause of the service does not hold it back (only a pause of the connector does)."""
    return isinstance(step, OperatorScale) or (isinstance(step, _Resend)
                                               and step.body.get("command") == "scale_connector")


def is_release(step: Any) -> bool:
    """An operator's release of an escalated plan's hold, or the platform's resend of one."""
    return isinstance(step, Release) or (isinstance(step, _Resend) and step.body.get("command") == "release")


def is_restore(step: Any) -> bool:
    """An operator's restore_traffic command, or the platform's resend of one: a corrective write of the
    service's traffic (no cooldown, no budget slot, no action record)."""
    return isinstance(step, OperatorRestore) or (isinstance(step, _Resend)
                                                 and step.body.get("command") == "restore_traffic")


def _oldest_revision(scenario: str) -> str:
    from sandbox.scenarios import resolve_scenario

    if scenario not in _OLDEST:
        [service] = resolve_scenario(scenario).services
        _OLDEST[scenario] = min(service.revisions, key=lambda r: r.created).name
    return _OLDEST[scenario]


_OLDEST: dict[str, str] = {}


def _person_revisions(scenario: str) -> tuple[str, str]:
    """(the revision a rollback goes back to, the newest revision) of the scenario's service: the
    two a person splits traffic between. For a scenario with one revision, that one twice."""
    from sandbox.scenarios import resolve_scenario

    if scenario not in _PERSON:
        [service] = resolve_scenario(scenario).services
        ordered = sorted(service.revisions, key=lambda r: r.created)
        _PERSON[scenario] = (ordered[-2].name if len(ordered) > 1 else ordered[-1].name, ordered[-1].name)
    return _PERSON[scenario]


_PERSON: dict[str, tuple[str, str]] = {}


def _logged(standin: Any) -> int:
    with standin._calls_lock:   # (read-only peek into the test double's call log, as _vpc_operations)
        return len(standin._calls)


def _since(standin: Any, start: int, end: int, method: str) -> int:
    with standin._calls_lock:
        return sum(1 for call in standin._calls[start:end] if call.method == method)


def respelled(event: dict, kind: int, incident: int) -> dict:
    """`event` (a Pub/Sub push of a notification) with one field of its incident given again in another spelling
    (RESPELLINGS[kind]): the notification's JSON decoded, the field added beside its own, encoded again."""
    import base64
    import json

    message = dict(event["message"])
    notification = json.loads(base64.b64decode(message["data"]))
    found, other, value = RESPELLINGS[kind]
    holder = notification["incident"]
    if found == "service_name":
        holder = holder["resource"]["labels"]
    given = holder[found]
    holder[other] = {"early": lambda: given - 3600, "other": lambda: INCIDENTS[1 - incident],
                     "frontend": lambda: "frontend", "same": lambda: given}[value]()
    message["data"] = base64.b64encode(json.dumps(notification).encode()).decode()
    return {**event, "message": message}


def _message_id(step: Any, closed: bool) -> str:
    return f"{INCIDENTS[step.incident]}-{'closed' if closed else 'open'}-{step.message}"


def _restore_attempts(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """Action records whose undo (restore_traffic) this sweep tried: they left `pending` for
    `undoing`/`undone`, or for `escalated` with the undo's refusal noted, or were `undoing` already."""
    keys = []
    for key, now in after.items():
        was = before.get(key, {}).get("state")
        if was not in ("pending", "undoing"):
            continue
        state = now.get("state")
        if state in ("undoing", "undone") or (state == "escalated" and "undo:" in (now.get("note") or "")) \
                or was == "undoing":
            keys.append(key)
    return keys


def _judged(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """Action records this sweep verified or undid (or began to undo): they left `pending` for `verified`,
    `undoing` or `undone` (shared/remediation/records.py ActionState). An escalation is not among them: a
    sweep that cannot read its evidence past the deadline escalates on purpose (docs/behaviour.md)."""
    return [key for key, now in after.items() if before.get(key, {}).get("state") == "pending"
            and now.get("state") in ("verified", "undoing", "undone")]


def settle_operations(standins: StandIns) -> None:
    """Every VPC Access operation Runwarden has heard of runs to its end, through the stand-in's
    own HTTP surface (the operation names are in the GetOperation requests it received)."""
    vpc = standins.vpcaccess
    paths = sorted({r.path for r in vpc.requests("GetOperation")})
    for path in paths:
        for _ in range(10):
            status, body = vpc.handle(RestRequest("GET", path, {}, None))
            if status == 200 and body.get("done"):
                break


# --- one fresh Runwarden per example ----------------------------------------------------------


def sustained(name: str, until_minutes: int) -> Any:
    """The bundled scenario with its incident going on until T0 + until_minutes: every series and
    Cloud SQL range that ends at +5m ends there instead (so later steps still see fresh data)."""
    import yaml

    from sandbox.scenarios import Scenario, bundled_scenario_path

    data = yaml.safe_load(bundled_scenario_path(name).read_text(encoding="utf-8"))
    ranges = [p for series in data.get("timeseries", []) for p in series.get("points", [])]
    ranges += [p for sql in data.get("sql_instances", []) for p in sql.get("up", [])]
    for points in ranges:
        if points.get("to") == "+5m":
            points["to"] = f"+{until_minutes}m"
    return Scenario.model_validate(data)


@functools.cache
def rolled_back_series(name: str, target: str, since: int, until: int) -> tuple[Any, ...]:
    """`target`'s request_count and request_latencies series from T0 + `since` to T0 + `until` minutes,
    each answering as the scenario's newest revision does then (`_follow_rollback`), materialized.
    Kept by its arguments (a bundled scenario's file is read and validated once per minute `since`, not
    once per program that rolls back: 16 ms each; the series are frozen, so the programs share them)."""
    import copy

    import yaml

    from sandbox.scenario_fields import parse_offset
    from sandbox.scenarios import Scenario, bundled_scenario_path

    data = yaml.safe_load(bundled_scenario_path(name).read_text(encoding="utf-8"))
    [service] = data["services"]
    newest = max(service["revisions"], key=lambda r: parse_offset(r["created"]))["name"]
    copies = []
    for series in data.get("timeseries", []):
        labels = series["resource"]["labels"]
        if labels.get("revision_name") != newest or not series["metric"].startswith("run.googleapis.com/request_"):
            continue
        moved = copy.deepcopy(series)
        moved["resource"]["labels"]["revision_name"] = target
        # Signed offsets: a clock jumped back before T0 rolls back at a negative minute ("-3m", not "+-3m").
        moved["points"] = [{**points, "from": f"{since:+d}m", "to": f"{until:+d}m"} for points in series["points"]]
        copies.append(moved)
    return Scenario.model_validate({**data, "timeseries": copies, "sql_instances": []}).materialize(ANCHOR).series


@contextmanager
def fresh_run(firestore_emulator: Any, pubsub_emulator: Any, project_id: str, scenario: str,
              mode: str, sustain: int | None = None, **config: Any) -> Iterator[Run]:
    """A World on new stand-ins, an empty Firestore, a new Pub/Sub namespace; the environment
    variables the adapters read are set for the example and restored after it. With `sustain`,
    the scenario's incident goes on until T0 + sustain minutes."""
    standins = start_standins()
    saved = dict(os.environ)
    world = None
    try:
        os.environ.update(standins.env() | firestore_emulator.env() | pubsub_emulator.env()
                          | {"GOOGLE_CLOUD_PROJECT": project_id})
        firestore_emulator.reset(project_id)
        namespace = PubSubNamespace(project=project_id, host=pubsub_emulator.host)
        world = World(standins, namespace, project_id, ANCHOR, mode=mode, **config)
        with_port_faults(world)
        if sustain:
            seed(standins, sustained(scenario, sustain), ANCHOR)
        else:
            world.seed(scenario)
        yield Run(world, scenario, {"mode": mode, "sustain": sustain, **config})
    finally:
        if world is not None:
            for adapter in (world.adapters.run, world.adapters.monitoring, world.adapters.logging,
                            world.adapters.vpcaccess):
                close = getattr(adapter, "close", None)
                if close is not None:
                    close()
        standins.stop()
        os.environ.clear()
        os.environ.update(saved)


def with_port_faults(world: Any) -> None:
    """The world's handlers see its state store and publisher through FaultyStateStore and
    FaultyPublisher (the program's StoreFault and PublishFault steps); `world.state`, which the
    checks read, stays the store itself."""
    from tests.unit.fakes import FaultyPublisher, FaultyStateStore

    world.adapters = dataclasses.replace(world.adapters, state=FaultyStateStore(world.state),
                                         publisher=FaultyPublisher(world.adapters.publisher))


def minutes(at: datetime) -> float:
    return (at - ANCHOR) / timedelta(minutes=1)
