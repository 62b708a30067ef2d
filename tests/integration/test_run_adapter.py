"""CloudRunAdapter against the Run stand-in: real client, real gRPC, env-var discovery."""
from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from sandbox.standins.run import BARE, LIMIT, RATE, ConditionSeed, TrafficSeed
from shared.errors import (LimitReachedError, OutcomeUnknownError, PermanentError, QuotaRefusedError, StaleEvidenceError,
                           TransientError)
from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.gcp.endpoints import CallPolicy
from shared.gcp.run import CloudRunAdapter, ConcurrentModificationError, OperationFailedError, WriteRefused
from tests.integration.conftest import TWO_REVISIONS

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
QUICK = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)


def to(revision: str, percent: int = 100) -> TrafficTarget:
    return TrafficTarget(type=TrafficType.REVISION, revision=revision, percent=percent)


@pytest.fixture
def adapter(standin_env, seed_scenario):
    seed_scenario(TWO_REVISIONS)
    run = CloudRunAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    yield run
    run.close()


def test_get_service_converts_to_the_model(adapter):
    service = adapter.get_service(SERVICE)
    assert service.name == SERVICE
    assert service.traffic == (to(NEW),)
    assert service.serving_percent(NEW) == 100
    assert service.latest_ready_revision == NEW and service.latest_created_revision == NEW
    assert service.generation == 2 and service.etag
    assert service.labels == {"runwarden": "enabled"}


def test_get_service_reads_its_run_app_urls_and_so_its_project_number(adapter):
    """Service.uri and Service.urls as the model's `urls`: the deterministic URL names the number of
    the service's project, which tells a connector named by that number from another project's."""
    from sandbox.standins.run import project_number

    service = adapter.get_service(SERVICE)
    number = project_number("demo-project")
    assert f"https://backend-{number}.us-central1.run.app" in service.urls
    assert service.project_number() == str(number)
    assert service.own_project_form(f"projects/{number}/locations/us-central1/connectors/c") == \
        "projects/demo-project/locations/us-central1/connectors/c"


def test_a_tagged_traffic_status_lists_its_tag_url_and_the_service_its_older_url(adapter, standins):
    """TrafficTargetStatus.uri for a tag (https://TAG---HOST); the untagged statuses have none. The
    adapter reads it onto the status only: a rollback's snapshot and a written split carry none."""
    from sandbox.standins.run import hashed_run_app_url

    hashed = hashed_run_app_url(SERVICE)
    assert hashed in adapter.get_service(SERVICE).urls
    standins.run.set_traffic(SERVICE, [TrafficSeed(100, OLD), TrafficSeed(0, NEW, tag="canary")])
    service = adapter.get_service(SERVICE)
    uris = {t.tag: t.uri for t in service.traffic_statuses}
    assert uris == {"": "", "canary": hashed.replace("https://", "https://canary---")}
    assert all("uri" not in t.model_dump() for t in service.traffic + service.traffic_statuses)


def test_list_revisions_sorted_oldest_first(adapter, anchor):
    revisions = adapter.list_revisions(SERVICE)
    assert [r.short_name for r in revisions] == [OLD, NEW]  # the stand-in lists newest first
    old = revisions[0]
    assert old.create_time == anchor - timedelta(hours=3)
    assert old.service == SERVICE and old.ready
    assert old.vpc_connector == "projects/demo-project/locations/us-central1/connectors/backend-conn"
    assert old.vpc_egress == "PRIVATE_RANGES_ONLY"


def test_set_traffic_rolls_back_and_waits_for_the_operation(adapter, standins):
    before = adapter.get_service(SERVICE)
    after = adapter.set_traffic(SERVICE, [to(OLD)], before.etag)

    assert after.traffic == (to(OLD),)
    assert after.serving_percent(OLD) == 100 and after.serving_percent(NEW) == 0
    assert after.generation == before.generation + 1 and after.etag != before.etag
    assert standins.run.count("UpdateService") == 1
    assert standins.run.count("GetOperation") == 3
    request = standins.run.requests("UpdateService")[0]
    assert list(request.update_mask.paths) == ["traffic"]
    sent = request.service
    assert sent.etag == before.etag
    assert sent.template.containers[0].image  # the template as read, in case the mask were ignored ...
    assert sent.template.revision == ""       # ... but never naming a revision (the 409 of #11870/#14259)
    assert adapter.get_service(SERVICE).traffic == (to(OLD),)


def test_set_traffic_split_with_latest(adapter):
    etag = adapter.get_service(SERVICE).etag
    latest = TrafficTarget(type=TrafficType.LATEST, percent=20)
    after = adapter.set_traffic(SERVICE, [to(OLD, 80), latest], etag)
    assert sorted(after.traffic, key=lambda t: t.percent) == [latest, to(OLD, 80)]
    assert after.serving_percent(NEW) == 20


def test_the_write_is_built_from_the_service_as_read_without_reading_it_again(adapter, standins):
    before = adapter.get_service(SERVICE)
    standins.run.reset_calls()
    adapter.set_traffic(SERVICE, [to(OLD)], before.etag)
    methods = [call.method for call in standins.run.calls]
    assert methods[0] == "UpdateService"              # no GetService before the write
    assert "GetService" not in methods                # nor after: the operation's response is reconciled
    assert standins.run.requests("UpdateService")[0].service.etag == before.etag


def test_an_operation_response_taken_while_reconciling_is_followed_by_a_fresh_read(adapter, standins, monkeypatch):
    """Whether UpdateService's response is the Service before or after reconciliation is not
    documented: one that still shows `reconciling` says nothing about what serves, so the
    service is read again and that read decides."""
    from sandbox.standins import run as run_standin

    def snapshot_then_reconcile(self, op_name):
        pending = self._operations[op_name]
        pending.outcome = run_standin._copy(self._services[pending.service_name])   # reconciling, as accepted
        pending.error = self._reconcile(pending.service_name)

    monkeypatch.setattr(run_standin.RunStandIn, "_finish", snapshot_then_reconcile)
    before = adapter.get_service(SERVICE)
    standins.run.reset_calls()
    after = adapter.set_traffic(SERVICE, [to(OLD)], before.etag)
    methods = [call.method for call in standins.run.calls]
    assert methods[0] == "UpdateService" and methods[-1] == "GetService"
    assert after.traffic == (to(OLD),) and after.serving_percent(OLD) == 100


def test_a_reconciled_operation_response_not_showing_the_request_is_checked_by_a_fresh_read(adapter, standins,
                                                                                           monkeypatch):
    """The operation's response is taken as the Service after this update (its response type), a
    reading no page promises: a reconciled answer that still shows the split before the write (as
    if taken before it) is not the verdict. The service is read again, and that read decides."""
    from sandbox.standins import run as run_standin

    finish = run_standin.RunStandIn._finish
    before = adapter.get_service(SERVICE)
    as_before = run_standin._copy(standins.run._services[before.name])

    def answer_as_before(self, op_name):
        finish(self, op_name)
        self._operations[op_name].outcome = as_before

    monkeypatch.setattr(run_standin.RunStandIn, "_finish", answer_as_before)
    standins.run.reset_calls()
    after = adapter.set_traffic(SERVICE, [to(OLD)], before.etag)
    methods = [call.method for call in standins.run.calls]
    assert methods[0] == "UpdateService" and methods[-1] == "GetService"
    assert after.traffic == (to(OLD),) and after.serving_percent(OLD) == 100


@pytest.mark.parametrize("code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION])
def test_a_service_changed_since_it_was_read_is_refused_by_the_api_and_not_written(adapter, standins, code):
    standins.run.stale_etag_code = code      # AIP-154's code today, and the one it named before 2021-03
    etag = adapter.get_service(SERVICE).etag
    standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])   # someone else, meanwhile
    with pytest.raises(ConcurrentModificationError) as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert isinstance(caught.value, StaleEvidenceError) and caught.value.code == code.name
    assert "changed after it was read" in str(caught.value)
    assert standins.run.count("UpdateService") == 1   # sent with the old etag, refused by the API
    assert standins.run.requests("UpdateService")[0].service.etag == etag
    assert {t.revision: t.percent for t in standins.run.service(SERVICE).traffic_statuses} == {OLD: 50, NEW: 50}


def test_without_the_read_at_hand_a_changed_service_is_refused_before_writing(adapter, standins):
    etag = adapter.get_service(SERVICE).etag
    standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])
    other = CloudRunAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    try:   # another adapter (another instance) never read the service: it reads it, and compares
        with pytest.raises(ConcurrentModificationError) as caught:
            other.set_traffic(SERVICE, [to(OLD)], etag)
    finally:
        other.close()
    assert caught.value.code == "ABORTED"
    assert standins.run.count("UpdateService") == 0


def test_a_write_refused_with_the_etag_unchanged_is_transient_and_not_unknown(adapter, standins):
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.fail_next(1, grpc.StatusCode.ABORTED, method="UpdateService")
    with pytest.raises(WriteRefused) as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert not isinstance(caught.value, OutcomeUnknownError)   # refused: nothing applied
    assert standins.run.count("UpdateService") == 1            # and not re-sent here
    assert adapter.get_service(SERVICE).traffic == (to(NEW),)


@pytest.mark.parametrize("reread_fails", [False, True], ids=["reread", "reread_unavailable"])
def test_a_refusal_carrying_details_is_quoted_in_one_line(adapter, standins, reread_fails):
    """A refusal's google.rpc details (an ErrorInfo, as AIP-193 asks) are in google-api-core's text of it as the
    protobuf's text format, one field a line: the reason quotes the refusal through status_text.one_line."""
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.fail_next(1, grpc.StatusCode.ABORTED, method="UpdateService", reason="CONCURRENT_REQUEST")
    if reread_fails:
        standins.run.faults.fail_next(3, grpc.StatusCode.UNAVAILABLE, method="GetService")
    with pytest.raises(WriteRefused) as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    said = str(caught.value)
    assert "\n" not in said, said
    assert "(details: ErrorInfo CONCURRENT_REQUEST" in said, said
    assert ("could not be read again" in said) is reread_fails


def test_a_failed_precondition_with_the_etag_unchanged_is_permanent_not_stale(adapter, standins):
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.fail_next(1, grpc.StatusCode.FAILED_PRECONDITION, method="UpdateService")
    with pytest.raises(PermanentError) as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert caught.value.code == "FAILED_PRECONDITION" and not isinstance(caught.value, StaleEvidenceError)
    assert standins.run.count("UpdateService") == 1


def test_unavailable_write_is_retried(adapter, standins):
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE, method="UpdateService")
    assert adapter.set_traffic(SERVICE, [to(OLD)], etag).traffic == (to(OLD),)
    assert standins.run.count("UpdateService") == 2


def test_abort_after_a_lost_attempt_rereads_before_giving_up(adapter, standins):
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE, method="UpdateService")
    standins.run.faults.fail_next(1, grpc.StatusCode.ABORTED, method="UpdateService")
    with pytest.raises(WriteRefused):  # the re-read shows the traffic did not land, and the etag unchanged
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert standins.run.count("UpdateService") == 2


def test_other_write_faults_are_not_retried(adapter, standins):
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.fail_next(1, grpc.StatusCode.INTERNAL, method="UpdateService")
    with pytest.raises(TransientError):
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("retry_delay", [None, 0.01])
def test_a_write_refused_for_quota_is_transient_not_of_unknown_outcome(adapter, standins, retry_delay):
    """RESOURCE_EXHAUSTED on UpdateService is a refusal ("The request is denied because there is not
    enough rate quota", RATE_LIMIT_EXCEEDED in google/api/error_reason.proto): nothing was written.
    Before, it was read as a write that "may still be applied": the gate kept the incident's claim and
    its cooldown, so the rollback was never made, and the answer said the change might have landed.
    Not re-sent at once either (a quota refuses until its window passes): Pub/Sub's redelivery is the
    later attempt, and it writes under the etag it reads then."""
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.rate_limit(60, "UpdateService", service="run.googleapis.com",
                                   quota_metric="run.googleapis.com/write_requests",
                                   quota_limit="WriteRequestsPerMinutePerProject", retry_delay=retry_delay)
    with pytest.raises(TransientError) as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert not isinstance(caught.value, OutcomeUnknownError), caught.value
    assert "Quota exceeded" in str(caught.value)
    # Sent again once only after a wait that fits the call (0.01 s; a minute's window does not), refused again.
    assert standins.run.count("UpdateService") == (1 if retry_delay is None else 2)
    assert [t.revision for t in standins.run.service(SERVICE).traffic] == [NEW]

    standins.run.faults.clear()
    assert adapter.set_traffic(SERVICE, [to(OLD)], etag).traffic == (to(OLD),)


@pytest.mark.parametrize("shape,raised", [(RATE, QuotaRefusedError), (LIMIT, LimitReachedError),
                                          (BARE, LimitReachedError)])
def test_a_write_refused_for_quota_is_told_apart_by_what_the_refusal_says(adapter, standins, shape, raised):
    """UpdateService refused RESOURCE_EXHAUSTED, its google.rpc details in the gRPC status trailer (RunStandIn.
    exhaust_quota): a rate quota (ErrorInfo RATE_LIMIT_EXCEEDED) is QuotaRefusedError, transient; a fixed limit
    (ErrorInfo RESOURCE_QUOTA_EXCEEDED, or no details at all) is LimitReachedError, permanent, code
    RESOURCE_EXHAUSTED, naming the quota the answer names. Either way nothing was written and the write was sent
    once. Before, every shape was one bare TransientError: redelivered until the message's last delivery."""
    etag = adapter.get_service(SERVICE).etag
    standins.run.exhaust_quota(shape)
    with pytest.raises(raised) as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert "refused before it was applied" in str(caught.value)
    assert shape == BARE or "run.googleapis.com/" in str(caught.value), str(caught.value)
    assert standins.run.count("UpdateService") == 1
    assert [t.revision for t in standins.run.service(SERVICE).traffic] == [NEW]

    standins.run.restore_quota()
    assert adapter.set_traffic(SERVICE, [to(OLD)], etag).traffic == (to(OLD),)


def _sent_etags(standins) -> list[str]:
    return [call.request.service.etag for call in standins.run.calls if call.method == "UpdateService"]


def test_a_rate_quota_asking_for_a_wait_that_fits_is_sent_again_once_and_applied(adapter, standins):
    """UpdateService refused once RESOURCE_EXHAUSTED by the write quota with a RetryInfo (0.3 s) that fits in what is
    left of the call (QUICK: 5 s, a retry needing 2 s of it): the same request, the same etag, is sent once more
    after the wait and applied, within the call. Before, the write was raised at once as QuotaRefusedError and left
    to the message's redelivery, a Pub/Sub backoff later, on evidence read again."""
    etag = adapter.get_service(SERVICE).etag
    standins.run.exhaust_quota(RATE, retry_delay=0.3, times=1)

    assert adapter.set_traffic(SERVICE, [to(OLD)], etag).traffic == (to(OLD),)
    assert standins.run.count("UpdateService") == 2
    assert _sent_etags(standins) == [etag, etag]


@pytest.mark.parametrize("retry_delay, refusals, sent, why", [
    (45.0, 1, 1, "a wait of 45s does not fit"),          # past the call's whole total
    (3.5, 1, 1, "a wait of 3.5s does not fit"),          # within the total, but not with a useful attempt after it
    (None, 1, 1, "a wait of 60s does not fit"),          # no RetryInfo: the quota's window, per minute
    (0.2, 2, 2, "refused again after its one retry"),    # once only: the quota still refuses
])
def test_a_rate_quota_is_sent_again_only_once_and_only_when_its_wait_fits_the_time_left(
        adapter, standins, retry_delay, refusals, sent, why):
    """A rate quota's refusal whose wait (RetryInfo, else its window) and one useful attempt do not fit in what is
    left of the call, or that refuses the one retry too: QuotaRefusedError, for the message's redelivery, nothing
    written, the write sent at most twice, and the refusal says why it was not sent again."""
    etag = adapter.get_service(SERVICE).etag
    standins.run.exhaust_quota(RATE, retry_delay=retry_delay, times=refusals)

    with pytest.raises(QuotaRefusedError) as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert why in str(caught.value), str(caught.value)
    assert standins.run.count("UpdateService") == sent
    assert _sent_etags(standins) == [etag] * sent
    assert [t.revision for t in standins.run.service(SERVICE).traffic] == [NEW]


def test_rejected_split_is_permanent(adapter, standins):
    etag = adapter.get_service(SERVICE).etag
    with pytest.raises(PermanentError, match="sum to 100") as caught:
        adapter.set_traffic(SERVICE, [to(OLD, 60), to(NEW, 30)], etag)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("keeps", [True, False], ids=["spec_kept", "spec_put_back"])
def test_operation_failed_on_unknown_revision_is_answered_by_what_the_service_asks_after_it(adapter, standins, keeps):
    """Whether a failed update keeps its split desired is not documented (RunStandIn.failed_update_keeps_spec).
    Kept: the service asks for the split sent while serving stays as it was, an unknown outcome carrying the
    service read (never a definite failure that says nothing changed). Put back: a definite failure."""
    from shared.gcp.run import SplitLeftByFailedOperationError

    standins.run.failed_update_keeps_spec = keeps
    etag = adapter.get_service(SERVICE).etag
    expected = SplitLeftByFailedOperationError if keeps else OperationFailedError
    with pytest.raises(expected, match="does not exist or is deleted") as caught:
        adapter.set_traffic(SERVICE, [to("backend-00009-ghost")], etag)
    if keeps:
        assert isinstance(caught.value, OutcomeUnknownError) and not isinstance(caught.value, PermanentError)
        assert "now asks for backend-00009-ghost 100%" in str(caught.value), caught.value
        assert f"serves {NEW} 100%" in str(caught.value)
        assert caught.value.read.traffic == (to("backend-00009-ghost"),)
    else:
        assert caught.value.code == "INTERNAL"          # google.rpc code 13, yet not "outcome unknown"
        assert not isinstance(caught.value, TransientError)
        assert f"still asks for the split it was read with ({NEW} 100%" in str(caught.value), caught.value
    assert standins.run.count("UpdateService") == 1
    assert adapter.get_service(SERVICE).serving_percent(NEW) == 100


@pytest.mark.parametrize("keeps", [True, False], ids=["spec_kept", "spec_put_back"])
def test_operation_failed_on_a_revision_that_is_not_ready_cites_terminal_condition(adapter, standins, keeps):
    from shared.gcp.run import SplitLeftByFailedOperationError

    standins.run.failed_update_keeps_spec = keeps
    standins.run.set_conditions(f"{SERVICE}/revisions/{OLD}",
                                [ConditionSeed("Ready", "CONDITION_FAILED", "CONTAINER_MISSING", "image gone")])
    etag = adapter.get_service(SERVICE).etag
    expected = SplitLeftByFailedOperationError if keeps else OperationFailedError
    with pytest.raises(expected, match="terminal_condition CONDITION_FAILED: Revision") as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert "FAILED_PRECONDITION" in str(caught.value)
    after = adapter.get_service(SERVICE)
    assert after.traffic == ((to(OLD),) if keeps else (to(NEW),))     # desired ...
    assert after.serving_percent(NEW) == 100                          # ... but not what serves


def test_traffic_statuses_decide_not_the_desired_split(adapter, standins, monkeypatch):
    """A service that reports the desired split but serves elsewhere is not a success, nor a failure to
    give back: the operation ended without an error (whether a failed reconciliation fails the operation
    is not documented), so the desired traffic is now the write's. An unknown outcome, so the gate
    records it, and never `failed` with the split left desired on no record."""
    from sandbox.standins import run as run_standin
    from shared.gcp.run import NotServingAfterWriteError

    monkeypatch.setattr(run_standin.RunStandIn, "_reconcile", lambda self, name: setattr(
        self._services[name], "reconciling", False))    # accepted and 'done', serving left as it was
    with pytest.raises(NotServingAfterWriteError, match=r"serving after the update.*TRAFFIC_NOT_SERVING") as caught:
        adapter.set_traffic(SERVICE, [to(OLD)], adapter.get_service(SERVICE).etag)
    assert isinstance(caught.value, OutcomeUnknownError) and not isinstance(caught.value, PermanentError)
    assert standins.run.count("UpdateService") == 1
    assert adapter.get_service(SERVICE).traffic == (to(OLD),)      # desired: the write's


def test_poll_survives_a_transient_get_operation_fault(adapter, standins):
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE, method="GetOperation")
    assert adapter.set_traffic(SERVICE, [to(OLD)], etag).traffic == (to(OLD),)
    assert standins.run.count("GetOperation") == 4


def test_poll_outlasts_a_quota_refusal_of_get_operation(adapter, standins):
    """GetOperation refused RESOURCE_EXHAUSTED for a moment (a read quota's window): the poll is a read,
    retried within the policy's timeout, and the accepted write is followed to its end. Before, the
    first refusal left the write "could not be followed": escalated, of unknown outcome."""
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.rate_limit(0.3, "GetOperation", service="run.googleapis.com")
    assert adapter.set_traffic(SERVICE, [to(OLD)], etag).traffic == (to(OLD),)
    assert standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("named", [False, True])
def test_a_refused_poll_of_the_writes_operation_names_run_operations_get(adapter, standins, named):
    """GetOperation refused PERMISSION_DENIED while following an accepted write: of unknown outcome (the write may
    land), and the answer names the permission the poll needs, from the adapter's own table (`iam_permissions`,
    set_traffic's row, as `poll_permissions`), when the refusal does not (`named=False`: the bare "The caller does not have permission").
    Before, it said only PERMISSION_DENIED, and a person had to guess which of the write's three permissions
    (run.services.get, run.services.update, run.operations.get) was missing."""
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.deny("GetOperation", named=named)
    with pytest.raises(OutcomeUnknownError, match="could not be followed") as raised:
        adapter.set_traffic(SERVICE, [to(OLD)], etag)
    assert "run.operations.get" in str(raised.value), str(raised.value)
    assert CloudRunAdapter.poll_permissions == ("run.operations.get",)


def test_operation_that_never_finishes_is_transient(adapter, standins):
    standins.run.lro_polls_before_done = 10_000
    slow = CloudRunAdapter(policy=QUICK, operation_timeout=0.3, poll_initial_delay=0.01, poll_max_delay=0.05)
    try:
        with pytest.raises(TransientError, match="not done after"):
            slow.set_traffic(SERVICE, [to(OLD)], slow.get_service(SERVICE).etag)
    finally:
        slow.close()
    assert standins.run.count("UpdateService") == 1


def test_a_hanging_poll_is_given_only_what_is_left_of_the_wait(adapter, standins):
    """Every GetOperation hangs 0.3 s and the operation never finishes: each poll's deadline, as the stand-in
    receives it, is what is left of the 1 s wait (at least 0.3 s less per poll before it), so the poll that
    hangs at the end is cut at the wait's end, and the wait is "not done after" it: of unknown outcome, the
    write sent once. Before, every poll was given the whole operation_timeout, so the last one ran up to that
    long again past the wait (120 s past Cloud Run's 120 s, deployed)."""
    hang, timeout = 0.3, 1.0
    standins.run.lro_polls_before_done = 10_000
    standins.run.faults.add_latency(hang, method="GetOperation")
    slow = CloudRunAdapter(policy=QUICK, operation_timeout=timeout, poll_initial_delay=0.01, poll_max_delay=0.05)
    try:
        with pytest.raises(OutcomeUnknownError, match="not done after"):
            slow.set_traffic(SERVICE, [to(OLD)], slow.get_service(SERVICE).etag)
    finally:
        slow.close()
    deadlines = standins.run.deadlines("GetOperation")
    assert standins.run.count("UpdateService") == 1
    assert 2 <= len(deadlines) <= timeout / hang + 1, deadlines
    assert all(d is not None and d <= timeout + 0.05 for d in deadlines), deadlines   # gRPC rounds a deadline up
    for i, d in enumerate(deadlines):   # each earlier poll took at least `hang`
        assert d <= deadlines[0] - i * hang + 0.05, deadlines
    assert deadlines[-1] < hang, deadlines   # the last poll could not outlive the wait


def test_transient_reads_are_retried_then_succeed(adapter, standins):
    standins.run.faults.fail_next(2, grpc.StatusCode.UNAVAILABLE, method="GetService")
    assert adapter.get_service(SERVICE).name == SERVICE
    assert standins.run.count("GetService") == 3


def test_persistent_unavailable_becomes_transient_error(adapter, standins):
    standins.run.faults.fail_next(10, grpc.StatusCode.UNAVAILABLE, method="ListRevisions")
    with pytest.raises(TransientError, match="ListRevisions"):
        adapter.list_revisions(SERVICE)
    assert standins.run.count("ListRevisions") == QUICK.attempts


def test_permission_denied_is_permanent_and_not_retried(adapter, standins):
    standins.run.faults.deny("GetService")
    with pytest.raises(PermanentError) as caught:
        adapter.get_service(SERVICE)
    assert caught.value.code == "PERMISSION_DENIED"
    assert standins.run.count("GetService") == 1


def test_not_found_is_permanent(adapter):
    with pytest.raises(PermanentError) as caught:
        adapter.get_service(SERVICE.replace("backend", "nope"))
    assert caught.value.code == "NOT_FOUND"


def test_stand_in_down_is_transient(adapter, standins):
    standins.run.stop()
    quick = CloudRunAdapter(policy=CallPolicy(call_timeout=0.5, attempts=2, initial_backoff=0.01, total_timeout=2))
    try:
        with pytest.raises(TransientError):
            quick.get_service(SERVICE)
    finally:
        quick.close()


def test_a_server_restarted_on_the_same_port_is_reached_at_once(monkeypatch):
    """gRPC shares subchannels process-wide by target: without a local subchannel pool, a new
    client inherits the stopped server's reconnect backoff and fails with "Connection refused"."""
    from sandbox.standins.run import RunStandIn

    name = "projects/p/locations/us-central1/services/a"
    first = RunStandIn()
    address = first.start()
    first.add_service(name, {})
    monkeypatch.setenv("RUN_EMULATOR_HOST", address)
    old = CloudRunAdapter(policy=CallPolicy(call_timeout=0.5, attempts=1, initial_backoff=0.01, total_timeout=1))
    second = RunStandIn()
    try:
        old.get_service(name)
        first.stop()
        with pytest.raises(TransientError):
            old.get_service(name)                      # the old connection now backs off
        second.start(int(address.rsplit(":", 1)[1]))   # another server, the same port
        second.add_service(name, {})
        new = CloudRunAdapter(policy=CallPolicy(call_timeout=2, attempts=1, initial_backoff=0.01, total_timeout=2))
        try:
            assert new.get_service(name).name == name
        finally:
            new.close()
    finally:
        old.close()
        second.stop()


def test_revision_limits_and_cloudsql_round_trip(adapter, standins, anchor):
    standins.run.add_revision(SERVICE, "backend-00003-sql", anchor,
                              cloudsql_instances=["demo-project:us-central1:orders-db", "example.com:p:europe-west1:db2"],
                              max_instance_count=5, timeout=timedelta(seconds=300), concurrency=80)
    revisions = {r.short_name: r for r in adapter.list_revisions(SERVICE)}
    sql = revisions["backend-00003-sql"]
    assert sql.cloudsql_instances == ("demo-project:us-central1:orders-db", "example.com:p:europe-west1:db2")
    assert (sql.max_instance_count, sql.timeout_seconds, sql.container_concurrency) == (5, 300.0, 80)
    # Unset fields read as None / empty, not as 0; max instances, the request timeout and concurrency as the
    # stand-in fills them after Google's documented defaults (sandbox/standins/run.py: 100, 300 s, 80 at >= 1 CPU).
    old = revisions[OLD]
    assert (old.cloudsql_instances, old.max_instance_count, old.timeout_seconds, old.container_concurrency) == (
        (), 100, 300.0, 80)
    standins.run.fills_revision_defaults = False   # the other reading: the server leaves them unset
    try:
        standins.run.add_revision(SERVICE, "backend-00004-raw", anchor)
    finally:
        standins.run.fills_revision_defaults = True
    raw = {r.short_name: r for r in adapter.list_revisions(SERVICE)}["backend-00004-raw"]
    assert (raw.max_instance_count, raw.timeout_seconds, raw.container_concurrency) == (100, None, None)


def test_revision_fields_seeded_from_a_scenario(standin_env, standins, anchor, tmp_path):
    from sandbox.scenarios import load_scenario, seed

    path = tmp_path / "sql.yaml"
    path.write_text("""
name: sql
project: demo-project
region: us-central1
services:
  - name: backend
    revisions:
      - name: backend-00001-abc
        created: -1h
        cloudsql_instances: ["demo-project:us-central1:orders-db"]
        max_instances: 5
        timeout: 300s
        concurrency: 80
""")
    seed(standins, load_scenario(path), anchor)
    run = CloudRunAdapter(policy=QUICK)
    try:
        [revision] = run.list_revisions(SERVICE)
    finally:
        run.close()
    assert revision.cloudsql_instances == ("demo-project:us-central1:orders-db",)
    assert (revision.max_instance_count, revision.timeout_seconds, revision.container_concurrency) == (5, 300.0, 80)


@pytest.mark.parametrize("code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION])
def test_a_resent_write_refused_for_its_own_earlier_landing_is_not_stale(adapter, standins, code):
    """The first attempt landed and its answer was lost; the re-send carries the etag that landing
    replaced, and is refused. The re-read shows the requested split: the earlier attempt's write,
    never 'changed by someone else'."""
    standins.run.stale_etag_code = code
    etag = adapter.get_service(SERVICE).etag
    standins.run.faults.lose_response(1, grpc.StatusCode.UNAVAILABLE, method="UpdateService")
    with pytest.raises(OutcomeUnknownError, match="still reconciling"):
        adapter.set_traffic(SERVICE, [to(OLD)], etag)   # the landed attempt's operation was never followed
    assert standins.run.count("UpdateService") == 2
    assert standins.run.service(SERVICE).traffic[0].revision == OLD


def test_a_revisions_resources_and_the_service_level_max_are_read_through_the_api(monkeypatch, anchor):
    """Memory, CPU and CPU allocation of the ingress container (the one with a port, beside a
    sidecar), and Service.scaling.max_instance_count, as the Run API keeps them."""
    from sandbox.standins.run import RunStandIn

    name = "projects/p/locations/us-central1/services/a"
    run = RunStandIn()
    address = run.start()
    try:
        run.add_service(name, {}, max_instance_count=5)
        run.add_revision(name, "a-00001-one", anchor - timedelta(hours=2), memory="512Mi", cpu="1")
        run.add_revision(name, "a-00002-two", anchor - timedelta(hours=1), memory="1Gi", cpu="2", cpu_idle=False,
                         sidecars=[("otel-collector", "128Mi")])
        monkeypatch.setenv("RUN_EMULATOR_HOST", address)
        adapter = CloudRunAdapter(policy=QUICK)
        try:
            one, two = adapter.list_revisions(name)
            service = adapter.get_service(name)
        finally:
            adapter.close()
    finally:
        run.stop()

    assert (one.memory_mib, one.cpu_limit, one.cpu_idle) == (512.0, 1.0, True)
    assert (two.memory_mib, two.cpu_limit, two.cpu_idle) == (1024.0, 2.0, False)
    assert service.max_instance_count == 5


def test_a_revisions_instance_settings_are_read_through_the_api(monkeypatch, anchor):
    """Min instances (Revision.scaling.min_instance_count), startup CPU boost (the ingress container's
    resources.startup_cpu_boost), session affinity and the execution environment, as the Run API keeps
    them on the revision and on the service's template (revision_template.proto carries the same
    fields), and left unset where a deploy leaves them."""
    from sandbox.standins.run import RunStandIn

    name = "projects/p/locations/us-central1/services/a"
    run = RunStandIn()
    address = run.start()
    try:
        run.add_service(name, {})
        run.add_revision(name, "a-00001-one", anchor - timedelta(hours=2), memory="512Mi", cpu="1")
        run.add_revision(name, "a-00002-two", anchor - timedelta(hours=1), memory="1Gi", cpu="2",
                         min_instance_count=5, startup_cpu_boost=True, session_affinity=True,
                         execution_environment="GEN2")
        template = run.service(name).template
        monkeypatch.setenv("RUN_EMULATOR_HOST", address)
        adapter = CloudRunAdapter(policy=QUICK)
        try:
            one, two = adapter.list_revisions(name)
        finally:
            adapter.close()
    finally:
        run.stop()

    assert (one.min_instance_count, one.startup_cpu_boost, one.session_affinity, one.execution_environment) == \
        (0, False, False, "")
    assert (two.min_instance_count, two.startup_cpu_boost, two.session_affinity, two.execution_environment) == \
        (5, True, True, "GEN2")
    assert (template.scaling.min_instance_count, template.containers[0].resources.startup_cpu_boost,
            template.session_affinity, template.execution_environment.name) == \
        (5, True, True, "EXECUTION_ENVIRONMENT_GEN2")


def test_a_revisions_images_are_read_through_the_api(monkeypatch, anchor):
    """Every container's image (Container.image, k8s_min.proto), a digest or a tag as deployed, the
    ingress container's first and a sidecar's after it; what rules/same_release.py compares."""
    from sandbox.standins.run import RunStandIn

    name = "projects/p/locations/us-central1/services/a"
    pinned = "us-central1-docker.pkg.dev/p/apps/a@sha256:" + "3f" * 32
    run = RunStandIn()
    address = run.start()
    try:
        run.add_service(name, {})
        run.add_revision(name, "a-00001-one", anchor - timedelta(hours=2), image="us-central1-docker.pkg.dev/p/apps/a:v7")
        run.add_revision(name, "a-00002-two", anchor - timedelta(hours=1), image=pinned,
                         sidecars=[("otel-collector", "128Mi")])
        monkeypatch.setenv("RUN_EMULATOR_HOST", address)
        adapter = CloudRunAdapter(policy=QUICK)
        try:
            one, two = adapter.list_revisions(name)
        finally:
            adapter.close()
    finally:
        run.stop()

    assert one.images == ("us-central1-docker.pkg.dev/p/apps/a:v7",)
    assert two.images[0] == pinned and len(two.images) == 2


def test_a_revisions_port_name_is_read_through_the_api(monkeypatch, anchor):
    """The ingress container's port name (ContainerPort.name: "Allowed values are "http1" and "h2c"",
    google/cloud/run_v2/types/k8s_min.py): h2c, end-to-end HTTP/2, tells a gRPC service
    (shared/diagnosis/grpc_calls.py); a sidecar's revision names its ingress port; none listed is ""."""
    from sandbox.standins.run import RunStandIn

    name = "projects/p/locations/us-central1/services/a"
    run = RunStandIn()
    address = run.start()
    try:
        run.add_service(name, {})
        run.add_revision(name, "a-00001-one", anchor - timedelta(hours=3))
        run.add_revision(name, "a-00002-two", anchor - timedelta(hours=2), port_name="h2c")
        run.add_revision(name, "a-00003-six", anchor - timedelta(hours=1), port_name="h2c",
                         sidecars=[("otel-collector", "128Mi")])
        monkeypatch.setenv("RUN_EMULATOR_HOST", address)
        adapter = CloudRunAdapter(policy=QUICK)
        try:
            one, two, three = adapter.list_revisions(name)
        finally:
            adapter.close()
    finally:
        run.stop()

    assert (one.port_name, two.port_name, three.port_name) == ("", "h2c", "h2c")
