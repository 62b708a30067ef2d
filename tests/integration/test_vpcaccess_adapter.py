"""VpcAccessAdapter against the VPC Access stand-in: real AuthorizedSession, real HTTP,
found through VPCACCESS_EMULATOR_HOST."""
from __future__ import annotations

import socket
from typing import Iterator

import grpc
import pytest

from sandbox.standins.vpcaccess import RestRequest, VpcAccessStandIn
from shared.errors import (NotShownAfterWriteError, OutcomeUnknownError, PermanentError, QuotaRefusedError,
                           StaleEvidenceError, TransientError)
from shared.diagnosis.evidence import Connector
from shared.gcp.endpoints import VPCACCESS_EMULATOR_ENV, CallPolicy, vpcaccess_session
from shared.gcp.vpcaccess import (ConnectorBusyError, VpcAccessAdapter, VpcAccessReader, connector_from_json,
                                  patch_request)

CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
QUICK = CallPolicy(call_timeout=2, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)


@pytest.fixture
def adapter(vpc_standin: VpcAccessStandIn) -> Iterator[VpcAccessAdapter]:
    vpc = VpcAccessAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    yield vpc
    vpc.close()


def test_session_points_at_the_emulator(vpc_standin):
    session, base = vpcaccess_session()
    assert base == f"http://{vpc_standin.address}/v1/"
    session.close()


def test_get_connector_converts_to_the_model(adapter):
    assert adapter.get_connector(CONNECTOR) == Connector(
        name=CONNECTOR, state="READY", machine_type="e2-micro", min_instances=2, max_instances=3,
        network="default", ip_cidr_range="10.8.0.0/28")


def test_update_raises_max_and_waits_for_the_operation(adapter, vpc_standin):
    connector = adapter.update_connector(CONNECTOR, min_instances=2, max_instances=5)
    assert (connector.state, connector.min_instances, connector.max_instances) == ("READY", 2, 5)
    assert vpc_standin.count("PatchConnector") == 1
    assert vpc_standin.count("GetOperation") == 3  # two not-done answers, then done
    patch = vpc_standin.requests("PatchConnector")[0]
    assert patch.update_mask == "minInstances,maxInstances"
    assert patch.body == {"name": CONNECTOR, "minInstances": 2, "maxInstances": 5}


def test_update_changes_the_machine_type(adapter, vpc_standin):
    connector = adapter.update_connector(CONNECTOR, min_instances=3, max_instances=4, machine_type="e2-standard-4")
    assert (connector.machine_type, connector.min_instances, connector.max_instances) == ("e2-standard-4", 3, 4)
    assert vpc_standin.requests("PatchConnector")[0].update_mask == "minInstances,maxInstances,machineType"


def test_invalid_argument_is_permanent_with_its_code(adapter, vpc_standin):
    with pytest.raises(PermanentError) as caught:
        adapter.update_connector(CONNECTOR, min_instances=2, max_instances=20)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert "maxInstances must be between 3 and 10" in str(caught.value)
    assert vpc_standin.count("PatchConnector") == 1


def test_lowering_is_permanent(adapter, vpc_standin):
    big = CONNECTOR.replace("backend", "big")
    vpc_standin.add_connector(big, min_instances=4, max_instances=8)
    with pytest.raises(PermanentError, match="can only be increased") as caught:
        adapter.update_connector(big, min_instances=4, max_instances=6)
    assert caught.value.code == "INVALID_ARGUMENT"


def test_unknown_connector_is_not_found(adapter):
    with pytest.raises(PermanentError) as caught:
        adapter.get_connector(CONNECTOR + "x")
    assert caught.value.code == "NOT_FOUND"


def test_get_is_retried_after_a_503(adapter, vpc_standin):
    vpc_standin.faults.fail_next(1, 503, method="GetConnector")
    assert adapter.get_connector(CONNECTOR).state == "READY"
    assert vpc_standin.count("GetConnector") == 2


def test_get_gives_up_as_transient(adapter, vpc_standin):
    vpc_standin.faults.fail_next(10, 500, method="GetConnector")
    with pytest.raises(TransientError, match="GetConnector"):
        adapter.get_connector(CONNECTOR)
    assert vpc_standin.count("GetConnector") == QUICK.attempts


def test_deny_is_permanent_permission_denied(adapter, vpc_standin):
    vpc_standin.faults.deny("GetConnector")
    with pytest.raises(PermanentError) as caught:
        adapter.get_connector(CONNECTOR)
    assert caught.value.code == "PERMISSION_DENIED"
    assert "vpcaccess.connectors.get" in str(caught.value)
    assert vpc_standin.count("GetConnector") == 1


def test_patch_refused_by_a_rate_quota_asking_for_a_wait_that_fits_is_sent_again_once_and_applied(adapter,
                                                                                                 vpc_standin):
    """A 429 RESOURCE_EXHAUSTED whose body asks for 0.5 s (RetryInfo), which fits in what is left of the call (QUICK:
    5 s, a retry needing 2 s of it): the same PATCH is sent once more after it and applied within the call. Before,
    a wait longer than the backoff's longest (50 ms) ended the call's retries: QuotaRefusedError, redelivered."""
    vpc_standin.faults.rate_limit(60, "PatchConnector", service="vpcaccess.googleapis.com", retry_delay=0.5, times=1)
    assert adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4).max_instances == 4
    patches = [call.request for call in vpc_standin.calls if call.method == "PatchConnector"]
    assert len(patches) == 2 and patches[0].body == patches[1].body and patches[0].params == patches[1].params


def test_patch_refused_by_a_rate_quota_whose_window_does_not_fit_is_left_to_the_redelivery(adapter, vpc_standin):
    """A 429 of a per-minute quota with no RetryInfo: its wait (the minute) does not fit in the call, so the PATCH is
    sent once, not re-sent at once (before: three PATCHes 10 and 20 ms apart, each refused and each counted against
    the quota), and the refusal says why: QuotaRefusedError, for the message's redelivery."""
    vpc_standin.faults.rate_limit(60, "PatchConnector", service="vpcaccess.googleapis.com")
    with pytest.raises(QuotaRefusedError, match="a wait of 60s does not fit"):
        adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    assert vpc_standin.count("PatchConnector") == 1


def test_patch_is_resent_after_a_503_that_proves_it_was_not_applied(adapter, vpc_standin):
    vpc_standin.faults.fail_next(1, 503, method="PatchConnector")
    assert adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4).max_instances == 4
    assert vpc_standin.count("PatchConnector") == 2


@pytest.mark.parametrize("status", [500, 504])
def test_patch_with_an_unknown_outcome_is_not_resent(adapter, vpc_standin, status):
    vpc_standin.faults.fail_next(1, status, method="PatchConnector")
    with pytest.raises(TransientError, match="PatchConnector"):
        adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    assert vpc_standin.count("PatchConnector") == 1


def test_patch_timeout_is_transient_and_not_resent(vpc_standin):
    vpc_standin.faults.add_latency(0.5, method="PatchConnector")
    vpc = VpcAccessAdapter(policy=CallPolicy(call_timeout=0.2, attempts=3, initial_backoff=0.01, total_timeout=5),
                           operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    try:
        with pytest.raises(TransientError, match="outcome is unknown"):
            vpc.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    finally:
        vpc.close()
    assert vpc_standin.count("PatchConnector") == 1


@pytest.mark.parametrize("busy_code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION])
def test_patch_while_updating_is_busy_whichever_code_says_so(adapter, vpc_standin, busy_code):
    """Which code the API gives a PATCH on an UPDATING connector is undocumented: both read the same."""
    vpc_standin.busy_code = busy_code
    vpc_standin.set_state(CONNECTOR, "UPDATING")
    with pytest.raises(ConnectorBusyError, match="connector is UPDATING.*being updated"):
        adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    assert vpc_standin.count("PatchConnector") == 1


def _persons_update(vpc_standin: VpcAccessStandIn, **fields) -> str:
    """A person's `gcloud ... connectors update` through the stand-in's own PATCH: a running operation."""
    mask = ",".join(fields)
    status, body = vpc_standin.handle(RestRequest("PATCH", f"/v1/{CONNECTOR}", {"updateMask": mask},
                                                  {"name": CONNECTOR, **fields}))
    assert status == 200, body
    return body["name"]


def _until_done(vpc_standin: VpcAccessStandIn, operation: str) -> None:
    while not vpc_standin.handle(RestRequest("GET", f"/v1/{operation}", {}, None))[1].get("done"):
        pass


@pytest.mark.parametrize("busy_code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION])
@pytest.mark.parametrize("shows_new", [False, True], ids=["updating shows the values before", "updating shows new"])
@pytest.mark.parametrize("over", [False, True], ids=["running at the re-read", "over by the re-read"])
def test_a_patch_refused_as_busy_under_another_hands_change_to_the_sizes_asked_is_not_this_write(
        adapter, vpc_standin, busy_code, shows_new, over):
    """A person's update to max 5 starts after Runwarden's read of the connector (2-3) and before its patch to
    2-4: the patch is refused as busy. The connector read again shows 2-5 while the person's update runs
    (where an UPDATING connector shows its new values: not documented either way) or once it is over. The
    refusal proves this request changed nothing, so 2-5 is the person's: it was returned as this write's
    success, and the gate answered `applied` and recorded the person's change as Runwarden's. Now a target
    changed under the decision (StaleEvidenceError, TARGET_CHANGED: the gate escalates, nothing held).
    Still running and showing the values before: busy (transient), as before."""
    vpc_standin.busy_code = busy_code
    vpc_standin.updating_shows_new_values = shows_new
    persons = _persons_update(vpc_standin, minInstances=2, maxInstances=5)
    handle = vpc_standin.handle

    def refused_then(request):
        answer = handle(request)
        if over and request.verb == "PATCH":
            _until_done(vpc_standin, persons)
        return answer

    vpc_standin.handle = refused_then
    if shows_new or over:
        with pytest.raises(StaleEvidenceError, match="another hand made that change") as caught:
            adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)
        assert caught.value.code == "TARGET_CHANGED"
    else:
        with pytest.raises(ConnectorBusyError):
            adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    assert vpc_standin.count("PatchConnector") == 2      # the person's, and Runwarden's one refused


@pytest.mark.parametrize("busy_code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION])
def test_a_patch_refused_as_busy_by_an_update_over_by_the_re_read_is_busy_not_failed(adapter, vpc_standin, busy_code):
    """A person's update of the machine type alone runs when Runwarden's patch to 2-4 arrives, and is over by
    the re-read: READY, still 2-3. Nothing was applied and the connector changed: busy (transient: the event
    comes back and the gate's read before the patch finds the change). It was a permanent `failed`, the
    refusal read as the patch's own fault."""
    vpc_standin.busy_code = busy_code
    persons = _persons_update(vpc_standin, machineType="e2-standard-4")
    handle = vpc_standin.handle

    def refused_then_over(request):
        answer = handle(request)
        if request.verb == "PATCH":
            _until_done(vpc_standin, persons)
        return answer

    vpc_standin.handle = refused_then_over
    with pytest.raises(ConnectorBusyError, match="which has ended since"):
        adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    assert vpc_standin.count("PatchConnector") == 2


def test_a_resent_patch_refused_as_busy_with_the_change_in_place_is_done(adapter, vpc_standin):
    """The patch was resent after an answer taken to prove the first send was not applied (503): if that
    send landed after all, the resend is refused while its operation runs, and the connector shows the
    change (under the reading where an UPDATING connector shows its new values). That may be this call's
    own write: returned as done, as before."""
    vpc_standin.updating_shows_new_values = True      # the first send's operation still runs, its values shown
    handle, sends = vpc_standin.handle, []

    def lands_then_503(request):
        if request.verb == "PATCH":
            sends.append(request)
        answer = handle(request)
        if request.verb == "PATCH" and len(sends) == 1:
            # The first send is applied (its operation runs), and its answer is lost to a 503.
            return 503, {"error": {"code": 503, "message": "backend unavailable", "status": "UNAVAILABLE"}}
        return answer

    vpc_standin.handle = lands_then_503
    done = adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    assert done.max_instances == 4 and vpc_standin.count("PatchConnector") == 2


def test_the_reader_cannot_patch(vpc_standin):
    reader = VpcAccessReader(policy=QUICK)
    assert not hasattr(reader, "update_connector")
    with pytest.raises(PermanentError, match="does not send PATCH") as caught:
        reader._send("PATCH", CONNECTOR, json={})
    assert caught.value.code == "READ_ONLY" and vpc_standin.count("PatchConnector") == 0
    reader.close()


def test_operation_error_is_permanent_with_its_code(adapter, vpc_standin):
    vpc_standin.fail_next_operation(grpc.StatusCode.FAILED_PRECONDITION, "subnet has no free addresses")
    with pytest.raises(PermanentError, match="subnet has no free addresses") as caught:
        adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    assert caught.value.code == "FAILED_PRECONDITION"


def _changed_as_the_operation_ends(vpc_standin: VpcAccessStandIn, **fields) -> list[int]:
    """A person's `gcloud ... connectors update` landing as the stand-in answers the first GetOperation
    that finds the patch's operation done without an error: before the adapter reads the connector back
    (a person's update is refused while the connector is UPDATING, so this is the first moment it can land)."""
    handle, fired = vpc_standin.handle, []

    def hooked(request):
        status, body = handle(request)
        if not fired and "/operations/" in request.path and body.get("done") and "error" not in body:
            fired.append(1)
            vpc_standin.set_connector(CONNECTOR, **fields)
        return status, body

    vpc_standin.handle = hooked
    return fired


@pytest.mark.parametrize("patch, person", [
    # The machine type put back by hand (or by Terraform) as the patch that set it ended.
    (dict(max_instances=3, machine_type="e2-standard-4"), dict(machineType="e2-micro")),
    # Another machine type than the one asked.
    (dict(max_instances=4, machine_type="e2-standard-4"), dict(machineType="f1-micro")),
])
def test_a_patch_whose_read_back_another_hand_changed_has_an_unknown_outcome(adapter, vpc_standin, patch, person):
    """The operation finished without an error and the connector read back does not show the patch:
    a person's change, or a patch that did not take, with nothing in the connector to tell which. An
    unknown outcome (the gate records it, closed escalated), never the permanent UPDATE_NOT_APPLIED
    the gate answered `failed` and gave back unrecorded. Sent once."""
    fired = _changed_as_the_operation_ends(vpc_standin, **person)
    with pytest.raises(NotShownAfterWriteError, match=f"shows min 2, max {patch['max_instances']}, "
                                                      f"{person['machineType']}") as caught:
        adapter.update_connector(CONNECTOR, min_instances=2, **patch)
    assert fired and isinstance(caught.value, OutcomeUnknownError)
    assert vpc_standin.count("PatchConnector") == 1


def test_operation_poll_survives_a_503(adapter, vpc_standin):
    vpc_standin.faults.fail_next(1, 503, method="GetOperation")
    assert adapter.update_connector(CONNECTOR, min_instances=2, max_instances=4).max_instances == 4


def test_operation_that_never_ends_is_transient(vpc_standin):
    vpc_standin.lro_polls_before_done = 10_000
    vpc = VpcAccessAdapter(policy=QUICK, operation_timeout=0.2, poll_initial_delay=0.01, poll_max_delay=0.02)
    try:
        with pytest.raises(TransientError, match="not done after 0.2s"):
            vpc.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    finally:
        vpc.close()


def test_connection_refused_is_transient(monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(VPCACCESS_EMULATOR_ENV, f"127.0.0.1:{port}")
    vpc = VpcAccessAdapter(policy=QUICK)
    try:
        with pytest.raises(TransientError, match="connection not made"):
            vpc.get_connector(CONNECTOR)
        with pytest.raises(TransientError, match="connection not made"):
            vpc.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    finally:
        vpc.close()


def test_json_conversion_defaults():
    connector = connector_from_json({"name": CONNECTOR, "state": "READY", "minInstances": "2",
                                     "maxInstances": 10, "minThroughput": 200, "maxThroughput": 1000})
    assert connector.machine_type == "e2-micro"
    assert (connector.min_instances, connector.min_throughput, connector.max_throughput) == (2, 200, 1000)


def test_patch_request_shape():
    assert patch_request(CONNECTOR, min_instances=2, max_instances=4)[1] == "minInstances,maxInstances"
    body, mask = patch_request(CONNECTOR, min_instances=3, max_instances=6, machine_type="e2-standard-4")
    assert mask == "minInstances,maxInstances,machineType" and body["machineType"] == "e2-standard-4"


def test_a_stopped_standin_refuses_even_a_kept_alive_session(adapter, vpc_standin):
    assert adapter.get_connector(CONNECTOR).state == "READY"  # opens a keep-alive connection
    vpc_standin.stop()
    with pytest.raises(TransientError, match="connection not made"):
        adapter.get_connector(CONNECTOR)


WAITS = CallPolicy(call_timeout=2, attempts=3, initial_backoff=0.01, max_backoff=1.0, total_timeout=5)


def test_a_429_is_retried_after_the_retry_delay_its_body_asks_for(vpc_standin):
    """The JSON error body's RetryInfo ("retryDelay": "0.5s") is read as a gRPC error's: before, the
    body's details were dropped and the retries came 10 and 20 ms later, all refused."""
    vpc = VpcAccessAdapter(policy=WAITS, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    try:
        vpc.get_connector(CONNECTOR)  # the session and its connection made, so the window below is the quota's
        vpc_standin.reset_calls()
        vpc_standin.faults.rate_limit(0.3, "GetConnector", service="vpcaccess.googleapis.com", retry_delay=0.5)
        assert vpc.get_connector(CONNECTOR).state == "READY"
    finally:
        vpc.close()
    assert vpc_standin.count("GetConnector") == 2


def test_a_429_asking_for_longer_than_the_retries_wait_is_not_retried(vpc_standin):
    vpc = VpcAccessAdapter(policy=WAITS, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    vpc_standin.faults.rate_limit(60, "GetConnector", service="vpcaccess.googleapis.com", retry_delay=45)
    try:
        with pytest.raises(TransientError, match="asks for no retry before 45s"):
            vpc.get_connector(CONNECTOR)
    finally:
        vpc.close()
    assert vpc_standin.count("GetConnector") == 1


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED])
def test_a_503_or_429_whose_retry_after_header_asks_for_longer_than_the_retries_wait_is_not_retried(vpc_standin,
                                                                                                      code):
    """A Retry-After header (RFC 9110 section 10.2.3: delay-seconds) with no RetryInfo in the body: before, it
    was ignored, and the retries came 10 and 20 ms later (all refused, each counted against the quota)."""
    vpc = VpcAccessAdapter(policy=WAITS, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    vpc_standin.retry_after = "45"
    vpc_standin.faults.fail_next(3, code, method="GetConnector")
    try:
        with pytest.raises(TransientError, match="asks for no retry before 45s"):
            vpc.get_connector(CONNECTOR)
    finally:
        vpc.close()
    assert vpc_standin.count("GetConnector") == 1


def test_a_503_whose_retry_after_header_is_within_the_retries_wait_is_retried_after_it(vpc_standin):
    import time

    vpc = VpcAccessAdapter(policy=WAITS, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    vpc_standin.retry_after = "1"
    vpc_standin.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE, method="GetConnector")
    started = time.monotonic()
    try:
        assert vpc.get_connector(CONNECTOR).state == "READY"
    finally:
        vpc.close()
    assert time.monotonic() - started >= 1.0      # the backoff alone waits 10 ms
    assert vpc_standin.count("GetConnector") == 2


# --- the credentials' token cannot be refreshed: the request is never sent ----------------------------------


@pytest.fixture
def token_endpoint() -> Iterator[dict]:
    """An OAuth token endpoint on loopback that refuses every refresh with the status set in it: 503
    (google-auth raises RefreshError, `retryable`) or 400 invalid_grant (RefreshError, not retryable)."""
    import http.server
    import json
    import threading

    answer = {"status": 503}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            error = "internal_failure" if answer["status"] >= 500 else "invalid_grant"
            body = json.dumps({"error": error, "error_description": "refused by the test"}).encode()
            self.send_response(answer["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    answer["uri"] = f"http://127.0.0.1:{server.server_address[1]}/token"
    yield answer
    server.shutdown()
    server.server_close()


def _with_expiring_credentials(monkeypatch, vpc_standin, token_uri: str) -> VpcAccessAdapter:
    """The adapter's session holds real user credentials with no token yet, so its first request
    refreshes them at `token_uri` (google-auth's AuthorizedSession, as with ADC whose token expired)."""
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2.credentials import Credentials

    import shared.gcp.vpcaccess as module

    credentials = Credentials(token=None, refresh_token="r", client_id="c", client_secret="s", token_uri=token_uri)
    monkeypatch.setattr(module, "vpcaccess_session",
                        lambda: (AuthorizedSession(credentials), f"http://{vpc_standin.address}/v1/"))
    return VpcAccessAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)


def test_a_token_refresh_that_may_pass_is_transient_and_the_patch_known_unsent(monkeypatch, vpc_standin,
                                                                               token_endpoint):
    """The token endpoint (the metadata server, for ADC on Cloud Run) answering 503: google-auth's
    RefreshError, `retryable`. Before, it was read as a permanent failure (UNKNOWN_ERROR): the read was
    a gap in the evidence, and the patch answered `failed` and held for the cooldown, though a
    redelivery a moment later would have had a token."""
    vpc = _with_expiring_credentials(monkeypatch, vpc_standin, token_endpoint["uri"])
    try:
        with pytest.raises(TransientError) as read:
            vpc.get_connector(CONNECTOR)
        with pytest.raises(TransientError) as patch:
            vpc.update_connector(CONNECTOR, min_instances=2, max_instances=5)
    finally:
        vpc.close()
    assert not isinstance(patch.value, OutcomeUnknownError), patch.value   # never sent: not "may have applied"
    assert "token could not be refreshed" in str(read.value) and "token could not be refreshed" in str(patch.value)
    assert vpc_standin.count("PatchConnector") == 0 and vpc_standin.count("GetConnector") == 0


def test_credentials_refused_for_good_are_unauthenticated_and_permanent(monkeypatch, vpc_standin, token_endpoint):
    token_endpoint["status"] = 400   # invalid_grant: the grant is revoked
    vpc = _with_expiring_credentials(monkeypatch, vpc_standin, token_endpoint["uri"])
    try:
        with pytest.raises(PermanentError) as patch:
            vpc.update_connector(CONNECTOR, min_instances=2, max_instances=5)
    finally:
        vpc.close()
    assert patch.value.code == "UNAUTHENTICATED" and "invalid_grant" in str(patch.value)
    assert vpc_standin.count("PatchConnector") == 0


# --- the fast tier's in-process transport refuses as the HTTP stand-in does ------------------------------------


def _refusal(send) -> tuple:
    from shared.gcp.vpcaccess import ApiStatusError

    with pytest.raises(ApiStatusError) as caught:
        send("GET", CONNECTOR)
    error = caught.value
    return error.http_status, error.grpc_status_code.name, str(error), error.details, error.retry_after


@pytest.mark.parametrize("retry_after", [None, "7"])
@pytest.mark.parametrize("quota", [dict(retry_delay=0.05), dict(retry_delay=None),
                                   dict(reason="RESOURCE_QUOTA_EXCEEDED", help_url="https://console.cloud.google.com/iam-admin/quotas")])
def test_a_quota_refusal_carries_the_same_details_and_wait_in_process_as_over_http(vpc_standin, retry_after, quota):
    """The property tests' fast tier (sandbox/inprocess.py InProcessVpcAccess) and the HTTP stand-in refuse a call
    over its quota with the same google.rpc details (ErrorInfo with its reason, QuotaFailure, RetryInfo, Help) and the
    same Retry-After, as the gRPC stand-ins do for Run in both tiers (test_run_standin.py): a rule reading the wait a
    refusal asks for is tested on the same answer in both tiers. Before, the in-process answer lost the Retry-After,
    and both lost the refusal's own reason and its Help link (the REST body was built apart from the gRPC details)."""
    from sandbox.inprocess import InProcessVpcAccess
    from sandbox.standins.faults import QuotaRefusal

    refusal = QuotaRefusal("vpcaccess.googleapis.com", "vpcaccess.googleapis.com/write_requests",
                           "WriteRequestsPerMinutePerProject", **quota)
    vpc_standin.retry_after = retry_after
    http = VpcAccessAdapter(policy=QUICK)
    try:
        vpc_standin.faults.rate_limit(60, "GetConnector", service="", times=1, refusal=refusal)
        over_http = _refusal(http._send)
    finally:
        http.close()
    vpc_standin.faults.rate_limit(60, "GetConnector", service="", times=1, refusal=refusal)
    in_process = _refusal(InProcessVpcAccess(vpc_standin)._send)

    assert in_process == over_http
    types = [d["@type"].rsplit(".", 1)[-1] for d in over_http[3]]
    assert types == ["ErrorInfo", "QuotaFailure", *(["RetryInfo"] if quota.get("retry_delay") else []),
                     *(["Help"] if quota.get("help_url") else [])]
    assert over_http[3][0]["reason"] == refusal.reason
    assert over_http[4] == (7.0 if retry_after else None)
