"""The two kinds of failure Runwarden tells apart: worth a retry, or not."""
from __future__ import annotations

from typing import Any

from shared.redaction import redacted
from shared.status_text import one_line


class RunwardenError(Exception):
    """Base class for errors Runwarden raises on purpose.

    Its text is redacted (shared/redaction.py) where it is made: a failure's text reaches a person as it is
    (an outcome's reason, the timeline, a log line, an HTTP answer), and a Google API's error message, which
    `classify` quotes, may carry a credential: an INVALID_ARGUMENT quoting a request's field, a URL with its
    password, a header. Every Google error becomes one of these (`classify`); an error that did not (an
    unexpected one) is quoted through `described`, redacted the same way."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redacted(arg) if isinstance(arg, str) else arg for arg in args))


class TransientError(RunwardenError):
    """A fault that may pass (UNAVAILABLE, DEADLINE_EXCEEDED, an emulator down).

    The function lets it propagate, so that the platform redelivers the event.
    """


class AttemptInProgress(TransientError):
    """An earlier attempt at this very message (an alert's claim, a command's) has not finished.

    Raised so that Pub/Sub delivers the message again later; by then the first attempt has finished
    (the redelivery is a duplicate) or its lease has expired (the redelivery takes over). The lease
    bounds the wait, so redelivery is never given up on for this: a `failed` published now would
    contradict the outcome the first attempt may yet publish."""


class WriteInFlight(AttemptInProgress):
    """Another write to the same target is being sent now (the gate's per-target write claim,
    shared/remediation/guardrails.py `WRITING`): this one is not sent beside it, on a state read
    before it. Raised, with everything this attempt took given back, so that Pub/Sub delivers the
    message again (or the sweep tries its undo again) and the next attempt decides on the target as
    that write left it. Waited out like an attempt in progress: the other write's claim is given back
    when it ends, and lapses with its lease if its instance dies, so the lease bounds the wait.

    Unlike an earlier attempt at the same message, that other write answers for its own message only:
    nothing answers this one if it is never delivered again. So it is given up on at the delivery limit
    like any transient fault (shared.pipeline `retry_or_give_up`): one `failed` outcome naming the write
    in flight, published before Pub/Sub's dead-letter policy drops the message unanswered.
    `busy`: that write, named (who holds its claim, since and until when); `target` and `holder`: the
    target and that claim's holder, so that the message's next delivery checks that claim before reading
    any evidence (shared.pipeline `_still_in_flight`)."""

    def __init__(self, message: str, busy: str = "", target: str = "", holder: str = "") -> None:
        super().__init__(message)
        self.busy = busy or str(self)
        self.target = target
        self.holder = holder


class OutcomeUnknownError(TransientError):
    """A write the API may have applied: it was accepted (or sent), but its completion could not be
    followed. Unlike other transient faults, it must not be blindly repeated: the gate keeps its
    claim and cooldown and hands the action to the verification sweep."""


class ChangedAroundWriteError(OutcomeUnknownError):
    """A write the API applied while the target also changed by another hand between the read the
    decision rests on and the write's answer: the other change may have been written over. Recorded
    and escalated as a write whose completion is in doubt, never repeated."""


class NotShownAfterWriteError(OutcomeUnknownError):
    """A write whose operation finished without an error, while the target read back right after does
    not show it, on a target that keeps no record of its changes (a VPC Access connector: no
    generation, etag or update time). Another hand's change landing as the operation ended (a
    person, Terraform) and a write that did not take read the same way, so the outcome is unknown:
    the gate records the write closed `escalated` at once (never verified, undone or written again)
    and tells a person what the target shows. Also a write whose operation finished with an error
    while the target read right after no longer shows the state it was read in before the write
    (OperationEndedInError): what the failed operation left, or another hand, changed it.

    `after`: the target's state as read right after, when the action knows it (recorded as the write's
    result, so the record says what the target asks for now); `notes`: what a person can do about it."""

    def __init__(self, message: str, *, after: dict[str, Any] | None = None, notes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.after = after
        self.notes = notes


class LeftByFailedOperationError(NotShownAfterWriteError):
    """A write whose long-running operation ended with an error (OperationEndedInError), while the target read
    right after asks for something other than what it was read with before the write: the write's own change
    (its spec accepted before the operation failed), part of it, or another hand's. `read`: the target as read
    then (the adapter's model), for the action to record as what the write left (`after`)."""

    def __init__(self, message: str, read: Any) -> None:
        super().__init__(message)
        self.read = read


class PermanentError(RunwardenError):
    """A fault a retry will not fix (PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT).

    It is reported in a `failed` outcome, never retried.
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class OperationEndedInError(PermanentError):
    """A write the API accepted whose long-running operation then ended with an `error`
    (google.longrunning.Operation: "The error result of the operation in case of failure or
    cancellation"). Unlike a refused request, it does not prove the target was left as it was: an
    operation is not documented to undo what it did before failing (a failed connector create is
    left behind, "Please delete the connector manually": hashicorp/terraform-provider-google#16690).
    The action reads the target again before taking it as a failure that changed nothing."""


class QuotaRefusedError(TransientError):
    """A write refused RESOURCE_EXHAUSTED by a quota that says it passes (a rate quota, or an answer asking for a
    wait: shared/gcp/endpoints.py `passes_in_time`), after the call's own retries: nothing was applied. Transient,
    so the gate gives back what it took and the message's redelivery, after Pub/Sub's backoff, sends it again; on
    the message's last delivery the action reports it instead (scale_connector `out_of_room`, rollback_traffic
    `out_of_quota`)."""


class LimitReachedError(PermanentError):
    """A write refused RESOURCE_EXHAUSTED with no sign that it passes: a fixed limit (a connector's range with no
    free IP for another instance, a project quota used up, a Cloud Run limit per project and region). Nothing was applied, and sending it again meets the
    same limit until a person changes something: reported once, never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="RESOURCE_EXHAUSTED")


INCOMPLETE_ANSWER = "INCOMPLETE_ANSWER"
# How an optional evidence read that never answered by the alert's last delivery is named (shared/diagnosis/
# collection.py `unanswered`), and told from a read cut short (shared/diagnosis/unfinished.py).
UNANSWERED = "no answer by the alert's last delivery"


class IncompleteReadError(PermanentError):
    """A read whose answer came only in part: the API said so (a ListTimeSeries page with execution errors,
    shared/gcp/monitoring.py `missing_evidence`), or the read was still following next_page_token when its
    budget, the call's total, ran out (shared/gcp/endpoints.py `PageCursor.cut_short`). What was read is
    never handed on as the whole answer: the read is a gap in the evidence (code INCOMPLETE_ANSWER), named
    with how far it got, and a diagnosis beside it is escalated, never acted on nor called healthy
    (shared/diagnosis/diagnose.py `_held_for_incomplete`). Permanent, not transient: the call's own retries
    already resumed the read where it stopped (`PageCursor`); a redelivery would start it again from its
    first page, with no more time, minutes later (docs/behaviour.md, "A read that did not finish")."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=INCOMPLETE_ANSWER)


class StaleEvidenceError(PermanentError):
    """The API refused a write because its target changed after the evidence the decision rests on
    was read (an etag mismatch). Nothing was written. Not retried and not a failure of Runwarden:
    someone or something changed the target during the incident, so the gate gives back what it
    took and escalates with the evidence (docs/behaviour.md, "A target that changed under the
    decision")."""


# gRPC status names that a retry may fix. ABORTED is here because an etag race is
# resolved by re-reading and trying again. DEADLINE_EXCEEDED is retried on a read (endpoints.call_with_retry,
# within the call's attempts and total time; then the alert is redelivered): reads are idempotent, and
# Logging v2's generated client retries ListLogEntries on DeadlineExceeded by default (google-cloud-logging
# 3.17, google/cloud/logging_v2/services/logging_service_v2/transports/base.py, `_prep_wrapped_messages`).
# That is wider than google.api_core's generic predicate, which leaves DeadlineExceeded out
# (google-api-core 2.44, google/api_core/retry/retry_base.py, `if_transient_error`), and than the default
# retries of Monitoring v3's ListTimeSeries and Run v2's GetService (ServiceUnavailable only, their
# transports/base.py). Writes pass their own codes, those that prove nothing was applied (run.py
# WRITE_RETRY_CODES, vpcaccess.py PATCH_RETRY_CODES): a write whose answer a deadline lost is never re-sent.
TRANSIENT_CODES = frozenset(
    {"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_EXHAUSTED", "ABORTED", "UNKNOWN"}
)


# Permanent codes that still do not say a write was refused: answered to a write that was sent, they leave
# it possibly applied, as INTERNAL and UNKNOWN do (transient, above). google/rpc/code.proto: CANCELLED, "The
# operation was cancelled, typically by the caller" (HTTP 499), which Runwarden never does to a write in
# flight, so it comes from elsewhere on the way (a proxy, the channel closed under the call) with the request
# already sent; DATA_LOSS, "Unrecoverable data loss or corruption" (HTTP 500, as INTERNAL). Whether a Cloud
# Run UpdateService or a VPC Access PATCH so answered was applied is not documented (UNCONFIRMED either way):
# the adapters read such an answer as an unknown outcome (run.py `set_traffic`, vpcaccess.py
# `update_connector`), never as a refusal that wrote nothing.
UNPROVEN_WRITE_CODES = frozenset({"CANCELLED", "DATA_LOSS"})


def classify(exc: BaseException) -> RunwardenError:
    """Map a google.api_core / grpc / transport error onto Transient or Permanent.

    Imports nothing from Google: it reads the exception's `grpc_status_code` or `code`.
    """
    if isinstance(exc, RunwardenError):
        return exc
    if type(exc).__name__ == "RetryError":
        # google.api_core gave up retrying: judge by the last error it saw.
        cause = getattr(exc, "cause", None)
        return classify(cause) if cause is not None else TransientError(f"RetryError: {exc}")
    name = _status_name(exc)
    # One line, its google.rpc details in words (shared/status_text.py), not google-api-core's multi-line repr.
    message = f"{type(exc).__name__}: {one_line(exc)}"
    if name is None:
        # Connection refused, socket timeouts and the like: the server may come back.
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return TransientError(message)
        return PermanentError(message, code="UNKNOWN_ERROR")
    if name in TRANSIENT_CODES:
        return TransientError(message)
    return PermanentError(message, code=name)


def described(exc: BaseException) -> str:
    """An error that is not Runwarden's own (one no adapter classified), as a reason or a log line quotes it:
    its type and text, redacted as a RunwardenError's are."""
    return redacted(f"{type(exc).__name__}: {one_line(exc)}")


def cause_status(exc: BaseException) -> str:
    """The gRPC status name of the Google error a RunwardenError was raised from ("RESOURCE_EXHAUSTED"),
    or "": a TransientError keeps no code of its own."""
    cause = exc.__cause__
    return (_status_name(cause) or "") if cause is not None else ""


def _status_name(exc: BaseException) -> str | None:
    code = getattr(exc, "grpc_status_code", None)
    if code is None:
        code = getattr(exc, "code", None)
        if callable(code):  # grpc.RpcError exposes code() as a method
            try:
                code = code()
            except Exception:  # noqa: BLE001 - a broken error object is still an error
                code = None
    if code is None:
        return None
    name = getattr(code, "name", None)
    if isinstance(name, str):
        return name
    # google.api_core exceptions carry an HTTP status in `.code` when there is no gRPC one.
    if isinstance(code, int):
        return {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
                504: "DEADLINE_EXCEEDED", 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED",
                403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ABORTED", 412: "FAILED_PRECONDITION"}.get(code)
    return None


class DamagedRecord(ValueError):
    """A record in the state store that this version cannot read (damaged, or written by a version whose
    fields it does not know), named by its collection and key. Raised where a reader on the alert path must
    not go on without it (fail closed: a service whose history cannot be read is not acted on), and answered
    `escalated` naming the record (pipeline.handle_alert), never left to raise as an unexpected exception: a
    retry reads the same record, so a redelivery would only fail again the same way. A ValueError, so that a
    caller that already turns a record's ValueError into an answer keeps doing so."""

    def __init__(self, collection: str, key: str, why: str) -> None:
        super().__init__(f"the {collection} record {key} cannot be read ({why})")
        self.collection, self.key, self.why = collection, key, why
